//! Slack messages: what the publisher and the updater did, as incoming-webhook
//! JSON (a `text` fallback for notifications and clients without blocks, and
//! `blocks`: a header, a section of fields, the reason, a context line).
//!
//! Every piece of text that comes from outside (package names, versions,
//! suites, host names, error messages, AWS fields) is escaped for Slack's
//! mrkdwn (`&` `<` `>`) where it goes into mrkdwn, and cut to Slack's limits
//! (header 150 characters, a field 2000, a section 3000), never in the middle
//! of a character.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Value, json};

use crate::client::{Event, Outcome};
use crate::index::Package;
use crate::repo::{PromoteReport, PublishReport};
use crate::version::Version;

/// A staged rollout's share, as a field says it.
fn rollout(percentage: u8) -> String {
    if percentage >= 100 {
        "the whole fleet".to_owned()
    } else {
        format!("{percentage}% of the fleet")
    }
}

/// Slack's limit on a header block's text.
const HEADER_LIMIT: usize = 150;
/// Slack's limit on one field of a section.
const FIELD_LIMIT: usize = 2000;
/// Slack's limit on a section's text (the reason).
const SECTION_LIMIT: usize = 3000;
/// Slack takes at most 10 fields in a section.
const MAX_FIELDS: usize = 10;

/// One Slack message: a headline, labelled fields, an optional reason and
/// an optional context line. Build it with the constructors
/// ([`Message::published`], [`Message::from_event`], ...,
/// [`crate::notify::sns_to_slack`]) or [`Message::new`]; render it with
/// [`Message::to_json`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    emoji: String,
    headline: String,
    fields: Vec<(String, String)>,
    reason: Option<String>,
    context: Option<String>,
}

impl Message {
    /// A message with `headline` (plain text, e.g. `myapp 1.2.4 published to
    /// staging`) preceded by the Slack emoji short code `emoji` (e.g.
    /// `:white_check_mark:`; empty for none).
    pub fn new(emoji: impl Into<String>, headline: impl Into<String>) -> Message {
        Message {
            emoji: emoji.into(),
            headline: headline.into(),
            fields: Vec::new(),
            reason: None,
            context: None,
        }
    }

    /// Adds a labelled field (plain text: it is escaped). Empty values and
    /// fields beyond Slack's ten are left out.
    pub fn field(mut self, label: impl Into<String>, value: impl Into<String>) -> Message {
        let value = value.into();
        if !value.trim().is_empty() && self.fields.len() < MAX_FIELDS {
            self.fields.push((label.into(), value));
        }
        self
    }

    /// Sets the reason: why it happened or failed (plain text, shown as a block
    /// of its own).
    pub fn reason(mut self, reason: impl Into<String>) -> Message {
        let reason = reason.into();
        if !reason.trim().is_empty() {
            self.reason = Some(reason);
        }
        self
    }

    /// Sets a context line shown small under the message (plain text).
    pub fn context(mut self, context: impl Into<String>) -> Message {
        let context = context.into();
        if !context.trim().is_empty() {
            self.context = Some(context);
        }
        self
    }

    /// The headline with its emoji: the `text` fallback, unescaped
    /// (`:white_check_mark: myapp 1.2.4 published to staging`).
    pub fn headline(&self) -> String {
        if self.emoji.is_empty() {
            self.headline.clone()
        } else {
            format!("{} {}", self.emoji, self.headline)
        }
    }

    /// The fields, label and value, as given (unescaped).
    pub fn fields(&self) -> &[(String, String)] {
        &self.fields
    }

