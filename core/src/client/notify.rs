//! [`Updater::update_with_events`]: the run, its events, and (with
//! [`UpdaterOptions::notifier`](super::UpdaterOptions::notifier)) a Slack
//! message for a run that updated, failed or rolled back, posted after the
//! run (see [`crate::notify`]: a failed post never changes the outcome).
//!
//! **A lasting failure is posted once, not every minute.** The last failure
//! posted (its error kind and a hash of the version attempted and of its
//! message with every run of digits made one `#`, so that "ended after 10
//! of 20 bytes" and "after 15 of 20" are the same failure) is kept in
//! `<check state dir>/notify-failure-<package>` (a package name that is not
//! a valid one, which the run refuses anyway, is hashed: it never becomes a
//! path outside the state dir); the same failure again is
//! posted only after a back-off (1 h, then 4 h, then every 24 h), a
//! different one at once, and the next good run (anything but a failure or a
//! skipped run) posts one "recovered" message and forgets it.

use super::{EventSink, Outcome, Updater};

impl Updater {
    /// [`Updater::update`], calling `on_event` with the run's [`Event`](super::Event) before
    /// returning its outcome. A run cancelled before its installer started
    /// emits one [`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled) event;
    /// one cancelled after emits that event, then (from the install task, when
    /// it ends) the event of its real outcome. With a notifier, the run's
    /// message is posted before the outcome is returned; a cancelled run's
    /// messages (never the cancellation itself) are posted from tasks of
    /// their own, the install task's real outcome when it comes.
    pub async fn update_with_events(&self, on_event: EventSink) -> Outcome {
        #[cfg(feature = "notify")]
        if let Some(notifier) = self.options.notifier.clone() {
            return notified(self, on_event, notifier).await;
        }
        self.update_with_events_unnotified(on_event).await
    }
}

#[cfg(feature = "notify")]
async fn notified(
    updater: &Updater,
    on_event: EventSink,
    notifier: crate::notify::Notifier,
) -> Outcome {
    use std::sync::{Arc, Mutex};

    use super::Event;
    use crate::notify::Message;

    /// Messages of the run, until it returns (or is dropped); after that (an
    /// install task outliving a cancelled run) they are posted as they come.
    #[derive(Default)]
    struct Pending {
        done: bool,
        messages: Vec<Message>,
    }

    /// Posts from a task of its own what a dropped run had gathered, and
    /// makes later events post as they come.
    struct Flush {
        pending: Arc<Mutex<Pending>>,
        notifier: crate::notify::Notifier,
    }
    impl Flush {
        fn take(&self) -> Vec<Message> {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            pending.done = true;
            std::mem::take(&mut pending.messages)
        }
    }
    impl Drop for Flush {
        fn drop(&mut self) {
            let messages = self.take();
            if messages.is_empty() {
                return;
            }
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                let notifier = self.notifier.clone();
                runtime.spawn(async move {
                    for message in &messages {
                        notifier.notify(message).await;
                    }
                });
            }
        }
    }

    let pending = Arc::new(Mutex::new(Pending::default()));
    let state = state_path(
        &updater.source().check_state_dir(),
        &updater.options.package,
    );
    let sink: EventSink = {
        let pending = Arc::clone(&pending);
        let notifier = notifier.clone();
        Arc::new(move |event: &Event| {
            on_event(event);
            let messages = messages_for(&state, event, std::time::SystemTime::now());
            if messages.is_empty() {
                return;
            }
            let mut pending = pending.lock().unwrap_or_else(|p| p.into_inner());
            if !pending.done {
                pending.messages.extend(messages);
            } else if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                let notifier = notifier.clone();
                runtime.spawn(async move {
                    for message in &messages {
                        notifier.notify(message).await;
                    }
                });
            }
        })
    };
    let flush = Flush {
        pending: Arc::clone(&pending),
        notifier: notifier.clone(),
    };
    let outcome = updater.update_with_events_unnotified(sink).await;
    let messages = flush.take();
    for message in &messages {
        notifier.notify(message).await;
    }
    outcome
}

