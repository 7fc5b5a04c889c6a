//! Sources (`debpull_source_*`): a suite of a repository a machine pulls
//! from, its options (`debpull_source_options_*`), and what a check found
//! (`debpull_check_*`).

use std::ffi::{CString, c_char};
use std::path::PathBuf;

use debpull::client::{Source, SourceOptions, SourceTrust, Status};
use debpull::sign::TrustedKeys;
use debpull::{Error, ErrorKind, Version};

use crate::args;
use crate::error::{DebpullError, DebpullStatus, call, guard};
use crate::package::DebpullPackage;
use crate::run;

/// The options of a source, set one by one, then given to
/// `debpull_source_open` (which copies them). Not for several threads at
/// once. Created by `debpull_source_options_new`, freed with
/// `debpull_source_options_free`.
pub struct DebpullSourceOptions {
    suite: Option<String>,
    component: Option<String>,
    architecture: Option<String>,
    trust: Option<SourceTrust>,
    state_dir: Option<PathBuf>,
    admin_dir: Option<PathBuf>,
    /// The machine id for staged rollouts (`None`: `/etc/machine-id`'s).
    pub(crate) machine_id: Option<String>,
    /// S3 region and endpoint given apart from the URI.
    open: debpull::storage::OpenOptions,
}

impl DebpullSourceOptions {
    /// Core's options; what must be set and is not is an error saying how.
    fn to_options(&self) -> debpull::Result<SourceOptions> {
        let missing = |what: &str, how: &str| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("the source options have no {what}: set it with {how}"),
            )
        };
        let suite = self
            .suite
            .clone()
            .ok_or_else(|| missing("suite", "debpull_source_options_set_suite"))?;
        let trust = self.trust.clone().ok_or_else(|| {
            missing(
                "trusted keys",
                "debpull_source_options_set_trusted_keys (the repository's public \
                 signing key), or debpull_source_options_set_insecure_unsigned for a \
                 repository on a trusted local disk",
            )
        })?;
        let state_dir = self
            .state_dir
            .clone()
            .ok_or_else(|| missing("state directory", "debpull_source_options_set_state_dir"))?;
        let mut options = SourceOptions::new(suite, trust, state_dir);
        if let Some(component) = &self.component {
            options.component = component.clone();
        }
        options.architecture = self.architecture.clone();
        if let Some(admin_dir) = &self.admin_dir {
            options.admin_dir = admin_dir.clone();
        }
        options.machine_id = self.machine_id.clone();
        Ok(options)
    }
}

/// Runs `set` on the options `options` points to (NULL: an error).
pub(crate) fn with_options(
    options: *mut DebpullSourceOptions,
    error: *mut *mut DebpullError,
    set: impl FnOnce(&mut DebpullSourceOptions) -> debpull::Result<()>,
) -> DebpullStatus {
    args::edit(options, error, set)
}

/// New source options (owned by the caller: `debpull_source_options_free`),
/// written to `*out`. Nothing is set: a suite, a state directory and the
/// trusted keys must be set before `debpull_source_open`; the component is
/// `main`, the architecture the machine's (`dpkg --print-architecture`),
/// dpkg's admin directory `/var/lib/dpkg` unless set.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_source_options_new(
    out: *mut *mut DebpullSourceOptions,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        args::out(out, "out")?;
        let options = DebpullSourceOptions {
            suite: None,
            component: None,
            architecture: None,
            trust: None,
            state_dir: None,
            admin_dir: None,
            machine_id: None,
            open: Default::default(),
        };
        // SAFETY: checked not NULL above.
        unsafe { args::write(out, args::into_handle(options)) };
        Ok(())
    })
}

/// Sets the suite (`production`), which the repository's Release must name.
/// Borrows `suite` (copied); one that is not a plain name (empty, `/`,
/// blanks, `..`) is refused.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_source_options_set_suite(
    options: *mut DebpullSourceOptions,
    suite: *const c_char,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    with_options(options, error, |options| {
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        let suite = unsafe { args::non_empty_str(suite, "suite") }?;
        debpull::client::check_plain_name("suite", suite)?;
        options.suite = Some(suite.to_owned());
        Ok(())
    })
}