    /// The value of the field labelled `label`.
    pub fn field_value(&self, label: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, v)| v.as_str())
    }

    /// The reason, if any (unescaped).
    pub fn reason_text(&self) -> Option<&str> {
        self.reason.as_deref()
    }

    /// The message as incoming-webhook JSON (a [`Value`]).
    pub fn to_value(&self) -> Value {
        let headline = self.headline();
        let mut text = headline.clone();
        if let Some(reason) = &self.reason {
            text.push_str(": ");
            text.push_str(first_line(reason));
        }
        let mut blocks = vec![json!({
            "type": "header",
            "text": {"type": "plain_text", "text": cut(&headline, HEADER_LIMIT), "emoji": true},
        })];
        if !self.fields.is_empty() {
            let fields: Vec<Value> = self
                .fields
                .iter()
                .map(|(label, value)| {
                    let label = escape(label);
                    let room = FIELD_LIMIT.saturating_sub(label.len() + 4);
                    json!({"type": "mrkdwn", "text": format!("*{label}*\n{}", escape_cut(value, room))})
                })
                .collect();
            blocks.push(json!({"type": "section", "fields": fields}));
        }
        if let Some(reason) = &self.reason {
            // A code block: error messages keep their line breaks and are
            // not read as mrkdwn (but must still be escaped).
            let body = escape_cut(&reason.replace("```", "'''"), SECTION_LIMIT - 20);
            blocks.push(json!({
                "type": "section",
                "text": {"type": "mrkdwn", "text": format!("*Reason*\n```{body}```")},
            }));
        }
        if let Some(context) = &self.context {
            blocks.push(json!({
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": escape_cut(context, SECTION_LIMIT)}],
            }));
        }
        json!({"text": escape_cut(&text, SECTION_LIMIT), "blocks": blocks})
    }

    /// The message as incoming-webhook JSON text.
    pub fn to_json(&self) -> String {
        self.to_value().to_string()
    }

    /// The message for a [`crate::repo::Repository::publish`] into `suite`:
    /// added (`:white_check_mark: myapp 1.2.4 published to staging`),
    /// replaced (`:arrows_counterclockwise:`), or everything already there
    /// (`:information_source: ... already in staging`); `percentage`, a staged
    /// rollout, adds a "Rollout" field. `None` for an empty report (nothing was
    /// asked for).
    pub fn published(
        suite: &str,
        report: &PublishReport,
        percentage: Option<u8>,
        host: &str,
        duration: Duration,
    ) -> Option<Message> {
        let changed: Vec<&Package> = report.added.iter().chain(&report.replaced).collect();
        let (emoji, packages, verb) = if !report.added.is_empty() {
            (
                ":white_check_mark:",
                changed,
                format!("published to {suite}"),
            )
        } else if !report.replaced.is_empty() {
            (
                ":arrows_counterclockwise:",
                changed,
                format!("replaced in {suite}"),
            )
        } else if !report.rephased.is_empty() {
            (
                ":bar_chart:",
                report.rephased.iter().collect(),
                format!("rollout changed in {suite}"),
            )
        } else if !report.unchanged.is_empty() {
            (
                ":information_source:",
                report.unchanged.iter().collect(),
                format!("already in {suite} (unchanged)"),
            )
        } else {
            return None;
        };
        let mut message = Message::new(emoji, format!("{} {verb}", summary(&packages)))
            .field("Event", "published")
            .field("Package", names(&packages))
            .field("Version", versions(&packages))
            .field("Suite", suite)
            .field("Architecture", architectures(&packages));
        if let Some(percentage) = percentage {
            message = message.field("Rollout", rollout(percentage));
        }
        message = message
            .field("Host", host)
            .field("Duration", format_duration(duration));
        if !report.replaced.is_empty() && !report.added.is_empty() {
            message = message.field(
                "Replaced",
                summary(&report.replaced.iter().collect::<Vec<_>>()),
            );
        }
        Some(message)
    }

    /// The message for a [`crate::repo::Repository::promote_with`] of `name`
    /// `version` from suite `from` to `to` with `percentage`: a promotion
    /// (`:arrow_up:`), a rollback when higher versions were demoted
    /// (`:leftwards_arrow_with_hook:`, naming them; `from` is `to` for a
    /// rollback in place), a changed rollout, or nothing to do.
    #[allow(clippy::too_many_arguments)]
    pub fn promoted(
        name: &str,
        version: &Version,
        from: &str,
        to: &str,
        report: &PromoteReport,
        percentage: Option<u8>,
        host: &str,
        duration: Duration,
    ) -> Message {
        let (emoji, headline) = if !report.demoted.is_empty() {
            (
                ":leftwards_arrow_with_hook:",
                format!("{name} rolled back to {version} in {to}"),
            )
        } else if !report.added.is_empty() {
            (
                ":arrow_up:",
                format!("{name} {version} promoted {from} → {to}"),
            )
        } else if !report.rephased.is_empty() {
            (
                ":bar_chart:",
                format!("{name} {version} rollout changed in {to}"),
            )
        } else {
            (
                ":information_source:",
                format!("{name} {version} already in {to} (unchanged)"),
            )
        };
        let entries: Vec<&Package> = report.added.iter().chain(&report.rephased).collect();
        let mut message = Message::new(emoji, headline)
            .field("Event", "promoted")
            .field("Package", name)
            .field("Version", version.to_string())
            .field(
                "Suite",
                if from == to {
                    to.to_owned()
                } else {
                    format!("{from} → {to}")
                },
            )
            .field("Architecture", architectures(&entries));
        if let Some(percentage) = percentage {
            message = message.field("Rollout", rollout(percentage));
        }
        if !report.demoted.is_empty() {
            let demoted: Vec<&Package> = report.demoted.iter().collect();
            message = message.field("Demoted", versions(&demoted));
        }
        message
            .field("Host", host)
            .field("Duration", format_duration(duration))
    }

    /// The message for a [`crate::repo::Repository::phase`] of `name`
    /// `version` in `suite` to `percentage`; `changed` is what it returned
    /// (empty: the rollout was at that percentage already).
    pub fn phased(
        suite: &str,
        name: &str,
        version: &Version,
        percentage: u8,
        changed: &[Package],
        host: &str,
        duration: Duration,
    ) -> Message {
        let (emoji, headline) = if changed.is_empty() {
            (
                ":information_source:",
                format!(
                    "{name} {version} in {suite} already at {}",
                    rollout(percentage)
                ),
            )
        } else if percentage >= 100 {
            (
                ":white_check_mark:",
                format!("{name} {version} rollout in {suite} complete"),
            )
        } else {
            (
                ":bar_chart:",
                format!("{name} {version} rollout in {suite}: {percentage}%"),
            )
        };
        Message::new(emoji, headline)
            .field("Event", "phased")
            .field("Package", name)
            .field("Version", version.to_string())
            .field("Suite", suite)
            .field("Rollout", rollout(percentage))
            .field(
                "Architecture",
                architectures(&changed.iter().collect::<Vec<_>>()),
            )
            .field("Host", host)
            .field("Duration", format_duration(duration))
    }

    /// The message for a [`crate::repo::Repository::remove`] of `name`
    /// (`version`, or every version) from `suite`; `removed` is what it returned.
    pub fn removed(
        suite: &str,
        name: &str,
        version: Option<&Version>,
        removed: &[Package],
        host: &str,
        duration: Duration,
    ) -> Message {
        let list: Vec<&Package> = removed.iter().collect();
        let what = match version {
            Some(v) => format!("{name} {v}"),
            None => summary(&list),
        };
        Message::new(":wastebasket:", format!("{what} removed from {suite}"))
            .field("Event", "removed")
            .field("Package", name)
            .field("Version", versions(&list))
            .field("Suite", suite)
            .field("Architecture", architectures(&list))
            .field("Host", host)
            .field("Duration", format_duration(duration))
    }

    /// The message for a [`crate::repo::Repository::prune`] of `suite`
    /// keeping `keep` versions; `removed` is what it returned. `None` when
    /// nothing was removed.
    pub fn pruned(
        suite: &str,
        keep: usize,
        removed: &[Package],
        host: &str,
        duration: Duration,
    ) -> Option<Message> {
        if removed.is_empty() {
            return None;
        }
        let list: Vec<&Package> = removed.iter().collect();
        let mut lines = String::new();
        for p in removed.iter().take(50) {
            let _ = writeln!(lines, "{} {} {}", p.name(), p.version(), p.architecture());
        }
        if removed.len() > 50 {
            let _ = writeln!(lines, "... and {} more", removed.len() - 50);
        }
        Some(
            Message::new(
                ":broom:",
                format!(
                    "{} pruned from {suite} (keeping {keep} version{})",
                    count(removed.len()),
                    if keep == 1 { "" } else { "s" }
                ),
            )
            .field("Event", "pruned")
            .field("Package", names(&list))
            .field("Suite", suite)
            .field("Kept", format!("newest {keep}"))
            .field("Host", host)
            .field("Duration", format_duration(duration))
            .field("Removed", lines.trim_end()),
        )
    }

    /// The message for an updater run: `Updated`, `RolledBack` and `Failed`
    /// make one; `UpToDate`, `Skipped`, `Held` and `HeldByAdmin` (what every
    /// server reports every minute) make none.
    pub fn from_event(event: &Event) -> Option<Message> {
        let host = event.hostname.as_str();
        let package = event.package.as_str();
        let message = match &event.outcome {
            Outcome::Updated { from, to, .. } => {
                let (headline, version) = match from {
                    Some(from) if from > to => (
                        format!("{package} downgraded to {to} on {host}"),
                        format!("{from} → {to}"),
                    ),
                    Some(from) => (
                        format!("{package} updated to {to} on {host}"),
                        format!("{from} → {to}"),
                    ),
                    None => (
                        format!("{package} {to} installed on {host}"),
                        format!("{to} (first install)"),
                    ),
                };
                Message::new(":white_check_mark:", headline)
                    .field("Event", "updated")
                    .field("Version", version)
            }
            Outcome::RolledBack {
                from,
                attempted,
                reason,
                rollback_error,
                installed,
                ..
            } => {
                let mut why = reason.to_string();
                if let Some(e) = rollback_error {
                    let _ = write!(why, "\nrolling back failed too: {e}");
                }
                let now = installed
                    .as_ref()
                    .map_or("unknown".to_owned(), |v| v.to_string());
                Message::new(
                    ":rewind:",
                    format!("{package} {attempted} failed on {host}, rolled back to {from}"),
                )
                .field("Event", "rolled back")
                .field("Version", format!("{attempted} → {from}"))
                .field("Installed", now)
                .reason(why)
            }
            Outcome::Failed {
                installed,
                attempted,
                error,
                ..
            } => {
                let headline = match attempted {
                    Some(v) => format!("{package} {v} failed to install on {host}"),
                    None => format!("{package} update failed on {host}"),
                };
                Message::new(":x:", headline)
                    .field("Event", "failed")
                    .field(
                        "Version",
                        attempted
                            .as_ref()
                            .map(|v| v.to_string())
                            .unwrap_or_default(),
                    )
                    .field(
                        "Installed",
                        installed
                            .as_ref()
                            .map_or("none".to_owned(), |v| v.to_string()),
                    )
                    .reason(error.to_string())
            }
            Outcome::UpToDate { .. }
            | Outcome::Held { .. }
            | Outcome::HeldByAdmin { .. }
            | Outcome::Skipped { .. } => return None,
        };
        let mut message = message
            .field("Package", package)
            .field("Suite", &event.suite)
            .field("Host", host)
            // The run's own time: the random delay before it is not its work.
            .field(
                "Duration",
                format_duration(event.duration.saturating_sub(event.jitter)),
            );
        if !event.warnings.is_empty() {
            message = message.context(event.warnings.join("; "));
        }
        Some(message)
    }
}

