//! Updaters (`debpull_updater_*`): keep one package at a source's candidate;
//! their options (`debpull_updater_options_*`), the outcome of a run
//! (`debpull_outcome_*`) and its event (`debpull_event_*`).

use std::ffi::{CString, c_char, c_void};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use debpull::client::{
    Event, EventSink, Installer, LockMode, Outcome, Policy, Updater, UpdaterOptions,
};
use debpull::{Error, ErrorKind, Version};

use crate::args;
use crate::error::{DebpullError, DebpullStatus, call, guard};
use crate::run;
use crate::source::DebpullSource;

/// A timeout: as [`seconds`], and not 0.
fn timeout(value: u64, name: &str) -> debpull::Result<Duration> {
    if value == 0 {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!("{name} is 0 seconds: nothing could finish in time"),
        ));
    }
    args::seconds(value, name)
}

/// A command: `argc` strings, at least one, the program not empty.
///
/// # Safety
/// As [`args::str_array`].
unsafe fn command(
    argv: *const *const c_char,
    argc: usize,
    name: &str,
) -> debpull::Result<Vec<String>> {
    // SAFETY: the caller's promise.
    let argv = unsafe { args::str_array(argv, argc, name) }?;
    match argv.first() {
        None => Err(Error::new(
            ErrorKind::InvalidInput,
            format!("{name} is empty: a command needs at least its program"),
        )),
        Some(&"") => Err(Error::new(
            ErrorKind::InvalidInput,
            format!("{name}[0] (the program) is empty"),
        )),
        Some(_) => Ok(argv.into_iter().map(str::to_owned).collect()),
    }
}

/// The options of an updater, set one by one, then given to
/// `debpull_updater_new` (which copies them). Not for several threads at
/// once. Created by `debpull_updater_options_new`, freed with
/// `debpull_updater_options_free`.
pub struct DebpullUpdaterOptions {
    options: UpdaterOptions,
}

/// Runs `set` on the options `options` points to (NULL: an error).
fn with_options(
    options: *mut DebpullUpdaterOptions,
    error: *mut *mut DebpullError,
    set: impl FnOnce(&mut UpdaterOptions) -> debpull::Result<()>,
) -> DebpullStatus {
    args::edit(options, error, |o| set(&mut o.options))
}

/// New options for keeping `package` up to date, written to `*out` (owned by
/// the caller: `debpull_updater_options_free`): installed with `dpkg -i`
/// under `/`, upgrades only, no health check (60 s when set), 30 minutes for
/// the installer, skipped when another run holds the lock, no jitter.
/// Borrows `package`; an empty one is refused.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_updater_options_new(
    package: *const c_char,
    out: *mut *mut DebpullUpdaterOptions,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        let package = unsafe { args::non_empty_str(package, "package") }?;
        args::out(out, "out")?;
        let options = DebpullUpdaterOptions {
            options: UpdaterOptions::new(package),
        };
        // SAFETY: checked not NULL above.
        unsafe { args::write(out, args::into_handle(options)) };
        Ok(())
    })
}

/// Sets the installer: `"dpkg"` (`dpkg -i`: dependencies must be installed
/// already) or `"apt"` (`apt-get install`, which resolves dependencies and
/// never removes a package). Anything else is `DEBPULL_STATUS_INVALID_INPUT`.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_updater_options_set_installer(
    options: *mut DebpullUpdaterOptions,
    installer: *const c_char,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    with_options(options, error, |options| {
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        let installer = unsafe { args::str(installer, "installer") }?;
        options.installer = match installer {
            "dpkg" => Installer::Dpkg,
            "apt" => Installer::Apt,
            other => {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "installer {other:?} is not known: \"dpkg\" or \"apt\" \
                         (or a command: debpull_updater_options_set_installer_command)"
                    ),
                ));
            }
        };
        Ok(())
    })
}

/// Sets a command as the installer: `argc` strings at `argv` (the program,
/// then its arguments; at least the program), to which the `.deb`'s path is
/// appended. It gets `DEBPULL_PACKAGE`, `DEBPULL_VERSION`,
/// `DEBPULL_ADMIN_DIR` (and `DEBPULL_ROOT`) in its environment; dpkg's status
/// file is checked after it. Borrows `argv` (copied).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_updater_options_set_installer_command(
    options: *mut DebpullUpdaterOptions,
    argv: *const *const c_char,
    argc: usize,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    with_options(options, error, |options| {
        // SAFETY: the caller passes NULL or `argc` string pointers.
        options.installer = Installer::Command(unsafe { command(argv, argc, "argv") }?);
        Ok(())
    })
}

