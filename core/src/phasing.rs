//! Staged rollout: apt's phased updates (`Phased-Update-Percentage` in a
//! Packages stanza), decided for a machine exactly as apt 2.6 decides it.
//!
//! # apt's rule, and debpull's
//!
//! A version whose stanza says `Phased-Update-Percentage: N` (0 to 99; 100 or
//! no field: everyone) is for the machines whose number for it is at most N.
//! The number, 0 to 100, comes from seeding C++'s `std::seed_seq` with the
//! bytes of `<source name>-<source version>-<machine id>`, then
//! `std::minstd_rand` from that sequence and
//! `std::uniform_int_distribution<unsigned>(0, 100)` from that engine, as
//! libstdc++ implements them ([`phase_number`] reimplements the three). The
//! same machine and version always get the same answer; raising N only adds
//! machines (a machine in at N is in at every N' > N). Note that 0 still
//! includes the machines whose number is 0 (about 1 in 101), as in apt.
//!
//! The machine id is the first line of `/etc/machine-id` (apt: the
//! `APT::Machine-ID` option, else `Dir::Etc::machine-id`), or the one given in
//! [`crate::client::SourceOptions::machine_id`]. Where debpull differs from apt:
//!
//! * apt 2.6 applies phasing only when *upgrading* an installed package
//!   (`apt-get upgrade`/`dist-upgrade`): it keeps the package back at its
//!   installed version. `apt-get install pkg` takes a phased version anyway,
//!   and so does a first install. debpull's candidate is the newest version
//!   this machine is included in (so an older, fully rolled out version is
//!   taken rather than nothing); a first install with no such version takes
//!   the phased one; phasing never makes a machine go down.
//! * apt includes a machine everywhere when it has no machine id, when
//!   `SOURCE_DATE_EPOCH` is set or inside a chroot; debpull, without a valid
//!   machine id (32 hex digits), includes the machine only in complete
//!   rollouts (100), with a warning, and ignores the other two.
//! * apt does not hold back versions from `-security` suites, and honours
//!   `APT::Get::Always-Include-Phased-Updates` / `Never-Include-Phased-Updates`
//!   (and the `Update-Manager::` spellings); debpull has no security pockets and
//!   no such switches: a pin (`UpdaterOptions::pin`) overrides phasing.
//! * The field is read as apt 2.6 reads it (`pkgTagSection::FindULL`:
//!   C's `strtoull` in base 10): leading blanks and a sign are skipped, the
//!   leading digits are the value and anything after them is ignored (`25x`
//!   is 25, `0x10` is 0, `-0` is 0). A value without leading digits, of 100
//!   characters or more, or above 100 (`-5` is, as an unsigned number) is
//!   ignored by both: the version is for everyone (apt warns above 100).

use std::path::Path;

use crate::error::{Error, ErrorKind, Result};
use crate::index::Package;

/// The Packages field of a staged rollout.
pub const FIELD: &str = "Phased-Update-Percentage";

/// Where the machine id is read from when none is given.
pub const MACHINE_ID_PATH: &str = "/etc/machine-id";

/// Checks a rollout percentage given by a user: 0 to 100, else an
/// [`ErrorKind::InvalidInput`] error naming the value.
pub fn percentage(value: i64) -> Result<u8> {
    match u8::try_from(value) {
        Ok(p) if p <= 100 => Ok(p),
        _ => Err(Error::new(
            ErrorKind::InvalidInput,
            format!("phased-update percentage {value} is not between 0 and 100"),
        )),
    }
}

/// A machine id: 32 hexadecimal digits, as systemd writes `/etc/machine-id`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MachineId(String);

impl MachineId {
    /// Checks `id` (32 hex digits, nothing else); else an
    /// [`ErrorKind::InvalidInput`] error naming it.
    pub fn parse(id: &str) -> Result<MachineId> {
        if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(MachineId(id.to_owned()))
        } else {
            Err(Error::new(
                ErrorKind::InvalidInput,
                format!("machine id {id:?} is not 32 hexadecimal digits"),
            ))
        }
    }

    /// The id of the machine in `path` (its first line). A missing, unreadable
    /// or invalid file is `Err` with a warning to show: the machine then takes
    /// only complete rollouts.
    pub fn read(path: &Path) -> std::result::Result<MachineId, String> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "no machine id ({}: {e}): phased updates are taken only once complete (100%)",
                path.display()
            )
        })?;
        let line = text.lines().next().unwrap_or_default();
        MachineId::parse(line).map_err(|e| {
            format!(
                "{}: {}: phased updates are taken only once complete (100%)",
                path.display(),
                e.message()
            )
        })
    }

    /// The id as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for MachineId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A version of the package that a staged rollout keeps from this machine for now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deferred {
    /// The version skipped.
    pub version: crate::Version,
    /// Its rollout percentage (0 to 99).
    pub percentage: u8,
}