/// Where the failure last posted for `package` is kept, in `dir`: the
/// package's name when it is a valid one, else `_` and a hash of it (`_` is
/// in no package name), so that no name (`../../x`) escapes `dir`.
#[cfg(feature = "notify")]
fn state_path(dir: &std::path::Path, package: &str) -> std::path::PathBuf {
    use sha2::Digest as _;

    if crate::index::package::is_package_name(package) {
        dir.join(format!("notify-failure-{package}"))
    } else {
        let digest = sha2::Sha256::digest(package.as_bytes());
        let hash: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        dir.join(format!("notify-failure-_{hash}"))
    }
}

/// The back-off's key of a failure: its kind, and a hash of the version
/// attempted and of the message with every run of digits made one `#`
/// (sizes, counts, ports and durations vary between runs of one failure).
#[cfg(feature = "notify")]
fn failure_key(error: &crate::Error, attempted: Option<&crate::Version>) -> String {
    use sha2::Digest as _;

    let mut text = match attempted {
        Some(version) => format!("{version}\n"),
        None => "\n".to_owned(),
    };
    let mut digits = false;
    for c in error.to_string().chars() {
        if c.is_ascii_digit() {
            if !digits {
                text.push('#');
            }
            digits = true;
        } else {
            text.push(c);
            digits = false;
        }
    }
    let digest = sha2::Sha256::digest(text.as_bytes());
    let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{:?}-{hash}", error.kind())
}

/// The failure last posted, as kept in the state file.
#[cfg(feature = "notify")]
#[derive(Debug, Clone, PartialEq, Eq)]
struct LastFailure {
    /// The error kind and a hash of the message.
    key: String,
    /// When it was first posted (Unix seconds).
    since: u64,
    /// When it was last posted (Unix seconds).
    posted: u64,
    /// How many times it was posted.
    count: u32,
}

#[cfg(feature = "notify")]
impl LastFailure {
    fn read(path: &std::path::Path) -> Option<LastFailure> {
        let text = std::fs::read_to_string(path).ok()?;
        let mut words = text.split_whitespace();
        let failure = LastFailure {
            key: words.next()?.to_owned(),
            since: words.next()?.parse().ok()?,
            posted: words.next()?.parse().ok()?,
            count: words.next()?.parse().ok()?,
        };
        Some(failure)
    }