/// Sets the root packages are installed under (dpkg's `--root`; default
/// `/`). Borrows `root` (copied); an empty one is refused.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_updater_options_set_root(
    options: *mut DebpullUpdaterOptions,
    root: *const c_char,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    with_options(options, error, |options| {
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        options.root = Some(PathBuf::from(unsafe { args::non_empty_str(root, "root") }?));
        Ok(())
    })
}

/// Sets the apt configuration file (`APT_CONFIG`) the `"apt"` installer
/// runs with (default: apt's own). Borrows `apt_config` (copied); an empty
/// one is refused.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_updater_options_set_apt_config(
    options: *mut DebpullUpdaterOptions,
    apt_config: *const c_char,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    with_options(options, error, |options| {
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        let apt_config = unsafe { args::non_empty_str(apt_config, "apt_config") }?;
        options.apt_config = Some(PathBuf::from(apt_config));
        Ok(())
    })
}

/// Sets which candidates are installed: `"upgrade-only"` (the default: only a
/// higher version) or `"follow-repository"` (lower versions too: a suite
/// rolled back rolls the machine back). Anything else is
/// `DEBPULL_STATUS_INVALID_INPUT`.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_updater_options_set_policy(
    options: *mut DebpullUpdaterOptions,
    policy: *const c_char,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    with_options(options, error, |options| {
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        let policy = unsafe { args::str(policy, "policy") }?;
        options.policy = match policy {
            "upgrade-only" => Policy::UpgradeOnly,
            "follow-repository" => Policy::FollowRepository,
            other => {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "policy {other:?} is not known: \"upgrade-only\" or \"follow-repository\""
                    ),
                ));
            }
        };
        Ok(())
    })
}

/// Installs exactly version `pin` instead of the highest, higher or lower
/// than the installed one, whatever the policy. Borrows `pin` (copied); not a
/// version is `DEBPULL_STATUS_INVALID_VERSION`.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_updater_options_set_pin(
    options: *mut DebpullUpdaterOptions,
    pin: *const c_char,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    with_options(options, error, |options| {
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        options.pin = Some(Version::parse(unsafe { args::str(pin, "pin") }?)?);
        Ok(())
    })
}

/// Sets the health check run after an install: `argc` strings at `argv` (the
/// program, then its arguments); failing (non-zero exit, timeout) means the
/// previous version is reinstalled. Borrows `argv` (copied).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_updater_options_set_health_check(
    options: *mut DebpullUpdaterOptions,
    argv: *const *const c_char,
    argc: usize,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    with_options(options, error, |options| {
        // SAFETY: the caller passes NULL or `argc` string pointers.
        options.health_check = Some(unsafe { command(argv, argc, "argv") }?);
        Ok(())
    })
}

/// Sets how long the health check may run, in seconds (1 to 10 years).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_updater_options_set_health_timeout(
    options: *mut DebpullUpdaterOptions,
    seconds: u64,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    with_options(options, error, |options| {
        options.health_timeout = timeout(seconds, "health_timeout")?;
        Ok(())
    })
}

/// Sets how long the installer may run before it is stopped, in seconds (1
/// to 10 years).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_updater_options_set_install_timeout(
    options: *mut DebpullUpdaterOptions,
    seconds: u64,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    with_options(options, error, |options| {
        options.install_timeout = timeout(seconds, "install_timeout")?;
        Ok(())
    })
}

/// When another run holds the lock, waits up to `seconds` (at most 10
/// years) for it, then gives up (the outcome `DEBPULL_OUTCOME_KIND_SKIPPED`).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_updater_options_set_lock_wait(
    options: *mut DebpullUpdaterOptions,
    seconds: u64,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    with_options(options, error, |options| {
        options.lock = LockMode::Wait(args::seconds(seconds, "lock_wait")?);
        Ok(())
    })
}

/// When another run holds the lock, gives up at once (the default).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_updater_options_set_lock_skip(
    options: *mut DebpullUpdaterOptions,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    with_options(options, error, |options| {
        options.lock = LockMode::Skip;
        Ok(())
    })
}

/// Waits a random time up to `seconds` (at most 10 years; default 0) before
/// each check, so that a fleet does not hit the repository in the same second.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_updater_options_set_jitter(
    options: *mut DebpullUpdaterOptions,
    seconds: u64,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    with_options(options, error, |options| {
        options.jitter = args::seconds(seconds, "jitter")?;
        Ok(())
    })
}

