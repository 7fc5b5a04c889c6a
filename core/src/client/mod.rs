//! The puller: what every server runs every minute. It asks a repository
//! whether a newer version of its application exists, and installs it.
//!
//! A [`Source`] is one suite/component/architecture of a repository (`s3://`,
//! `file://`, `http(s)://`), the keys it must be signed with, and a state
//! directory. [`Source::check`] follows the update-check protocol of DESIGN.md:
//! a conditional GET of `InRelease` (a `304` answers from the state directory:
//! one request, nothing parsed); on a change the signature, `Date` (no
//! rollback), `Valid-Until` (no freeze) and Suite/Codename are checked and the
//! one Packages index needed is fetched by hash, its size and hash checked. The
//! [`Status`] it returns says what is installed ([`installed_version`], dpkg's
//! status file) and what the candidate is.
//!
//! An [`Updater`] acts on it: downloads the candidate (streamed, size-capped,
//! SHA256 checked while streaming), installs it with the configured
//! [`Installer`] (in its own process group, with a timeout), confirms that
//! dpkg says `ok installed` for it, runs the health check and rolls
//! back to the previous version when the installer or the health check fails
//! (a failed version is held back with a growing delay), under a lock, after
//! an optional random delay. Once the installer has started a run is no
//! longer cancellable. Every run of [`Updater::update`] ends in an
//! [`Outcome`], also emitted as an [`Event`]. It owns `<state_dir>/lock`
//! (`0600`) and the `.deb` cache `<state_dir>/debs/<suite>-<id>/` (`0700`,
//! one per repository and trust, files named by their SHA256 and hashed
//! again before every install).

mod check;
mod download;
mod dpkg;
mod install;
mod lock;
mod notify;
mod state;
mod update;

pub use check::MAX_RELEASE_SIZE;
pub use dpkg::{
    DEFAULT_ADMIN_DIR, InstalledPackage, installed_package, installed_version, status_path,
};
#[cfg(feature = "notify")]
pub(crate) use update::hostname;
pub use update::{Event, EventSink, Outcome, OutcomeVersions};

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, ErrorKind, Result};
use crate::index::Package;
use crate::sign::TrustedKeys;
use crate::storage::Storage;
use crate::version::Version;

/// Which signatures a [`Source`] accepts.
#[derive(Debug, Clone)]
pub enum SourceTrust {
    /// InRelease must carry a good signature by one of these keys (what apt's
    /// `signed-by=` says).
    Keys(TrustedKeys),
    /// No signature is checked. Anyone who can write to the repository or sit on
    /// the network path can then install anything on the machine: only for
    /// repositories on a trusted local disk in tests. Every check using it emits
    /// a warning.
    InsecureUnsigned,
}

/// Where a [`Source`] reads from and what it accepts.
#[derive(Debug, Clone)]
pub struct SourceOptions {
    /// The suite (`production`); the Release's `Suite` or `Codename` must be it.
    pub suite: String,
    /// The component (`main`).
    pub component: String,
    /// The architecture; `None`: the machine's (`dpkg --print-architecture`).
    pub architecture: Option<String>,
    /// Which signatures are accepted (required: there is no default).
    pub trust: SourceTrust,
    /// The state directory: last accepted InRelease (ETag, Date), the verified
    /// Packages index (under `check/`, see [`Source::check_state_dir`]),
    /// downloaded `.deb`s. It, and everything the check keeps in it, must
    /// belong to the effective user and not be writable by group or others.
    pub state_dir: PathBuf,
    /// dpkg's administrative directory (default [`DEFAULT_ADMIN_DIR`]).
    pub admin_dir: PathBuf,
    /// This machine's id for staged rollouts (32 hex digits, see
    /// [`crate::phasing`]); `None`: the first line of `/etc/machine-id`, read at
    /// every check (in a container or a test root, give it here). Without a
    /// valid one the machine takes phased versions only once complete (100%),
    /// with a warning.
    pub machine_id: Option<String>,
}

impl SourceOptions {
    /// Options for `suite`, component `main`, the machine's architecture and
    /// dpkg's default admin directory.
    pub fn new(
        suite: impl Into<String>,
        trust: SourceTrust,
        state_dir: impl Into<PathBuf>,
    ) -> Self {
        SourceOptions {
            suite: suite.into(),
            component: "main".into(),
            architecture: None,
            trust,
            state_dir: state_dir.into(),
            admin_dir: PathBuf::from(DEFAULT_ADMIN_DIR),
            machine_id: None,
        }
    }
}

/// A suite of a repository that a machine pulls from.
#[derive(Debug, Clone)]
pub struct Source {
    storage: Arc<dyn Storage>,
    options: SourceOptions,
    /// The architecture in effect (given, or the machine's).
    architecture: String,
}

