//! The Release file of a suite (also the signed text of InRelease).

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::checksum::{Algorithm, Algorithms, Checksums};
use crate::control::{self, OwnedParagraph};
use crate::error::{Error, ErrorKind, Result};

/// The fields this module reads into [`Release`]'s own members, in the order
/// they are written (apt-ftparchive's order). Others are kept in `extra`.
const KNOWN_FIELDS: [&str; 13] = [
    "Origin",
    "Label",
    "Suite",
    "Version",
    "Codename",
    "Date",
    "Valid-Until",
    "NotAutomatic",
    "ButAutomaticUpgrades",
    "Acquire-By-Hash",
    "Architectures",
    "Components",
    "Description",
];

/// A file a Release lists: its path under `dists/<suite>/`, size and checksums.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseFile {
    /// Path relative to the suite's directory, e.g. `main/binary-amd64/Packages.xz`.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Checksums, one per hash section the file appears in.
    pub checksums: Checksums,
}

/// The Release file of a suite.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Release {
    /// `Origin`.
    pub origin: Option<String>,
    /// `Label`.
    pub label: Option<String>,
    /// `Suite`, e.g. `staging`.
    pub suite: Option<String>,
    /// `Version`.
    pub version: Option<String>,
    /// `Codename`.
    pub codename: Option<String>,
    /// `Date`: when the suite was published.
    pub date: Option<SystemTime>,
    /// `Valid-Until`: after this, clients must not trust the file.
    pub valid_until: Option<SystemTime>,
    /// `NotAutomatic: yes`.
    pub not_automatic: bool,
    /// `ButAutomaticUpgrades: yes`.
    pub but_automatic_upgrades: bool,
    /// `Acquire-By-Hash: yes`: indexes are also under `by-hash/<algorithm>/<hex>`.
    pub acquire_by_hash: bool,
    /// `Architectures`.
    pub architectures: Vec<String>,
    /// `Components`.
    pub components: Vec<String>,
    /// `Description`.
    pub description: Option<String>,
    /// Every other field, in order (e.g. `Changelogs`, `Signed-By`).
    pub extra: OwnedParagraph,
    /// The files listed in the hash sections, in order of first appearance.
    pub files: Vec<ReleaseFile>,
}

