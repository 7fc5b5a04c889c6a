//! One update run: jitter, lock, check, decide by [`Policy`], download, install,
//! confirm, health check, rollback; every run ends in an [`Outcome`], also
//! emitted as an [`Event`].
//!
//! Installed means the flag `ok` and the state `installed` in dpkg's status
//! file: a package dpkg left half-configured or unpacked is installed again.
//! A package on hold (`apt-mark hold`, dpkg's selection `hold`) is not
//! touched, neither installed nor rolled back ([`Outcome::HeldByAdmin`]),
//! unless a pin asks for a version explicitly (then it is installed: apt is
//! allowed to change the held package, and `dpkg -i` clears the hold). An
//! installer failing because another process holds dpkg's lock makes the run
//! [`Outcome::Skipped`], nothing recorded.
//!
//! A version whose installer or health check failed is rolled back to the
//! version before it and recorded as failed (its content, by SHA256): it is
//! held back for 1 h, then 4 h, then 24 h after each further failure, unless
//! a pin names it (a record written under a pin holds even a pin). When the
//! failed version is still installed (its rollback failed, or an
//! administrator installed it again), a run rolls back again only while the
//! hold runs or when dpkg left it broken, and after a failed rollback only
//! once its back-off (5 min, 15 min, 1 h, then 4 h) has passed. A failure
//! record that cannot be used (garbage, overflowing times) is deleted with a
//! warning in the event.
//!
//! Cancellation (dropping the future, a timeout around it) is honoured until
//! the installer starts; from then on, install, confirmation, health check and
//! rollback run to their end in a task of their own, holding the run lock.
//! A cancelled run emits an [`Outcome::Failed`] event with an
//! [`ErrorKind::Cancelled`] error; one cancelled after its installer started
//! then emits a second event, from the task, with its real outcome. The task
//! lives only as long as the tokio runtime: a caller that cancels a run must
//! keep the runtime alive until the task ends (a blocking facade should not
//! time out the run, or should wait for the runtime's tasks before exit);
//! otherwise the installer is orphaned, and the next run finds dpkg's lock
//! held (skipped) or a broken install (installed again).

use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use rand::Rng;

use super::download::{self, FailureRecord, debs_dir};
use super::install::{self, Allow, Target};
use super::lock::{RunLock, private_dir};
use super::{Action, InstalledPackage, SourceTrust, Status, Updater, installed_package};
use crate::checksum::{self, Algorithm, Algorithms};
use crate::error::{Error, ErrorKind, Result};
use crate::index::Package;
use crate::version::Version;

/// How an update run ended.
#[derive(Debug)]
pub enum Outcome {
    /// Nothing to do: the candidate is installed already, or (upgrade only) it
    /// is lower, or the suite does not have the package.
    UpToDate {
        /// The package.
        package: String,
        /// The version installed.
        installed: Option<Version>,
        /// The suite's candidate.
        candidate: Option<Version>,
        /// The suite's highest version, kept from this machine for now by a
        /// staged rollout (see [`crate::phasing`]).
        deferred: Option<crate::phasing::Deferred>,
    },
    /// The candidate was installed (and passed the health check).
    Updated {
        /// The package.
        package: String,
        /// The version installed before (`None`: a first install).
        from: Option<Version>,
        /// The version installed now.
        to: Version,
    },
    /// The candidate's installer or health check failed, and the previous
    /// version was reinstalled (or that was tried: see `rollback_error`); or
    /// a run found a version that failed before still installed, and rolled
    /// it back.
    RolledBack {
        /// The package.
        package: String,
        /// The version installed before, reinstalled.
        from: Version,
        /// The version that failed.
        attempted: Version,
        /// Why it failed.
        reason: Error,
        /// Why reinstalling `from` failed, if it did (then `attempted`, or
        /// whatever dpkg left, stays installed, and the next run tries again).
        rollback_error: Option<Error>,
        /// Why recording `attempted` as failed did not work, if it did not
        /// (then it is tried again by the next run).
        record_error: Option<Error>,
        /// The version installed after the run, as dpkg's status file says
        /// (when it could be read).
        installed: Option<Version>,
    },
    /// The run failed. Failures before the installer ran leave the installed
    /// version untouched.
    Failed {
        /// The package.
        package: String,
        /// The version installed after the run (as dpkg's status file says,
        /// when it could be read).
        installed: Option<Version>,
        /// The version the run tried to install, if it got that far.
        attempted: Option<Version>,
        /// What went wrong.
        error: Error,
    },
    /// The candidate failed before and was rolled back: it is not installed
    /// again before `until`, unless the suite's candidate changes, a pin names
    /// it, or its failure record, `record`, is deleted.
    Held {
        /// The package.
        package: String,
        /// The version installed.
        installed: Option<Version>,
        /// The candidate held back.
        candidate: Version,
        /// Why it failed before.
        reason: String,
        /// The failure record.
        record: PathBuf,
        /// When it is tried again.
        until: SystemTime,
    },
    /// The administrator put the package on hold (`apt-mark hold`, dpkg's
    /// selection `hold`): it is not touched, unless a pin asks for a version.
    HeldByAdmin {
        /// The package.
        package: String,
        /// The version installed.
        installed: Version,
        /// The suite's candidate, not taken.
        candidate: Version,
    },
    /// Another run held the lock, or another process dpkg's lock (and did
    /// not let go in time): nothing was done.
    Skipped {
        /// The package.
        package: String,
    },
}

