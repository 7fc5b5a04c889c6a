//! Posting notifications to a real webhook on loopback (`support/webhook_server.rs`):
//! the JSON received, retries on 5xx and 429 (Retry-After), giving up, a webhook
//! that never answers, an unreachable port; and the deploy that notifies (a
//! real publish into a local repository, an update installed by the real dpkg
//! into a temporary root) succeeding whatever the webhook does.

#[allow(dead_code)]
#[path = "support/dpkg_root.rs"]
mod dpkg_root;
#[allow(dead_code)]
#[path = "support/http_servers.rs"]
mod http_servers;
#[path = "support/test_debs.rs"]
mod test_debs;
#[path = "support/webhook_server.rs"]
mod webhook_server;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use debpull::ErrorKind;
use debpull::Version;
use debpull::client::{
    Installer, Outcome, Policy, Source, SourceOptions, SourceTrust, Updater, UpdaterOptions,
};
use debpull::notify::{Message, Notifier, Webhook, WebhookOptions};
use debpull::repo::{PromoteOptions, Repository, RepositoryOptions};
use debpull::sign::{KeyKind, SigningKey, TrustedKeys};
use debpull::storage::{LocalStorage, Storage};
use dpkg_root::DpkgRoot;
use serde_json::Value;
use webhook_server::{Answer, WebhookServer};

fn options(url: &str, retries: u32) -> WebhookOptions {
    let mut o = WebhookOptions::new(url);
    o.retries = retries;
    o.initial_backoff = Duration::from_millis(10);
    o.timeout = Duration::from_secs(5);
    o
}

fn notifier(url: &str, retries: u32) -> Notifier {
    Notifier::new(options(url, retries)).unwrap()
}

/// A URL nothing listens on.
fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/services/T000/B000/s3cr3t")
}

fn field<'a>(body: &'a Value, label: &str) -> Option<&'a str> {
    let fields = body["blocks"]
        .as_array()?
        .iter()
        .find(|b| b["type"] == "section" && b["fields"].is_array())?["fields"]
        .as_array()?;
    fields
        .iter()
        .find_map(|f| f["text"].as_str()?.strip_prefix(&format!("*{label}*\n")))
}

struct Deploy {
    dir: tempfile::TempDir,
    store: Arc<dyn Storage>,
    key: SigningKey,
    trusted: TrustedKeys,
}

impl Deploy {
    fn new() -> Deploy {
        let dir = tempfile::tempdir().unwrap();
        let key =
            SigningKey::generate("debpull tests <tests@example.org>", KeyKind::Ed25519).unwrap();
        let trusted =
            TrustedKeys::from_bytes(key.public_key_armored().unwrap().as_bytes()).unwrap();
        let store: Arc<dyn Storage> = Arc::new(LocalStorage::new(dir.path().join("repo")).unwrap());
        Deploy {
            dir,
            store,
            key,
            trusted,
        }
    }

    fn repo(&self, notifier: Option<Notifier>) -> Repository {
        let options = RepositoryOptions {
            wait_for_new_second: false,
            notifier,
            ..RepositoryOptions::default()
        };
        Repository::new(self.store.clone(), self.key.clone(), options).unwrap()
    }

    fn deb(&self, version: &str) -> PathBuf {
        test_debs::build_deb(self.dir.path(), "app", version, "amd64", "")
    }