/// Sets the component (default `main`). Borrows `component` (copied); one
/// that is not a plain name is refused.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_source_options_set_component(
    options: *mut DebpullSourceOptions,
    component: *const c_char,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    with_options(options, error, |options| {
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        let component = unsafe { args::non_empty_str(component, "component") }?;
        debpull::client::check_plain_name("component", component)?;
        options.component = Some(component.to_owned());
        Ok(())
    })
}

/// Sets the architecture (`amd64`; default: the machine's). Borrows
/// `architecture` (copied); one that is not a plain name is refused.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_source_options_set_architecture(
    options: *mut DebpullSourceOptions,
    architecture: *const c_char,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    with_options(options, error, |options| {
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        let architecture = unsafe { args::non_empty_str(architecture, "architecture") }?;
        debpull::client::check_plain_name("architecture", architecture)?;
        options.architecture = Some(architecture.to_owned());
        Ok(())
    })
}

/// Sets the keys InRelease must be signed with: `len` bytes at `keys`, one
/// or more OpenPGP public keys, binary or armored (what apt's `signed-by=`
/// takes), parsed now: `DEBPULL_STATUS_PARSE` when they are not usable
/// keys (nothing set then). Replaces
/// `debpull_source_options_set_insecure_unsigned`. Borrows `keys`.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_source_options_set_trusted_keys(
    options: *mut DebpullSourceOptions,
    keys: *const u8,
    len: usize,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    with_options(options, error, |options| {
        // SAFETY: the caller passes NULL or `len` readable bytes.
        let keys = unsafe { args::bytes(keys, len, "keys") }?;
        let keys = TrustedKeys::from_bytes(keys)?;
        options.trust = Some(SourceTrust::Keys(keys));
        Ok(())
    })
}

/// `true`: no signature is checked (replacing the trusted keys). Anyone who
/// can write to the repository or the network path can then install anything
/// on the machine: only for a repository on a trusted local disk. Every check
/// warns. `false` undoes a `true` (the trusted keys must then be set again).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_source_options_set_insecure_unsigned(
    options: *mut DebpullSourceOptions,
    insecure: bool,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    with_options(options, error, |options| {
        if insecure {
            options.trust = Some(SourceTrust::InsecureUnsigned);
        } else if matches!(options.trust, Some(SourceTrust::InsecureUnsigned)) {
            options.trust = None;
        }
        Ok(())
    })
}

/// Sets the state directory (created when missing, mode 0700; it must belong
/// to the user and not be writable by others): the last accepted InRelease,
/// the verified index, downloaded `.deb`s, the update lock. Borrows
/// `state_dir` (copied); an empty one is refused.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_source_options_set_state_dir(
    options: *mut DebpullSourceOptions,
    state_dir: *const c_char,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    with_options(options, error, |options| {
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        let state_dir = unsafe { args::non_empty_str(state_dir, "state_dir") }?;
        options.state_dir = Some(PathBuf::from(state_dir));
        Ok(())
    })
}

/// Sets dpkg's administrative directory (default `/var/lib/dpkg`), where
/// what is installed is read. Borrows `admin_dir` (copied); an empty one is
/// refused.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_source_options_set_admin_dir(
    options: *mut DebpullSourceOptions,
    admin_dir: *const c_char,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    with_options(options, error, |options| {
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        let admin_dir = unsafe { args::non_empty_str(admin_dir, "admin_dir") }?;
        options.admin_dir = Some(PathBuf::from(admin_dir));
        Ok(())
    })
}