impl std::fmt::Display for Deferred {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} deferred (phased {}%, this machine not yet included)",
            self.version, self.percentage
        )
    }
}

/// The rollout percentage of a Packages entry: `None` for everyone (no field,
/// 100, or a value apt ignores).
pub fn percentage_of(package: &Package) -> Option<u8> {
    parse_field(package.get(FIELD)?)
}

/// A field value as apt 2.6 reads it (`FindULL`: trailing blanks stripped,
/// at most 99 characters, then `strtoull(value, &end, 10)`, the default when
/// no digit was read): a number up to 99 is a percentage; 100 or anything apt
/// ignores means everyone.
fn parse_field(value: &str) -> Option<u8> {
    // C's isspace in the C locale.
    let blank = |c: char| matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r');
    let value = value.trim_start_matches(blank).trim_end_matches(blank);
    if value.len() >= 100 {
        return None;
    }
    let (negative, rest) = match value.as_bytes().first() {
        Some(b'-') => (true, &value[1..]),
        Some(b'+') => (false, &value[1..]),
        _ => (false, value),
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit);
    let mut number: Option<u64> = None;
    for d in digits {
        // strtoull saturates at ULLONG_MAX on overflow (and ignores the sign then).
        number = Some(match number {
            Some(u64::MAX) => u64::MAX,
            n => n
                .unwrap_or(0)
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(d - b'0')))
                .unwrap_or(u64::MAX),
        });
    }
    let number = match number? {
        u64::MAX => u64::MAX,
        n if negative => n.wrapping_neg(),
        n => n,
    };
    u8::try_from(number).ok().filter(|p| *p < 100)
}

/// Whether `machine` takes `package` now (see the module documentation).
pub fn includes(package: &Package, machine: Option<&MachineId>) -> bool {
    decide(
        package.name(),
        package.get("Source"),
        package.version().as_str(),
        package.get(FIELD),
        machine,
    )
    .is_none_or(|(_, included)| included)
}

/// The decision for a Packages entry given by its fields (`Package`,
/// `Source`, `Version`, `Phased-Update-Percentage`): `None` when it is for
/// everyone, else its percentage and whether `machine` is in it.
pub(crate) fn decide(
    name: &str,
    source: Option<&str>,
    version: &str,
    field: Option<&str>,
    machine: Option<&MachineId>,
) -> Option<(u8, bool)> {
    let percentage = parse_field(field?)?;
    let Some(machine) = machine else {
        return Some((percentage, false));
    };
    // `Source: name (version)` when the source version differs.
    let source = source.map(str::trim).filter(|s| !s.is_empty());
    let source_name = source
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or(name);
    let source_version = source
        .and_then(|s| s.split_once('('))
        .and_then(|(_, v)| v.split_once(')'))
        .map(|(v, _)| v.trim())
        .unwrap_or(version);
    let number = phase_number(source_name, source_version, machine.as_str());
    Some((percentage, number <= u32::from(percentage)))
}

/// apt's number (0 to 100) of a machine for a source package version: a
/// machine is in a rollout at N% when it is at most N.
pub fn phase_number(source: &str, source_version: &str, machine_id: &str) -> u32 {
    let seed = format!("{source}-{source_version}-{machine_id}");
    // libstdc++'s minstd_rand seeded from a seed_seq takes k = 1 word from the
    // k + 3 it generates: the last.
    let mut words = [0u32; 4];
    seed_seq_generate(seed.as_bytes(), &mut words);
    let mut engine = MinstdRand::new(words[3]);
    uniform_0_to_100(&mut engine)
}

/// `std::seed_seq(begin, end).generate(out)` for a `std::string` (a `char`
/// sequence: `char` is signed on the platforms apt is built for, and converts
/// to `uint_least32_t` sign-extended).
fn seed_seq_generate(seed: &[u8], out: &mut [u32]) {
    let v: Vec<u32> = seed.iter().map(|&b| b as i8 as i32 as u32).collect();
    let n = out.len();
    if n == 0 {
        return;
    }
    out.fill(0x8b8b_8b8b);
    let s = v.len();
    let t = match n {
        623.. => 11,
        68.. => 7,
        39.. => 5,
        7.. => 3,
        _ => (n - 1) / 2,
    };
    let p = (n - t) / 2;
    let q = p + t;
    let m = (s + 1).max(n);
    let mix = |x: u32| x ^ (x >> 27);
    for k in 0..m {
        let r1 =
            1_664_525u32.wrapping_mul(mix(out[k % n] ^ out[(k + p) % n] ^ out[(k + n - 1) % n]));
        let r2 = r1.wrapping_add(if k == 0 {
            s as u32
        } else if k <= s {
            ((k % n) as u32).wrapping_add(v[k - 1])
        } else {
            (k % n) as u32
        });
        out[(k + p) % n] = out[(k + p) % n].wrapping_add(r1);
        out[(k + q) % n] = out[(k + q) % n].wrapping_add(r2);
        out[k % n] = r2;
    }
    for k in m..m + n {
        let r3 = 1_566_083_941u32.wrapping_mul(mix(out[k % n]
            .wrapping_add(out[(k + p) % n])
            .wrapping_add(out[(k + n - 1) % n])));
        let r4 = r3.wrapping_sub((k % n) as u32);
        out[(k + p) % n] ^= r3;
        out[(k + q) % n] ^= r4;
        out[k % n] = r4;
    }
}

