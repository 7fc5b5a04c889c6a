//! First-boot provisioning: the EC2 user-data script that turns a stock
//! Debian 12 / Ubuntu 22.04+ image into a server of the fleet (for an
//! `s3://` repository: Debian 12 / Ubuntu 24.04+, whose curl is 7.86 or
//! later, see step 1).
//!
//! cloud-init runs the script (POSIX `sh`, as root) at first boot. In order,
//! each a named step that a failure reports (exit status non-zero, on the
//! console and in `/var/log/debpull-bootstrap.log`):
//!
//! 1. `prerequisites`: installs what is missing of `curl`, `ca-certificates`,
//!    `gpgv` (and `cron` for [`Schedule::Cron`]) with `apt-get`, retried;
//!    with [`Installer::Apt`] runs `apt-get update` (retried) even when nothing
//!    is missing (the app's dependencies need package lists). For `s3://`,
//!    curl must be 7.86 or later: older `--aws-sigv4` signs only `host` and
//!    `x-amz-date`, and S3 refuses the unsigned session-token header (403);
//!    the step fails naming the version (Ubuntu 22.04 has 7.81).
//! 2. `instance-role` (`s3://` only): the instance role's temporary
//!    credentials from the metadata service, IMDSv2 (a token first), at
//!    `$AWS_EC2_METADATA_SERVICE_ENDPOINT` or `http://169.254.169.254`;
//!    fetched again whenever a download fails (they may have expired).
//! 3. `release`, `packages-index`, `tool`: the repository's
//!    `dists/<suite>/InRelease` verified with `gpgv` against the trusted key
//!    (embedded in the script), the Packages index it lists (by hash, size and
//!    SHA256 checked), the highest version for everyone (one with a
//!    `Phased-Update-Percentage` below 100 only when there is no other) of the
//!    tool package
//!    ([`UserData::tool_package`], `debpull-update`, see `scripts/package-tool`)
//!    downloaded, checked and installed with `apt-get` waiting up to 5
//!    minutes for the dpkg lock (unattended-upgrades runs at first boot),
//!    retried. S3 requests are signed by `curl --aws-sigv4` (curl 7.86 or
//!    later), the credentials given on curl's standard input, not its command
//!    line; a bucket whose name has dots is addressed path style
//!    (`https://s3.<region>.amazonaws.com/<bucket>`: the wildcard certificate
//!    of virtual-hosted names covers no dots).
//! 4. `configure`, `install-app`, `schedule`: [`CONFIG_FILE`] and
//!    [`KEY_FILE`] for the tool, one run of the tool (the first install of the
//!    package, retried while it fails with status 1), then the every-minute job:
//!    a cron file `/etc/cron.d/debpull-<package>` ([`cron_file`]; its log
//!    `/var/log/debpull-update.log` rotated by [`LOGROTATE_FILE`]) or the
//!    systemd units [`SERVICE_UNIT`] and [`TIMER_UNIT`]. [`CONFIG_FILE`] is
//!    mode 0600: it may hold the Slack webhook URL, a secret. With
//!    [`UserData::update_tool`] (the default) also [`TOOL_CONFIG_FILE`] (the
//!    same settings for [`UserData::tool_package`], its own state directory
//!    [`TOOL_STATE_DIR`], `upgrade-only`, the health check
//!    `debpull-update --version`, mode 0600 too) and a second job every 10
//!    minutes that keeps the tool itself current: a second line in the cron
//!    file, or [`TOOL_SERVICE_UNIT`] and [`TOOL_TIMER_UNIT`]. dpkg replaces the
//!    tool's files by renaming new ones over them: a run of the tool in
//!    progress keeps the old files (inodes) it has open.
//!
//! Every value that goes into the script is checked first ([`UserData::script`]
//! names the setting at fault) and embedded single-quoted; none is ever
//! evaluated by the shell. Running the script again is harmless: the tool is
//! installed again only when the suite has a newer one, the files are
//! rewritten, the app is updated if the suite has a newer version.

use std::fmt::Write as _;

use crate::client::{Installer, Policy};
use crate::error::{Error, ErrorKind, Result};
use crate::sign::TrustedKeys;