/// Frees `options`. NULL is fine.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_updater_options_free(options: *mut DebpullUpdaterOptions) {
    // SAFETY: NULL or options from debpull_updater_options_new, not used again.
    guard((), || unsafe { args::free(options) })
}

/// Keeps one package of the machine at a source's candidate. Safe to use
/// from several threads at once (runs take a lock: one waits or is skipped).
/// Created by `debpull_updater_new`, freed with `debpull_updater_free`.
pub struct DebpullUpdater {
    updater: Updater,
}

/// A new updater of `source` (copied: the source may be freed) with
/// `options` (copied), written to `*out` (owned by the caller:
/// `debpull_updater_free`). Borrows `source` and `options`.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_updater_new(
    source: *const DebpullSource,
    options: *const DebpullUpdaterOptions,
    out: *mut *mut DebpullUpdater,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        // SAFETY: NULL or a live source and options from debpull.
        let (source, options) = unsafe {
            (
                args::borrow(source, "source")?,
                args::borrow(options, "options")?,
            )
        };
        args::out(out, "out")?;
        let updater = Updater::new(source.source().clone(), options.options.clone());
        // SAFETY: checked not NULL above.
        unsafe { args::write(out, args::into_handle(DebpullUpdater { updater })) };
        Ok(())
    })
}

/// Frees `updater`. NULL is fine.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_updater_free(updater: *mut DebpullUpdater) {
    // SAFETY: NULL or an updater from debpull_updater_new, not used again.
    guard((), || unsafe { args::free(updater) })
}

/// How an update run ended.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebpullOutcomeKind {
    /// Nothing to do: the candidate is installed, or lower (upgrade only), or
    /// the suite lacks the package.
    UpToDate = 0,
    /// The candidate was installed and passed the health check.
    Updated = 1,
    /// The candidate's installer or health check failed; the previous version
    /// was reinstalled (or that was tried: see the error message and
    /// `debpull_outcome_installed`).
    RolledBack = 2,
    /// The run failed (see the error); before the installer ran, nothing changed.
    Failed = 3,
    /// The candidate failed before and is held back for a while.
    Held = 4,
    /// The administrator put the package on hold (`apt-mark hold`).
    HeldByAdmin = 5,
    /// Another run, or another dpkg, held the lock: nothing was done.
    Skipped = 6,
}

/// How an update run ended: its kind, versions and error. Immutable: safe to
/// share between threads. Owned when `debpull_updater_update` returns it
/// (`debpull_outcome_free`), borrowed from an event otherwise.
pub struct DebpullOutcome {
    kind: DebpullOutcomeKind,
    line: CString,
    package: CString,
    from: Option<CString>,
    to: Option<CString>,
    attempted: Option<CString>,
    installed: Option<CString>,
    candidate: Option<CString>,
    error_status: DebpullStatus,
    error_message: Option<CString>,
    /// The version a staged rollout kept from this machine, and its percentage.
    pub(crate) deferred: Option<(CString, u8)>,
}

impl DebpullOutcome {
    fn new(outcome: &Outcome) -> DebpullOutcome {
        let version = |v: Option<&Version>| v.map(|v| args::text(v.as_str()));
        let kind = match outcome {
            Outcome::UpToDate { .. } => DebpullOutcomeKind::UpToDate,
            Outcome::Updated { .. } => DebpullOutcomeKind::Updated,
            Outcome::RolledBack { .. } => DebpullOutcomeKind::RolledBack,
            Outcome::Failed { .. } => DebpullOutcomeKind::Failed,
            Outcome::Held { .. } => DebpullOutcomeKind::Held,
            Outcome::HeldByAdmin { .. } => DebpullOutcomeKind::HeldByAdmin,
            Outcome::Skipped { .. } => DebpullOutcomeKind::Skipped,
        };
        let versions = outcome.versions();
        DebpullOutcome {
            kind,
            line: args::text(&outcome.to_string()),
            package: args::text(outcome.package()),
            from: version(versions.from),
            to: version(versions.to),
            attempted: version(versions.attempted),
            installed: version(versions.installed),
            candidate: version(versions.candidate),
            error_status: outcome
                .error()
                .map_or(DebpullStatus::Ok, |e| DebpullStatus::from(e.kind())),
            error_message: outcome.error().map(|e| args::text(&e.to_string())),
            deferred: match outcome {
                Outcome::UpToDate {
                    deferred: Some(d), ..
                } => Some((args::text(d.version.as_str()), d.percentage)),
                _ => None,
            },
        }
    }
}