/// Escapes text for Slack's mrkdwn: `&` → `&amp;`, `<` → `&lt;`, `>` → `&gt;`
/// (nothing else needs it: Slack then shows the characters as typed and no
/// user text becomes a link or a mention).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// A duration for people: `850 ms`, `4.2 s`, `3 min 5 s`, `2 h 1 min`.
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs < 1 {
        format!("{} ms", d.as_millis())
    } else if secs < 60 {
        format!("{:.1} s", d.as_secs_f64())
    } else if secs < 3600 {
        format!("{} min {} s", secs / 60, secs % 60)
    } else {
        format!("{} h {} min", secs / 3600, secs % 3600 / 60)
    }
}

/// `text` escaped ([`escape`]) and cut to at most `limit` bytes, `…` marking a
/// cut: the cut is made on the text, never inside a character or an entity
/// (`&amp;` is kept whole or left out).
fn escape_cut(text: &str, limit: usize) -> String {
    let escaped = escape(text);
    if escaped.len() <= limit {
        return escaped;
    }
    let room = limit.saturating_sub('…'.len_utf8());
    let mut out = String::with_capacity(room + 3);
    let mut buf = [0; 4];
    for c in text.chars() {
        let piece = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            c => c.encode_utf8(&mut buf),
        };
        if out.len() + piece.len() > room {
            break;
        }
        out.push_str(piece);
    }
    out.push('…');
    out
}

