//! The first-boot user-data script as text: `shellcheck -s sh` finds nothing in
//! it for every combination of options, every value lands in it single-quoted
//! (the settings part run by `sh` gives back exactly what went in, hostile
//! values included, without running anything), and values the script or the
//! tool's configuration cannot carry are refused naming the setting. Running
//! the script for real is `ffi/tests/provision.rs` (it needs the C tool).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use debpull::ErrorKind;
use debpull::client::{Installer, Policy};
use debpull::provision::{Schedule, UserData};
use debpull::sign::{KeyKind, SigningKey, TrustedKeys};

fn key() -> String {
    SigningKey::generate("provision tests <t@example.org>", KeyKind::Ed25519)
        .unwrap()
        .public_key_armored()
        .unwrap()
}

/// shellcheck from `PATH`, or `$SHELLCHECK`.
fn shellcheck() -> PathBuf {
    let path = std::env::var_os("SHELLCHECK")
        .map(PathBuf::from)
        .unwrap_or_else(|| "shellcheck".into());
    let ok = Command::new(&path)
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "shellcheck not found ({path:?}): scripts/setup installs it (Debian package shellcheck)"
    );
    path
}

/// The settings part of `script` run by `sh`, printing `$name`.
fn settings_value(script: &str, name: &str) -> String {
    let (settings, _) = script.split_once("# --- The steps").unwrap();
    let program = format!("{settings}\nprintf '%s' \"${name}\"\n");
    let out = Command::new("sh").arg("-c").arg(program).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn shellcheck_finds_nothing_in_any_combination() {
    let shellcheck = shellcheck();
    let key = key();
    let dir = tempfile::tempdir().unwrap();
    let repositories: [(&str, Option<&str>, Option<&str>); 4] = [
        ("s3://releases/apt", Some("eu-west-1"), None),
        (
            "s3://releases",
            Some("us-east-1"),
            Some("http://127.0.0.1:9000"),
        ),
        ("https://apt.example.org/debian", None, None),
        ("file:///srv/repo", None, None),
    ];
    let installers = [
        Installer::Dpkg,
        Installer::Apt,
        Installer::Command(vec!["/usr/local/bin/install-app".into()]),
    ];
    let schedules = [Schedule::Cron, Schedule::Systemd, Schedule::Auto];
    let mut files = Vec::new();
    for (r, (uri, region, endpoint)) in repositories.iter().enumerate() {
        for (i, installer) in installers.iter().enumerate() {
            for (s, schedule) in schedules.iter().enumerate() {
                let mut settings = UserData::new(*uri, "app", key.as_bytes());
                settings.region = region.map(Into::into);
                settings.endpoint = endpoint.map(Into::into);
                settings.installer = installer.clone();
                settings.schedule = *schedule;
                // The policy and the health check alternate.
                if (r + i + s) % 2 == 0 {
                    settings.policy = Policy::FollowRepository;
                    settings.health_check =
                        vec!["systemctl".into(), "is-active".into(), "app".into()];
                }
                let path = dir.path().join(format!("user-data-{r}-{i}-{s}"));
                std::fs::write(&path, settings.script().unwrap()).unwrap();
                files.push(path);
            }
        }
    }
    assert_eq!(files.len(), 36);
    let out = Command::new(&shellcheck)
        .args(["-s", "sh", "-S", "style"])
        .args(&files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "shellcheck:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // And it can fail: a script with an unquoted expansion is reported.
    let bad = dir.path().join("bad");
    std::fs::write(&bad, "#!/bin/sh\nx=$1\nrm -rf $x/*\n").unwrap();
    let out = Command::new(&shellcheck)
        .args(["-s", "sh"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn the_script_carries_the_settings_exactly() {
    let key = key();
    let mut settings = UserData::new(
        "s3://releases/apt/prod?region=eu-west-1",
        "my-app.web",
        key.as_bytes(),
    );
    settings.suite = "staging".into();
    settings.health_check = vec![
        "/usr/bin/curl".into(),
        "-fsS".into(),
        "http://localhost/$(id)`id`;x".into(),
    ];
    settings.schedule = Schedule::Cron;
    let script = settings.script().unwrap();
    assert!(script.starts_with("#!/bin/sh\n"));
    assert!(script.contains("\nset -eu\n"));
    assert_eq!(
        settings_value(&script, "REPOSITORY"),
        "s3://releases/apt/prod"
    );
    assert_eq!(
        settings_value(&script, "BASE_URL"),
        "https://releases.s3.eu-west-1.amazonaws.com/apt/prod"
    );
    assert_eq!(settings_value(&script, "S3_REGION"), "eu-west-1");
    assert_eq!(settings_value(&script, "SUITE"), "staging");
    assert_eq!(
        settings_value(&script, "CRON_FILE"),
        "/etc/cron.d/debpull-my-app_web"
    );
    let config = settings_value(&script, "CONFIG_TEXT");
    for line in [
        "repository = s3://releases/apt/prod",
        "suite = staging",
        "package = my-app.web",
        "trusted-key = /etc/debpull/trusted.gpg",
        "installer = dpkg",
        "policy = upgrade-only",
        "jitter = 20",
        "region = eu-west-1",
        "health-check = /usr/bin/curl -fsS http://localhost/$(id)`id`;x",
    ] {
        assert!(
            config.lines().any(|l| l == line),
            "{line:?} not in\n{config}"
        );
    }
    assert!(!config.contains("endpoint"));
    assert!(!config.contains("slack-webhook"), "{config}");
    let cron = settings_value(&script, "CRON_TEXT");
    assert!(cron.contains(
        "\n* * * * * root /usr/bin/debpull-update --config /etc/debpull/update.conf >> /var/log/debpull-update.log 2>&1\n"
    ));
    // The embedded key is the trusted key, as a binary keyring (gpgv's form).
    let b64 = settings_value(&script, "TRUSTED_KEY_BASE64");
    let mut child = Command::new("base64")
        .arg("-d")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b64.as_bytes())
        .unwrap();
    let binary = child.wait_with_output().unwrap().stdout;
    assert!(binary[0] & 0x80 != 0, "not binary OpenPGP");
    assert_eq!(
        TrustedKeys::from_bytes(&binary).unwrap().fingerprints(),
        TrustedKeys::from_bytes(key.as_bytes())
            .unwrap()
            .fingerprints()
    );
    // An endpoint: path style, and in the configuration.
    let mut settings = UserData::new("s3://releases", "app", key.as_bytes());
    settings.region = Some("us-east-1".into());
    settings.endpoint = Some("http://127.0.0.1:9000/".into());
    settings.jitter_secs = 0;
    let script = settings.script().unwrap();
    assert_eq!(
        settings_value(&script, "BASE_URL"),
        "http://127.0.0.1:9000/releases"
    );
    assert!(
        settings_value(&script, "CONFIG_TEXT").contains("\nendpoint = http://127.0.0.1:9000/\n")
    );
    assert!(settings_value(&script, "CONFIG_TEXT").contains("\njitter = 0\n"));
}

#[test]
fn hostile_values_are_refused_naming_the_setting() {
    let key = key();
    let hostile = [
        "'; touch /tmp/pwned; '",
        "$(touch /tmp/pwned)",
        "`touch /tmp/pwned`",
        "a\nrepository = file:///evil",
        "a b",
        "a #b",
        "",
    ];
    type Set = fn(&mut UserData, &str);
    let settings: [(&str, Set); 9] = [
        ("repository", |u, v| {
            u.repository = format!("s3://bucket/{v}")
        }),
        ("repository", |u, v| u.repository = format!("https://h/{v}")),
        ("package", |u, v| u.package = v.into()),
        ("tool package", |u, v| u.tool_package = v.into()),
        ("suite", |u, v| u.suite = v.into()),
        ("component", |u, v| u.component = v.into()),
        ("region", |u, v| u.region = Some(v.into())),
        ("endpoint", |u, v| u.endpoint = Some(format!("http://{v}"))),
        ("health check", |u, v| {
            u.health_check = vec!["ok".into(), v.into()]
        }),
    ];
    for (name, set) in settings {
        for value in hostile {
            if value.is_empty() && name == "repository" {
                continue; // s3://bucket/ is the bucket's root
            }
            let mut user_data = UserData::new("s3://bucket/apt", "app", key.as_bytes());
            user_data.region = Some("us-east-1".into());
            set(&mut user_data, value);
            let err = user_data
                .script()
                .expect_err(&format!("{name} = {value:?} accepted"));
            assert_eq!(
                err.kind(),
                ErrorKind::InvalidInput,
                "{name} {value:?}: {err}"
            );
            assert!(err.to_string().contains(name), "{name}: {err}");
        }
    }
    // Not one of them ran anything.
    assert!(!std::path::Path::new("/tmp/pwned").exists());
}

#[test]
fn other_bad_settings_get_typed_errors() {
    let key = key();
    let script = |f: &dyn Fn(&mut UserData)| {
        let mut u = UserData::new("s3://bucket/apt", "app", key.as_bytes());
        u.region = Some("us-east-1".into());
        f(&mut u);
        u.script()
    };
    let err = script(&|u| u.region = None).unwrap_err();
    assert!(err.to_string().contains("needs a region"), "{err}");
    let err = script(&|u| u.repository = "ftp://host/x".into()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    let err = script(&|u| {
        u.region = None;
        u.repository = "file://relative/x".into();
    })
    .unwrap_err();
    assert!(err.to_string().contains("absolute path"), "{err}");
    let err = script(&|u| u.repository = "s3://bucket/a/../b".into()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let err = script(&|u| u.repository = "s3://Bucket_Name/x".into()).unwrap_err();
    assert!(err.to_string().contains("bucket"), "{err}");
    let err = script(&|u| u.repository = "s3://bucket/x?acl=public-read".into()).unwrap_err();
    assert!(err.to_string().contains("acl=public-read"), "{err}");
    let err = script(&|u| u.trusted_key = b"not a key".to_vec()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Parse);
    assert!(err.to_string().contains("trusted key"), "{err}");
    let err = script(&|u| u.retries = 0).unwrap_err();
    assert!(err.to_string().contains("retries"), "{err}");
    let err = script(&|u| u.retry_delay_secs = 601).unwrap_err();
    assert!(err.to_string().contains("retry delay"), "{err}");
    let err = script(&|u| u.installer = Installer::Command(vec![])).unwrap_err();
    assert!(err.to_string().contains("installer command"), "{err}");
    let err = script(&|u| u.slack_webhook = Some("ftp://hooks.slack.com/services/SECRET".into()))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("slack webhook"), "{err}");
    assert!(!err.to_string().contains("SECRET"), "{err}");
    let err =
        script(&|u| u.slack_webhook = Some("https://hooks.slack.com/x\nrepository = evil".into()))
            .unwrap_err();
    assert!(err.to_string().contains("slack webhook"), "{err}");
    let err = script(&|u| u.notify_timeout_secs = 0).unwrap_err();
    assert!(err.to_string().contains("notify timeout"), "{err}");
    let err = script(&|u| u.notify_retries = 11).unwrap_err();
    assert!(err.to_string().contains("notify retries"), "{err}");
    let err = script(&|u| u.jitter_secs = debpull::provision::MAX_JITTER_SECS + 1).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(
        err.to_string().contains("jitter 51s is out of range"),
        "{err}"
    );
    let err = UserData {
        region: Some("eu-west-1".into()),
        ..UserData::new("file:///srv/repo", "app", key.as_bytes())
    }
    .script()
    .unwrap_err();
    assert!(err.to_string().contains("only to s3://"), "{err}");
    assert_eq!(
        Schedule::from_name("weekly").unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(Schedule::from_name("cron").unwrap(), Schedule::Cron);
}

/// The systemd units the script writes are the README's (which shows them for
/// a tool installed by scripts/install-c, under /usr/local): one text.
#[test]
fn the_systemd_units_are_the_readmes() {
    use debpull::provision::{SERVICE_UNIT, TIMER_UNIT, TOOL_SERVICE_UNIT, TOOL_TIMER_UNIT};
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let service = SERVICE_UNIT.replace("ExecStart=/usr/bin/", "ExecStart=/usr/local/bin/");
    assert!(
        readme.contains(&service),
        "README's service unit differs from:\n{service}"
    );
    assert!(
        readme.contains(TIMER_UNIT),
        "README's timer unit differs from:\n{TIMER_UNIT}"
    );
    for unit in [TOOL_SERVICE_UNIT, TOOL_TIMER_UNIT] {
        assert!(
            readme.contains(unit),
            "README's tool unit differs from:\n{unit}"
        );
    }
}

/// A bucket with dots is addressed path style (the wildcard certificate of
/// `*.s3.<region>.amazonaws.com` does not cover `a.b.s3...`); others
/// virtual-hosted.
#[test]
fn a_bucket_with_dots_is_addressed_path_style() {
    let key = key();
    let base_url = |uri: &str| {
        let mut settings = UserData::new(uri, "app", key.as_bytes());
        settings.region = Some("eu-west-1".into());
        settings_value(&settings.script().unwrap(), "BASE_URL")
    };
    assert_eq!(
        base_url("s3://releases.example.org/apt"),
        "https://s3.eu-west-1.amazonaws.com/releases.example.org/apt"
    );
    assert_eq!(
        base_url("s3://releases-example/apt"),
        "https://releases-example.s3.eu-west-1.amazonaws.com/apt"
    );
}

/// Cron reads only files named with letters, digits, `_` and `-`; two
/// packages never share one.
#[test]
fn cron_files_are_distinct_and_valid_names() {
    use debpull::provision::cron_file;
    let names = ["a.b", "a-b", "a+b", "ab", "lib.x+y-z"];
    let files: Vec<String> = names.iter().map(|n| cron_file(n)).collect();
    for file in &files {
        let name = file.strip_prefix("/etc/cron.d/").unwrap();
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
            "{name}"
        );
    }
    let mut unique = files.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), files.len(), "{files:?}");
    let key = key();
    let mut settings = UserData::new("file:///srv/repo", "a.b", key.as_bytes());
    settings.schedule = Schedule::Cron;
    let script = settings.script().unwrap();
    assert_eq!(
        settings_value(&script, "CRON_FILE"),
        "/etc/cron.d/debpull-a_b"
    );
    assert_eq!(
        settings_value(&script, "LOGROTATE_FILE"),
        "/etc/logrotate.d/debpull-update"
    );
    assert!(settings_value(&script, "LOGROTATE_TEXT").starts_with("/var/log/debpull-update.log {"));
}

/// The Slack webhook (a secret) and its settings go into the tool's
/// configuration, which the script writes mode 0600.
#[test]
fn the_slack_webhook_goes_into_the_configuration() {
    let key = key();
    let mut settings = UserData::new("file:///srv/repo", "app", key.as_bytes());
    settings.slack_webhook = Some("https://hooks.slack.com/services/T0/B0/secret".into());
    settings.notify_timeout_secs = 20;
    settings.notify_retries = 0;
    let script = settings.script().unwrap();
    let config = settings_value(&script, "CONFIG_TEXT");
    assert!(
        config.ends_with(
            "\nslack-webhook = https://hooks.slack.com/services/T0/B0/secret\nnotify-timeout = 20\nnotify-retries = 0\n"
        ),
        "{config}"
    );
    assert!(script.contains("chmod 0600 \"$CONFIG_FILE.new\""));
}

/// The tool's own job: tool.conf has the app's repository, suite, component,
/// key, region, endpoint, jitter and webhook, but the tool package, its own
/// state directory (the run lock is per state directory), upgrade-only and
/// `--version` as health check; a second cron line every 10 minutes. Off: no
/// tool.conf text and no second line.
#[test]
fn the_tool_job_keeps_the_tool_current() {
    let key = key();
    let mut settings = UserData::new(
        "s3://releases/apt?region=eu-west-1&endpoint=http://127.0.0.1:9000",
        "app",
        key.as_bytes(),
    );
    settings.suite = "staging".into();
    settings.component = "web".into();
    settings.tool_package = "my-tool".into();
    settings.policy = Policy::FollowRepository;
    settings.installer = Installer::Command(vec!["/usr/local/bin/install-app".into()]);
    settings.health_check = vec!["systemctl".into(), "is-active".into(), "app".into()];
    settings.jitter_secs = 7;
    settings.slack_webhook = Some("https://hooks.slack.com/services/T0/B0/secret".into());
    settings.schedule = Schedule::Cron;
    let script = settings.script().unwrap();
    assert_eq!(settings_value(&script, "UPDATE_TOOL"), "yes");
    assert_eq!(
        settings_value(&script, "TOOL_CONFIG_FILE"),
        "/etc/debpull/tool.conf"
    );
    let config = settings_value(&script, "TOOL_CONFIG_TEXT");
    let lines: Vec<&str> = config.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(
        lines,
        [
            "repository = s3://releases/apt",
            "suite = staging",
            "package = my-tool",
            "trusted-key = /etc/debpull/trusted.gpg",
            "component = web",
            "state-dir = /var/lib/debpull/tool",
            "installer = dpkg",
            "policy = upgrade-only",
            "health-check = /usr/bin/debpull-update --version",
            "jitter = 7",
            "region = eu-west-1",
            "endpoint = http://127.0.0.1:9000",
            "slack-webhook = https://hooks.slack.com/services/T0/B0/secret",
            "notify-timeout = 10",
            "notify-retries = 3",
        ],
        "{config}"
    );
    // The app's configuration keeps the default state directory.
    assert!(!settings_value(&script, "CONFIG_TEXT").contains("state-dir"));
    let cron = settings_value(&script, "CRON_TEXT");
    assert!(
        cron.ends_with(
            "\n*/10 * * * * root /usr/bin/debpull-update --config /etc/debpull/tool.conf >> /var/log/debpull-update.log 2>&1\n"
        ),
        "{cron}"
    );
    assert!(script.contains("chmod 0600 \"$TOOL_CONFIG_FILE.new\""));
    // installer = apt is the tool's too.
    settings.installer = Installer::Apt;
    let script = settings.script().unwrap();
    assert!(
        settings_value(&script, "TOOL_CONFIG_TEXT")
            .lines()
            .any(|l| l == "installer = apt")
    );
    // Off.
    settings.update_tool = false;
    let script = settings.script().unwrap();
    assert_eq!(settings_value(&script, "UPDATE_TOOL"), "no");
    assert_eq!(settings_value(&script, "TOOL_CONFIG_TEXT"), "");
    let cron = settings_value(&script, "CRON_TEXT");
    assert!(!cron.contains("tool.conf"), "{cron}");
    assert_eq!(cron.lines().filter(|l| l.contains(" root ")).count(), 1);
}