/// One update run as notifications see it, borrowed by the event callback
/// during the call only (on the calling thread). Created by debpull.
pub struct DebpullEvent {
    outcome: DebpullOutcome,
    suite: CString,
    hostname: CString,
    started_unix: u64,
    duration_ms: u64,
    jitter_ms: u64,
    warnings: Vec<CString>,
}

impl DebpullEvent {
    fn new(event: &Event) -> DebpullEvent {
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        DebpullEvent {
            outcome: DebpullOutcome::new(&event.outcome),
            suite: args::text(&event.suite),
            hostname: args::text(&event.hostname),
            started_unix: event
                .started
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            duration_ms: millis(event.duration),
            jitter_ms: millis(event.jitter),
            warnings: event.warnings.iter().map(|w| args::text(w)).collect(),
        }
    }
}

/// Called with each event of an update run, on the thread that called
/// `debpull_updater_update`, before it returns. `event` is borrowed for the
/// call only; `user_data` is what the caller passed. It must not call
/// blocking debpull functions nor unwind.
pub type DebpullEventCallback =
    Option<unsafe extern "C" fn(event: *const DebpullEvent, user_data: *mut c_void)>;

/// One update run of `updater`: after the jitter, under the lock, checks the
/// source and installs the candidate if the policy says so, health check and
/// rollback included; writes how it ended to `*out` (owned by the caller:
/// `debpull_outcome_free`). Returns `DEBPULL_STATUS_OK` whenever the run
/// produced an outcome: a failed run is an outcome of kind
/// `DEBPULL_OUTCOME_KIND_FAILED` (see `debpull_outcome_error_status`), not an
/// error status. `on_event` (NULL: none) is called with the run's event on
/// the calling thread before this returns. Borrows `updater`. Blocks.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_updater_update(
    updater: *const DebpullUpdater,
    on_event: DebpullEventCallback,
    user_data: *mut c_void,
    out: *mut *mut DebpullOutcome,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    call(error, || {
        // SAFETY: NULL or a live updater from debpull.
        let updater = unsafe { args::borrow(updater, "updater") }?;
        args::out(out, "out")?;
        let outcome = run::block_on_with_events(
            |sender| {
                let sink: EventSink = Arc::new(move |event: &Event| {
                    // Converted on the runtime's thread; a receiver gone
                    // (the call returned) drops it.
                    let _ = sender.send(DebpullEvent::new(event));
                });
                let run = updater.updater.update_with_events(sink);
                async move { Ok(run.await) }
            },
            |event: DebpullEvent| {
                if let Some(on_event) = on_event {
                    // SAFETY: the caller's callback, with a pointer valid for the call.
                    unsafe { on_event(&event, user_data) };
                }
            },
        )?;
        let outcome = DebpullOutcome::new(&outcome);
        // SAFETY: checked not NULL above.
        unsafe { args::write(out, args::into_handle(outcome)) };
        Ok(())
    })
}

/// The kind of `outcome` (`DEBPULL_OUTCOME_KIND_FAILED` for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_outcome_kind(outcome: *const DebpullOutcome) -> DebpullOutcomeKind {
    args::read(outcome, DebpullOutcomeKind::Failed, |o| o.kind)
}

/// The one line for a log (`app: updated 1.0 -> 1.1`), borrowed from
/// `outcome`. NULL for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_outcome_line(outcome: *const DebpullOutcome) -> *const c_char {
    args::read(outcome, std::ptr::null(), |o| o.line.as_ptr())
}

/// The package, borrowed from `outcome`. NULL for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_outcome_package(outcome: *const DebpullOutcome) -> *const c_char {
    args::read(outcome, std::ptr::null(), |o| o.package.as_ptr())
}

/// The version installed before the run, borrowed from `outcome`: for
/// UPDATED (NULL: a first install) and ROLLED_BACK (the version reinstalled);
/// NULL otherwise.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_outcome_from(outcome: *const DebpullOutcome) -> *const c_char {
    args::read(outcome, std::ptr::null(), |o| args::opt_ptr(&o.from))
}

/// The version installed by an UPDATED run, borrowed from `outcome`; NULL
/// for other kinds.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_outcome_to(outcome: *const DebpullOutcome) -> *const c_char {
    args::read(outcome, std::ptr::null(), |o| args::opt_ptr(&o.to))
}