impl Outcome {
    /// The package the run was about.
    pub fn package(&self) -> &str {
        match self {
            Outcome::UpToDate { package, .. }
            | Outcome::Updated { package, .. }
            | Outcome::RolledBack { package, .. }
            | Outcome::Failed { package, .. }
            | Outcome::Held { package, .. }
            | Outcome::HeldByAdmin { package, .. }
            | Outcome::Skipped { package } => package,
        }
    }

    /// The versions the outcome names, the same fields for every kind (the
    /// bindings show them so).
    pub fn versions(&self) -> OutcomeVersions<'_> {
        let none = OutcomeVersions::default();
        match self {
            Outcome::UpToDate {
                installed,
                candidate,
                ..
            } => OutcomeVersions {
                installed: installed.as_ref(),
                candidate: candidate.as_ref(),
                ..none
            },
            Outcome::Updated { from, to, .. } => OutcomeVersions {
                from: from.as_ref(),
                to: Some(to),
                installed: Some(to),
                ..none
            },
            Outcome::RolledBack {
                from,
                attempted,
                installed,
                ..
            } => OutcomeVersions {
                from: Some(from),
                attempted: Some(attempted),
                installed: installed.as_ref(),
                ..none
            },
            Outcome::Failed {
                installed,
                attempted,
                ..
            } => OutcomeVersions {
                attempted: attempted.as_ref(),
                installed: installed.as_ref(),
                ..none
            },
            Outcome::Held {
                installed,
                candidate,
                ..
            } => OutcomeVersions {
                installed: installed.as_ref(),
                candidate: Some(candidate),
                ..none
            },
            Outcome::HeldByAdmin {
                installed,
                candidate,
                ..
            } => OutcomeVersions {
                installed: Some(installed),
                candidate: Some(candidate),
                ..none
            },
            Outcome::Skipped { .. } => none,
        }
    }

    /// The error, if the run failed or rolled back (the reason).
    pub fn error(&self) -> Option<&Error> {
        match self {
            Outcome::RolledBack { reason, .. } => Some(reason),
            Outcome::Failed { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// The versions an [`Outcome`] names ([`Outcome::versions`]); `None` where
/// its kind has none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutcomeVersions<'a> {
    /// The version before the run: Updated (`None`: a first install), RolledBack (reinstalled).
    pub from: Option<&'a Version>,
    /// The version an Updated run installed.
    pub to: Option<&'a Version>,
    /// The version a RolledBack or Failed run tried to install.
    pub attempted: Option<&'a Version>,
    /// The version installed after the run (Updated: `to`; RolledBack, Failed:
    /// as dpkg's status file says, when it could be read).
    pub installed: Option<&'a Version>,
    /// The suite's candidate of an UpToDate, Held or HeldByAdmin run.
    pub candidate: Option<&'a Version>,
}

/// Writes `value` on one line: line breaks (an installer's output in an
/// error) become ` | `, other control characters a space.
struct OneLine<T>(T);

impl<T: fmt::Display> fmt::Display for OneLine<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0.to_string();
        let mut lines = text.lines().map(str::trim_end).filter(|l| !l.is_empty());
        if let Some(first) = lines.next() {
            write_printable(f, first)?;
        }
        for line in lines {
            f.write_str(" | ")?;
            write_printable(f, line)?;
        }
        Ok(())
    }
}

fn write_printable(f: &mut fmt::Formatter<'_>, line: &str) -> fmt::Result {
    for c in line.chars() {
        f.write_char(if c.is_control() { ' ' } else { c })?;
    }
    Ok(())
}

