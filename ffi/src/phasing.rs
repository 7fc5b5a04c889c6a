//! Staged rollout (`Phased-Update-Percentage`, see `debpull::phasing`):
//! publish and promote for a percentage of the fleet, change it later
//! (`debpull_repository_phase`), roll back (`debpull_repository_rollback`),
//! the report of a promote or a rollback (versions demoted), the machine id
//! of a source, and what a check or an update run deferred.

use std::ffi::{c_char, c_void};

use debpull::Version;
use debpull::repo::PromoteOptions;

use crate::args;
use crate::error::{DebpullError, DebpullStatus, call, guard};
use crate::package::DebpullPackageList;
use crate::repository::{
    DebpullProgressCallback, DebpullPublishReport, DebpullRepository, list_operation, publish_raw,
    report_list,
};
use crate::source::{DebpullCheck, DebpullSourceOptions, with_options};
use crate::updater::DebpullOutcome;

/// A percentage from C: 0 to 100.
fn percentage(value: u32) -> debpull::Result<u8> {
    debpull::phasing::percentage(i64::from(value))
}

/// An optional percentage from C: NULL for none, else 0 to 100.
fn optional_percentage(value: *const u8) -> debpull::Result<Option<u8>> {
    if value.is_null() {
        return Ok(None);
    }
    // SAFETY: not NULL: the caller passes a pointer to one readable byte.
    let value = unsafe { *value };
    Ok(Some(percentage(value.into())?))
}

/// `debpull_repository_publish` for a staged rollout: with `percentage` not
/// NULL, the packages are published for `*percentage` (0 to 100; 100:
/// everyone) of the fleet, in the same commit (a package already there
/// identically gets that percentage: `debpull_publish_report_rephased`).
/// NULL: everyone, and identical packages already there keep theirs (the
/// plain publish). Borrows `percentage`. A percentage above 100 is
/// `DEBPULL_STATUS_INVALID_INPUT`. Everything else as
/// `debpull_repository_publish`.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)] // The C signature: inputs, callback, output, error.
pub extern "C" fn debpull_repository_publish_phased(
    repository: *const DebpullRepository,
    suite: *const c_char,
    component: *const c_char,
    debs: *const *const c_char,
    count: usize,
    replace: bool,
    percentage: *const u8,
    progress: DebpullProgressCallback,
    user_data: *mut c_void,
    out: *mut *mut DebpullPublishReport,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        let percentage = optional_percentage(percentage)?;
        publish_raw(
            repository, suite, component, debs, count, replace, percentage, progress, user_data,
            out,
        )
    })
}

/// The packages that were there already, identical, whose rollout percentage
/// `debpull_repository_publish_phased` changed, borrowed from `report`. NULL
/// for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_publish_report_rephased(
    report: *const DebpullPublishReport,
) -> *const DebpullPackageList {
    report_list(report, |r| &r.rephased)
}

/// What `debpull_repository_promote_phased` or `debpull_repository_rollback`
/// did. Immutable: safe to share between threads. Owned by the caller,
/// `debpull_promote_report_free`.
pub struct DebpullPromoteReport {
    added: DebpullPackageList,
    demoted: DebpullPackageList,
    rephased: DebpullPackageList,
    attempts: u32,
}

impl DebpullPromoteReport {
    fn new(report: debpull::repo::PromoteReport) -> debpull::Result<DebpullPromoteReport> {
        Ok(DebpullPromoteReport {
            added: DebpullPackageList::new(report.added)?,
            demoted: DebpullPackageList::new(report.demoted)?,
            rephased: DebpullPackageList::new(report.rephased)?,
            attempts: report.attempts,
        })
    }
}

/// Promotes package `name` at `version` from suite `from` to suite `to` as
/// `debpull_repository_promote` does, for `*percentage` (0 to 100) of the
/// fleet in `to`; with `percentage` NULL as the plain promote (a version new
/// in `to` is for everyone, one already there keeps its percentage). Writes
/// what it did to `*out`, owned by the caller (`debpull_promote_report_free`).
/// A `version` lower than the newest of `name` in `to` is refused
/// (`DEBPULL_STATUS_CONFLICT`, naming the newer versions): roll back with
/// `debpull_repository_rollback`. Borrows every string and `percentage`. A
/// missing suite or package is `DEBPULL_STATUS_NOT_FOUND`, a percentage
/// above 100 `DEBPULL_STATUS_INVALID_INPUT`.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)] // The C signature: inputs, output, error.
pub extern "C" fn debpull_repository_promote_phased(
    repository: *const DebpullRepository,
    name: *const c_char,
    version: *const c_char,
    from: *const c_char,
    to: *const c_char,
    percentage: *const u8,
    out: *mut *mut DebpullPromoteReport,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        // SAFETY: NULL or a live repository; NULL or NUL-terminated strings.
        let (repository, name, version, from, to) = unsafe {
            (
                args::borrow(repository, "repository")?,
                args::non_empty_str(name, "name")?,
                args::non_empty_str(version, "version")?,
                args::non_empty_str(from, "from")?,
                args::non_empty_str(to, "to")?,
            )
        };
        args::out(out, "out")?;
        let percentage = optional_percentage(percentage)?;
        let version = Version::parse(version)?;
        let options = PromoteOptions {
            percentage,
            ..PromoteOptions::default()
        };
        let report = crate::run::block_on(
            repository
                .repository
                .promote_with(name, &version, from, to, &options),
        )?;
        let report = DebpullPromoteReport::new(report)?;
        // SAFETY: checked not NULL above.
        unsafe { args::write(out, args::into_handle(report)) };
        Ok(())
    })
}

