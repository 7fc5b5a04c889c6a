//! One update run: jitter, lock, check, decide by [`Policy`], download, install,
//! confirm, health check, rollback; every run ends in an [`Outcome`], also
//! emitted as an [`Event`].

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use rand::Rng;

use super::download::{self, debs_dir};
use super::install::{self, Target};
use super::lock::RunLock;
use super::{Action, Status, Updater, installed_version};
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
    /// The candidate was installed, failed the health check, and the previous
    /// version was reinstalled (or that was tried: see `rollback_error`).
    RolledBack {
        /// The package.
        package: String,
        /// The version installed before, reinstalled.
        from: Version,
        /// The version that failed the health check.
        attempted: Version,
        /// Why it failed.
        reason: Error,
        /// Why reinstalling `from` failed, if it did (then `attempted`, or
        /// whatever dpkg left, stays installed), or why recording `attempted`
        /// as failed did (then it is tried again by the next run).
        rollback_error: Option<Error>,
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
    /// The candidate failed its health check before and was rolled back: it is
    /// not installed again until the suite's candidate changes (or its failure
    /// record, `record`, is deleted).
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
            } => {
                write!(
                    f,
                    "{package}: {attempted} failed its health check ({reason}); "
                )?;
                match rollback_error {
                    None => write!(f, "rolled back to {from}"),
                    Some(e) => write!(f, "rolling back to {from} failed too ({e})"),
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
}

impl Updater {
    /// One update run: after a random delay up to `jitter`, under the lock,
    /// checks the source and installs its candidate if the policy says so,
    /// health check and rollback included. Never fails: every failure is an
    /// [`Outcome::Failed`].
    pub async fn update(&self) -> Outcome {
        self.update_with_events(&|_| {}).await
    }

    /// [`Updater::update`], calling `on_event` with the run's [`Event`] before
    /// returning its outcome.
    pub async fn update_with_events(&self, on_event: &(dyn Fn(&Event) + Send + Sync)) -> Outcome {
        let started = SystemTime::now();
        let clock = Instant::now();
        let jitter = jitter_delay(self.options.jitter);
        tokio::time::sleep(jitter).await;
        let mut warnings = Vec::new();
        let outcome = self.run(&mut warnings).await;
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

    async fn run(&self, warnings: &mut Vec<String>) -> Outcome {
        let package = self.options.package.clone();
        let state_dir = &self.source.options.state_dir;
        let _lock = match RunLock::acquire(state_dir, self.options.lock).await {
            Ok(Some(lock)) => lock,
            Ok(None) => return Outcome::Skipped { package },
            Err(error) => return self.failed(None, error),
        };
        let pin = self.options.pin.as_ref();
        let status = match self.source.check(&package, pin).await {
            Ok(status) => status,
            Err(error) => return self.failed(pin.cloned(), error),
        };
        warnings.extend(status.warnings.iter().cloned());
        let candidate = match self.plan(status) {
            Plan::Nothing(outcome) => return outcome,
            Plan::Install(candidate) => candidate,
        };
        let from = match installed_version(&self.source.options.admin_dir, &package) {
            Ok(from) => from,
            Err(error) => return self.failed(None, error),
        };
        let to = candidate.version().clone();
        let downgrade = from.as_ref().is_some_and(|f| to < *f);
        if let Err(error) = self.download_and_install(&candidate, downgrade).await {
            return self.failed(Some(to), error);
        }
        let Some(health) = &self.options.health_check else {
            self.prune_cache(&to, from.as_ref());
            return Outcome::Updated { package, from, to };
        };
        let reason = match install::health_check(health, self.options.health_timeout).await {
            Ok(()) => {
                self.prune_cache(&to, from.as_ref());
                return Outcome::Updated { package, from, to };
            }
            Err(e) => e.context(format_args!("{package} {to}")),
        };
        let Some(from) = from else {
            let error = reason.context("no previous version to roll back to");
            return self.failed(Some(to), error);
        };
        let record = download::record_failure(&self.debs_dir(), &candidate, &reason.to_string());
        let mut rollback_error = self.reinstall(&from).await.err();
        if let (Err(e), None) = (record, &rollback_error) {
            rollback_error = Some(e.context("recording the failed version"));
        }
        self.prune_cache(&from, Some(&to));
        Outcome::RolledBack {
            package,
            from,
            attempted: to,
            reason,
            rollback_error,
        }
    }

    /// Decides by the policy and the pin.
    fn plan(&self, status: Status) -> Plan {
        let package = self.options.package.clone();
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
        let pinned_elsewhere =
            self.options.pin.is_some() && status.installed.as_ref() != Some(candidate.version());
        let wanted = status.action(self.options.policy) != Action::Nothing || pinned_elsewhere;
        let held = match &status.installed {
            Some(_) if wanted => download::recorded_failure(&self.debs_dir(), &candidate),
            _ => None,
        };
        if let Some((record, reason)) = held {
            Plan::Nothing(Outcome::Held {
                package,
                installed: status.installed,
                candidate: candidate.version().clone(),
                reason,
                record,
            })
        } else if wanted {
            Plan::Install(candidate)
        } else {
            Plan::Nothing(Outcome::UpToDate {
                package,
                installed: status.installed,
                candidate: Some(candidate.version().clone()),
            })
        }
    }

    async fn download_and_install(&self, package: &Package, downgrade: bool) -> Result<()> {
        let deb = download::fetch(&**self.source.storage(), package, &self.debs_dir()).await?;
        self.install_file(&deb, package.version(), downgrade).await
    }

    async fn install_file(
        &self,
        deb: &std::path::Path,
        version: &Version,
        downgrade: bool,
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
            downgrade,
        )
        .await
    }

    /// Reinstalls `version`: its stanza in the suite if still listed (the
    /// cached file verified against it, or downloaded again), else the
    /// cached file.
    async fn reinstall(&self, version: &Version) -> Result<()> {
        let name = &self.options.package;
        // A check pinned to the version: its stanza if the suite still lists it.
        let listed = match self.source.check(name, Some(version)).await {
            Ok(status) => status.candidate,
            Err(_) => None,
        };
        let deb = match listed {
            Some(package) => {
                download::fetch(&**self.source.storage(), &package, &self.debs_dir()).await?
            }
            None => download::cached(&self.debs_dir(), name, version, &self.source.architecture)
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::NotFound,
                        format!(
                            "{name} {version} is neither cached in {} nor listed in suite {}",
                            self.debs_dir().display(),
                            self.source.options.suite
                        ),
                    )
                })?,
        };
        self.install_file(&deb, version, true)
            .await
            .map_err(|e| e.context("rolling back"))
    }

    fn prune_cache(&self, installed: &Version, previous: Option<&Version>) {
        let keep: Vec<&Version> = std::iter::once(installed).chain(previous).collect();
        download::prune(&self.debs_dir(), &self.options.package, &keep);
    }

    fn debs_dir(&self) -> PathBuf {
        debs_dir(&self.source.options.state_dir)
    }

    /// A failure, with the installed version read again.
    fn failed(&self, attempted: Option<Version>, error: Error) -> Outcome {
        let installed = installed_version(&self.source.options.admin_dir, &self.options.package)
            .ok()
            .flatten();
        Outcome::Failed {
            package: self.options.package.clone(),
            installed,
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
                "app: 1.1 failed its health check (health check exited 1); rolled back to 1.0",
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
