//! One update run: jitter, lock, check, decide by [`Policy`], download, install,
//! confirm, health check, rollback; every run ends in an [`Outcome`], also
//! emitted as an [`Event`].
//!
//! Installed means `install ok installed` in dpkg's status file: a package
//! dpkg left half-configured or unpacked is installed again. A version whose
//! installer or health check failed is rolled back to the version before it
//! and recorded as failed (its content, by SHA256): it is held back for 1 h,
//! then 4 h, then 24 h after each further failure, unless a pin names it
//! (a record written under a pin holds even a pin). When the failed version is
//! still installed (its rollback failed), each run tries the rollback again.
//!
//! Cancellation (dropping the future, a timeout around it) is honoured until
//! the installer starts; from then on, install, confirmation, health check and
//! rollback run to their end in a task of their own, holding the run lock.
//! A cancelled run emits an [`Outcome::Failed`] event with an
//! [`ErrorKind::Cancelled`] error.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use rand::Rng;

use super::download::{self, FailureRecord, debs_dir};
use super::install::{self, Target};
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
    /// Another run held the lock (and did not let go in time): nothing was done.
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
            | Outcome::Skipped { package } => package,
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

/// One line for a log: `app: updated 1.0 -> 1.1`, `app: up to date (1.1)`, ...
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
            } => {
                write!(f, "{package}: up to date ({})", or_none(installed))?;
                match candidate {
                    Some(c) if Some(c) != installed.as_ref() => {
                        write!(f, ", candidate {c} not taken")
                    }
                    None => write!(f, ", not in the suite"),
                    _ => Ok(()),
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
                write!(f, "{package}: {attempted} failed ({reason}); ")?;
                match rollback_error {
                    None => write!(f, "rolled back to {from}")?,
                    Some(e) => write!(
                        f,
                        "rolling back to {from} failed too ({e}); installed: {}",
                        or_none(installed)
                    )?,
                }
                match record_error {
                    None => Ok(()),
                    Some(e) => write!(f, "; not recorded as failed ({e})"),
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
                write!(f, " ({error}); installed: {}", or_none(installed))
            }
            Outcome::Held {
                package,
                installed,
                candidate,
                reason,
                ..
            } => write!(
                f,
                "{package}: {candidate} held back (it failed before: {reason}); installed: {}",
                or_none(installed)
            ),
            Outcome::Skipped { package } => {
                write!(f, "{package}: skipped (another run holds the lock)")
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

/// Emits a "cancelled" event if dropped before disarmed.
struct CancelGuard<'a> {
    updater: &'a Updater,
    on_event: &'a (dyn Fn(&Event) + Send + Sync),
    installing: &'a AtomicBool,
    started: SystemTime,
    clock: Instant,
    jitter: Duration,
    armed: bool,
}

impl Drop for CancelGuard<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let message = if self.installing.load(Ordering::SeqCst) {
            "the run was cancelled after its installer started: install, health check \
             and rollback complete in the background"
        } else {
            "the run was cancelled before its installer started: nothing was installed"
        };
        let event = Event {
            outcome: self
                .updater
                .failed(None, Error::new(ErrorKind::Cancelled, message)),
            package: self.updater.options.package.clone(),
            suite: self.updater.source.options.suite.clone(),
            hostname: hostname(),
            started: self.started,
            duration: self.clock.elapsed(),
            jitter: self.jitter,
            warnings: Vec::new(),
        };
        (self.on_event)(&event);
    }
}

impl Updater {
    /// One update run: after a random delay up to `jitter`, under the lock,
    /// checks the source and installs its candidate if the policy says so,
    /// health check and rollback included. Never fails: every failure is an
    /// [`Outcome::Failed`]. Cancelling it (dropping the future) stops it only
    /// before the installer starts (see the module documentation).
    pub async fn update(&self) -> Outcome {
        self.update_with_events(&|_| {}).await
    }

    /// [`Updater::update`], calling `on_event` with the run's [`Event`] before
    /// returning its outcome (or when the run is cancelled).
    pub async fn update_with_events(&self, on_event: &(dyn Fn(&Event) + Send + Sync)) -> Outcome {
        let started = SystemTime::now();
        let clock = Instant::now();
        let jitter = jitter_delay(self.options.jitter);
        let installing = AtomicBool::new(false);
        let mut guard = CancelGuard {
            updater: self,
            on_event,
            installing: &installing,
            started,
            clock,
            jitter,
            armed: true,
        };
        tokio::time::sleep(jitter).await;
        let mut warnings = Vec::new();
        let outcome = self.run(&mut warnings, &installing).await;
        guard.armed = false;
        let event = Event {
            outcome,
            warnings,
            package: self.options.package.clone(),
            suite: self.source.options.suite.clone(),
            hostname: hostname(),
            started,
            duration: clock.elapsed(),
            jitter,
        };
        on_event(&event);
        event.outcome
    }

