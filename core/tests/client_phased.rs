//! Staged rollout with real parts: a repository on a local directory, a fleet
//! of simulated machines (a dpkg root, a state directory and a machine id
//! each) updated by `Updater` with the real dpkg, and the real `apt-get` as
//! the oracle of which machine takes a phased version.

#[allow(dead_code)]
#[path = "support/dpkg_root.rs"]
mod dpkg_root;
#[allow(dead_code)]
#[path = "support/private_apt.rs"]
mod private_apt;
#[allow(dead_code)]
#[path = "support/test_debs.rs"]
mod test_debs;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use debpull::client::{
    Outcome, Policy, Source, SourceOptions, SourceTrust, Updater, UpdaterOptions,
};
use debpull::phasing::{self, MachineId};
use debpull::repo::{PromoteOptions, PublishOptions, Repository, RepositoryOptions};
use debpull::sign::{KeyKind, SigningKey, TrustedKeys};
use debpull::storage::{self, Storage};
use debpull::{ErrorKind, Package, Version};
use dpkg_root::DpkgRoot;
use private_apt::PrivateApt;
use test_debs::{Extras, build_deb_with};

const SUITE: &str = "production";
const APP: &str = "app";
/// The source package of the test app, with a source version of its own: apt
/// seeds with the source's name and version, not the binary's.
const SOURCE_FIELD: &str = "appsrc (2.0-1)";

struct Fixture {
    dir: tempfile::TempDir,
    store: Arc<dyn Storage>,
    repo: Repository,
    trusted: TrustedKeys,
    key_file: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate("debpull tests <tests@example.org>", KeyKind::Ed25519).unwrap();
    let public = key.public_key_armored().unwrap();
    let key_file = dir.path().join("repo-key.asc");
    std::fs::write(&key_file, &public).unwrap();
    let trusted = TrustedKeys::from_bytes(public.as_bytes()).unwrap();
    let store = storage::open(&format!("file://{}", dir.path().join("repo").display())).unwrap();
    let options = RepositoryOptions {
        wait_for_new_second: false,
        ..RepositoryOptions::default()
    };
    let repo = Repository::new(store.clone(), key, options).unwrap();
    Fixture {
        dir,
        store,
        repo,
        trusted,
        key_file,
    }
}

/// One simulated server.
struct Machine {
    id: String,
    system: DpkgRoot,
    state: PathBuf,
}

impl Fixture {
    fn deb(&self, version: &str) -> PathBuf {
        let fields: &[(&str, &str)] = if version == "2.0" {
            &[("Source", SOURCE_FIELD)]
        } else {
            &[]
        };
        let extras = Extras {
            fields,
            ..Extras::default()
        };
        build_deb_with(self.dir.path(), APP, version, "amd64", "", &extras)
    }

    async fn publish(&self, suite: &str, version: &str, percentage: Option<u8>) {
        let options = PublishOptions {
            percentage,
            ..PublishOptions::default()
        };
        self.repo
            .publish_with(suite, "main", &[self.deb(version)], &options, &|_| {})
            .await
            .unwrap();
    }

    /// The entry of the app at `version` in `suite`.
    async fn entry(&self, suite: &str, version: &str) -> Package {
        self.repo
            .list(suite)
            .await
            .unwrap()
            .into_iter()
            .find(|p| p.version().as_str() == version)
            .unwrap_or_else(|| panic!("{version} not in {suite}"))
    }

    fn machine(&self, name: &str, id: &str) -> Machine {
        let dir = self.dir.path().join(name);
        Machine {
            id: id.to_owned(),
            system: DpkgRoot::new(&dir),
            state: dir.join("state"),
        }
    }