/// `text` cut to at most `limit` bytes at a character boundary, `…` marking a cut.
fn cut(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_owned();
    }
    let mut end = limit.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

fn count(n: usize) -> String {
    if n == 1 {
        "1 package".to_owned()
    } else {
        format!("{n} packages")
    }
}

/// `myapp 1.2.4` when the packages are one name and version (any number of
/// architectures), else `3 packages`.
fn summary(packages: &[&Package]) -> String {
    match packages.first() {
        Some(first)
            if packages
                .iter()
                .all(|p| p.name() == first.name() && p.version() == first.version()) =>
        {
            format!("{} {}", first.name(), first.version())
        }
        _ => count(packages.len()),
    }
}

fn distinct(items: impl Iterator<Item = String>) -> String {
    let mut seen: Vec<String> = Vec::new();
    for item in items {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen.join(", ")
}

fn names(packages: &[&Package]) -> String {
    distinct(packages.iter().map(|p| p.name().to_owned()))
}

fn versions(packages: &[&Package]) -> String {
    distinct(packages.iter().map(|p| p.version().to_string()))
}

fn architectures(packages: &[&Package]) -> String {
    distinct(packages.iter().map(|p| p.architecture().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_is_escaped_in_mrkdwn_and_left_plain_in_the_header() {
        let m = Message::new(":x:", "a<b>&c")
            .field("Host", "<!channel> & co")
            .reason("x < y");
        let v = m.to_value();
        assert_eq!(v["text"], ":x: a&lt;b&gt;&amp;c: x &lt; y");
        assert_eq!(v["blocks"][0]["text"]["text"], ":x: a<b>&c");
        assert_eq!(
            v["blocks"][1]["fields"][0]["text"],
            "*Host*\n&lt;!channel&gt; &amp; co"
        );
        assert!(
            v["blocks"][2]["text"]["text"]
                .as_str()
                .unwrap()
                .contains("x &lt; y")
        );
    }

    #[test]
    fn long_text_is_cut_at_a_character_boundary() {
        let long = "é".repeat(200);
        let v = Message::new("", &long).to_value();
        let header = v["blocks"][0]["text"]["text"].as_str().unwrap();
        assert!(header.len() <= HEADER_LIMIT);
        assert!(header.ends_with('…'));
    }

    #[test]
    fn at_most_ten_fields_and_no_empty_ones() {
        let mut m = Message::new("", "h").field("Empty", " ");
        for i in 0..12 {
            m = m.field(format!("f{i}"), "v");
        }
        assert_eq!(m.fields().len(), 10);
        assert!(m.field_value("Empty").is_none());
    }

    fn pkg(name: &str, version: &str, arch: &str) -> Package {
        let text = format!(
            "Package: {name}\nVersion: {version}\nArchitecture: {arch}\n\
             Filename: pool/{name}_{version}_{arch}.deb\nSize: 1\nSHA256: {}\n",
            "0".repeat(64)
        );
        crate::index::Packages::parse(&text).unwrap().packages()[0].clone()
    }

    fn v(text: &str) -> Version {
        text.parse().unwrap()
    }

    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn a_rollback_in_place_reads_well_and_names_what_it_demoted() {
        let report = PromoteReport {
            added: Vec::new(),
            demoted: vec![pkg("app", "1.3", "amd64"), pkg("app", "1.3", "arm64")],
            rephased: Vec::new(),
            attempts: 1,
        };
        let m = Message::promoted(
            "app",
            &v("1.2"),
            "production",
            "production",
            &report,
            None,
            "ci",
            SEC,
        );
        assert_eq!(
            m.headline(),
            ":leftwards_arrow_with_hook: app rolled back to 1.2 in production"
        );
        assert_eq!(m.field_value("Suite"), Some("production"));
        assert_eq!(m.field_value("Demoted"), Some("1.3"));
        // Not the emoji of a host's failed install rolled back.
        assert!(!m.headline().contains(":rewind:"));
        let promoted = PromoteReport {
            added: vec![pkg("app", "1.2", "amd64")],
            demoted: Vec::new(),
            rephased: Vec::new(),
            attempts: 1,
        };
        let m = Message::promoted(
            "app",
            &v("1.2"),
            "staging",
            "production",
            &promoted,
            Some(10),
            "ci",
            SEC,
        );
        assert_eq!(
            m.headline(),
            ":arrow_up: app 1.2 promoted staging → production"
        );
        assert_eq!(m.field_value("Suite"), Some("staging → production"));
        assert_eq!(m.field_value("Rollout"), Some("10% of the fleet"));
    }

    #[test]
    fn phase_says_changed_complete_or_already_there() {
        let changed = [pkg("app", "1.2", "amd64")];
        let m = Message::phased("production", "app", &v("1.2"), 30, &changed, "ci", SEC);
        assert_eq!(
            m.headline(),
            ":bar_chart: app 1.2 rollout in production: 30%"
        );
        assert_eq!(m.field_value("Rollout"), Some("30% of the fleet"));
        assert_eq!(m.field_value("Architecture"), Some("amd64"));
        let m = Message::phased("production", "app", &v("1.2"), 100, &changed, "ci", SEC);
        assert_eq!(
            m.headline(),
            ":white_check_mark: app 1.2 rollout in production complete"
        );
        assert_eq!(m.field_value("Rollout"), Some("the whole fleet"));
        let m = Message::phased("production", "app", &v("1.2"), 30, &[], "ci", SEC);
        assert_eq!(
            m.headline(),
            ":information_source: app 1.2 in production already at 30% of the fleet"
        );
    }

    #[test]
    fn publish_says_its_rollout_and_a_rollout_change() {
        let added = PublishReport {
            added: vec![pkg("app", "1.2", "amd64")],
            ..PublishReport::default()
        };
        let m = Message::published("staging", &added, Some(25), "ci", SEC).unwrap();
        assert_eq!(
            m.headline(),
            ":white_check_mark: app 1.2 published to staging"
        );
        assert_eq!(m.field_value("Rollout"), Some("25% of the fleet"));
        let m = Message::published("staging", &added, None, "ci", SEC).unwrap();
        assert_eq!(m.field_value("Rollout"), None);
        let rephased = PublishReport {
            rephased: vec![pkg("app", "1.2", "amd64")],
            ..PublishReport::default()
        };
        let m = Message::published("staging", &rephased, Some(50), "ci", SEC).unwrap();
        assert_eq!(
            m.headline(),
            ":bar_chart: app 1.2 rollout changed in staging"
        );
        assert_eq!(m.field_value("Rollout"), Some("50% of the fleet"));
        assert!(
            Message::published("staging", &PublishReport::default(), None, "ci", SEC).is_none()
        );
    }

    fn event(outcome: Outcome) -> Event {
        Event {
            outcome,
            package: "app".into(),
            suite: "production".into(),
            hostname: "web-1".into(),
            started: std::time::UNIX_EPOCH,
            duration: Duration::from_secs(50),
            jitter: Duration::from_secs(45),
            warnings: Vec::new(),
        }
    }

    #[test]
    fn updater_events_say_a_failure_a_downgrade_and_the_runs_own_time() {
        let failed = Message::from_event(&event(Outcome::Failed {
            package: "app".into(),
            installed: Some(v("1.1")),
            attempted: Some(v("1.2")),
            error: crate::Error::new(crate::ErrorKind::Storage, "S3 <down>"),
        }))
        .unwrap();
        assert_eq!(failed.headline(), ":x: app 1.2 failed to install on web-1");
        assert_eq!(failed.field_value("Version"), Some("1.2"));
        assert_eq!(failed.field_value("Installed"), Some("1.1"));
        assert!(failed.reason_text().unwrap().contains("S3 <down>"));
        // 50 s, of which 45 s of jitter: the run took 5 s.
        assert_eq!(failed.field_value("Duration"), Some("5.0 s"));
        let no_attempt = Message::from_event(&event(Outcome::Failed {
            package: "app".into(),
            installed: None,
            attempted: None,
            error: crate::Error::new(crate::ErrorKind::Storage, "down"),
        }))
        .unwrap();
        assert_eq!(no_attempt.headline(), ":x: app update failed on web-1");
        assert_eq!(no_attempt.field_value("Installed"), Some("none"));
        let down = Message::from_event(&event(Outcome::Updated {
            package: "app".into(),
            from: Some(v("1.3")),
            to: v("1.2"),
        }));
        let down = down.unwrap();
        assert_eq!(
            down.headline(),
            ":white_check_mark: app downgraded to 1.2 on web-1"
        );
        assert_eq!(down.field_value("Version"), Some("1.3 → 1.2"));
    }

    #[test]
    fn a_cut_never_splits_an_entity() {
        // A field of 2000 '&': escaped, 10000 bytes; cut, whole entities.
        let m = Message::new("", "h").field("F", "&".repeat(FIELD_LIMIT));
        let v = m.to_value();
        let text = v["blocks"][1]["fields"][0]["text"].as_str().unwrap();
        let body = text.strip_prefix("*F*\n").unwrap();
        assert!(text.len() <= FIELD_LIMIT, "{}", text.len());
        let kept = body.strip_suffix('…').unwrap();
        assert!(!kept.is_empty());
        assert_eq!(kept.replace("&amp;", ""), "", "{kept}");
        assert_eq!(escape_cut("a<b", 100), "a&lt;b");
        assert_eq!(escape_cut("a<b", 6), "a&lt;b");
        assert_eq!(escape_cut("a<b", 5), "a…");
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(format_duration(Duration::from_millis(850)), "850 ms");
        assert_eq!(format_duration(Duration::from_millis(4200)), "4.2 s");
        assert_eq!(format_duration(Duration::from_secs(185)), "3 min 5 s");
        assert_eq!(format_duration(Duration::from_secs(7260)), "2 h 1 min");
    }
}