/// Where the tool package installs `debpull-update`.
pub const TOOL_PATH: &str = "/usr/bin/debpull-update";
/// The tool's configuration file the script writes.
pub const CONFIG_FILE: &str = "/etc/debpull/update.conf";
/// The trusted key (binary keyring) the script writes for the tool.
pub const KEY_FILE: &str = "/etc/debpull/trusted.gpg";
/// The configuration of the job that keeps the tool itself current
/// ([`UserData::update_tool`]).
pub const TOOL_CONFIG_FILE: &str = "/etc/debpull/tool.conf";
/// The state directory of the tool's job: the run lock is per state
/// directory, and the app's job must not skip while the tool's runs.
pub const TOOL_STATE_DIR: &str = "/var/lib/debpull/tool";
/// The log of the script.
pub const LOG_FILE: &str = "/var/log/debpull-bootstrap.log";
/// The log of the every-minute cron job.
pub const UPDATE_LOG_FILE: &str = "/var/log/debpull-update.log";
/// The logrotate file the script writes with a cron job (for [`UPDATE_LOG_FILE`]).
pub const LOGROTATE_FILE: &str = "/etc/logrotate.d/debpull-update";
/// What [`LOGROTATE_FILE`] says: weekly, 4 kept, compressed; truncated in
/// place (the job appends, `>>`).
pub const LOGROTATE_TEXT: &str = "\
/var/log/debpull-update.log {
\tweekly
\trotate 4
\tcompress
\tdelaycompress
\tmissingok
\tnotifempty
\tcopytruncate
}
";

/// The cron file of `package`: `/etc/cron.d/debpull-<name>` where `.` becomes
/// `_` and `+` becomes `P` (cron reads only names of letters, digits, `_`, `-`;
/// package names have no `_` nor upper case, so two packages never share one).
pub fn cron_file(package: &str) -> String {
    let name: String = package
        .chars()
        .map(|c| match c {
            '.' => '_',
            '+' => 'P',
            c => c,
        })
        .collect();
    format!("/etc/cron.d/debpull-{name}")
}

/// `/etc/systemd/system/debpull-update.service`: one run of the tool.
pub const SERVICE_UNIT: &str = "\
[Unit]
Description=Install the newest version of the app from the debpull repository
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
ExecStart=/usr/bin/debpull-update --config /etc/debpull/update.conf
# Exit statuses 1-3 mark the unit failed: `systemctl --failed` shows a server
# that did not converge (a failed or rolled-back version).
";

/// `/etc/systemd/system/debpull-update.timer`: the service every minute.
pub const TIMER_UNIT: &str = "\
[Unit]
Description=Check the debpull repository every minute

[Timer]
OnBootSec=15s
OnUnitActiveSec=1min
AccuracySec=1s

[Install]
WantedBy=timers.target
";

/// `/etc/systemd/system/debpull-update-tool.service`: one run of the tool
/// for its own package ([`UserData::update_tool`]).
pub const TOOL_SERVICE_UNIT: &str = "\
[Unit]
Description=Install the newest version of debpull-update from the debpull repository
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
ExecStart=/usr/bin/debpull-update --config /etc/debpull/tool.conf
";

/// `/etc/systemd/system/debpull-update-tool.timer`: the tool's service every
/// 10 minutes (a newer tool is not urgent).
pub const TOOL_TIMER_UNIT: &str = "\
[Unit]
Description=Check the debpull repository for a newer debpull-update every 10 minutes

[Timer]
OnBootSec=5min
OnUnitActiveSec=10min
AccuracySec=1s

[Install]
WantedBy=timers.target
";

const BODY: &str = include_str!("bootstrap.sh");

/// How the every-minute job is installed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Schedule {
    /// A cron file, `/etc/cron.d/debpull-<package>` (cron is installed if missing).
    Cron,
    /// The systemd units [`SERVICE_UNIT`] and [`TIMER_UNIT`], enabled.
    Systemd,
    /// systemd when it runs (`/run/systemd/system` exists), else cron.
    #[default]
    Auto,
}

impl Schedule {
    /// `"cron"`, `"systemd"` or `"auto"`; anything else is
    /// [`ErrorKind::InvalidInput`].
    pub fn from_name(name: &str) -> Result<Schedule> {
        match name {
            "cron" => Ok(Schedule::Cron),
            "systemd" => Ok(Schedule::Systemd),
            "auto" => Ok(Schedule::Auto),
            _ => Err(invalid(format!(
                "schedule {name:?} is not known: cron, systemd or auto"
            ))),
        }
    }