/// Sets the S3 region, instead of the URI's (`s3://` URIs only: another
/// scheme refuses it at `debpull_source_open`). Borrows `region` (copied).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_source_options_set_region(
    options: *mut DebpullSourceOptions,
    region: *const c_char,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    with_options(options, error, |options| {
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        let region = unsafe { args::non_empty_str(region, "region") }?;
        options.open.region = Some(region.to_owned());
        Ok(())
    })
}

/// Sets an S3-compatible endpoint URL (`http://127.0.0.1:9000`), instead of
/// the URI's; it implies path-style addressing (`s3://` URIs only: another
/// scheme refuses it at `debpull_source_open`). Borrows `endpoint` (copied).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_source_options_set_endpoint(
    options: *mut DebpullSourceOptions,
    endpoint: *const c_char,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    with_options(options, error, |options| {
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        let endpoint = unsafe { args::non_empty_str(endpoint, "endpoint") }?;
        options.open.endpoint = Some(endpoint.to_owned());
        Ok(())
    })
}

/// Frees `options`. NULL is fine.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_source_options_free(options: *mut DebpullSourceOptions) {
    // SAFETY: NULL or options from debpull_source_options_new, not used again.
    guard((), || unsafe { args::free(options) })
}

/// A suite of a repository that a machine pulls from. Safe to use from
/// several threads at once. Created by `debpull_source_open`, freed with
/// `debpull_source_free`.
pub struct DebpullSource {
    source: Source,
}

impl DebpullSource {
    /// The source.
    pub(crate) fn source(&self) -> &Source {
        &self.source
    }
}

/// Opens the source at the store `uri` names (`file:///path`,
/// `s3://bucket/prefix?region=...`, `http(s)://host/path`) with `options`
/// (copied), and writes it to `*out` (owned by the caller:
/// `debpull_source_free`). Nothing is read yet. Borrows `uri` and `options`.
/// Options without a suite, state directory or trusted keys are
/// `DEBPULL_STATUS_INVALID_INPUT` saying how to set them.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_source_open(
    uri: *const c_char,
    options: *const DebpullSourceOptions,
    out: *mut *mut DebpullSource,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        let uri = unsafe { args::non_empty_str(uri, "uri") }?;
        // SAFETY: NULL or live options from debpull.
        let options = unsafe { args::borrow(options, "options") }?;
        args::out(out, "out")?;
        let storage = debpull::storage::open_with(uri, &options.open)?;
        let source = Source::new(storage, options.to_options()?)?;
        // SAFETY: checked not NULL above.
        unsafe { args::write(out, args::into_handle(DebpullSource { source })) };
        Ok(())
    })
}

/// What a check found for one package. Immutable: safe to share between
/// threads. Created by `debpull_source_check`, freed with `debpull_check_free`.
pub struct DebpullCheck {
    pub(crate) status: Status,
    /// The version a staged rollout keeps from this machine, if any.
    pub(crate) deferred: Option<CString>,
    package: CString,
    installed: Option<CString>,
    candidate: Option<DebpullPackage>,
    warnings: Vec<CString>,
}

impl DebpullCheck {
    fn new(status: Status) -> debpull::Result<DebpullCheck> {
        Ok(DebpullCheck {
            package: args::text(&status.package),
            installed: status.installed.as_ref().map(|v| args::text(v.as_str())),
            candidate: status
                .candidate
                .clone()
                .map(DebpullPackage::new)
                .transpose()?,
            warnings: status.warnings.iter().map(|w| args::text(w)).collect(),
            deferred: status
                .deferred
                .as_ref()
                .map(|d| args::text(d.version.as_str())),
            status,
        })
    }
}