/// One line for a log: `app: updated 1.0 -> 1.1`, `app: up to date (1.1)`, ...
/// (an error's multi-line text is joined with ` | `).
impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let or_none = |v: &Option<Version>| {
            v.as_ref()
                .map_or_else(|| "none".to_owned(), |v| v.to_string())
        };
        match self {
            Outcome::UpToDate {
                package,
                installed,
                candidate,
                deferred,
            } => {
                write!(f, "{package}: up to date ({})", or_none(installed))?;
                match candidate {
                    Some(c) if Some(c) != installed.as_ref() => {
                        write!(f, ", candidate {c} not taken")?;
                    }
                    // With a deferral, the suite has the package (only not
                    // for this machine yet).
                    None if deferred.is_none() => write!(f, ", not in the suite")?,
                    _ => {}
                }
                match deferred {
                    Some(deferred) => write!(f, ", {deferred}"),
                    None => Ok(()),
                }
            }
            Outcome::Updated { package, from, to } => {
                write!(f, "{package}: updated {} -> {to}", or_none(from))
            }
            Outcome::RolledBack {
                package,
                from,
                attempted,
                reason,
                rollback_error,
                record_error,
                installed,
            } => {
                write!(f, "{package}: {attempted} failed ({}); ", OneLine(reason))?;
                match rollback_error {
                    None => write!(f, "rolled back to {from}")?,
                    Some(e) => write!(
                        f,
                        "rolling back to {from} failed too ({}); installed: {}",
                        OneLine(e),
                        or_none(installed)
                    )?,
                }
                match record_error {
                    None => Ok(()),
                    Some(e) => write!(f, "; not recorded as failed ({})", OneLine(e)),
                }
            }
            Outcome::Failed {
                package,
                installed,
                attempted,
                error,
            } => {
                write!(f, "{package}: failed")?;
                if let Some(a) = attempted {
                    write!(f, " to install {a}")?;
                }
                write!(
                    f,
                    " ({}); installed: {}",
                    OneLine(error),
                    or_none(installed)
                )
            }
            Outcome::Held {
                package,
                installed,
                candidate,
                reason,
                ..
            } => write!(
                f,
                "{package}: {candidate} held back (it failed before: {}); installed: {}",
                OneLine(reason),
                or_none(installed)
            ),
            Outcome::HeldByAdmin {
                package,
                installed,
                candidate,
            } => write!(
                f,
                "{package}: on hold by the administrator ({installed} kept, candidate {candidate} not taken)"
            ),
            Outcome::Skipped { package } => {
                write!(
                    f,
                    "{package}: skipped (another run, or another dpkg, holds the lock)"
                )
            }
        }
    }
}

/// One update run as the notifications see it.
#[derive(Debug)]
pub struct Event {
    /// How it ended.
    pub outcome: Outcome,
    /// The package.
    pub package: String,
    /// The source's suite.
    pub suite: String,
    /// The machine's host name.
    pub hostname: String,
    /// When the run started (before the jitter).
    pub started: SystemTime,
    /// How long it took, jitter included.
    pub duration: Duration,
    /// The random delay waited before the check.
    pub jitter: Duration,
    /// Warnings of the check (signatures not checked, ...).
    pub warnings: Vec<String>,
}

/// A random delay in `0..=max`.
pub(crate) fn jitter_delay(max: Duration) -> Duration {
    if max.is_zero() {
        return Duration::ZERO;
    }
    let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rand::rngs::OsRng.gen_range(0..=nanos))
}

fn lock_warnings(report: &Report) -> std::sync::MutexGuard<'_, Vec<String>> {
    lock(&report.warnings)
}

/// The machine's host name (Linux: the kernel's), or `"unknown"`.
pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// What a run decided to do after the check.
enum Plan {
    Nothing(Outcome),
    Install(Package),
    /// The failed `candidate` is installed: roll back to `previous` again.
    RollBack {
        candidate: Package,
        previous: Version,
        record: FailureRecord,
    },
}

/// The callback of [`Updater::update_with_events`].
pub type EventSink = Arc<dyn Fn(&Event) + Send + Sync>;

/// What a run shares with its install task: how to report, and whether the
/// run was cancelled while the task went on.
struct Report {
    on_event: EventSink,
    package: String,
    suite: String,
    started: SystemTime,
    clock: Instant,
    jitter: Duration,
    warnings: Mutex<Vec<String>>,
    installing: AtomicBool,
    slot: Mutex<Slot>,
}

/// The install task's outcome on its way to the run.
#[derive(Default)]
struct Slot {
    /// The task ended; the run has not taken its outcome yet.
    outcome: Option<Outcome>,
    /// The run was cancelled: the task reports its outcome itself.
    detached: bool,
}