    /// The name [`Schedule::from_name`] takes.
    pub fn name(self) -> &'static str {
        match self {
            Schedule::Cron => "cron",
            Schedule::Systemd => "systemd",
            Schedule::Auto => "auto",
        }
    }
}

/// The settings of a first-boot script; [`UserData::script`] writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserData {
    /// `s3://bucket/prefix` (optionally `?region=...&endpoint=...`),
    /// `https://host/path`, `http://host/path` or `file:///path`.
    pub repository: String,
    /// The package the server keeps current.
    pub package: String,
    /// The repository's public key(s), armored or binary.
    pub trusted_key: Vec<u8>,
    /// The suite, default `production`.
    pub suite: String,
    /// The component, default `main`.
    pub component: String,
    /// The S3 region (required for `s3://` unless the URI has `region=`).
    pub region: Option<String>,
    /// An S3-compatible endpoint URL (path-style addressing), for tests or MinIO.
    pub endpoint: Option<String>,
    /// How the tool installs the package (and how the script installs the tool:
    /// `apt-get` for [`Installer::Apt`], else `dpkg -i`).
    pub installer: Installer,
    /// Which candidates the tool installs.
    pub policy: Policy,
    /// A command run after each install; failing rolls back. No argument may
    /// contain blanks (the tool's configuration splits at blanks).
    pub health_check: Vec<String>,
    /// How the every-minute job is installed.
    pub schedule: Schedule,
    /// The package that has the tool, default `debpull-update`.
    pub tool_package: String,
    /// A Slack incoming-webhook URL the tool posts its updates, failures and
    /// rollbacks to (`slack-webhook` in [`CONFIG_FILE`]). A secret that the
    /// user-data carries in clear: anyone who may read the instance's user
    /// data (IMDS on the instance, `ec2:DescribeInstanceAttribute`) can read it.
    pub slack_webhook: Option<String>,
    /// Seconds per post attempt (`notify-timeout`), 1 to 3600; default 10.
    /// Only with [`UserData::slack_webhook`].
    pub notify_timeout_secs: u32,
    /// Retries of a failed post (`notify-retries`), 0 to 10; default 3.
    pub notify_retries: u32,
    /// How many times a download (and the first run of the tool) is tried,
    /// 1 to 100; default 5.
    pub retries: u32,
    /// Seconds before the first retry, growing linearly; 0 to 600, default 5.
    pub retry_delay_secs: u32,
    /// At most this many seconds of random delay before each run of the tool
    /// (`jitter` in [`CONFIG_FILE`]), so that the fleet does not reach the
    /// repository in the same second; 0 to [`MAX_JITTER_SECS`], default 20.
    pub jitter_secs: u32,
    /// Whether a second job keeps the tool package itself current (every 10
    /// minutes, [`TOOL_CONFIG_FILE`]); default true. Off: the tool is
    /// installed at first boot only (and a rerun of the script removes the
    /// tool's job).
    pub update_tool: bool,
}

/// The largest [`UserData::jitter_secs`]: the job runs every minute, and a
/// run still waiting when the next starts makes that one skip (the lock).
pub const MAX_JITTER_SECS: u32 = 50;

impl UserData {
    /// The settings for `package` from `repository`, trusting `trusted_key`;
    /// everything else at its default.
    pub fn new(
        repository: impl Into<String>,
        package: impl Into<String>,
        trusted_key: impl Into<Vec<u8>>,
    ) -> UserData {
        UserData {
            repository: repository.into(),
            package: package.into(),
            trusted_key: trusted_key.into(),
            suite: "production".into(),
            component: "main".into(),
            region: None,
            endpoint: None,
            installer: Installer::Dpkg,
            policy: Policy::UpgradeOnly,
            health_check: Vec::new(),
            schedule: Schedule::Auto,
            tool_package: "debpull-update".into(),
            slack_webhook: None,
            notify_timeout_secs: 10,
            notify_retries: 3,
            retries: 5,
            retry_delay_secs: 5,
            jitter_secs: 20,
            update_tool: true,
        }
    }