    /// Written whole or not at all; a failure to write only means a post
    /// more later.
    fn write(&self, path: &std::path::Path) {
        let Some(dir) = path.parent() else { return };
        let _ = std::fs::create_dir_all(dir);
        // Unique to the path (app.v2 and app.v3 must not share one) and to
        // the writer (a cancelled run's task may write while the next run does).
        static SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let Some(name) = path.file_name() else { return };
        let mut tmp_name = name.to_owned();
        tmp_name.push(format!(
            ".{}-{}.tmp",
            std::process::id(),
            SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let tmp = dir.join(tmp_name);
        let text = format!(
            "{} {} {} {}\n",
            self.key, self.since, self.posted, self.count
        );
        if std::fs::write(&tmp, text).is_err() || std::fs::rename(&tmp, path).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

/// How long the same failure is not posted again after its `count`th post.
#[cfg(feature = "notify")]
fn quiet_after(count: u32) -> u64 {
    match count {
        0 | 1 => 3600,
        2 => 4 * 3600,
        _ => 24 * 3600,
    }
}

/// The messages to post for `event`, given (and updating) the last failure
/// posted, kept at `state`.
#[cfg(feature = "notify")]
fn messages_for(
    state: &std::path::Path,
    event: &super::Event,
    now: std::time::SystemTime,
) -> Vec<crate::notify::Message> {
    use crate::ErrorKind;
    use crate::notify::{Message, format_duration};

    let now = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    match &event.outcome {
        // A cancellation says nothing about the fleet; a skipped run saw nothing.
        Outcome::Failed { error, .. } if error.kind() == ErrorKind::Cancelled => Vec::new(),
        Outcome::Skipped { .. } => Vec::new(),
        Outcome::Failed {
            error, attempted, ..
        } => {
            let key = failure_key(error, attempted.as_ref());
            let last = LastFailure::read(state).filter(|l| l.key == key);
            let next = match last {
                Some(l) if now.saturating_sub(l.posted) < quiet_after(l.count) => {
                    return Vec::new();
                }
                Some(l) => LastFailure {
                    posted: now,
                    count: l.count.saturating_add(1),
                    ..l
                },
                None => LastFailure {
                    key,
                    since: now,
                    posted: now,
                    count: 1,
                },
            };
            next.write(state);
            let Some(mut message) = Message::from_event(event) else {
                return Vec::new();
            };
            if next.count > 1 {
                message = message.field(
                    "Failing for",
                    format_duration(std::time::Duration::from_secs(now - next.since)),
                );
            }
            vec![message]
        }
        _ => {
            let mut messages = Vec::new();
            if let Some(last) = LastFailure::read(state) {
                let _ = std::fs::remove_file(state);
                messages.push(
                    Message::new(
                        ":large_green_circle:",
                        format!("{} recovered on {}", event.package, event.hostname),
                    )
                    .field("Event", "recovered")
                    .field("Package", &event.package)
                    .field("Suite", &event.suite)
                    .field("Host", &event.hostname)
                    .field(
                        "Failing for",
                        format_duration(std::time::Duration::from_secs(
                            now.saturating_sub(last.since),
                        )),
                    ),
                );
            }
            messages.extend(Message::from_event(event));
            messages
        }
    }
}

#[cfg(all(test, feature = "notify"))]
mod tests {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use super::*;
    use crate::client::Event;
    use crate::{Error, ErrorKind};

    fn event(outcome: Outcome) -> Event {
        Event {
            outcome,
            package: "app".into(),
            suite: "production".into(),
            hostname: "web-1".into(),
            started: UNIX_EPOCH,
            duration: Duration::from_secs(1),
            jitter: Duration::ZERO,
            warnings: Vec::new(),
        }
    }

    fn failed(kind: ErrorKind, why: &str) -> Event {
        event(Outcome::Failed {
            package: "app".into(),
            installed: None,
            attempted: None,
            error: Error::new(kind, why),
        })
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_000_000 + secs)
    }

    fn headlines(state: &std::path::Path, e: &Event, secs: u64) -> Vec<String> {
        messages_for(state, e, at(secs))
            .iter()
            .map(|m| m.headline())
            .collect()
    }

    /// Every file under `root`, relative to it.
    fn files(root: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut found = Vec::new();
        let mut dirs = vec![root.to_path_buf()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    found.push(path.strip_prefix(root).unwrap().to_path_buf());
                }
            }
        }
        found.sort();
        found
    }

    #[test]
    fn a_package_name_that_is_no_name_writes_nothing_outside_the_state_dir() {
        let root = tempfile::tempdir().unwrap();
        let check = root.path().join("state").join("check");
        // "notify-failure-../../../x" would be <root>/state/x, one more ".." <root>/x.
        for bad in ["../../../x", "../../../../x", "..", "a/b", "App"] {
            let state = state_path(&check, bad);
            assert_eq!(state.parent(), Some(check.as_path()), "{bad}");
            let outage = failed(ErrorKind::InvalidInput, "not a valid package name");
            assert_eq!(headlines(&state, &outage, 0).len(), 1, "{bad}");
            // The back-off holds for it too.
            assert!(headlines(&state, &outage, 60).is_empty(), "{bad}");
        }
        let written = files(root.path());
        assert_eq!(written.len(), 5, "{written:?}");
        assert!(
            written.iter().all(|f| f.starts_with("state/check")
                && f.to_string_lossy().contains("notify-failure-_")),
            "{written:?}"
        );
        assert_eq!(state_path(&check, "app"), check.join("notify-failure-app"));
    }

    #[test]
    fn packages_whose_names_differ_after_a_dot_keep_their_own_state() {
        let root = tempfile::tempdir().unwrap();
        let v2 = root.path().join("notify-failure-app.v2");
        let v3 = root.path().join("notify-failure-app.v3");
        // Two writers at once (a cancelled run's task and the next run, or
        // two packages' updaters in one process): each file gets its own text.
        std::thread::scope(|scope| {
            for (path, key) in [(&v2, "Storage-2"), (&v3, "Storage-3")] {
                scope.spawn(move || {
                    for i in 0..300 {
                        let failure = LastFailure {
                            key: key.to_owned(),
                            since: i,
                            posted: i,
                            count: 1,
                        };
                        failure.write(path);
                        assert_eq!(LastFailure::read(path).unwrap().key, key);
                    }
                });
            }
        });
        assert_eq!(
            files(root.path()),
            [
                std::path::PathBuf::from("notify-failure-app.v2"),
                "notify-failure-app.v3".into()
            ]
        );
    }

    #[test]
    fn the_same_failure_with_other_numbers_is_not_news() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("notify-failure-app");
        let truncated = |got: u32, port: u32| {
            failed(
                ErrorKind::Storage,
                &format!(
                    "GET http://127.0.0.1:{port}/pool/app_1.1.deb: \
                     the body ended after {got} of 52410 bytes"
                ),
            )
        };
        assert_eq!(headlines(&state, &truncated(1000, 8080), 0).len(), 1);
        for minute in 1..60 {
            let again = truncated(1000 + minute * 17, 8080 + minute);
            assert!(headlines(&state, &again, u64::from(minute) * 60).is_empty());
        }
        // Another kind of failure with the same text is news, and so is the
        // same failure with another version attempted.
        assert_eq!(
            headlines(
                &state,
                &failed(ErrorKind::Io, "the body ended after 1 of 2 bytes"),
                3599
            )
            .len(),
            1
        );
        let attempting = |version: &str| {
            event(Outcome::Failed {
                package: "app".into(),
                installed: None,
                attempted: Some(version.parse().unwrap()),
                error: Error::new(ErrorKind::Io, "dpkg exited 1"),
            })
        };
        assert_eq!(headlines(&state, &attempting("1.1"), 3599).len(), 1);
        assert!(headlines(&state, &attempting("1.1"), 3599 + 60).is_empty());
        assert_eq!(headlines(&state, &attempting("1.2"), 3599 + 120).len(), 1);
    }