impl Release {
    /// Parses a Release file (or the text of an InRelease). Errors give the line.
    pub fn parse(text: &str) -> Result<Release> {
        let mut paragraphs = control::paragraphs(text);
        let paragraph = paragraphs
            .next()
            .ok_or_else(|| Error::new(ErrorKind::Parse, "Release file is empty"))??;
        if let Some(next) = paragraphs.next() {
            let line = next?.line();
            return Err(Error::new(
                ErrorKind::Parse,
                format!("line {line}: a Release file has one paragraph, found a second one"),
            ));
        }
        let text_field = |name: &str| paragraph.get(name).map(str::to_owned);
        let flag = |name: &str| paragraph.get(name).is_some_and(is_true);
        let date_field = |name: &str| -> Result<Option<SystemTime>> {
            let Some(field) = paragraph.field(name) else {
                return Ok(None);
            };
            parse_date(field.value()).map(Some).ok_or_else(|| {
                Error::new(
                    ErrorKind::Parse,
                    format!("line {}: field {name}: {:?} is not a date like \"Sat, 10 Jun 2023 09:03:43 UTC\"", field.line(), field.value()),
                )
            })
        };
        let words = |name: &str| -> Vec<String> {
            paragraph
                .get(name)
                .map(|v| v.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default()
        };
        let mut release = Release {
            origin: text_field("Origin"),
            label: text_field("Label"),
            suite: text_field("Suite"),
            version: text_field("Version"),
            codename: text_field("Codename"),
            date: date_field("Date")?,
            valid_until: date_field("Valid-Until")?,
            not_automatic: flag("NotAutomatic"),
            but_automatic_upgrades: flag("ButAutomaticUpgrades"),
            acquire_by_hash: flag("Acquire-By-Hash"),
            architectures: words("Architectures"),
            components: words("Components"),
            description: text_field("Description"),
            extra: OwnedParagraph::new(),
            files: Vec::new(),
        };
        let mut by_path = HashMap::new();
        for field in paragraph.fields() {
            let name = field.name();
            if let Some(algorithm) = Algorithm::ALL
                .into_iter()
                .find(|a| a.release_field().eq_ignore_ascii_case(name))
            {
                release.read_hash_section(algorithm, field.raw(), field.line(), &mut by_path)?;
            } else if !KNOWN_FIELDS.iter().any(|k| k.eq_ignore_ascii_case(name)) {
                release.extra.set_unchecked(name, field.raw().trim_end());
            }
        }
        Ok(release)
    }

    /// Reads the entries of a hash section; `raw` is the field's value as written,
    /// whose `i`-th line is line `first_line + i` of the file.
    fn read_hash_section(
        &mut self,
        algorithm: Algorithm,
        raw: &str,
        first_line: usize,
        by_path: &mut HashMap<String, usize>,
    ) -> Result<()> {
        for (i, entry) in raw.split('\n').enumerate() {
            let line = first_line + i;
            let at = |message: String| {
                Error::new(
                    ErrorKind::Parse,
                    format!("line {line}: {algorithm}: {message}"),
                )
            };
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            let mut words = entry.split_whitespace();
            let (Some(hex), Some(size), Some(path), None) =
                (words.next(), words.next(), words.next(), words.next())
            else {
                return Err(at(format!(
                    "expected \"checksum size path\", found {entry:?}"
                )));
            };
            let size: u64 = size
                .parse()
                .map_err(|_| at(format!("{size:?} is not a size in bytes")))?;
            check_index_path(path).map_err(at)?;
            let index = *by_path.entry(path.to_owned()).or_insert_with(|| {
                self.files.push(ReleaseFile {
                    path: path.to_owned(),
                    size,
                    checksums: Checksums::default(),
                });
                self.files.len() - 1
            });
            let file = &mut self.files[index];
            if file.size != size {
                return Err(at(format!(
                    "{path} has size {size} here but {} in another section",
                    file.size
                )));
            }
            file.checksums
                .set_hex(algorithm, hex)
                .map_err(|e| at(e.message().to_owned()))?;
        }
        Ok(())
    }

    /// Checks what [`Display`](fmt::Display) writes without checking: one-line
    /// text fields, architecture and component names without blanks, listed
    /// paths inside the suite. A parsed Release is valid; set fields are checked here.
    pub fn validate(&self) -> Result<()> {
        let invalid = |what: &str, value: &str| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("Release {what}: {value:?}"),
            )
        };
        let texts = [
            ("Origin", &self.origin),
            ("Label", &self.label),
            ("Suite", &self.suite),
            ("Version", &self.version),
            ("Codename", &self.codename),
            ("Description", &self.description),
        ];
        for (name, value) in texts {
            if let Some(value) = value
                .as_deref()
                .filter(|v| v.contains(['\n', '\r', '\0']) || v.trim() != *v)
            {
                return Err(invalid(
                    &format!("field {name} must be one line without surrounding blanks"),
                    value,
                ));
            }
        }
        for (name, words) in [
            ("Architectures", &self.architectures),
            ("Components", &self.components),
        ] {
            if let Some(word) = words
                .iter()
                .find(|w| w.is_empty() || w.contains(char::is_whitespace) || w.contains('\0'))
            {
                return Err(invalid(
                    &format!("field {name} has an empty or blank-containing entry"),
                    word,
                ));
            }
        }
        for file in &self.files {
            if file.path.contains(char::is_whitespace) {
                return Err(invalid("file path contains a blank", &file.path));
            }
            check_index_path(&file.path).map_err(|why| invalid("file path", &why))?;
        }
        Ok(())
    }

    /// The listed file at `path` (relative to the suite's directory).
    pub fn file(&self, path: &str) -> Option<&ReleaseFile> {
        self.files.iter().find(|f| f.path == path)
    }

    /// The hash sections present: every algorithm some file has a checksum for.
    pub fn algorithms(&self) -> Algorithms {
        self.files
            .iter()
            .flat_map(|f| f.checksums.algorithms().iter())
            .collect()
    }
}