    fn updater(&self, m: &Machine, policy: Policy, pin: Option<&str>) -> Updater {
        let mut options =
            SourceOptions::new(SUITE, SourceTrust::Keys(self.trusted.clone()), &m.state);
        options.architecture = Some("amd64".into());
        options.admin_dir = m.system.admin.clone();
        options.machine_id = Some(m.id.clone());
        let source = Source::new(self.store.clone(), options).unwrap();
        let mut options = UpdaterOptions::new(APP);
        options.root = Some(m.system.root.clone());
        options.policy = policy;
        options.pin = pin.map(v);
        Updater::new(source, options)
    }
}

fn v(s: &str) -> Version {
    Version::parse(s).unwrap()
}

/// A machine id from a number (systemd's format: 32 hex digits).
fn id(n: u64) -> String {
    let a = n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let b = (n ^ 0x5bd1_e995).wrapping_mul(0xff51_afd7_ed55_8ccd);
    format!("{a:016x}{b:016x}")
}

fn included(entry: &Package, machine_id: &str) -> bool {
    phasing::includes(entry, Some(&MachineId::parse(machine_id).unwrap()))
}

/// `n` ids included in the rollout of `entry` and `m` not.
fn split_ids(entry: &Package, n: usize, m: usize) -> (Vec<String>, Vec<String>) {
    let (mut ins, mut outs) = (Vec::new(), Vec::new());
    for i in 0.. {
        let id = id(i);
        if included(entry, &id) {
            if ins.len() < n {
                ins.push(id);
            }
        } else if outs.len() < m {
            outs.push(id);
        }
        if ins.len() == n && outs.len() == m {
            break;
        }
    }
    (ins, outs)
}

async fn update(updater: &Updater) -> Outcome {
    updater.update().await
}