/// What [`Source::check`] found for one package.
#[derive(Debug, Clone)]
pub struct Status {
    /// The package asked about.
    pub package: String,
    /// The version dpkg has installed, if any.
    pub installed: Option<Version>,
    /// The candidate: the highest version in the suite for this architecture
    /// or `all` (or the pinned version), if the suite has the package; during
    /// a staged rollout this machine is not in yet, the newest version it is
    /// in (see `deferred` and [`crate::phasing`]).
    pub candidate: Option<Package>,
    /// The highest version of the suite, when a staged rollout keeps it from
    /// this machine for now (the candidate is then the newest version this
    /// machine is included in, or what is installed; see [`crate::phasing`]).
    /// `None` when the candidate is that version (a first install with no
    /// other version to take takes it).
    pub deferred: Option<crate::phasing::Deferred>,
    /// Whether the suite changed since the previous check (`false`: the
    /// conditional GET was answered `304 Not Modified`).
    pub repository_changed: bool,
    /// Warnings of this check (e.g. signatures not checked because of
    /// [`SourceTrust::InsecureUnsigned`]; also printed on stderr).
    pub warnings: Vec<String>,
}

/// What a [`Status`] calls for under a [`Policy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Nothing is installed and the suite has a candidate.
    Install,
    /// The candidate is higher than the installed version.
    Upgrade,
    /// The candidate is lower than the installed version, and the policy
    /// follows the repository.
    Downgrade,
    /// Nothing to do: up to date, no candidate, or a lower candidate under
    /// [`Policy::UpgradeOnly`].
    Nothing,
}

impl Status {
    /// Whether the candidate is higher than the installed version (or nothing
    /// is installed).
    pub fn update_available(&self) -> bool {
        self.action(Policy::UpgradeOnly) != Action::Nothing
    }

    /// What to do under `policy`.
    pub fn action(&self, policy: Policy) -> Action {
        let Some(candidate) = &self.candidate else {
            return Action::Nothing;
        };
        match &self.installed {
            None => Action::Install,
            Some(installed) if candidate.version() > installed => Action::Upgrade,
            Some(installed)
                if candidate.version() < installed && policy == Policy::FollowRepository =>
            {
                Action::Downgrade
            }
            Some(_) => Action::Nothing,
        }
    }
}

/// Which candidates an [`Updater`] installs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Policy {
    /// Only a candidate higher than the installed version.
    #[default]
    UpgradeOnly,
    /// Whatever the suite's candidate is, lower versions included: a suite
    /// rolled back ([`Repository::rollback`](crate::repo::Repository::rollback),
    /// `rake deploy:rollback`; promoting the previous version again is
    /// refused) rolls servers back.
    FollowRepository,
}

/// How a downloaded `.deb` is installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Installer {
    /// `dpkg --force-confdef --force-confold -i <file>` (dependencies must
    /// already be installed; locally changed conffiles are kept, never asked about).
    Dpkg,
    /// `apt-get install -y --no-remove <file>` (apt resolves dependencies but
    /// never removes a package), with `--allow-downgrades` when the version
    /// goes down and dpkg's `--force-confdef --force-confold`.
    Apt,
    /// A command (program and arguments); the `.deb`'s absolute path is
    /// appended. It gets `DEBPULL_PACKAGE`, `DEBPULL_VERSION`,
    /// `DEBPULL_ADMIN_DIR` and (with [`UpdaterOptions::root`]) `DEBPULL_ROOT`
    /// in its environment; the version in dpkg's status file is checked after it.
    Command(Vec<String>),
}

/// What an [`Updater`] does when another run holds the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Wait up to this long, then give up.
    Wait(Duration),
    /// Give up (after a quarter of a second: a lock just let go may still be
    /// held by a child another thread of this process is starting).
    Skip,
}

/// The configuration of an [`Updater`].
#[derive(Debug, Clone)]
pub struct UpdaterOptions {
    /// The package kept up to date.
    pub package: String,
    /// How it is installed.
    pub installer: Installer,
    /// The root directory packages are installed under (dpkg's `--root`, also
    /// passed to dpkg by apt); `None`: `/`. dpkg's admin directory is the
    /// source's `admin_dir` either way (`--admindir`).
    pub root: Option<PathBuf>,
    /// The apt configuration file (`APT_CONFIG`) of [`Installer::Apt`]; `None`: apt's own.
    pub apt_config: Option<PathBuf>,
    /// Which candidates are installed.
    pub policy: Policy,
    /// Install exactly this version instead of the highest, whether it is
    /// higher or lower than the installed one (whatever the policy), even if
    /// it failed before without a pin (once: if it fails under the pin it is
    /// held back as any failed version).
    pub pin: Option<Version>,
    /// A command run after an install (in its own process group: what it
    /// leaves running is killed); failing (non-zero exit or timeout) means the
    /// previous version is reinstalled.
    pub health_check: Option<Vec<String>>,
    /// How long the health check may run.
    pub health_timeout: Duration,
    /// How long the installer may run before it is stopped (its process
    /// group SIGTERMed, then SIGKILLed; dpkg may then need the next run to
    /// reinstall).
    pub install_timeout: Duration,
    /// What to do when another run holds the lock.
    pub lock: LockMode,
    /// Wait a random time up to this before checking, so that a fleet does not
    /// hit the repository in the same second.
    pub jitter: Duration,
    /// Where a run that updated, failed or rolled back posts a Slack message
    /// (see [`crate::notify`]; a failed post never changes the outcome).
    /// `None` (the default): nothing is posted.
    #[cfg(feature = "notify")]
    pub notifier: Option<crate::notify::Notifier>,
}