    fn updater(&self, system: &DpkgRoot, notifier: Option<Notifier>) -> Updater {
        let mut source = SourceOptions::new(
            "production",
            SourceTrust::Keys(self.trusted.clone()),
            self.dir.path().join("state"),
        );
        source.architecture = Some("amd64".into());
        source.admin_dir = system.admin.clone();
        let mut options = UpdaterOptions::new("app");
        options.root = Some(system.root.clone());
        options.notifier = notifier;
        Updater::new(Source::new(self.store.clone(), source).unwrap(), options)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_posts_json_with_what_version_suite_host_and_duration() {
    let server = WebhookServer::ok();
    let d = Deploy::new();
    let n = notifier(&server.url(), 0);
    let repo = d.repo(Some(n.clone()));
    repo.publish(
        "staging",
        "main",
        &[d.deb("1.2.4")],
        Default::default(),
        &|_| {},
    )
    .await
    .unwrap();
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert!(
        received[0].0.starts_with("application/json"),
        "{}",
        received[0].0
    );
    let body = &server.json()[0];
    assert_eq!(
        body["text"],
        ":white_check_mark: app 1.2.4 published to staging"
    );
    assert_eq!(body["blocks"][0]["type"], "header");
    assert_eq!(field(body, "Package"), Some("app"));
    assert_eq!(field(body, "Version"), Some("1.2.4"));
    assert_eq!(field(body, "Suite"), Some("staging"));
    assert_eq!(field(body, "Event"), Some("published"));
    assert!(!field(body, "Host").unwrap().is_empty());
    assert!(field(body, "Duration").unwrap().ends_with('s'));
    assert_eq!(n.report().sent, 1);

    // The same file again: unchanged, said so.
    repo.publish(
        "staging",
        "main",
        &[d.deb("1.2.4")],
        Default::default(),
        &|_| {},
    )
    .await
    .unwrap();
    assert_eq!(
        server.json()[1]["text"],
        ":information_source: app 1.2.4 already in staging (unchanged)"
    );

    // Promote, remove, prune: one message each.
    repo.promote(
        "app",
        &Version::parse("1.2.4").unwrap(),
        "staging",
        "production",
    )
    .await
    .unwrap();
    assert_eq!(
        server.json()[2]["text"],
        ":arrow_up: app 1.2.4 promoted staging → production"
    );
    assert_eq!(
        field(&server.json()[2], "Suite"),
        Some("staging → production")
    );
    repo.publish(
        "staging",
        "main",
        &[d.deb("1.2.5")],
        Default::default(),
        &|_| {},
    )
    .await
    .unwrap();
    let pruned = repo.prune("staging", 1).await.unwrap();
    assert_eq!(pruned.len(), 1);
    let body = &server.json()[4];
    assert_eq!(
        body["text"],
        ":broom: 1 package pruned from staging (keeping 1 version)"
    );
    assert_eq!(field(body, "Removed"), Some("app 1.2.4 amd64"));
    // Nothing to prune: nothing posted.
    repo.prune("staging", 1).await.unwrap();
    assert_eq!(server.received().len(), 5);
    repo.remove("production", "app", None).await.unwrap();
    assert_eq!(
        server.json()[5]["text"],
        ":wastebasket: app 1.2.4 removed from production"
    );
    assert_eq!(n.report().sent, 6);
    assert_eq!(n.report().failed, 0);
}

#[tokio::test]
async fn retries_on_500_then_succeeds() {
    let server = WebhookServer::start(
        vec![Answer::status(500, "oops"), Answer::status(503, "busy")],
        Answer::ok(),
    );
    let webhook = Webhook::new(options(&server.url(), 3)).unwrap();
    let attempts = webhook.post(&Message::new(":x:", "hello")).await.unwrap();
    assert_eq!(attempts, 3);
    let bodies = server.json();
    assert_eq!(bodies.len(), 3);
    assert!(bodies.iter().all(|b| b["text"] == ":x: hello"));
}

#[tokio::test]
async fn a_429_waits_its_retry_after_then_succeeds() {
    let server = WebhookServer::start(vec![Answer::rate_limited(1)], Answer::ok());
    let webhook = Webhook::new(options(&server.url(), 3)).unwrap();
    let clock = Instant::now();
    let attempts = webhook.post(&Message::new("", "hello")).await.unwrap();
    assert_eq!(attempts, 2);
    // Retry-After: 1 was honoured (the backoff alone is 10 ms).
    assert!(
        clock.elapsed() >= Duration::from_secs(1),
        "{:?}",
        clock.elapsed()
    );
}

#[tokio::test]
async fn a_retry_after_beyond_the_cap_gives_up_at_once() {
    let server = WebhookServer::start(vec![], Answer::rate_limited(3600));
    let webhook = Webhook::new(options(&server.url(), 3)).unwrap();
    let err = webhook.post(&Message::new("", "hello")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage);
    assert!(err.to_string().contains("Retry-After 3600 s"), "{err}");
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn gives_up_after_its_retries_with_a_typed_error_without_the_secret() {
    let server = WebhookServer::start(vec![], Answer::status(500, "internal\nerror"));
    let webhook = Webhook::new(options(&server.url(), 2)).unwrap();
    let err = webhook.post(&Message::new("", "hello")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage);
    let text = err.to_string();
    assert!(text.contains("HTTP 500: internal"), "{text}");
    assert!(text.contains("(3 attempts)"), "{text}");
    assert!(!text.contains("s3cr3t"), "{text}");
    assert_eq!(server.received().len(), 3);
}

#[tokio::test]
async fn a_refusal_is_final() {
    let server = WebhookServer::start(vec![], Answer::status(400, "invalid_payload"));
    let webhook = Webhook::new(options(&server.url(), 3)).unwrap();
    let err = webhook.post(&Message::new("", "hello")).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("HTTP 400: invalid_payload (1 attempt)"),
        "{err}"
    );
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn a_webhook_that_never_answers_times_out_each_attempt() {
    let server = WebhookServer::start(vec![], Answer::Silence);
    let mut o = options(&server.url(), 1);
    o.timeout = Duration::from_millis(300);
    let webhook = Webhook::new(o).unwrap();
    let clock = Instant::now();
    let err = webhook.post(&Message::new("", "hello")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage);
    assert!(err.to_string().contains("no answer within 300ms"), "{err}");
    assert!(err.to_string().contains("(2 attempts)"), "{err}");
    // Bounded: two attempts of 300 ms and a short backoff, with room for a loaded machine.
    assert!(
        clock.elapsed() < Duration::from_secs(10),
        "{:?}",
        clock.elapsed()
    );
    assert_eq!(server.received().len(), 2);
}

#[tokio::test]
async fn a_silent_webhook_gives_up_at_the_deadline() {
    let server = WebhookServer::start(vec![], Answer::Silence);
    let mut o = options(&server.url(), 3);
    o.timeout = Duration::from_secs(30);
    o.deadline = Duration::from_millis(500);
    let webhook = Webhook::new(o).unwrap();
    let clock = Instant::now();
    let err = webhook.post(&Message::new("", "hello")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage);
    assert!(err.to_string().contains("deadline of 500ms"), "{err}");
    assert!(err.to_string().contains("(1 attempt)"), "{err}");
    // Not 4 × 30 s: the deadline, with room for a loaded machine.
    assert!(
        clock.elapsed() < Duration::from_secs(10),
        "{:?}",
        clock.elapsed()
    );
}

#[tokio::test]
async fn a_publisher_with_a_silent_webhook_returns_within_the_deadline() {
    let server = WebhookServer::start(vec![], Answer::Silence);
    let d = Deploy::new();
    let mut o = options(&server.url(), 3);
    o.timeout = Duration::from_secs(30);
    o.deadline = Duration::from_millis(500);
    let n = Notifier::new(o).unwrap();
    n.set_warnings(false);
    let clock = Instant::now();
    let report = d
        .repo(Some(n.clone()))
        .publish(
            "staging",
            "main",
            &[d.deb("1.0")],
            Default::default(),
            &|_| {},
        )
        .await
        .unwrap();
    assert_eq!(report.added.len(), 1);
    assert!(
        clock.elapsed() < Duration::from_secs(20),
        "{:?}",
        clock.elapsed()
    );
    assert_eq!(n.report().failed, 1);
    assert!(n.report().last_error.unwrap().contains("deadline"));
}

#[tokio::test]
async fn a_429_without_retry_after_backs_off_instead_of_retrying_at_once() {
    for answer in [
        Answer::status(429, "rate_limited"),
        Answer::Status(
            429,
            vec![("Retry-After".into(), "whenever".into())],
            "rate_limited".into(),
        ),
    ] {
        let server = WebhookServer::start(vec![answer], Answer::ok());
        let mut o = options(&server.url(), 3);
        // The backoff (at least 5 s) would end past the deadline: it gives
        // up after one attempt instead of asking again at once.
        o.initial_backoff = Duration::from_secs(10);
        o.deadline = Duration::from_secs(2);
        let err = Webhook::new(o)
            .unwrap()
            .post(&Message::new("", "hello"))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("HTTP 429"), "{err}");
        assert!(err.to_string().contains("past the deadline"), "{err}");
        assert_eq!(server.received().len(), 1);
    }
}

#[tokio::test]
async fn an_unreachable_webhook_is_a_storage_error() {
    let webhook = Webhook::new(options(&dead_url(), 1)).unwrap();
    let err = webhook.post(&Message::new("", "hello")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage);
    assert!(err.to_string().contains("(2 attempts)"), "{err}");
    assert!(
        err.to_string().starts_with("webhook http://127.0.0.1:"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_webhook_never_fails_the_publisher() {
    let d = Deploy::new();
    let n = notifier(&dead_url(), 1);
    n.set_warnings(false);
    let repo = d.repo(Some(n.clone()));
    let report = repo
        .publish(
            "staging",
            "main",
            &[d.deb("1.0"), d.deb("1.1")],
            Default::default(),
            &|_| {},
        )
        .await
        .unwrap();
    assert_eq!(report.added.len(), 2);
    let v = Version::parse("1.1").unwrap();
    assert_eq!(
        repo.promote("app", &v, "staging", "production")
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(repo.prune("staging", 1).await.unwrap().len(), 1);
    assert_eq!(
        repo.remove("production", "app", Some(&v))
            .await
            .unwrap()
            .len(),
        1
    );
    // The repository has the changes.
    assert_eq!(repo.list("staging").await.unwrap().len(), 1);
    assert!(repo.list("production").await.unwrap().is_empty());
    let report = n.report();
    assert_eq!((report.sent, report.failed), (0, 4));
    assert!(report.last_error.unwrap().contains("(2 attempts)"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staged_promote_its_phases_and_a_rollback_post_what_they_did() {
    let server = WebhookServer::ok();
    let d = Deploy::new();
    let repo = d.repo(Some(notifier(&server.url(), 0)));
    let v = |s: &str| Version::parse(s).unwrap();
    for version in ["1.0", "1.1"] {
        repo.publish(
            "staging",
            "main",
            &[d.deb(version)],
            Default::default(),
            &|_| {},
        )
        .await
        .unwrap();
    }
    repo.promote("app", &v("1.0"), "staging", "production")
        .await
        .unwrap();
    let staged = PromoteOptions {
        percentage: Some(30),
        ..PromoteOptions::default()
    };
    repo.promote_with("app", &v("1.1"), "staging", "production", &staged)
        .await
        .unwrap();
    let body = &server.json()[3];
    assert_eq!(
        body["text"],
        ":arrow_up: app 1.1 promoted staging → production"
    );
    assert_eq!(field(body, "Rollout"), Some("30% of the fleet"));

    repo.phase("production", "app", &v("1.1"), 60)
        .await
        .unwrap();
    let body = &server.json()[4];
    assert_eq!(
        body["text"],
        ":bar_chart: app 1.1 rollout in production: 60%"
    );
    assert_eq!(field(body, "Event"), Some("phased"));
    assert_eq!(field(body, "Rollout"), Some("60% of the fleet"));
    repo.phase("production", "app", &v("1.1"), 100)
        .await
        .unwrap();
    let body = &server.json()[5];
    assert_eq!(
        body["text"],
        ":white_check_mark: app 1.1 rollout in production complete"
    );
    assert_eq!(field(body, "Rollout"), Some("the whole fleet"));

    let report = repo.rollback("production", "app", &v("1.0")).await.unwrap();
    assert_eq!(report.demoted.len(), 1);
    let body = &server.json()[6];
    assert_eq!(
        body["text"],
        ":leftwards_arrow_with_hook: app rolled back to 1.0 in production"
    );
    assert_eq!(field(body, "Demoted"), Some("1.1"));
    assert_eq!(field(body, "Suite"), Some("production"));
    assert_eq!(server.received().len(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deferred_server_posts_nothing_until_included_then_follows_a_rollback_down() {
    let server = WebhookServer::ok();
    let d = Deploy::new();
    let repo = d.repo(None);
    let v = |s: &str| Version::parse(s).unwrap();
    for version in ["1.0", "1.1"] {
        repo.publish(
            "staging",
            "main",
            &[d.deb(version)],
            Default::default(),
            &|_| {},
        )
        .await
        .unwrap();
    }
    repo.promote("app", &v("1.0"), "staging", "production")
        .await
        .unwrap();
    let system = DpkgRoot::new(&d.dir.path().join("system"));
    let mut source = SourceOptions::new(
        "production",
        SourceTrust::Keys(d.trusted.clone()),
        d.dir.path().join("state"),
    );
    source.architecture = Some("amd64".into());
    source.admin_dir = system.admin.clone();
    source.machine_id = Some("0123456789abcdef0123456789abcdef".into());
    let mut options = UpdaterOptions::new("app");
    options.root = Some(system.root.clone());
    options.policy = Policy::FollowRepository;
    options.notifier = Some(notifier(&server.url(), 0));
    let updater = Updater::new(Source::new(d.store.clone(), source).unwrap(), options);
    assert!(matches!(updater.update().await, Outcome::Updated { .. }));
    assert_eq!(server.received().len(), 1);

    // 1.1 for 0% of the fleet: this server is not in it, every minute, and
    // nothing is posted.
    let nobody = PromoteOptions {
        percentage: Some(0),
        ..PromoteOptions::default()
    };
    repo.promote_with("app", &v("1.1"), "staging", "production", &nobody)
        .await
        .unwrap();
    for _ in 0..3 {
        let outcome = updater.update().await;
        match &outcome {
            Outcome::UpToDate {
                deferred: Some(deferred),
                ..
            } => assert_eq!(deferred.version, v("1.1"), "{outcome}"),
            _ => panic!("{outcome}"),
        }
    }
    assert_eq!(system.installed("app").as_deref(), Some("1.0"));
    assert_eq!(server.received().len(), 1);

    // Raised to 100: updated, posted once.
    repo.phase("production", "app", &v("1.1"), 100)
        .await
        .unwrap();
    assert!(matches!(updater.update().await, Outcome::Updated { .. }));
    assert!(matches!(updater.update().await, Outcome::UpToDate { .. }));
    assert_eq!(system.installed("app").as_deref(), Some("1.1"));
    let posted = server.json();
    assert_eq!(posted.len(), 2);
    let host = field(&posted[1], "Host").unwrap().to_owned();
    assert_eq!(
        posted[1]["text"],
        format!(":white_check_mark: app updated to 1.1 on {host}")
    );
    assert_eq!(field(&posted[1], "Version"), Some("1.0 → 1.1"));

    // The repository rolled back: this server follows it down, and says so.
    repo.rollback("production", "app", &v("1.0")).await.unwrap();
    assert!(matches!(updater.update().await, Outcome::Updated { .. }));
    assert_eq!(system.installed("app").as_deref(), Some("1.0"));
    let posted = server.json();
    assert_eq!(posted.len(), 3);
    assert_eq!(
        posted[2]["text"],
        format!(":white_check_mark: app downgraded to 1.0 on {host}")
    );
    assert_eq!(field(&posted[2], "Version"), Some("1.1 → 1.0"));
    assert_eq!(field(&posted[2], "Event"), Some("updated"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_updater_posts_updates_and_rollbacks_and_nothing_when_up_to_date() {
    let server = WebhookServer::ok();
    let d = Deploy::new();
    let repo = d.repo(None);
    repo.publish(
        "production",
        "main",
        &[d.deb("1.0")],
        Default::default(),
        &|_| {},
    )
    .await
    .unwrap();
    let system = DpkgRoot::new(&d.dir.path().join("system"));
    let n = notifier(&server.url(), 0);
    let updater = d.updater(&system, Some(n.clone()));
    assert!(matches!(updater.update().await, Outcome::Updated { .. }));
    assert_eq!(system.installed("app").as_deref(), Some("1.0"));
    let body = &server.json()[0];
    let host = field(body, "Host").unwrap().to_owned();
    assert_eq!(
        body["text"],
        format!(":white_check_mark: app 1.0 installed on {host}")
    );
    assert_eq!(field(body, "Version"), Some("1.0 (first install)"));
    assert_eq!(field(body, "Suite"), Some("production"));
    assert_eq!(field(body, "Event"), Some("updated"));

    // Up to date: nothing posted.
    assert!(matches!(updater.update().await, Outcome::UpToDate { .. }));
    assert_eq!(server.received().len(), 1);

    // 1.1 fails its health check: rolled back, with the reason.
    repo.publish(
        "production",
        "main",
        &[d.deb("1.1")],
        Default::default(),
        &|_| {},
    )
    .await
    .unwrap();
    let mut options = updater.options().clone();
    options.health_check = Some(vec![
        "sh".into(),
        "-c".into(),
        "echo 'port 8080 <closed>' >&2; exit 3".into(),
    ]);
    let unhealthy = Updater::new(updater.source().clone(), options);
    assert!(matches!(
        unhealthy.update().await,
        Outcome::RolledBack { .. }
    ));
    assert_eq!(system.installed("app").as_deref(), Some("1.0"));
    let body = &server.json()[1];
    let text = body["text"].as_str().unwrap();
    assert!(
        text.starts_with(&format!(
            ":rewind: app 1.1 failed on {host}, rolled back to 1.0: "
        )),
        "{text}"
    );
    assert_eq!(field(body, "Version"), Some("1.1 → 1.0"));
    let reason = body["blocks"][2]["text"]["text"].as_str().unwrap();
    assert!(reason.starts_with("*Reason*\n```"), "{reason}");
    // The health check's output, escaped for Slack.
    assert!(reason.contains("&lt;closed&gt;"), "{reason}");
    assert_eq!(n.report().sent, 2);
}

async fn wait_until(what: &str, done: impl Fn() -> bool) {
    let clock = Instant::now();
    while !done() {
        assert!(clock.elapsed() < Duration::from_secs(60), "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_cancelled_during_its_install_posts_its_real_outcome() {
    let server = WebhookServer::ok();
    let d = Deploy::new();
    d.repo(None)
        .publish(
            "production",
            "main",
            &[d.deb("1.0")],
            Default::default(),
            &|_| {},
        )
        .await
        .unwrap();
    let system = DpkgRoot::new(&d.dir.path().join("system"));
    let n = notifier(&server.url(), 0);
    let base = d.updater(&system, Some(n.clone()));
    let go = d.dir.path().join("go");
    let started = d.dir.path().join("started");
    let mut options = base.options().clone();
    options.installer = Installer::Command(vec![
        "sh".into(),
        "-c".into(),
        format!(
            "touch '{started}'; while [ ! -e '{go}' ]; do sleep 0.05; done; \
             exec dpkg --root=\"$DEBPULL_ROOT\" --admindir=\"$DEBPULL_ADMIN_DIR\" -i \"$1\"",
            started = started.display(),
            go = go.display()
        ),
        "sh".into(),
    ]);
    let updater = Updater::new(base.source().clone(), options);
    let cancelled = tokio::time::timeout(Duration::from_secs(60), async {
        tokio::select! {
            outcome = updater.update() => Some(outcome),
            () = wait_until("the installer starts", || started.exists()) => None,
        }
    })
    .await
    .unwrap();
    assert!(cancelled.is_none(), "{cancelled:?}");
    std::fs::write(&go, "").unwrap();
    wait_until("the real outcome is posted", || {
        !server.received().is_empty()
    })
    .await;
    assert_eq!(system.installed("app").as_deref(), Some("1.0"));
    let bodies = server.json();
    // The cancellation itself posted nothing: one message, the install's.
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let text = bodies[0]["text"].as_str().unwrap();
    assert!(
        text.starts_with(":white_check_mark: app 1.0 installed on "),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lasting_failure_posts_once_and_its_end_once() {
    let server = WebhookServer::ok();
    let d = Deploy::new();
    let system = DpkgRoot::new(&d.dir.path().join("system"));
    let n = notifier(&server.url(), 0);
    let updater = d.updater(&system, Some(n.clone()));
    // Nothing published yet: every run fails the same way.
    for _ in 0..3 {
        let outcome = updater.update().await;
        assert!(matches!(outcome, Outcome::Failed { .. }), "{outcome}");
    }
    assert_eq!(server.received().len(), 1);
    assert!(
        server.json()[0]["text"]
            .as_str()
            .unwrap()
            .starts_with(":x: "),
        "{:?}",
        server.json()
    );
    d.repo(None)
        .publish(
            "production",
            "main",
            &[d.deb("1.0")],
            Default::default(),
            &|_| {},
        )
        .await
        .unwrap();
    assert!(matches!(updater.update().await, Outcome::Updated { .. }));
    assert!(matches!(updater.update().await, Outcome::UpToDate { .. }));
    let texts: Vec<String> = server
        .json()
        .iter()
        .map(|b| b["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(texts.len(), 3, "{texts:?}");
    assert!(
        texts[1].starts_with(":large_green_circle: app recovered on "),
        "{texts:?}"
    );
    assert!(
        texts[2].starts_with(":white_check_mark: app 1.0 installed on "),
        "{texts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_webhook_never_changes_the_updaters_outcome() {
    let d = Deploy::new();
    let repo = d.repo(None);
    repo.publish(
        "production",
        "main",
        &[d.deb("2.0")],
        Default::default(),
        &|_| {},
    )
    .await
    .unwrap();
    let system = DpkgRoot::new(&d.dir.path().join("system"));
    let n = notifier(&dead_url(), 0);
    n.set_warnings(false);
    let outcome = d.updater(&system, Some(n.clone())).update().await;
    assert!(matches!(outcome, Outcome::Updated { .. }), "{outcome}");
    assert_eq!(system.installed("app").as_deref(), Some("2.0"));
    assert_eq!(n.report().failed, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_over_https_to_a_webhook_whose_ca_it_trusts_and_not_otherwise() {
    let ca = http_servers::TestCa::new();
    let server = WebhookServer::ok();
    let front = http_servers::TlsFront::start(&ca, server.port());
    let url = format!("{}/services/T000/B000/s3cr3t", front.url());
    assert!(url.starts_with("https://"), "{url}");

    // The platform's roots do not include the test CA: refused, not retried.
    let untrusted = Webhook::new(options(&url, 3)).unwrap();
    let err = untrusted
        .post(&Message::new("", "hello"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage);
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
    assert!(err.to_string().contains("(1 attempt)"), "{err}");
    assert!(server.received().is_empty());

    let mut trusting = options(&url, 0);
    trusting.ca_certificates = vec![ca.ca_pem.clone()];
    let webhook = Webhook::new(trusting).unwrap();
    assert_eq!(
        webhook
            .post(&Message::new(":lock:", "over TLS"))
            .await
            .unwrap(),
        1
    );
    assert_eq!(server.json()[0]["text"], ":lock: over TLS");
}