/// Checks `package` against `source`: what dpkg has installed and the suite's
/// candidate (the highest version for the architecture or `all`, or exactly
/// `pin` when not NULL); writes the result to `*out` (owned by the caller:
/// `debpull_check_free`). Borrows every argument. Blocks (network, files).
/// A refused repository (signature, rollback, hashes) is
/// `DEBPULL_STATUS_VERIFICATION`; a `pin` the suite lacks
/// `DEBPULL_STATUS_NOT_FOUND`; a `pin` that is no version
/// `DEBPULL_STATUS_INVALID_VERSION`.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_source_check(
    source: *const DebpullSource,
    package: *const c_char,
    pin: *const c_char,
    out: *mut *mut DebpullCheck,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        // SAFETY: NULL or a live source from debpull.
        let source = unsafe { args::borrow(source, "source") }?;
        // SAFETY: the caller passes NUL-terminated strings or NULL.
        let (package, pin) = unsafe {
            (
                args::non_empty_str(package, "package")?,
                args::opt_str(pin, "pin")?,
            )
        };
        args::out(out, "out")?;
        let pin = pin.map(Version::parse).transpose()?;
        let status = run::block_on(source.source.check(package, pin.as_ref()))?;
        let check = DebpullCheck::new(status)?;
        // SAFETY: checked not NULL above.
        unsafe { args::write(out, args::into_handle(check)) };
        Ok(())
    })
}

/// Forgets the rollback floor of `source` (its last accepted Date), so that
/// the next check accepts an older snapshot of the repository (still signed
/// and verified). Only for a repository legitimately restored to an older
/// snapshot, when checks fail with "a replayed older snapshot (rollback) is
/// refused". Warns on stderr. Borrows `source`. Blocks.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_source_reset_rollback_floor(
    source: *const DebpullSource,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        // SAFETY: NULL or a live source from debpull.
        let source = unsafe { args::borrow(source, "source") }?;
        run::block_on(source.source.reset_rollback_floor())
    })
}

/// Frees `source`. NULL is fine. Updaters made from it stay usable.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_source_free(source: *mut DebpullSource) {
    // SAFETY: NULL or a source from debpull_source_open, not used again.
    guard((), || unsafe { args::free(source) })
}

/// The package checked, borrowed from `check`. NULL for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_check_package(check: *const DebpullCheck) -> *const c_char {
    args::read(check, std::ptr::null(), |c| c.package.as_ptr())
}

/// The version dpkg has installed, borrowed from `check`; NULL when the
/// package is not installed (and for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_check_installed(check: *const DebpullCheck) -> *const c_char {
    args::read(check, std::ptr::null(), |c| {
        c.installed
            .as_ref()
            .map_or(std::ptr::null(), |v| v.as_ptr())
    })
}

/// The suite's candidate, borrowed from `check` (never free it); NULL when
/// the suite does not have the package (and for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_check_candidate(check: *const DebpullCheck) -> *const DebpullPackage {
    args::read(check, std::ptr::null(), |c| {
        c.candidate
            .as_ref()
            .map_or(std::ptr::null(), |p| p as *const DebpullPackage)
    })
}

/// Whether the candidate is higher than the installed version, or nothing is
/// installed and there is a candidate (false for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_check_update_available(check: *const DebpullCheck) -> bool {
    args::read(check, false, |c| c.status.update_available())
}

/// Whether the suite changed since the previous check of this state
/// directory (false: the repository answered "not modified"; false for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_check_repository_changed(check: *const DebpullCheck) -> bool {
    args::read(check, false, |c| c.status.repository_changed)
}

/// How many warnings the check gave (signatures not checked, ...; 0 for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_check_warning_count(check: *const DebpullCheck) -> usize {
    args::read(check, 0, |c| c.warnings.len())
}

/// Warning number `index` (from 0), borrowed from `check`. NULL past the end
/// and for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_check_warning_at(
    check: *const DebpullCheck,
    index: usize,
) -> *const c_char {
    args::read(check, std::ptr::null(), |c| {
        c.warnings
            .get(index)
            .map_or(std::ptr::null(), |w| w.as_ptr())
    })
}

/// Frees `check` and the candidate borrowed from it. NULL is fine.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_check_free(check: *mut DebpullCheck) {
    // SAFETY: NULL or a check from debpull_source_check, not used again.
    guard((), || unsafe { args::free(check) })
}