    /// The script (`#!/bin/sh`). Every setting is checked first: a value the
    /// script cannot carry safely is [`ErrorKind::InvalidInput`] naming the
    /// setting; a trusted key that is not one is [`ErrorKind::Parse`].
    pub fn script(&self) -> Result<String> {
        let location = Location::parse(self)?;
        check_package("package", &self.package)?;
        check_package("tool package", &self.tool_package)?;
        check_path_word("suite", &self.suite)?;
        check_path_word("component", &self.component)?;
        if !(1..=100).contains(&self.retries) {
            return Err(invalid(format!(
                "retries {} is out of range: 1 to 100",
                self.retries
            )));
        }
        if self.retry_delay_secs > 600 {
            return Err(invalid(format!(
                "retry delay {}s is out of range: 0 to 600 seconds",
                self.retry_delay_secs
            )));
        }
        if !(1..=3600).contains(&self.notify_timeout_secs) {
            return Err(invalid(format!(
                "notify timeout {}s is out of range: 1 to 3600 seconds",
                self.notify_timeout_secs
            )));
        }
        if self.notify_retries > 10 {
            return Err(invalid(format!(
                "notify retries {} is out of range: 0 to 10",
                self.notify_retries
            )));
        }
        if self.jitter_secs > MAX_JITTER_SECS {
            return Err(invalid(format!(
                "jitter {}s is out of range: 0 to {MAX_JITTER_SECS} seconds (the job runs every minute)",
                self.jitter_secs
            )));
        }
        if let Some(url) = &self.slack_webhook {
            check_webhook(url)?;
        }
        let keys =
            TrustedKeys::from_bytes(&self.trusted_key).map_err(|e| e.context("trusted key"))?;
        let keyring = keys.to_keyring()?;
        let installer = match &self.installer {
            Installer::Dpkg => "dpkg".to_owned(),
            Installer::Apt => "apt".to_owned(),
            Installer::Command(argv) => {
                check_args("installer command", argv)?;
                if argv.is_empty() {
                    return Err(invalid("installer command: empty (give a program)"));
                }
                "command".to_owned()
            }
        };
        check_args("health check", &self.health_check)?;

        let mut config = format!(
            "# {CONFIG_FILE}: written by debpull's first-boot user-data (debpull-update --help)\n\
             repository = {}\nsuite = {}\npackage = {}\ntrusted-key = {KEY_FILE}\n\
             component = {}\ninstaller = {installer}\npolicy = {}\njitter = {}\n",
            location.config_uri,
            self.suite,
            self.package,
            self.component,
            match self.policy {
                Policy::UpgradeOnly => "upgrade-only",
                Policy::FollowRepository => "follow-repository",
            },
            self.jitter_secs,
        );
        if let Installer::Command(argv) = &self.installer {
            let _ = writeln!(config, "installer-command = {}", argv.join(" "));
        }
        if !self.health_check.is_empty() {
            let _ = writeln!(config, "health-check = {}", self.health_check.join(" "));
        }
        if let Some(region) = &location.region {
            let _ = writeln!(config, "region = {region}");
        }
        if let Some(endpoint) = &location.endpoint {
            let _ = writeln!(config, "endpoint = {endpoint}");
        }
        if let Some(url) = &self.slack_webhook {
            let _ = writeln!(
                config,
                "slack-webhook = {url}\nnotify-timeout = {}\nnotify-retries = {}",
                self.notify_timeout_secs, self.notify_retries
            );
        }
        let tool_config = if self.update_tool {
            self.tool_config(&location)
        } else {
            String::new()
        };
        let cron_file = cron_file(&self.package);
        let mut cron = format!(
            "# debpull: keeps {} current (written by debpull's first-boot user-data)\n\
             PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n\
             * * * * * root {TOOL_PATH} --config {CONFIG_FILE} >> {UPDATE_LOG_FILE} 2>&1\n",
            self.package
        );
        if self.update_tool {
            let _ = write!(
                cron,
                "# and the tool itself, {}, every 10 minutes\n\
                 */10 * * * * root {TOOL_PATH} --config {TOOL_CONFIG_FILE} >> {UPDATE_LOG_FILE} 2>&1\n",
                self.tool_package
            );
        }

        let mut out = String::new();
        let _ = write!(
            out,
            "#!/bin/sh\n\
             # EC2 user-data written by debpull {}: installs {} from the suite {} of\n\
             # {} and keeps it current every minute ({}).\n\
             # Trusted key: {}.\n\
             # Log: {LOG_FILE}; a failure exits non-zero naming its step.\n\
             # shellcheck disable=SC2016 # the settings are literal text\n\
             set -eu\n\n",
            env!("CARGO_PKG_VERSION"),
            self.package,
            self.suite,
            self.repository.replace(['\n', '\r'], " "),
            self.schedule.name(),
            keys.fingerprints().join(", "),
        );
        let vars: [(&str, &str); 19] = [
            ("REPOSITORY", &location.config_uri),
            ("TRANSPORT", location.transport),
            ("BASE_URL", &location.base_url),
            ("S3_REGION", location.region.as_deref().unwrap_or("")),
            ("SUITE", &self.suite),
            ("COMPONENT", &self.component),
            ("PACKAGE", &self.package),
            ("TOOL_PACKAGE", &self.tool_package),
            ("TOOL", TOOL_PATH),
            ("INSTALLER", &installer),
            ("SCHEDULE", self.schedule.name()),
            ("CONFIG_FILE", CONFIG_FILE),
            ("KEY_FILE", KEY_FILE),
            ("CRON_FILE", &cron_file),
            ("LOGROTATE_FILE", LOGROTATE_FILE),
            ("RETRIES", &self.retries.to_string()),
            ("RETRY_DELAY", &self.retry_delay_secs.to_string()),
            ("UPDATE_TOOL", if self.update_tool { "yes" } else { "no" }),
            ("TOOL_CONFIG_FILE", TOOL_CONFIG_FILE),
        ];
        for (name, value) in vars {
            let _ = writeln!(out, "{name}={}", sh_quote(value));
        }
        let _ = writeln!(out, "TRUSTED_KEY_BASE64={}", sh_quote(&base64(&keyring)));
        for (name, value) in [
            ("CONFIG_TEXT", config.as_str()),
            ("CRON_TEXT", cron.as_str()),
            ("SERVICE_TEXT", SERVICE_UNIT),
            ("TIMER_TEXT", TIMER_UNIT),
            ("LOGROTATE_TEXT", LOGROTATE_TEXT),
            ("TOOL_CONFIG_TEXT", tool_config.as_str()),
            ("TOOL_SERVICE_TEXT", TOOL_SERVICE_UNIT),
            ("TOOL_TIMER_TEXT", TOOL_TIMER_UNIT),
        ] {
            let _ = writeln!(out, "{name}={}", sh_quote(value));
        }
        out.push('\n');
        out.push_str(BODY);
        Ok(out)
    }
}