/// Renders the Release file in apt-ftparchive's field order, then extra fields,
/// then the hash sections (MD5Sum, SHA1, SHA256, SHA512 — those present).
/// Values are written as they are: call [`Release::validate`] on a Release whose
/// fields were set rather than parsed.
impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = |f: &mut fmt::Formatter<'_>, name: &str, value: &Option<String>| match value {
            Some(v) => control::write_field(f, name, v),
            None => Ok(()),
        };
        let flag = |f: &mut fmt::Formatter<'_>, name: &str, set: bool| {
            if set {
                writeln!(f, "{name}: yes")
            } else {
                Ok(())
            }
        };
        let list = |f: &mut fmt::Formatter<'_>, name: &str, items: &[String]| {
            if items.is_empty() {
                Ok(())
            } else {
                writeln!(f, "{name}: {}", items.join(" "))
            }
        };
        text(f, "Origin", &self.origin)?;
        text(f, "Label", &self.label)?;
        text(f, "Suite", &self.suite)?;
        text(f, "Version", &self.version)?;
        text(f, "Codename", &self.codename)?;
        if let Some(date) = self.date {
            writeln!(f, "Date: {}", format_date(date))?;
        }
        if let Some(valid_until) = self.valid_until {
            writeln!(f, "Valid-Until: {}", format_date(valid_until))?;
        }
        flag(f, "NotAutomatic", self.not_automatic)?;
        flag(f, "ButAutomaticUpgrades", self.but_automatic_upgrades)?;
        flag(f, "Acquire-By-Hash", self.acquire_by_hash)?;
        list(f, "Architectures", &self.architectures)?;
        list(f, "Components", &self.components)?;
        text(f, "Description", &self.description)?;
        write!(f, "{}", self.extra)?;
        for algorithm in self.algorithms().iter() {
            writeln!(f, "{}:", algorithm.release_field())?;
            for file in &self.files {
                if let Some(hex) = file.checksums.hex(algorithm) {
                    writeln!(f, " {hex} {:>16} {}", file.size, file.path)?;
                }
            }
        }
        Ok(())
    }
}

/// Paths in a Release are relative to the suite directory and stay inside it.
fn check_index_path(path: &str) -> std::result::Result<(), String> {
    if path.starts_with('/')
        || path
            .split('/')
            .any(|p| p.is_empty() || p == "." || p == "..")
    {
        Err(format!("{path:?} is not a relative path inside the suite"))
    } else {
        Ok(())
    }
}

/// A yes/no field as apt's `StringToBool` reads it.
fn is_true(value: &str) -> bool {
    ["yes", "true", "with", "on", "enable", "1"]
        .iter()
        .any(|t| t.eq_ignore_ascii_case(value))
}

const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Formats `time` as Release files write dates: `Sat, 10 Jun 2023 09:03:43 UTC`.
pub fn format_date(time: SystemTime) -> String {
    // Whole seconds since the epoch, rounded down (also before 1970), clamped to i64.
    let secs = match time.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => {
            let d = e.duration();
            let whole = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            -whole - i64::from(d.subsec_nanos() > 0)
        }
    };
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} UTC",
        WEEKDAYS[days.rem_euclid(7) as usize],
        MONTHS[month as usize - 1],
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    )
}