/// `std::minstd_rand`: x ← 48271·x mod (2³¹ − 1), values 1 to 2³¹ − 2.
struct MinstdRand(u64);

impl MinstdRand {
    const M: u64 = 2_147_483_647;

    fn new(seed: u32) -> MinstdRand {
        let x = u64::from(seed) % Self::M;
        MinstdRand(if x == 0 { 1 } else { x })
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0 * 48_271 % Self::M;
        self.0
    }
}

/// libstdc++'s `uniform_int_distribution<unsigned>(0, 100)` over minstd_rand:
/// the engine's range (2³¹ − 3 = M − 2) is not 2³² − 1, so it scales down by
/// rejection: draw until below 101·⌊range/101⌋, divide.
fn uniform_0_to_100(engine: &mut MinstdRand) -> u32 {
    const RANGE: u64 = MinstdRand::M - 2; // max − min of the engine: (M − 1) − 1
    const BUCKETS: u64 = 101;
    const SCALING: u64 = RANGE / BUCKETS;
    const PAST: u64 = BUCKETS * SCALING;
    loop {
        let r = engine.next() - 1;
        if r < PAST {
            return (r / SCALING) as u32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_are_checked() {
        assert_eq!(percentage(0).unwrap(), 0);
        assert_eq!(percentage(100).unwrap(), 100);
        for bad in [-1, 101, 256, i64::MAX] {
            let err = percentage(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
            assert!(err.to_string().contains(&bad.to_string()), "{err}");
        }
    }

    #[test]
    fn machine_ids_are_32_hex_digits() {
        assert!(MachineId::parse("3d1219c7c4c5404aaa1f6d2a48adfda4").is_ok());
        for bad in [
            "",
            "uninitialized",
            "3d1219c7c4c5404aaa1f6d2a48adfda",
            "3d1219c7c4c5404aaa1f6d2a48adfda4\n",
        ] {
            let err = MachineId::parse(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad:?}");
        }
    }

    #[test]
    fn field_values_as_apt_reads_them() {
        assert_eq!(parse_field("25"), Some(25));
        assert_eq!(parse_field("0"), Some(0));
        assert_eq!(parse_field("100"), None);
        assert_eq!(parse_field("250"), None);
        assert_eq!(parse_field("x"), None);
        assert_eq!(parse_field(""), None);
        // strtoull: leading digits count, the rest is ignored.
        assert_eq!(parse_field("25x"), Some(25));
        assert_eq!(parse_field("0x10"), Some(0));
        assert_eq!(parse_field("25 %"), Some(25));
        assert_eq!(parse_field("  7  "), Some(7));
        assert_eq!(parse_field("+25"), Some(25));
        assert_eq!(parse_field("007"), Some(7));
        // A sign makes -N a huge unsigned number (ignored); -0 is 0.
        assert_eq!(parse_field("-5"), None);
        assert_eq!(parse_field("-0"), Some(0));
        assert_eq!(parse_field("- 5"), None);
        assert_eq!(parse_field("99999999999999999999999"), None);
        // 100 characters or more: apt's buffer refuses it.
        assert_eq!(parse_field(&format!("5{}", " x".repeat(50))), None);
        assert_eq!(parse_field(&format!("5{}", "x".repeat(98))), Some(5));
    }

    #[test]
    fn numbers_are_spread_over_0_to_100() {
        // 10100 machines: about 100 per number. A wrong scaling or seed
        // (numbers above 100, missing or crowded ones) fails this.
        let mut counts = [0u32; 101];
        for i in 0..10_100 {
            let n = phase_number("app", "1.0", &format!("{i:032x}"));
            counts[usize::try_from(n).unwrap()] += 1;
        }
        let (min, max) = (counts.iter().min(), counts.iter().max());
        assert!(*min.unwrap() >= 55 && *max.unwrap() <= 150, "{counts:?}");
        // The seed: another version or source gives other numbers.
        let id = format!("{:032x}", 42);
        let numbers: Vec<u32> = (0..20)
            .map(|v| phase_number("app", &format!("1.{v}"), &id))
            .collect();
        assert!(numbers.iter().any(|n| *n != numbers[0]), "{numbers:?}");
    }
}