impl Report {
    fn event(&self, outcome: Outcome) -> Event {
        Event {
            outcome,
            package: self.package.clone(),
            suite: self.suite.clone(),
            hostname: hostname(),
            started: self.started,
            duration: self.clock.elapsed(),
            jitter: self.jitter,
            warnings: lock(&self.warnings).clone(),
        }
    }

    /// The install task ended with `outcome`: handed to the run, or (the run
    /// was cancelled) emitted here.
    fn finish(&self, outcome: Outcome) {
        let mut slot = lock(&self.slot);
        if slot.detached {
            (self.on_event)(&self.event(outcome));
        } else {
            slot.outcome = Some(outcome);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Emits a "cancelled" event if dropped before disarmed (not while panicking:
/// a panic is no cancellation).
struct CancelGuard<'a> {
    updater: &'a Updater,
    report: &'a Report,
    armed: bool,
}

impl Drop for CancelGuard<'_> {
    fn drop(&mut self) {
        if !self.armed || std::thread::panicking() {
            return;
        }
        let report = self.report;
        let mut slot = lock(&report.slot);
        if let Some(outcome) = slot.outcome.take() {
            // The install task ended, the run was dropped before taking it.
            (report.on_event)(&report.event(outcome));
            return;
        }
        let message = if report.installing.load(Ordering::SeqCst) {
            slot.detached = true;
            "the run was cancelled after its installer started: install, health check \
             and rollback go on, and their outcome is reported in another event"
        } else {
            "the run was cancelled before its installer started: nothing was installed"
        };
        let outcome = self
            .updater
            .failed(None, Error::new(ErrorKind::Cancelled, message));
        (report.on_event)(&report.event(outcome));
    }
}

impl Updater {
    /// One update run: after a random delay up to `jitter`, under the lock,
    /// checks the source and installs its candidate if the policy says so,
    /// health check and rollback included. Never fails: every failure is an
    /// [`Outcome::Failed`]. Cancelling it (dropping the future) stops it only
    /// before the installer starts (see the module documentation): the tokio
    /// runtime must then outlive the install task.
    pub async fn update(&self) -> Outcome {
        self.update_with_events(Arc::new(|_: &Event| {})).await
    }

    /// [`Updater::update`], calling `on_event` with the run's [`Event`] before
    /// returning its outcome. A run cancelled before its installer started
    /// emits one [`ErrorKind::Cancelled`] event; one cancelled after emits
    /// that event, then (from the install task, when it ends) the event of
    /// its real outcome.
    pub(crate) async fn update_with_events_unnotified(&self, on_event: EventSink) -> Outcome {
        let report = Arc::new(Report {
            on_event,
            package: self.options.package.clone(),
            suite: self.source.options.suite.clone(),
            started: SystemTime::now(),
            clock: Instant::now(),
            jitter: jitter_delay(self.options.jitter),
            warnings: Mutex::new(Vec::new()),
            installing: AtomicBool::new(false),
            slot: Mutex::new(Slot::default()),
        });
        let mut guard = CancelGuard {
            updater: self,
            report: &report,
            armed: true,
        };
        tokio::time::sleep(report.jitter).await;
        let outcome = self.run(&report).await;
        guard.armed = false;
        let event = report.event(outcome);
        (report.on_event)(&event);
        event.outcome
    }

    async fn run(&self, report: &Arc<Report>) -> Outcome {
        let package = self.options.package.clone();
        let state_dir = &self.source.options.state_dir;
        let lock = match RunLock::acquire(state_dir, self.options.lock).await {
            Ok(Some(lock)) => lock,
            Ok(None) => return Outcome::Skipped { package },
            Err(error) => return self.failed(None, error),
        };
        let dir = match self.cache_dir() {
            Ok(dir) => dir,
            Err(error) => return self.failed(None, error),
        };
        let pin = self.options.pin.as_ref();
        let status = match self.source.check(&package, pin).await {
            Ok(status) => status,
            Err(error) => return self.failed(pin.cloned(), error),
        };
        lock_warnings(report).extend(status.warnings.iter().cloned());
        let current = match self.installed() {
            Ok(current) => current,
            Err(error) => return self.failed(None, error),
        };
        let mut warnings = Vec::new();
        let plan = self.plan(status, current.as_ref(), &dir, &mut warnings);
        lock_warnings(report).extend(warnings);
        let candidate = match plan {
            Plan::Nothing(outcome) => return outcome,
            Plan::Install(candidate) => candidate,
            Plan::RollBack {
                candidate,
                previous,
                record,
            } => {
                let this = self.clone();
                let task = self.spawn_install(report, lock, async move {
                    let reason = Error::new(ErrorKind::Verification, record.reason)
                        .context("it failed before and is still installed");
                    this.roll_back(&candidate, Some(previous), reason, &dir, false)
                        .await
                });
                return self.joined(task, report, None).await;
            }
        };
        let to = candidate.version().clone();
        let deb = match download::fetch(&**self.source.storage(), &candidate, &dir).await {
            Ok(deb) => deb,
            Err(error) => return self.failed(Some(to), error),
        };
        // The download may have taken long: what is installed now counts.
        let current = match self.installed() {
            Ok(current) => current,
            Err(error) => return self.failed(None, error),
        };
        if current
            .as_ref()
            .is_some_and(|c| c.version == to && c.is_configured())
        {
            return Outcome::UpToDate {
                package,
                installed: Some(to.clone()),
                candidate: Some(to),
                deferred: None,
            };
        }
        let this = self.clone();
        let task = self.spawn_install(report, lock, async move {
            this.install_and_check(&candidate, &deb, current, &dir)
                .await
        });
        self.joined(task, report, Some(to)).await
    }

    /// Runs `work` (an install, health check, rollback) in a task of its own,
    /// which ends even if the run is cancelled, and then reports its outcome;
    /// the run `lock` is let go after that.
    fn spawn_install(
        &self,
        report: &Arc<Report>,
        lock: RunLock,
        work: impl std::future::Future<Output = Outcome> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        report.installing.store(true, Ordering::SeqCst);
        let report = report.clone();
        tokio::spawn(async move {
            let outcome = work.await;
            report.finish(outcome);
            drop(lock);
        })
    }

    /// The outcome of a spawned part of a run (a panic in it is a failure).
    async fn joined(
        &self,
        task: tokio::task::JoinHandle<()>,
        report: &Report,
        attempted: Option<Version>,
    ) -> Outcome {
        let joined = task.await;
        let outcome = lock(&report.slot).outcome.take();
        match (joined, outcome) {
            (Ok(()), Some(outcome)) => outcome,
            (Err(e), _) => self.failed(
                attempted,
                Error::new(ErrorKind::Io, format!("the install task failed: {e}")),
            ),
            (Ok(()), None) => self.failed(
                attempted,
                Error::new(ErrorKind::Io, "the install task ended without an outcome"),
            ),
        }
    }

    /// Installs the downloaded `deb` of `candidate` over `current`, confirms
    /// it, runs the health check; rolls back on failure.
    async fn install_and_check(
        &self,
        candidate: &Package,
        deb: &Path,
        current: Option<InstalledPackage>,
        dir: &Path,
    ) -> Outcome {
        let package = self.options.package.clone();
        let to = candidate.version().clone();
        let downgrade = current.as_ref().is_some_and(|c| to < c.version);
        let held = current.as_ref().is_some_and(|c| c.is_held());
        // Only a version dpkg finished installing is worth going back to.
        let from = current
            .as_ref()
            .filter(|c| c.is_configured())
            .map(|c| c.version.clone());
        if let Err(error) = self.install_file(deb, &to, downgrade, held).await {
            if error.kind() == ErrorKind::ConcurrentUpdate {
                // Another dpkg is at work: not this version's failure.
                return Outcome::Skipped { package };
            }
            let now = self.installed().ok().flatten();
            if now == current && current.as_ref().is_none_or(|c| c.is_configured()) {
                // The installer changed nothing: the next run tries again.
                return self.failed(Some(to), error);
            }
            return self.roll_back(candidate, from, error, dir, true).await;
        }
        let reason = match &self.options.health_check {
            None => Ok(()),
            Some(health) => install::health_check(health, self.options.health_timeout).await,
        };
        match reason {
            Ok(()) => {
                download::clear_failure(dir, candidate);
                self.prune_cache(dir, &to, from.as_ref());
                Outcome::Updated { package, from, to }
            }
            Err(e) => {
                let reason = e.context(format_args!("{package} {to}"));
                self.roll_back(candidate, from, reason, dir, true).await
            }
        }
    }

    /// Records `candidate` as failed (if `record`) and reinstalls `from`.
    async fn roll_back(
        &self,
        candidate: &Package,
        from: Option<Version>,
        reason: Error,
        dir: &Path,
        record: bool,
    ) -> Outcome {
        let package = self.options.package.clone();
        let to = candidate.version().clone();
        let pinned = self.options.pin.as_ref() == Some(&to);
        let record_error = if record {
            download::record_failure(dir, candidate, &reason.to_string(), from.as_ref(), pinned)
                .err()
                .map(|e| e.context("recording the failed version"))
        } else {
            None
        };
        let Some(from) = from else {
            let mut error = reason.context("no previous version to roll back to");
            if let Some(e) = record_error {
                error = error.context(format_args!("(and {e})"));
            }
            return self.failed(Some(to), error);
        };
        let rollback_error = self.reinstall(&from, dir).await.err();
        let mut record_error = record_error;
        if rollback_error.is_some() {
            // Tried again only after a growing delay.
            if let Err(e) = download::record_failed_rollback(dir, candidate) {
                record_error.get_or_insert(e.context("recording the failed rollback"));
            }
        }
        self.prune_cache(dir, &from, Some(&to));
        Outcome::RolledBack {
            package,
            from,
            attempted: to,
            reason,
            rollback_error,
            record_error,
            installed: self.installed().ok().flatten().map(|p| p.version),
        }
    }

    /// Decides by the policy, the pin, dpkg's state (a hold) and failure
    /// records; an unusable failure record is deleted with a warning.
    fn plan(
        &self,
        mut status: Status,
        current: Option<&InstalledPackage>,
        dir: &Path,
        warnings: &mut Vec<String>,
    ) -> Plan {
        let package = self.options.package.clone();
        status.installed = current.map(|c| c.version.clone());
        let Some(candidate) = status.candidate.clone() else {
            return Plan::Nothing(match &self.options.pin {
                Some(pin) => self.failed(
                    Some(pin.clone()),
                    Error::new(
                        ErrorKind::NotFound,
                        format!(
                            "{package} {pin} (pinned) is not in suite {} for {}",
                            self.source.options.suite, self.source.architecture
                        ),
                    ),
                ),
                None => Outcome::UpToDate {
                    package,
                    installed: status.installed,
                    candidate: None,
                    deferred: status.deferred,
                },
            });
        };
        let at_candidate = status.installed.as_ref() == Some(candidate.version());
        let broken = current.is_some_and(|c| !c.is_configured());
        let pinned = self.options.pin.is_some();
        if let Some(held) = current.filter(|c| c.is_held() && !pinned) {
            // The administrator's hold: nothing is installed or rolled back.
            return Plan::Nothing(if at_candidate && !broken {
                Outcome::UpToDate {
                    package,
                    installed: status.installed,
                    candidate: Some(candidate.version().clone()),
                    deferred: status.deferred,
                }
            } else {
                Outcome::HeldByAdmin {
                    package,
                    installed: held.version.clone(),
                    candidate: candidate.version().clone(),
                }
            });
        }
        let wanted = status.action(self.options.policy) != Action::Nothing
            || (pinned && !at_candidate)
            || broken;
        let now = SystemTime::now();
        let held = |record: FailureRecord, until: SystemTime| {
            Plan::Nothing(Outcome::Held {
                package: package.clone(),
                installed: status.installed.clone(),
                candidate: candidate.version().clone(),
                until,
                reason: record.reason,
                record: record.path,
            })
        };
        let record = match download::recorded_failure(dir, &candidate) {
            Ok(record) => record,
            Err(warning) => {
                warnings.push(warning);
                None
            }
        };
        if let Some(record) = record {
            let holding = now < record.until();
            if pinned && !record.pinned {
                // An explicit pin of a version held back: try it again.
                download::clear_failure(dir, &candidate);
            } else if at_candidate {
                return match record.previous.clone() {
                    // Rolled back automatically only while the hold runs (or
                    // dpkg left it broken): after it, an administrator may
                    // have installed it on purpose.
                    Some(previous) if previous != *candidate.version() && (holding || broken) => {
                        match record.retry_rollback {
                            Some(retry) if now < retry => held(record, retry),
                            _ => Plan::RollBack {
                                candidate,
                                previous,
                                record,
                            },
                        }
                    }
                    Some(previous) if previous != *candidate.version() => {
                        Plan::Nothing(Outcome::UpToDate {
                            package,
                            installed: status.installed,
                            candidate: Some(candidate.version().clone()),
                            deferred: status.deferred,
                        })
                    }
                    _ if holding || !wanted => {
                        let until = record.until();
                        held(record, until)
                    }
                    _ => Plan::Install(candidate),
                };
            } else if wanted && holding {
                let until = record.until();
                return held(record, until);
            }
        }
        if wanted {
            Plan::Install(candidate)
        } else {
            Plan::Nothing(Outcome::UpToDate {
                package,
                installed: status.installed,
                candidate: Some(candidate.version().clone()),
                deferred: status.deferred,
            })
        }
    }

    async fn install_file(
        &self,
        deb: &Path,
        version: &Version,
        downgrade: bool,
        held: bool,
    ) -> Result<()> {
        let target = Target {
            admin_dir: &self.source.options.admin_dir,
            root: self.options.root.as_deref(),
            apt_config: self.options.apt_config.as_deref(),
        };
        install::install(
            &self.options.installer,
            target,
            deb,
            &self.options.package,
            version,
            Allow { downgrade, held },
            self.options.install_timeout,
        )
        .await
    }

    /// Reinstalls `version`: its stanza in the suite if still listed (the
    /// cached file verified against it, or downloaded again), else the
    /// cached file, verified against the hash it was verified with before.
    async fn reinstall(&self, version: &Version, dir: &Path) -> Result<()> {
        let name = &self.options.package;
        // A check pinned to the version: its stanza if the suite still lists it.
        let listed = self.source.check(name, Some(version)).await;
        let deb = match listed {
            Ok(Status {
                candidate: Some(package),
                ..
            }) => download::fetch(&**self.source.storage(), &package, dir).await?,
            listed => {
                let why = match listed {
                    Err(e) => format!("its check failed: {e}"),
                    Ok(_) => "not listed".to_owned(),
                };
                download::cached(dir, name, version, &self.source.architecture)
                    .await
                    .map_err(|e| {
                        let kind = e.kind();
                        Error::new(
                            kind,
                            format!(
                                "{name} {version} is neither cached nor listed in suite {} \
                                 ({why}; the cache: {e})",
                                self.source.options.suite
                            ),
                        )
                    })?
            }
        };
        let installed = self.installed()?;
        let downgrade = installed.as_ref().is_some_and(|c| *version < c.version);
        let held = installed.is_some_and(|c| c.is_held());
        self.install_file(&deb, version, downgrade, held)
            .await
            .map_err(|e| e.context("rolling back"))
    }

    fn prune_cache(&self, dir: &Path, installed: &Version, previous: Option<&Version>) {
        let keep: Vec<&Version> = std::iter::once(installed).chain(previous).collect();
        download::prune(dir, &self.options.package, &keep);
    }

    /// What dpkg's status file says about the package.
    fn installed(&self) -> Result<Option<InstalledPackage>> {
        installed_package(&self.source.options.admin_dir, &self.options.package)
    }

    /// The `.deb` cache of this source, `<state_dir>/debs/<suite>-<id>`: one
    /// per repository, suite, component, architecture and trust (a file an
    /// unsigned source fetched is never a signed source's rollback). Created
    /// `0700` and checked.
    fn cache_dir(&self) -> Result<PathBuf> {
        let base = debs_dir(&self.source.options.state_dir);
        private_dir(&base)?;
        let options = &self.source.options;
        let trust = match &options.trust {
            SourceTrust::Keys(keys) => format!("keys {}", keys.fingerprints().join(",")),
            SourceTrust::InsecureUnsigned => "unsigned".to_owned(),
        };
        let id = format!(
            "{}\n{}\n{}\n{}\n{trust}",
            self.source.storage(),
            options.suite,
            options.component,
            self.source.architecture
        );
        let digest = checksum::of_bytes(id.as_bytes(), Algorithms::NONE.with(Algorithm::Sha256));
        let hex = digest.hex(Algorithm::Sha256).unwrap_or_default();
        let dir = base.join(format!("{}-{}", options.suite, &hex[..16.min(hex.len())]));
        private_dir(&dir)?;
        Ok(dir)
    }

    /// A failure, with the installed version read again.
    fn failed(&self, attempted: Option<Version>, error: Error) -> Outcome {
        Outcome::Failed {
            package: self.options.package.clone(),
            installed: self.installed().ok().flatten().map(|p| p.version),
            attempted,
            error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_names_its_versions_in_the_same_fields() {
        let v = |s: &str| Version::parse(s).unwrap();
        let updated = Outcome::Updated {
            package: "app".into(),
            from: None,
            to: v("1.1"),
        };
        let versions = updated.versions();
        assert_eq!((versions.from, versions.to), (None, Some(&v("1.1"))));
        assert_eq!(versions.installed, Some(&v("1.1")));
        let rolled_back = Outcome::RolledBack {
            package: "app".into(),
            from: v("1.0"),
            attempted: v("1.1"),
            reason: Error::new(ErrorKind::Io, "health check failed"),
            rollback_error: None,
            record_error: None,
            installed: Some(v("1.0")),
        };
        let versions = rolled_back.versions();
        assert_eq!(
            (
                versions.from,
                versions.attempted,
                versions.installed,
                versions.to
            ),
            (Some(&v("1.0")), Some(&v("1.1")), Some(&v("1.0")), None)
        );
        let held = Outcome::HeldByAdmin {
            package: "app".into(),
            installed: v("1.0"),
            candidate: v("1.1"),
        };
        assert_eq!(held.versions().candidate, Some(&v("1.1")));
        let skipped = Outcome::Skipped {
            package: "app".into(),
        };
        assert_eq!(skipped.versions(), OutcomeVersions::default());
    }

    #[test]
    fn an_installers_multi_line_output_stays_on_the_outcomes_line() {
        let reason = "health check failed (exit status: 1); stderr: first\r\n\nsecond\tthird\n";
        let outcome = Outcome::RolledBack {
            package: "app".into(),
            from: Version::parse("1.0").unwrap(),
            attempted: Version::parse("1.1").unwrap(),
            reason: Error::new(ErrorKind::Io, reason),
            rollback_error: Some(Error::new(ErrorKind::Io, "dpkg:\nerror")),
            record_error: None,
            installed: None,
        };
        assert_eq!(
            outcome.to_string(),
            "app: 1.1 failed (health check failed (exit status: 1); stderr: first | second third); \
             rolling back to 1.0 failed too (dpkg: | error); installed: none"
        );
    }

    #[test]
    fn outcomes_read_as_one_log_line() {
        let v = |s: &str| Some(Version::parse(s).unwrap());
        let package = "app".to_owned();
        let lines = [
            Outcome::UpToDate {
                package: package.clone(),
                installed: v("1.1"),
                candidate: v("1.1"),
                deferred: None,
            },
            Outcome::UpToDate {
                package: package.clone(),
                installed: v("1.1"),
                candidate: v("1.0"),
                deferred: None,
            },
            // An upgrade-only server after a rollback (1.0 back in the
            // suite) while 1.2 is being rolled out without it: both show.
            Outcome::UpToDate {
                package: package.clone(),
                installed: v("1.1"),
                candidate: v("1.0"),
                deferred: Some(crate::phasing::Deferred {
                    version: Version::parse("1.2").unwrap(),
                    percentage: 10,
                }),
            },
            // The only version is deferred: not "not in the suite".
            Outcome::UpToDate {
                package: package.clone(),
                installed: None,
                candidate: None,
                deferred: Some(crate::phasing::Deferred {
                    version: Version::parse("1.2").unwrap(),
                    percentage: 10,
                }),
            },
            Outcome::Updated {
                package: package.clone(),
                from: None,
                to: Version::parse("1:2.0~rc1-3").unwrap(),
            },
            Outcome::RolledBack {
                package: package.clone(),
                from: Version::parse("1.0").unwrap(),
                attempted: Version::parse("1.1").unwrap(),
                reason: Error::new(ErrorKind::Verification, "health check exited 1"),
                rollback_error: None,
                record_error: None,
                installed: v("1.0"),
            },
            Outcome::Failed {
                package: package.clone(),
                installed: v("1.0"),
                attempted: v("1.1"),
                error: Error::new(ErrorKind::Io, "dpkg -i exited 2"),
            },
            Outcome::Skipped { package },
        ]
        .map(|o| o.to_string());
        assert_eq!(
            lines,
            [
                "app: up to date (1.1)",
                "app: up to date (1.1), candidate 1.0 not taken",
                "app: up to date (1.1), candidate 1.0 not taken, \
                 1.2 deferred (phased 10%, this machine not yet included)",
                "app: up to date (none), 1.2 deferred (phased 10%, this machine not yet included)",
                "app: updated none -> 1:2.0~rc1-3",
                "app: 1.1 failed (health check exited 1); rolled back to 1.0",
                "app: failed to install 1.1 (dpkg -i exited 2); installed: 1.0",
                "app: skipped (another run, or another dpkg, holds the lock)",
            ]
        );
    }

    #[test]
    fn jitter_stays_within_its_bound_and_varies() {
        assert_eq!(jitter_delay(Duration::ZERO), Duration::ZERO);
        let max = Duration::from_millis(500);
        let delays: Vec<Duration> = (0..200).map(|_| jitter_delay(max)).collect();
        assert!(delays.iter().all(|d| *d <= max));
        let first = delays[0];
        assert!(delays.iter().any(|d| *d != first), "always {first:?}");
        assert!(delays.iter().any(|d| *d < max / 2) && delays.iter().any(|d| *d > max / 2));
    }
}