/// Rolls package `name` in `suite` back to `version`, which must still be in
/// `suite` (else `DEBPULL_STATUS_NOT_FOUND`; the staging suite is not
/// needed): its newer versions leave `suite` where `version` is (each
/// component and architecture listing it; their pool files stay) and
/// `version` is for everyone. Writes what it did to `*out`, owned by the
/// caller (`debpull_promote_report_free`): `debpull_promote_report_demoted`
/// lists the entries that left (empty: nothing newer was there). Notified
/// like a promote. Borrows every string.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_repository_rollback(
    repository: *const DebpullRepository,
    suite: *const c_char,
    name: *const c_char,
    version: *const c_char,
    out: *mut *mut DebpullPromoteReport,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        // SAFETY: NULL or a live repository; NULL or NUL-terminated strings.
        let (repository, suite, name, version) = unsafe {
            (
                args::borrow(repository, "repository")?,
                args::non_empty_str(suite, "suite")?,
                args::non_empty_str(name, "name")?,
                args::non_empty_str(version, "version")?,
            )
        };
        args::out(out, "out")?;
        let version = Version::parse(version)?;
        let report = crate::run::block_on(repository.repository.rollback(suite, name, &version))?;
        let report = DebpullPromoteReport::new(report)?;
        // SAFETY: checked not NULL above.
        unsafe { args::write(out, args::into_handle(report)) };
        Ok(())
    })
}

/// The entries added to the target suite, borrowed from `report` (never free
/// it). NULL for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_promote_report_added(
    report: *const DebpullPromoteReport,
) -> *const DebpullPackageList {
    report_list(report, |r| &r.added)
}

/// The entries of higher versions removed from the target suite (by
/// `debpull_repository_rollback`), borrowed from `report`. NULL for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_promote_report_demoted(
    report: *const DebpullPromoteReport,
) -> *const DebpullPackageList {
    report_list(report, |r| &r.demoted)
}

/// The entries already in the target suite whose rollout percentage changed,
/// borrowed from `report`. NULL for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_promote_report_rephased(
    report: *const DebpullPromoteReport,
) -> *const DebpullPackageList {
    report_list(report, |r| &r.rephased)
}

/// The attempts the commit took (0: nothing to commit, and for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_promote_report_attempts(report: *const DebpullPromoteReport) -> u32 {
    args::read(report, 0, |r| r.attempts)
}

/// Frees `report` and its lists. NULL is fine.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_promote_report_free(report: *mut DebpullPromoteReport) {
    // SAFETY: NULL or a report from debpull, not used again.
    guard((), || unsafe { args::free(report) })
}

/// Changes the staged rollout of package `name` at `version` in `suite`
/// (every component and architecture) to `percentage` (0 to 100; 100
/// completes it: the field is removed) and writes the entries changed to
/// `*out` (empty: already at that percentage), owned by the caller
/// (`debpull_package_list_free`). Borrows every string. The version absent
/// is `DEBPULL_STATUS_NOT_FOUND`, a percentage above 100
/// `DEBPULL_STATUS_INVALID_INPUT`.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_repository_phase(
    repository: *const DebpullRepository,
    suite: *const c_char,
    name: *const c_char,
    version: *const c_char,
    percentage: u32,
    out: *mut *mut DebpullPackageList,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        // SAFETY: NULL or NUL-terminated strings.
        let (suite, name, version) = unsafe {
            (
                args::non_empty_str(suite, "suite")?,
                args::non_empty_str(name, "name")?,
                args::non_empty_str(version, "version")?,
            )
        };
        let percentage = self::percentage(percentage)?;
        list_operation(repository, out, async |repo| {
            repo.phase(suite, name, &Version::parse(version)?, percentage)
                .await
        })
    })
}

/// Sets this machine's id for staged rollouts (32 hex digits, as
/// `/etc/machine-id`; default: read from `/etc/machine-id` at every check).
/// Borrows `id` (copied); anything else is `DEBPULL_STATUS_INVALID_INPUT`.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_source_options_set_machine_id(
    options: *mut DebpullSourceOptions,
    id: *const c_char,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    with_options(options, error, |options| {
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        let id = unsafe { args::str(id, "id") }?;
        debpull::phasing::MachineId::parse(id)?;
        options.machine_id = Some(id.to_owned());
        Ok(())
    })
}

/// The suite's highest version when a staged rollout keeps it from this
/// machine for now, borrowed from `check`; NULL when nothing is deferred
/// (and for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_check_deferred_version(check: *const DebpullCheck) -> *const c_char {
    args::read(check, std::ptr::null(), |c| args::opt_ptr(&c.deferred))
}

/// The rollout percentage (0 to 99) of the deferred version; 100 when
/// nothing is deferred (and for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_check_deferred_percentage(check: *const DebpullCheck) -> u32 {
    args::read(check, 100, |c| {
        c.status
            .deferred
            .as_ref()
            .map_or(100, |d| u32::from(d.percentage))
    })
}

/// The version a staged rollout kept from this machine in an up-to-date run,
/// borrowed from `outcome`; NULL when none (and for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_outcome_deferred_version(
    outcome: *const DebpullOutcome,
) -> *const c_char {
    args::read(outcome, std::ptr::null(), |o| {
        o.deferred
            .as_ref()
            .map_or(std::ptr::null(), |(v, _)| v.as_ptr())
    })
}

/// The rollout percentage (0 to 99) of the deferred version; 100 when none
/// (and for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_outcome_deferred_percentage(outcome: *const DebpullOutcome) -> u32 {
    args::read(outcome, 100, |o| {
        o.deferred.as_ref().map_or(100, |(_, p)| u32::from(*p))
    })
}