/// The version a ROLLED_BACK or FAILED run tried to install, borrowed from
/// `outcome`; NULL when it did not get that far and for other kinds.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_outcome_attempted(outcome: *const DebpullOutcome) -> *const c_char {
    args::read(outcome, std::ptr::null(), |o| args::opt_ptr(&o.attempted))
}

/// The version installed after the run (for UPDATED, the new one; for
/// ROLLED_BACK and FAILED, what dpkg's status file says), borrowed from
/// `outcome`; NULL when none is (or it is unknown, or SKIPPED).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_outcome_installed(outcome: *const DebpullOutcome) -> *const c_char {
    args::read(outcome, std::ptr::null(), |o| args::opt_ptr(&o.installed))
}

/// The suite's candidate for an UP_TO_DATE run (installed already, or not
/// taken), a HELD or a HELD_BY_ADMIN one (not taken), borrowed from
/// `outcome`; NULL when the suite lacks the package and for other kinds.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_outcome_candidate(outcome: *const DebpullOutcome) -> *const c_char {
    args::read(outcome, std::ptr::null(), |o| args::opt_ptr(&o.candidate))
}

/// The kind of the error of a FAILED run or of the reason of a ROLLED_BACK
/// one; `DEBPULL_STATUS_OK` when there is none (and for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_outcome_error_status(outcome: *const DebpullOutcome) -> DebpullStatus {
    args::read(outcome, DebpullStatus::Ok, |o| o.error_status)
}

/// The message of that error, borrowed from `outcome`; NULL when there is
/// none (and for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_outcome_error_message(outcome: *const DebpullOutcome) -> *const c_char {
    args::read(outcome, std::ptr::null(), |o| {
        args::opt_ptr(&o.error_message)
    })
}

/// Frees an outcome `debpull_updater_update` returned. NULL is fine. Never
/// free the outcome of an event.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_outcome_free(outcome: *mut DebpullOutcome) {
    // SAFETY: NULL or an owned outcome from debpull, not used again.
    guard((), || unsafe { args::free(outcome) })
}

/// The outcome of the run, borrowed from `event` (never free it). NULL for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_event_outcome(event: *const DebpullEvent) -> *const DebpullOutcome {
    args::read(event, std::ptr::null(), |e| {
        &e.outcome as *const DebpullOutcome
    })
}

/// The source's suite, borrowed from `event`. NULL for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_event_suite(event: *const DebpullEvent) -> *const c_char {
    args::read(event, std::ptr::null(), |e| e.suite.as_ptr())
}

/// The machine's host name, borrowed from `event`. NULL for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_event_hostname(event: *const DebpullEvent) -> *const c_char {
    args::read(event, std::ptr::null(), |e| e.hostname.as_ptr())
}

/// When the run started (before the jitter), in seconds since 1970 (0 for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_event_started_unix(event: *const DebpullEvent) -> u64 {
    args::read(event, 0, |e| e.started_unix)
}

/// How long the run took, jitter included, in milliseconds (0 for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_event_duration_ms(event: *const DebpullEvent) -> u64 {
    args::read(event, 0, |e| e.duration_ms)
}

/// The random delay waited before the check, in milliseconds (0 for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_event_jitter_ms(event: *const DebpullEvent) -> u64 {
    args::read(event, 0, |e| e.jitter_ms)
}

/// How many warnings the run's check gave (0 for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn debpull_event_warning_count(event: *const DebpullEvent) -> usize {
    args::read(event, 0, |e| e.warnings.len())
}

/// Warning number `index` (from 0), borrowed from `event`. NULL past the end
/// and for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_event_warning_at(
    event: *const DebpullEvent,
    index: usize,
) -> *const c_char {
    args::read(event, std::ptr::null(), |e| {
        e.warnings
            .get(index)
            .map_or(std::ptr::null(), |w| w.as_ptr())
    })
}

/// Posts a Slack message after every run that updated, failed or rolled back
/// (see `debpull_notifier_new`; up to date, skipped and held runs post
/// nothing; a failed post never changes the outcome). The options keep their
/// own reference: `notifier` may be freed after.
#[unsafe(no_mangle)]
pub extern "C" fn debpull_updater_options_set_notifier(
    options: *mut DebpullUpdaterOptions,
    notifier: *const crate::notify::DebpullNotifier,
    error: *mut *mut DebpullError,
) -> DebpullStatus {
    with_options(options, error, |options| {
        // SAFETY: NULL or a live notifier from debpull.
        let notifier = unsafe { args::borrow(notifier, "notifier") }?;
        options.notifier = Some(notifier.notifier.clone());
        Ok(())
    })
}