impl UserData {
    /// [`TOOL_CONFIG_FILE`]: the repository, suite, component, key, region,
    /// endpoint, jitter and notification settings of [`CONFIG_FILE`] for
    /// [`UserData::tool_package`]; `installer = apt` with [`Installer::Apt`],
    /// else `dpkg` (the app's own installer command is not for the tool);
    /// `upgrade-only` whatever the app's policy; [`TOOL_STATE_DIR`]; the new
    /// tool must answer `--version` or it is rolled back.
    fn tool_config(&self, location: &Location) -> String {
        let installer = match self.installer {
            Installer::Apt => "apt",
            _ => "dpkg",
        };
        let mut config = format!(
            "# {TOOL_CONFIG_FILE}: written by debpull's first-boot user-data: keeps the tool itself current\n\
             repository = {}\nsuite = {}\npackage = {}\ntrusted-key = {KEY_FILE}\n\
             component = {}\nstate-dir = {TOOL_STATE_DIR}\ninstaller = {installer}\n\
             policy = upgrade-only\nhealth-check = {TOOL_PATH} --version\njitter = {}\n",
            location.config_uri, self.suite, self.tool_package, self.component, self.jitter_secs,
        );
        if let Some(region) = &location.region {
            let _ = writeln!(config, "region = {region}");
        }
        if let Some(endpoint) = &location.endpoint {
            let _ = writeln!(config, "endpoint = {endpoint}");
        }
        if let Some(url) = &self.slack_webhook {
            let _ = writeln!(
                config,
                "slack-webhook = {url}\nnotify-timeout = {}\nnotify-retries = {}",
                self.notify_timeout_secs, self.notify_retries
            );
        }
        config
    }
}