    #[test]
    fn a_lasting_failure_is_posted_once_then_after_backoffs_and_its_end_once() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("check").join("notify-failure-app");
        let outage = failed(ErrorKind::Storage, "S3 answered 503");
        assert_eq!(headlines(&state, &outage, 0).len(), 1);
        // Every minute for an hour: nothing.
        for minute in 1..60 {
            assert!(
                headlines(&state, &outage, minute * 60).is_empty(),
                "{minute}"
            );
        }
        // A different failure is news.
        let expired = failed(ErrorKind::Verification, "Valid-Until passed");
        assert_eq!(headlines(&state, &expired, 3599).len(), 1);
        assert!(headlines(&state, &expired, 3600 + 3598).is_empty());
        // After 1 h, again (saying for how long); then 4 h; then 24 h.
        let again = messages_for(&state, &expired, at(3599 + 3600));
        assert_eq!(again[0].field_value("Failing for"), Some("1 h 0 min"));
        assert!(headlines(&state, &expired, 3599 + 3600 + 4 * 3600 - 1).is_empty());
        assert_eq!(headlines(&state, &expired, 3599 + 3600 + 4 * 3600).len(), 1);
        let t = 3599 + 3600 + 4 * 3600;
        assert!(headlines(&state, &expired, t + 24 * 3600 - 1).is_empty());
        assert_eq!(headlines(&state, &expired, t + 24 * 3600).len(), 1);
        // Cancelled and skipped runs change nothing and post nothing.
        assert!(headlines(&state, &failed(ErrorKind::Cancelled, "x"), t).is_empty());
        assert!(
            headlines(
                &state,
                &event(Outcome::Skipped {
                    package: "app".into()
                }),
                t
            )
            .is_empty()
        );
        assert!(state.exists());
        // The next good run: "recovered", once.
        let good = event(Outcome::UpToDate {
            package: "app".into(),
            installed: Some("1.0".parse().unwrap()),
            candidate: Some("1.0".parse().unwrap()),
            deferred: None,
        });
        assert_eq!(
            headlines(&state, &good, t + 24 * 3600 + 60),
            [":large_green_circle: app recovered on web-1"]
        );
        assert!(!state.exists());
        assert!(headlines(&state, &good, t + 24 * 3600 + 120).is_empty());
        // And the outage, back, is news at once.
        assert_eq!(headlines(&state, &outage, t + 24 * 3600 + 180).len(), 1);
    }
}