/// `updated A -> B`, `up to date A`, or the outcome's line for anything else.
fn short(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Updated { from, to, .. } => format!(
            "updated {} -> {to}",
            from.as_ref().map_or("-".into(), |v| v.to_string())
        ),
        Outcome::UpToDate { installed, .. } => format!(
            "up to date {}",
            installed.as_ref().map_or("-".into(), |v| v.to_string())
        ),
        other => other.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staged_rollout_reaches_the_included_machines_then_all_then_rolls_back() {
    let f = fixture();
    f.publish(SUITE, "1.0", None).await;
    f.publish("staging", "1.0", None).await;
    f.publish(SUITE, "2.0", Some(25)).await;
    let entry = f.entry(SUITE, "2.0").await;
    assert_eq!(entry.get("Phased-Update-Percentage"), Some("25"));
    assert_eq!(phasing::percentage_of(&entry), Some(25));
    // Three machines in the first 25%, four not (chosen by apt's rule, which
    // the oracle test below checks against apt itself).
    let (ins, outs) = split_ids(&entry, 3, 4);
    let machines: Vec<Machine> = ins
        .iter()
        .chain(&outs)
        .enumerate()
        .map(|(i, id)| f.machine(&format!("m{i}"), id))
        .collect();
    for m in &machines {
        m.system.dpkg_install(&f.deb("1.0"));
    }
    for (i, m) in machines.iter().enumerate() {
        let updater = f.updater(m, Policy::UpgradeOnly, None);
        let status = updater.source().check(APP, None).await.unwrap();
        let outcome = update(&updater).await;
        if i < ins.len() {
            assert!(status.deferred.is_none(), "{status:?}");
            assert_eq!(short(&outcome), "updated 1.0 -> 2.0", "machine {}", m.id);
            assert_eq!(m.system.installed(APP).as_deref(), Some("2.0"));
        } else {
            let deferred = status.deferred.clone().expect("deferred");
            assert_eq!(
                (deferred.version.as_str(), deferred.percentage),
                ("2.0", 25)
            );
            // Nothing lower to go to than what it has: it keeps it.
            assert_eq!(
                status
                    .candidate
                    .as_ref()
                    .map(|c| c.version().to_string())
                    .as_deref(),
                Some("1.0")
            );
            assert_eq!(
                outcome.to_string(),
                "app: up to date (1.0), 2.0 deferred (phased 25%, this machine not yet included)"
            );
            assert_eq!(m.system.installed(APP).as_deref(), Some("1.0"));
            // The same answer every time (deterministic).
            let again = update(&updater).await;
            assert_eq!(again.to_string(), outcome.to_string());
        }
    }

    // Raising the percentage only adds machines.
    f.repo.phase(SUITE, APP, &v("2.0"), 60).await.unwrap();
    let entry60 = f.entry(SUITE, "2.0").await;
    for m in &machines {
        let outcome = update(&f.updater(m, Policy::UpgradeOnly, None)).await;
        let now_in = included(&entry60, &m.id);
        if ins.contains(&m.id) {
            assert!(now_in, "monotone: {} left the rollout at 60%", m.id);
            assert_eq!(short(&outcome), "up to date 2.0");
        } else if now_in {
            assert_eq!(short(&outcome), "updated 1.0 -> 2.0");
        } else {
            assert_eq!(short(&outcome), "up to date 1.0");
        }
    }

    // 100: the field goes, everyone updates.
    let changed = f.repo.phase(SUITE, APP, &v("2.0"), 100).await.unwrap();
    assert_eq!(changed.len(), 1);
    assert_eq!(
        f.entry(SUITE, "2.0").await.get("Phased-Update-Percentage"),
        None
    );
    let packages = std::fs::read_to_string(
        f.dir
            .path()
            .join("repo/dists/production/main/binary-amd64/Packages"),
    )
    .unwrap();
    assert!(!packages.contains("Phased-Update-Percentage"), "{packages}");
    for m in &machines {
        update(&f.updater(m, Policy::UpgradeOnly, None)).await;
        assert_eq!(m.system.installed(APP).as_deref(), Some("2.0"), "{}", m.id);
    }
    // Again at 100: nothing to change.
    assert!(
        f.repo
            .phase(SUITE, APP, &v("2.0"), 100)
            .await
            .unwrap()
            .is_empty()
    );

    // A bad 3.0 goes to production for everyone, then is rolled back by
    // Repository::rollback (promoting the previous version again is refused).
    f.publish("staging", "2.0", None).await;
    f.publish("staging", "3.0", None).await;
    let report = f
        .repo
        .promote_with(APP, &v("3.0"), "staging", SUITE, &PromoteOptions::default())
        .await
        .unwrap();
    assert_eq!(report.added.len(), 1);
    assert!(report.demoted.is_empty());
    let (follow, keep) = (&machines[0], &machines[1]);
    for m in [follow, keep] {
        update(&f.updater(m, Policy::UpgradeOnly, None)).await;
        assert_eq!(m.system.installed(APP).as_deref(), Some("3.0"));
    }
    // A late promote of the older build is refused, naming the newer one and
    // how to roll back; production is untouched.
    let err = f
        .repo
        .promote_with(APP, &v("2.0"), "staging", SUITE, &PromoteOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    let message = err.to_string();
    assert!(
        message.contains("3.0") && message.contains("roll back"),
        "{message}"
    );
    assert!(f.repo.list(SUITE).await.unwrap().len() == 3);
    let err = f.repo.promote(APP, &v("2.0"), "staging", SUITE).await;
    assert_eq!(err.unwrap_err().kind(), ErrorKind::Conflict);
    // A rollback to a version no longer in production is NotFound.
    let err = f.repo.rollback(SUITE, APP, &v("1.5")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    // The rollback takes 2.0 from production itself: staging's may be gone.
    f.repo
        .remove("staging", APP, Some(&v("2.0")))
        .await
        .unwrap();
    let report = f.repo.rollback(SUITE, APP, &v("2.0")).await.unwrap();
    assert!(report.added.is_empty(), "2.0 was there: {report:?}");
    let demoted: Vec<String> = report
        .demoted
        .iter()
        .map(|p| p.version().to_string())
        .collect();
    assert_eq!(demoted, ["3.0"]);
    let production: Vec<String> = f
        .repo
        .list(SUITE)
        .await
        .unwrap()
        .iter()
        .map(|p| p.version().to_string())
        .collect();
    assert_eq!(production, ["1.0", "2.0"]);
    // Staging and the pool file stay.
    let staging = f.entry("staging", "3.0").await;
    assert!(
        f.dir
            .path()
            .join("repo")
            .join(staging.filename().unwrap())
            .exists()
    );
    let outcome = update(&f.updater(follow, Policy::FollowRepository, None)).await;
    assert_eq!(short(&outcome), "updated 3.0 -> 2.0");
    assert_eq!(follow.system.installed(APP).as_deref(), Some("2.0"));
    let outcome = update(&f.updater(keep, Policy::UpgradeOnly, None)).await;
    assert_eq!(
        outcome.to_string(),
        "app: up to date (3.0), candidate 2.0 not taken"
    );
    assert_eq!(keep.system.installed(APP).as_deref(), Some("3.0"));
    // Rolling back again: nothing left to do.
    let again = f.repo.rollback(SUITE, APP, &v("2.0")).await.unwrap();
    assert_eq!(again.attempts, 0, "{again:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_machines_pins_and_promotion_during_a_rollout() {
    let f = fixture();
    // Only a phased version: a new machine outside it still gets the app.
    f.publish(SUITE, "2.0", Some(10)).await;
    let entry = f.entry(SUITE, "2.0").await;
    let (_, outs) = split_ids(&entry, 0, 2);
    let first = f.machine("first", &outs[0]);
    let updater = f.updater(&first, Policy::UpgradeOnly, None);
    let status = updater.source().check(APP, None).await.unwrap();
    // It takes 2.0: 2.0 is not deferred.
    assert_eq!(status.candidate.unwrap().version().as_str(), "2.0");
    assert!(status.deferred.is_none(), "{:?}", status.deferred);
    let outcome = update(&updater).await;
    assert_eq!(short(&outcome), "updated - -> 2.0");

    // With an older version for everyone, a new machine outside the rollout
    // takes that one.
    f.publish(SUITE, "1.0", None).await;
    let second = f.machine("second", &outs[1]);
    let updater = f.updater(&second, Policy::UpgradeOnly, None);
    let status = updater.source().check(APP, None).await.unwrap();
    assert_eq!(status.candidate.unwrap().version().as_str(), "1.0");
    assert_eq!(status.deferred.unwrap().version.as_str(), "2.0");
    assert_eq!(short(&update(&updater).await), "updated - -> 1.0");

    // A pin overrides phasing.
    let pinned = f.updater(&second, Policy::UpgradeOnly, Some("2.0"));
    assert_eq!(short(&update(&pinned).await), "updated 1.0 -> 2.0");

    // Promote with a percentage: the target entry carries it, the source's does not.
    f.publish("staging", "3.0", None).await;
    let report = f
        .repo
        .promote_with(
            APP,
            &v("3.0"),
            "staging",
            SUITE,
            &PromoteOptions {
                percentage: Some(40),
                ..PromoteOptions::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(report.added.len(), 1);
    // The entry reported is the one listed (fields in the same order).
    assert_eq!(report.added[0], f.entry(SUITE, "3.0").await);
    assert_eq!(
        phasing::percentage_of(&f.entry(SUITE, "3.0").await),
        Some(40)
    );
    assert_eq!(
        phasing::percentage_of(&f.entry("staging", "3.0").await),
        None
    );
    // Promoting again with another percentage changes it in place.
    let report = f
        .repo
        .promote_with(
            APP,
            &v("3.0"),
            "staging",
            SUITE,
            &PromoteOptions {
                percentage: Some(100),
                ..PromoteOptions::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((report.added.len(), report.rephased.len()), (0, 1));
    assert_eq!(phasing::percentage_of(&f.entry(SUITE, "3.0").await), None);
    // Publishing the identical file at a percentage re-phases it.
    let options = PublishOptions {
        percentage: Some(5),
        ..PublishOptions::default()
    };
    let report = f
        .repo
        .publish_with(SUITE, "main", &[f.deb("3.0")], &options, &|_| {})
        .await
        .unwrap();
    assert_eq!((report.added.len(), report.rephased.len()), (0, 1));
    assert_eq!(report.rephased[0], f.entry(SUITE, "3.0").await);
    assert_eq!(
        phasing::percentage_of(&f.entry(SUITE, "3.0").await),
        Some(5)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_percentages_and_machine_ids_are_typed_errors() {
    let f = fixture();
    f.publish(SUITE, "1.0", None).await;
    let options = PublishOptions {
        percentage: Some(101),
        ..PublishOptions::default()
    };
    let err = f
        .repo
        .publish_with(SUITE, "main", &[f.deb("1.1")], &options, &|_| {})
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("101"), "{err}");
    let err = f.repo.phase(SUITE, APP, &v("1.0"), 150).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let err = f
        .repo
        .promote_with(
            APP,
            &v("1.0"),
            SUITE,
            "other",
            &PromoteOptions {
                percentage: Some(200),
                ..PromoteOptions::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let err = f.repo.phase(SUITE, APP, &v("9.0"), 50).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(err.to_string().contains("9.0"), "{err}");
    assert_eq!(
        phasing::percentage(-1).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    // Nothing of that reached the suite.
    assert_eq!(f.repo.list(SUITE).await.unwrap().len(), 1);

    let mut options = SourceOptions::new(SUITE, SourceTrust::Keys(f.trusted.clone()), f.dir.path());
    options.architecture = Some("amd64".into());
    options.machine_id = Some("not-a-machine-id".into());
    let err = Source::new(f.store.clone(), options).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("not-a-machine-id"), "{err}");

    // A missing or invalid /etc/machine-id: only complete rollouts, with a warning.
    let missing = MachineId::read(&f.dir.path().join("no-machine-id")).unwrap_err();
    assert!(missing.contains("no machine id"), "{missing}");
    let file = f.dir.path().join("machine-id");
    std::fs::write(&file, "uninitialized\n").unwrap();
    let invalid = MachineId::read(&file).unwrap_err();
    assert!(invalid.contains("uninitialized"), "{invalid}");
    std::fs::write(&file, format!("{}\n", id(7))).unwrap();
    assert_eq!(MachineId::read(&file).unwrap().as_str(), id(7));
    f.publish(SUITE, "2.0", Some(99)).await;
    assert!(!phasing::includes(&f.entry(SUITE, "2.0").await, None));
    assert!(phasing::includes(&f.entry(SUITE, "1.0").await, None));
}

/// The second package of the oracle: no Source field (apt seeds with the
/// binary's own name and version), `1.0` installed, `1.5` phased.
const TOOL: &str = "tool";

/// Whether the real apt-get, for machine `machine_id` with `app` and `tool`
/// 1.0 installed (`apt-get -s upgrade`, the path where apt 2.6 phases, unless
/// `extra` says `install`), takes `package` to `version`.
fn apt_takes(
    apt: &PrivateApt,
    machine_id: &str,
    extra: &[&str],
    package: &str,
    version: &str,
) -> bool {
    let mut args = vec!["-s", "-o", "Dir::Bin::ischroot=/bin/false", "-o"];
    let option = format!("APT::Machine-ID={machine_id}");
    args.push(&option);
    args.extend_from_slice(extra);
    if !extra.contains(&"install") {
        args.push("upgrade");
    }
    let out = apt_get(apt, &args);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let upgraded = text.contains(&format!("Inst {package} [1.0] ({version} "));
    // The package named under "kept back:" or "deferred due to phasing:".
    let mut held = false;
    let mut in_list = false;
    for line in text.lines() {
        if line.ends_with(':') && (line.contains("kept back") || line.contains("deferred")) {
            in_list = true;
        } else if in_list && line.starts_with("  ") {
            held |= line.split_whitespace().any(|w| w == package);
        } else {
            in_list = false;
        }
    }
    assert!(
        upgraded != held,
        "unclear apt output for {package}:\n{text}"
    );
    upgraded
}

/// [`apt_takes`] for `app` 2.0.
fn apt_upgrades(apt: &PrivateApt, machine_id: &str, extra: &[&str]) -> bool {
    apt_takes(apt, machine_id, extra, APP, "2.0")
}

/// apt-get with the private configuration, without SOURCE_DATE_EPOCH (with it
/// apt includes every machine).
fn apt_get(apt: &PrivateApt, args: &[&str]) -> std::process::Output {
    Command::new("apt-get")
        .args(["-q", "-o", "Debug::NoLocking=1"])
        .args(args)
        .env("APT_CONFIG", apt.dir.join("apt.conf"))
        .env("LC_ALL", "C")
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .expect("run apt-get (package apt)")
}

fn private_apt(f: &Fixture, name: &str) -> PrivateApt {
    let apt = PrivateApt::new(
        &f.dir.path().join(name),
        &format!(
            "deb [signed-by={}] copy:{} {SUITE} main",
            f.key_file.display(),
            f.dir.path().join("repo").display()
        ),
    );
    // app and tool 1.0 installed, as dpkg's status file says it.
    let status: String = [APP, TOOL]
        .iter()
        .map(|name| {
            format!(
                "Package: {name}\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\n\
                 Maintainer: debpull tests <tests@example.org>\nDescription: test\n\n"
            )
        })
        .collect();
    std::fs::write(apt.dir.join("status"), status).unwrap();
    apt.update()
        .unwrap_or_else(|out| panic!("apt-get update of the phased suite failed:\n{out}"));
    apt
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apt_get_decides_as_debpull_for_every_machine() {
    const MACHINES: u64 = 200;
    let f = fixture();
    let tool = |version: &str| {
        build_deb_with(f.dir.path(), TOOL, version, "amd64", "", &Extras::default())
    };
    f.publish(SUITE, "1.0", None).await;
    f.publish(SUITE, "2.0", Some(0)).await;
    f.repo
        .publish_with(
            SUITE,
            "main",
            &[tool("1.0")],
            &PublishOptions::default(),
            &|_| {},
        )
        .await
        .unwrap();
    let options = PublishOptions {
        percentage: Some(0),
        ..PublishOptions::default()
    };
    f.repo
        .publish_with(SUITE, "main", &[tool("1.5")], &options, &|_| {})
        .await
        .unwrap();
    // Machines whose number is 0 for app 2.0 (seeded with its source,
    // appsrc 2.0-1) or for tool 1.5 (no Source: tool 1.5): apt takes those
    // even at 0%.
    let zero = |source: &str, version: &str| -> Vec<String> {
        (1000..)
            .map(id)
            .filter(|m| phasing::phase_number(source, version, m) == 0)
            .take(2)
            .collect()
    };
    let (app_zero, tool_zero) = (zero("appsrc", "2.0-1"), zero(TOOL, "1.5"));
    assert!(app_zero.iter().all(|m| !tool_zero.contains(m)));
    let ids: Vec<String> = (0..MACHINES)
        .map(id)
        .chain(app_zero.iter().cloned())
        .chain(tool_zero.iter().cloned())
        .collect();
    let started = std::time::Instant::now();
    let mut runs = 0;
    // Per percentage: the machines taking (app, tool), by apt and by debpull.
    type Taken = std::collections::BTreeSet<(String, &'static str)>;
    let mut by_apt: Vec<(u8, Taken)> = Vec::new();
    let mut by_us: Vec<(u8, Taken)> = Vec::new();
    for percentage in [0u8, 25, 75] {
        f.repo
            .phase(SUITE, APP, &v("2.0"), percentage)
            .await
            .unwrap();
        f.repo
            .phase(SUITE, TOOL, &v("1.5"), percentage)
            .await
            .unwrap();
        let entry = f.entry(SUITE, "2.0").await;
        assert_eq!(entry.get("Source"), Some(SOURCE_FIELD));
        let tool_entry = f
            .repo
            .list(SUITE)
            .await
            .unwrap()
            .into_iter()
            .find(|p| p.name() == TOOL && p.version().as_str() == "1.5")
            .unwrap();
        assert_eq!(tool_entry.get("Source"), None);
        let apt = private_apt(&f, &format!("apt-{percentage}"));
        // apt reads the field: `apt-cache policy` says "phased N%".
        let policy = Command::new("apt-cache")
            .args(["policy", APP, TOOL])
            .env("APT_CONFIG", apt.dir.join("apt.conf"))
            .output()
            .unwrap();
        let policy = String::from_utf8_lossy(&policy.stdout).into_owned();
        assert_eq!(
            policy.matches(&format!("(phased {percentage}%)")).count(),
            2,
            "{policy}"
        );
        let apt = Arc::new(apt);
        // Two apt-gets at a time.
        let halves: Vec<Vec<String>> = ids
            .chunks(ids.len().div_ceil(2))
            .map(<[String]>::to_vec)
            .collect();
        let threads: Vec<_> = halves
            .into_iter()
            .map(|half| {
                let apt = apt.clone();
                std::thread::spawn(move || {
                    half.into_iter()
                        .map(|id| {
                            let app = apt_takes(&apt, &id, &[], APP, "2.0");
                            let tool = apt_takes(&apt, &id, &[], TOOL, "1.5");
                            (id, app, tool)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let (mut apt_set, mut our_set) = (Taken::new(), Taken::new());
        for thread in threads {
            for (id, apt_app, apt_tool) in thread.join().unwrap() {
                runs += 1;
                for (name, e, apt_says) in [(APP, &entry, apt_app), (TOOL, &tool_entry, apt_tool)] {
                    let ours = included(e, &id);
                    assert_eq!(
                        ours,
                        apt_says,
                        "machine {id}, {name} at {percentage}%: apt {} it",
                        if apt_says { "takes" } else { "does not take" }
                    );
                    if apt_says {
                        apt_set.insert((id.clone(), name));
                    }
                    if ours {
                        our_set.insert((id.clone(), name));
                    }
                }
            }
        }
        let taken = |name: &str| apt_set.iter().filter(|(_, n)| *n == name).count();
        eprintln!(
            "{percentage}%: apt and debpull take app 2.0 on {} and tool 1.5 on {} of {} machines",
            taken(APP),
            taken(TOOL),
            ids.len()
        );
        for name in [APP, TOOL] {
            assert!(
                taken(name) < ids.len(),
                "{percentage}%: every machine took {name}"
            );
            assert!(taken(name) > 0, "{percentage}%: no machine took {name}");
        }
        if percentage == 0 {
            // A number of 0 is in at 0%, for apt too.
            for m in &app_zero {
                assert!(apt_set.contains(&(m.clone(), APP)), "{m}: app at 0%");
            }
            for m in &tool_zero {
                assert!(apt_set.contains(&(m.clone(), TOOL)), "{m}: tool at 0%");
            }
        }

        if percentage == 25 {
            let out = ids.iter().find(|id| !included(&entry, id)).unwrap();
            // apt's switches and `install` (which apt 2.6 does not phase),
            // where debpull differs (documented in debpull::phasing).
            assert!(apt_upgrades(
                &apt,
                out,
                &["-o", "APT::Get::Always-Include-Phased-Updates=true"]
            ));
            assert!(apt_upgrades(&apt, out, &["install", "app"]));
            let inside = ids.iter().find(|id| included(&entry, id)).unwrap();
            assert!(!apt_upgrades(
                &apt,
                inside,
                &["-o", "APT::Get::Never-Include-Phased-Updates=true"]
            ));
        }
        by_apt.push((percentage, apt_set));
        by_us.push((percentage, our_set));
    }
    // Raising the percentage only adds machines, for apt and for debpull:
    // what is taken at a lower percentage is a strict subset of a higher one.
    for sets in [&by_apt, &by_us] {
        for pair in sets.windows(2) {
            let ((low, a), (high, b)) = (&pair[0], &pair[1]);
            assert!(a.is_subset(b), "taken at {low}% but not at {high}%");
            assert!(
                a.len() < b.len(),
                "{low}% and {high}% take the same machines"
            );
        }
    }
    eprintln!(
        "{runs} machines compared ({} apt-get runs) in {:.1} s",
        runs * 2,
        started.elapsed().as_secs_f64()
    );
}

/// The versions of `name` in the Packages index of `arch` in production.
fn index_versions(f: &Fixture, arch: &str, name: &str) -> Vec<String> {
    let path = f
        .dir
        .path()
        .join(format!("repo/dists/{SUITE}/main/binary-{arch}/Packages"));
    let text = std::fs::read_to_string(path).unwrap();
    let mut versions: Vec<String> = text
        .split("\n\n")
        .filter(|stanza| stanza.lines().any(|l| l == format!("Package: {name}")))
        .filter_map(|stanza| {
            stanza
                .lines()
                .find_map(|l| l.strip_prefix("Version: ").map(str::to_owned))
        })
        .collect();
    versions.sort();
    versions
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_demotes_only_where_the_old_version_is() {
    let f = fixture();
    let deb = |name: &str, version: &str, arch: &str| {
        build_deb_with(f.dir.path(), name, version, arch, "", &Extras::default())
    };
    let publish = |debs: Vec<PathBuf>| {
        let repo = f.repo.clone();
        async move {
            repo.publish_with(SUITE, "main", &debs, &PublishOptions::default(), &|_| {})
                .await
                .unwrap();
        }
    };
    // app 1.0 was built for amd64 only; 2.0 for amd64 and arm64.
    publish(vec![deb(APP, "1.0", "amd64")]).await;
    publish(vec![deb(APP, "2.0", "amd64"), deb(APP, "2.0", "arm64")]).await;
    let report = f.repo.rollback(SUITE, APP, &v("1.0")).await.unwrap();
    let demoted: Vec<(String, String)> = report
        .demoted
        .iter()
        .map(|p| (p.version().to_string(), p.architecture().to_owned()))
        .collect();
    assert_eq!(demoted, [("2.0".to_owned(), "amd64".to_owned())]);
    assert_eq!(index_versions(&f, "amd64", APP), ["1.0"]);
    // arm64 has no 1.0: it keeps 2.0 rather than losing the package.
    assert_eq!(index_versions(&f, "arm64", APP), ["2.0"]);

    // lib 1.0 is `Architecture: all`: it is in both indexes, so 2.0 leaves both.
    publish(vec![deb("lib", "1.0", "all")]).await;
    publish(vec![deb("lib", "2.0", "amd64"), deb("lib", "2.0", "arm64")]).await;
    let report = f.repo.rollback(SUITE, "lib", &v("1.0")).await.unwrap();
    assert_eq!(report.demoted.len(), 2, "{report:?}");
    assert_eq!(index_versions(&f, "amd64", "lib"), ["1.0"]);
    assert_eq!(index_versions(&f, "arm64", "lib"), ["1.0"]);

    // A promote of an amd64-only 1.0 where only arm64 has a newer version is
    // not a rollback: allowed, nothing demoted.
    let staging_deb = deb("tool", "1.0", "amd64");
    f.repo
        .publish_with(
            "staging",
            "main",
            &[staging_deb],
            &PublishOptions::default(),
            &|_| {},
        )
        .await
        .unwrap();
    publish(vec![deb("tool", "2.0", "arm64")]).await;
    let report = f
        .repo
        .promote_with(
            "tool",
            &v("1.0"),
            "staging",
            SUITE,
            &PromoteOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!((report.added.len(), report.demoted.len()), (1, 0));
    assert_eq!(index_versions(&f, "amd64", "tool"), ["1.0"]);
    assert_eq!(index_versions(&f, "arm64", "tool"), ["2.0"]);
}