/// Parses a Release date: `[Weekday,] DD Mon YYYY HH:MM:SS` followed by `UTC`,
/// `GMT`, `Z` or a numeric offset `+HHMM`/`-HHMM`, as apt accepts them.
pub fn parse_date(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    let text = match text.split_once(',') {
        Some((weekday, rest)) if WEEKDAYS.contains(&weekday.trim()) => rest,
        Some(_) => return None,
        None => text,
    };
    let mut words = text.split_whitespace();
    let day: u32 = words.next()?.parse().ok()?;
    let month_name = words.next()?;
    let month = MONTHS.iter().position(|m| *m == month_name)? as u32 + 1;
    let year: i64 = words.next()?.parse().ok()?;
    let mut clock = words.next()?.split(':');
    let mut clock_part = |max: i64| {
        clock
            .next()?
            .parse::<i64>()
            .ok()
            .filter(|v| (0..=max).contains(v))
    };
    let (hour, minute, second) = (clock_part(23)?, clock_part(59)?, clock_part(60)?);
    if clock.next().is_some() {
        return None;
    }
    let offset = match words.next()? {
        "UTC" | "GMT" | "Z" | "UT" => 0,
        zone if zone.len() == 5
            && (zone.starts_with('+') || zone.starts_with('-'))
            && zone[1..].bytes().all(|b| b.is_ascii_digit()) =>
        {
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let hours: i64 = zone[1..3].parse().ok().filter(|h| *h <= 23)?;
            let minutes: i64 = zone[3..5].parse().ok().filter(|m| *m <= 59)?;
            sign * (hours * 3600 + minutes * 60)
        }
        _ => return None,
    };
    if words.next().is_some()
        || day == 0
        || day > days_in_month(year, month)
        || !(1970..=9999).contains(&year)
    {
        return None;
    }
    let secs =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset;
    Some(UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?))
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a day count since 1970-01-01: (year, month 1-12, day 1-31).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum::{self, Algorithms};

    #[test]
    fn dates_round_trip_and_match_known_values() {
        let t = parse_date("Sat, 10 Jun 2023 09:03:43 UTC").unwrap();
        assert_eq!(
            t.duration_since(UNIX_EPOCH).unwrap().as_secs(),
            1_686_387_823
        );
        assert_eq!(format_date(t), "Sat, 10 Jun 2023 09:03:43 UTC");
        assert_eq!(parse_date("10 Jun 2023 11:03:43 +0200"), Some(t));
        assert_eq!(parse_date("Sat, 10 Jun 2023 09:03:43 GMT"), Some(t));
        assert_eq!(format_date(UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 UTC");
        assert_eq!(
            format_date(parse_date("Tue, 29 Feb 2028 23:59:59 UTC").unwrap()),
            "Tue, 29 Feb 2028 23:59:59 UTC"
        );
        for days in [0i64, 59, 60, 365, 10_957, 11_016, 19_000, 47_482, 2_932_896] {
            assert_eq!(
                days_from_civil(
                    civil_from_days(days).0,
                    civil_from_days(days).1,
                    civil_from_days(days).2
                ),
                days
            );
        }
        for bad in [
            "",
            "Sat, 10 Jun 2023",
            "Sat, 31 Jun 2023 09:03:43 UTC",
            "10 Foo 2023 09:03:43 UTC",
            "Sat, 10 Jun 2023 25:00:00 UTC",
            "Sat, 10 Jun 2023 09:03:43 CEST",
            "Xyz, 10 Jun 2023 09:03:43 UTC",
            "29 Feb 2023 00:00:00 UTC",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    fn sample() -> Release {
        let packages = checksum::of_bytes(b"Package: a\n", Algorithms::ALL);
        Release {
            origin: Some("Find a Player".into()),
            label: Some("app".into()),
            suite: Some("staging".into()),
            codename: Some("staging".into()),
            date: parse_date("Thu, 26 Nov 2026 19:33:22 UTC"),
            valid_until: parse_date("Thu, 03 Dec 2026 19:33:22 UTC"),
            acquire_by_hash: true,
            architectures: vec!["amd64".into(), "arm64".into()],
            components: vec!["main".into()],
            files: vec![
                ReleaseFile {
                    path: "main/binary-amd64/Packages".into(),
                    size: 11,
                    checksums: packages.restricted_to(Algorithms::DEFAULT),
                },
                ReleaseFile {
                    path: "main/binary-amd64/Packages.xz".into(),
                    size: 64,
                    checksums: packages.restricted_to(Algorithms::DEFAULT),
                },
            ],
            ..Release::default()
        }
    }

    #[test]
    fn renders_like_apt_ftparchive_and_parses_back() {
        let release = sample();
        let text = release.to_string();
        let md5 = release.files[0].checksums.hex(Algorithm::Md5).unwrap();
        assert!(text.starts_with("Origin: Find a Player\nLabel: app\nSuite: staging\nCodename: staging\nDate: Thu, 26 Nov 2026 19:33:22 UTC\nValid-Until: Thu, 03 Dec 2026 19:33:22 UTC\nAcquire-By-Hash: yes\nArchitectures: amd64 arm64\nComponents: main\nMD5Sum:\n"), "{text}");
        assert!(
            text.contains(&format!(
                " {md5}               11 main/binary-amd64/Packages\n"
            )),
            "{text}"
        );
        assert!(text.contains("\nSHA256:\n"));
        assert!(!text.contains("SHA1") && !text.contains("SHA512"));
        assert_eq!(Release::parse(&text).unwrap(), release);
    }

    #[test]
    fn dates_before_the_epoch_round_down_and_extremes_do_not_panic() {
        assert_eq!(
            format_date(UNIX_EPOCH - Duration::from_millis(500)),
            "Wed, 31 Dec 1969 23:59:59 UTC"
        );
        assert_eq!(
            format_date(UNIX_EPOCH - Duration::from_secs(86_400)),
            "Wed, 31 Dec 1969 00:00:00 UTC"
        );
        for t in [
            UNIX_EPOCH - Duration::from_secs(1 << 62),
            UNIX_EPOCH + Duration::from_secs(1 << 62),
        ] {
            assert!(format_date(t).ends_with(" UTC"));
        }
        assert_eq!(parse_date("Sat, 10 Jun 2023 09:03:43 +9999"), None);
        assert_eq!(parse_date("Sat, 10 Jun 2023 09:03:43 +0060"), None);
        assert!(parse_date("Sat, 10 Jun 2023 09:03:43 -2359").is_some());
    }

    #[test]
    fn flags_read_as_apt_reads_them() {
        for (value, expected) in [
            ("yes", true),
            ("True", true),
            ("on", true),
            ("no", false),
            ("false", false),
            ("maybe", false),
        ] {
            let release = Release::parse(&format!(
                "Acquire-By-Hash: {value}\nNotAutomatic: {value}\n"
            ))
            .unwrap();
            assert_eq!(
                (release.acquire_by_hash, release.not_automatic),
                (expected, expected),
                "{value}"
            );
        }
    }

    #[test]
    fn validate_refuses_what_would_inject_fields() {
        assert!(sample().validate().is_ok());
        let mut release = sample();
        release.suite = Some("staging\nValid-Until: Fri, 01 Jan 2100 00:00:00 UTC".into());
        let err = release.validate().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("field Suite"), "{err}");
        let mut release = sample();
        release.architectures.push("amd64 i386".into());
        assert!(
            release
                .validate()
                .unwrap_err()
                .to_string()
                .contains("Architectures")
        );
        let mut release = sample();
        release.files[0].path = "main/../../x".into();
        assert!(release.validate().is_err());
        release.files[0].path = "main/a b".into();
        assert!(release.validate().is_err());
    }

    #[test]
    fn the_error_of_a_bad_second_paragraph_is_reported() {
        let err = Release::parse("Origin: a\n\nbad line\n").unwrap_err();
        assert!(err.to_string().starts_with("line 3: expected"), "{err}");
    }

    #[test]
    fn keeps_unknown_fields() {
        let text = "Origin: Debian\nChangelogs: https://metadata.ftp-master.debian.org/changelogs/@CHANGEPATH@_changelog\nNo-Support-for-Architecture-all: Packages\nSHA256:\n 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef 5 main/x\n";
        let release = Release::parse(text).unwrap();
        assert_eq!(
            release.extra.get("changelogs"),
            Some("https://metadata.ftp-master.debian.org/changelogs/@CHANGEPATH@_changelog")
        );
        assert_eq!(release.extra.len(), 2);
        assert_eq!(release.file("main/x").unwrap().size, 5);
        assert_eq!(Release::parse(&release.to_string()).unwrap(), release);
    }

    #[test]
    fn bad_release_files_get_line_numbered_errors() {
        let cases = [
            ("Date: yesterday\n", "line 1: field Date"),
            ("Origin: x\nSHA256:\n 00 5\n", "line 3: SHA256: expected"),
            (
                "SHA256:\n abc 5 main/x\n",
                "line 2: SHA256: SHA256 checksum \"abc\"",
            ),
            (
                "MD5Sum:\n 0123456789abcdef0123456789abcdef x main/x\n",
                "is not a size",
            ),
            (
                "MD5Sum:\n 0123456789abcdef0123456789abcdef 5 ../x\n",
                "not a relative path",
            ),
            (
                "MD5Sum:\n 0123456789abcdef0123456789abcdef 5 x\nSHA1:\n 0123456789abcdef0123456789abcdef01234567 6 x\n",
                "has size 6 here but 5",
            ),
            (
                "Origin: a\n\nOrigin: b\n",
                "line 3: a Release file has one paragraph",
            ),
            ("", "empty"),
        ];
        for (text, why) in cases {
            let err = Release::parse(text).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Parse, "{text}");
            assert!(err.to_string().contains(why), "{text:?}: {err}");
        }
    }
}