impl UpdaterOptions {
    /// Options for `package`: `dpkg -i`, upgrade only, no health check (60 s
    /// when given), 30 minutes for the installer, skip when locked, no jitter.
    pub fn new(package: impl Into<String>) -> Self {
        UpdaterOptions {
            package: package.into(),
            installer: Installer::Dpkg,
            root: None,
            apt_config: None,
            policy: Policy::UpgradeOnly,
            pin: None,
            health_check: None,
            health_timeout: Duration::from_secs(60),
            install_timeout: Duration::from_secs(30 * 60),
            lock: LockMode::Skip,
            jitter: Duration::ZERO,
            #[cfg(feature = "notify")]
            notifier: None,
        }
    }
}

/// Keeps one package of a machine at a [`Source`]'s candidate.
#[derive(Debug, Clone)]
pub struct Updater {
    source: Source,
    options: UpdaterOptions,
}

/// Checks that a source's suite, component or architecture (`what`) is a
/// plain name: not empty, no `/` or `\\`, no blanks or control characters,
/// not `.` or `..` (they become parts of paths and keys).
pub fn check_plain_name(what: &str, value: &str) -> Result<()> {
    if value.is_empty()
        || value.contains(['/', '\\'])
        || value.chars().any(|c| c.is_whitespace() || c.is_control())
        || value == "."
        || value == ".."
    {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!("source {what} {value:?} is not a plain name"),
        ));
    }
    Ok(())
}

impl Source {
    /// A source reading `storage`. Without an architecture in `options`, asks
    /// `dpkg --print-architecture`.
    pub fn new(storage: Arc<dyn Storage>, options: SourceOptions) -> Result<Source> {
        let architecture = match &options.architecture {
            Some(arch) => arch.clone(),
            None => machine_architecture()?,
        };
        check_plain_name("suite", &options.suite)?;
        check_plain_name("component", &options.component)?;
        check_plain_name("architecture", &architecture)?;
        if let Some(id) = &options.machine_id {
            crate::phasing::MachineId::parse(id)?;
        }
        Ok(Source {
            storage,
            options,
            architecture,
        })
    }

    /// A source reading the store `uri` names (`file:///path`,
    /// `s3://bucket/prefix?region=...`, `http(s)://host/path`; see
    /// [`crate::storage::open`]). For a bucket or CloudFront read over HTTP(S)
    /// that answers 403 for missing keys (no `s3:ListBucket`, origin access
    /// control), end the URI in `?forbidden-as-missing=true`: a suite without
    /// `InRelease` or a missing by-hash copy then falls back as with a 404.
    pub fn open(uri: &str, options: SourceOptions) -> Result<Source> {
        Source::new(crate::storage::open(uri)?, options)
    }

    /// The directory of this source's check state (see the layout in
    /// `client/state.rs`):
    /// `<state_dir>/check/<repository>/<suite>/<component>/binary-<arch>`, where
    /// `<repository>` is the first 16 hex digits of the SHA256 of the store's
    /// credential-free name (its `Display`): sources of two repositories may
    /// share a `state_dir`.
    pub fn check_state_dir(&self) -> PathBuf {
        self.options
            .state_dir
            .join("check")
            .join(state::repository_key(&self.storage.to_string()))
            .join(&self.options.suite)
            .join(&self.options.component)
            .join(format!("binary-{}", self.architecture))
    }

    /// The storage read.
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// The options given.
    pub fn options(&self) -> &SourceOptions {
        &self.options
    }

    /// The architecture in effect.
    pub fn architecture(&self) -> &str {
        &self.architecture
    }
}

impl Updater {
    /// An updater of `options.package` from `source`.
    pub fn new(source: Source, options: UpdaterOptions) -> Updater {
        Updater { source, options }
    }

    /// The source.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// The options given.
    pub fn options(&self) -> &UpdaterOptions {
        &self.options
    }
}

/// The machine's architecture, as `dpkg --print-architecture` prints it.
pub fn machine_architecture() -> Result<String> {
    let output = std::process::Command::new("dpkg")
        .arg("--print-architecture")
        .output()
        .map_err(|e| Error::io("dpkg --print-architecture", e))?;
    let arch = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if !output.status.success() || arch.is_empty() {
        return Err(Error::new(
            ErrorKind::Io,
            format!(
                "dpkg --print-architecture failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        ));
    }
    Ok(arch)
}