/// Where the script fetches from, and what the tool's configuration says.
struct Location {
    /// `s3`, `http` (also `https`) or `file`.
    transport: &'static str,
    /// The URL of the repository's root, without a trailing `/`.
    base_url: String,
    /// The repository URI for the configuration (an S3 URI without its query).
    config_uri: String,
    region: Option<String>,
    endpoint: Option<String>,
}

impl Location {
    fn parse(settings: &UserData) -> Result<Location> {
        let uri = settings.repository.as_str();
        let bad = |why: &str| invalid(format!("repository {uri:?}: {why}"));
        if let Some(endpoint) = &settings.endpoint {
            check_url("endpoint", endpoint)?;
        }
        if let Some(region) = &settings.region {
            check_region(region)?;
        }
        let scheme_end = uri.find("://").ok_or_else(|| {
            bad("not a repository URI (s3://bucket/prefix, https://host/path or file:///path)")
        })?;
        let scheme = uri[..scheme_end].to_ascii_lowercase();
        let rest = &uri[scheme_end + 3..];
        match scheme.as_str() {
            "s3" => {
                let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
                let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
                let prefix = prefix.trim_end_matches('/');
                check_bucket(bucket).map_err(|why| bad(&why))?;
                if !prefix.is_empty() {
                    check_key_path(prefix).map_err(|why| bad(&format!("prefix: {why}")))?;
                }
                let (mut region, mut endpoint) = (None, None);
                for pair in query.split('&').filter(|p| !p.is_empty()) {
                    match pair.split_once('=') {
                        Some(("region", value)) => region = Some(value.to_owned()),
                        Some(("endpoint", value)) => endpoint = Some(value.to_owned()),
                        _ => {
                            return Err(bad(&format!(
                                "option {pair:?} is not known here: region=, endpoint="
                            )));
                        }
                    }
                }
                let region = settings.region.clone().or(region).ok_or_else(|| {
                    bad("an S3 repository needs a region (the region setting or ?region=)")
                })?;
                check_region(&region)?;
                let endpoint = settings.endpoint.clone().or(endpoint);
                if let Some(endpoint) = &endpoint {
                    check_url("endpoint", endpoint)?;
                }
                let root = match &endpoint {
                    Some(endpoint) => format!("{}/{bucket}", endpoint.trim_end_matches('/')),
                    // The certificate of *.s3.<region>.amazonaws.com covers no
                    // bucket name with dots: path style for those.
                    None if bucket.contains('.') => {
                        format!("https://s3.{region}.amazonaws.com/{bucket}")
                    }
                    None => format!("https://{bucket}.s3.{region}.amazonaws.com"),
                };
                let suffix = if prefix.is_empty() {
                    String::new()
                } else {
                    format!("/{prefix}")
                };
                Ok(Location {
                    transport: "s3",
                    base_url: format!("{root}{suffix}"),
                    config_uri: format!("s3://{bucket}{suffix}"),
                    region: Some(region),
                    endpoint,
                })
            }
            "https" | "http" | "file" => {
                if settings.region.is_some() || settings.endpoint.is_some() {
                    return Err(bad("region and endpoint apply only to s3:// repositories"));
                }
                let trimmed = uri.trim_end_matches('/');
                if scheme == "file" {
                    if !rest.starts_with('/') {
                        return Err(bad(
                            "a file:// URI needs an absolute path (file:///srv/repo)",
                        ));
                    }
                    check_key_path(rest.trim_matches('/')).map_err(|why| bad(&why))?;
                } else {
                    check_url("repository", trimmed)?;
                }
                Ok(Location {
                    transport: if scheme == "file" { "file" } else { "http" },
                    base_url: trimmed.to_owned(),
                    config_uri: trimmed.to_owned(),
                    region: None,
                    endpoint: None,
                })
            }
            _ => Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "repository {uri:?}: the scheme {scheme:?} is not supported (s3, https, http, file)"
                ),
            )),
        }
    }
}