    async fn run(&self, warnings: &mut Vec<String>, installing: &AtomicBool) -> Outcome {
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
        warnings.extend(status.warnings.iter().cloned());
        let current = match self.installed() {
            Ok(current) => current,
            Err(error) => return self.failed(None, error),
        };
        let candidate = match self.plan(status, current.as_ref(), &dir) {
            Plan::Nothing(outcome) => return outcome,
            Plan::Install(candidate) => candidate,
            Plan::RollBack {
                candidate,
                previous,
                record,
            } => {
                installing.store(true, Ordering::SeqCst);
                let this = self.clone();
                let task = tokio::spawn(async move {
                    let _lock = lock;
                    let reason = Error::new(ErrorKind::Verification, record.reason)
                        .context("it failed before and is still installed");
                    this.roll_back(&candidate, Some(previous), reason, &dir, false)
                        .await
                });
                return self.joined(task, None).await;
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
            };
        }
        installing.store(true, Ordering::SeqCst);
        let this = self.clone();
        let task = tokio::spawn(async move {
            let _lock = lock;
            this.install_and_check(&candidate, &deb, current, &dir)
                .await
        });
        self.joined(task, Some(to)).await
    }

    /// The outcome of a spawned part of a run (a panic in it is a failure).
    async fn joined(
        &self,
        task: tokio::task::JoinHandle<Outcome>,
        attempted: Option<Version>,
    ) -> Outcome {
        match task.await {
            Ok(outcome) => outcome,
            Err(e) => self.failed(
                attempted,
                Error::new(ErrorKind::Io, format!("the install task failed: {e}")),
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
        // Only a version dpkg finished installing is worth going back to.
        let from = current
            .as_ref()
            .filter(|c| c.is_configured())
            .map(|c| c.version.clone());
        if let Err(error) = self.install_file(deb, &to, downgrade).await {
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

    /// Decides by the policy, the pin, dpkg's state and failure records.
    fn plan(&self, mut status: Status, current: Option<&InstalledPackage>, dir: &Path) -> Plan {
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
                },
            });
        };
        let at_candidate = status.installed.as_ref() == Some(candidate.version());
        let broken = current.is_some_and(|c| !c.is_configured());
        let pinned = self.options.pin.is_some();
        let wanted = status.action(self.options.policy) != Action::Nothing
            || (pinned && !at_candidate)
            || broken;
        let held = |record: FailureRecord| {
            Plan::Nothing(Outcome::Held {
                package: package.clone(),
                installed: status.installed.clone(),
                candidate: candidate.version().clone(),
                until: record.until(),
                reason: record.reason,
                record: record.path,
            })
        };
        if let Some(record) = download::recorded_failure(dir, &candidate) {
            if pinned && !record.pinned {
                // An explicit pin of a version held back: try it again.
                download::clear_failure(dir, &candidate);
            } else if at_candidate {
                return match record.previous.clone() {
                    Some(previous) if previous != *candidate.version() => Plan::RollBack {
                        candidate,
                        previous,
                        record,
                    },
                    _ if SystemTime::now() < record.until() || !wanted => held(record),
                    _ => Plan::Install(candidate),
                };
            } else if wanted && SystemTime::now() < record.until() {
                return held(record);
            }
        }
        if wanted {
            Plan::Install(candidate)
        } else {
            Plan::Nothing(Outcome::UpToDate {
                package,
                installed: status.installed,
                candidate: Some(candidate.version().clone()),
            })
        }
    }

    async fn install_file(&self, deb: &Path, version: &Version, downgrade: bool) -> Result<()> {
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
            downgrade,
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
        let downgrade = installed.is_some_and(|c| *version < c.version);
        self.install_file(&deb, version, downgrade)
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
    fn outcomes_read_as_one_log_line() {
        let v = |s: &str| Some(Version::parse(s).unwrap());
        let package = "app".to_owned();
        let lines = [
            Outcome::UpToDate {
                package: package.clone(),
                installed: v("1.1"),
                candidate: v("1.1"),
            },
            Outcome::UpToDate {
                package: package.clone(),
                installed: v("1.1"),
                candidate: v("1.0"),
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
                "app: updated none -> 1:2.0~rc1-3",
                "app: 1.1 failed (health check exited 1); rolled back to 1.0",
                "app: failed to install 1.1 (dpkg -i exited 2); installed: 1.0",
                "app: skipped (another run holds the lock)",
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