/// A webhook URL as the tool takes it (`http`/`https`, a host, no
/// credentials), on one configuration line: no blanks or control characters.
/// The message never shows the URL's (secret) path.
fn check_webhook(url: &str) -> Result<()> {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid(
            "slack webhook: the URL has blanks or control characters",
        ));
    }
    crate::notify::Webhook::new(crate::notify::WebhookOptions::new(url))
        .map(drop)
        .map_err(|e| e.context("slack webhook"))
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidInput, message)
}

/// `value` single-quoted for `sh`: nothing in it is expanded.
fn sh_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

fn check_package(setting: &str, name: &str) -> Result<()> {
    if crate::index::package::is_package_name(name) {
        Ok(())
    } else {
        Err(invalid(format!(
            "{setting} {name:?} is not a package name (lower-case letters, digits, '+', '-', '.'; at least 2 characters, starting alphanumeric)"
        )))
    }
}

/// A suite or component: one path segment of letters, digits, `.`, `_`, `-`.
fn check_path_word(setting: &str, word: &str) -> Result<()> {
    let ok = !word.is_empty()
        && word.len() <= 100
        && !word.starts_with('.')
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "{setting} {word:?}: only letters, digits, '.', '_', '-' (not first '.'), at most 100"
        )))
    }
}

fn check_region(region: &str) -> Result<()> {
    let ok = !region.is_empty()
        && region.len() <= 40
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "region {region:?}: not an AWS region name (lower-case letters, digits, '-')"
        )))
    }
}

fn check_bucket(bucket: &str) -> std::result::Result<(), String> {
    let ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        && bucket.ends_with(|c: char| c.is_ascii_alphanumeric())
        && !bucket.contains("..");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "bucket {bucket:?} is not an S3 bucket name (3 to 63 lower-case letters, digits, '.', '-')"
        ))
    }
}

/// A path under a bucket or a file:// root: segments of letters, digits and
/// `. _ ~ -`, no empty, `.` or `..` segment.
fn check_key_path(path: &str) -> std::result::Result<(), String> {
    for segment in path.split('/') {
        let ok = !segment.is_empty()
            && segment != "."
            && segment != ".."
            && segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._~-".contains(&b));
        if !ok {
            return Err(format!(
                "path segment {segment:?}: only letters, digits, '.', '_', '~', '-' (no empty, '.' or '..')"
            ));
        }
    }
    Ok(())
}

/// An `http://` or `https://` URL without query, fragment, credentials or blanks.
fn check_url(setting: &str, url: &str) -> Result<()> {
    let bad = |why: &str| invalid(format!("{setting} {url:?}: {why}"));
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| bad("must start with https:// or http://"))?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    if !host_ok {
        return Err(bad(
            "the host may have only letters, digits, '.', '-', and a :port",
        ));
    }
    let path = path.trim_end_matches('/');
    if !path.is_empty() {
        check_key_path(path).map_err(|why| bad(&why))?;
    }
    Ok(())
}

/// Program and arguments for the tool's configuration, which splits at blanks.
fn check_args(setting: &str, argv: &[String]) -> Result<()> {
    for arg in argv {
        let ok = !arg.is_empty()
            && !arg.starts_with('#')
            && arg
                .chars()
                .all(|c| !c.is_whitespace() && !c.is_control() && c != '\'');
        if !ok {
            return Err(invalid(format!(
                "{setting}: argument {arg:?}: empty, blanks, quotes, control characters or a leading '#' (the configuration splits at blanks, no quoting)"
            )));
        }
    }
    if argv.len() > 64 {
        return Err(invalid(format!("{setting}: more than 64 arguments")));
    }
    Ok(())
}

/// Standard base64, in lines of 76 characters (`base64 -d` reads them).
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len() * 4 / 3 + data.len() / 57 + 4);
    for (i, chunk) in data.chunks(3).enumerate() {
        if i > 0 && i % 19 == 0 {
            out.push('\n');
        }
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for j in 0..4 {
            if j <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * j)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_known_values() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        let long = base64(&[0u8; 60]);
        assert_eq!(long.lines().next().unwrap().len(), 76);
    }

    #[test]
    fn quoting_survives_quotes() {
        assert_eq!(sh_quote("a'b"), r"'a'\''b'");
        assert_eq!(sh_quote("$(x)"), "'$(x)'");
    }
}
