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
    // promoting the previous version again.
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
    let report = f
        .repo
        .promote_with(APP, &v("2.0"), "staging", SUITE, &PromoteOptions::default())
        .await
        .unwrap();
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
    // Promoting it again: nothing left to do.
    let again = f
        .repo
        .promote_with(APP, &v("2.0"), "staging", SUITE, &PromoteOptions::default())
        .await
        .unwrap();
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
    let outcome = update(&f.updater(&first, Policy::UpgradeOnly, None)).await;
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
            },
        )
        .await
        .unwrap();
    assert_eq!(report.added.len(), 1);
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

/// What the real apt-get does for machine `machine_id` with `app` 1.0
/// installed (`apt-get -s upgrade`, the path where apt 2.6 phases): whether
/// it would upgrade to 2.0.
fn apt_upgrades(apt: &PrivateApt, machine_id: &str, extra: &[&str]) -> bool {
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
    let upgraded = text.contains("Inst app [1.0] (2.0 ");
    let kept = text.contains("kept back:") || !text.contains("Inst app");
    assert!(upgraded != kept, "unclear apt output:\n{text}");
    upgraded
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
    // app 1.0 installed, as dpkg's status file says it.
    std::fs::write(
        apt.dir.join("status"),
        "Package: app\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\n\
         Maintainer: debpull tests <tests@example.org>\nDescription: test\n\n",
    )
    .unwrap();
    apt.update()
        .unwrap_or_else(|out| panic!("apt-get update of the phased suite failed:\n{out}"));
    apt
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apt_get_decides_as_debpull_for_every_machine() {
    const MACHINES: u64 = 200;
    let f = fixture();
    f.publish(SUITE, "1.0", None).await;
    f.publish(SUITE, "2.0", Some(0)).await;
    let ids: Vec<String> = (0..MACHINES).map(id).collect();
    let started = std::time::Instant::now();
    let mut runs = 0;
    for percentage in [0u8, 25, 75] {
        f.repo
            .phase(SUITE, APP, &v("2.0"), percentage)
            .await
            .unwrap();
        let entry = f.entry(SUITE, "2.0").await;
        assert_eq!(entry.get("Source"), Some(SOURCE_FIELD));
        let apt = private_apt(&f, &format!("apt-{percentage}"));
        // apt reads the field: `apt-cache policy` says "phased N%".
        let policy = Command::new("apt-cache")
            .args(["policy", APP])
            .env("APT_CONFIG", apt.dir.join("apt.conf"))
            .output()
            .unwrap();
        let policy = String::from_utf8_lossy(&policy.stdout).into_owned();
        assert!(
            policy.contains(&format!("(phased {percentage}%)")),
            "{policy}"
        );
        let apt = Arc::new(apt);
        // Two apt-gets at a time.
        let halves: Vec<Vec<String>> = ids.chunks(ids.len() / 2).map(<[String]>::to_vec).collect();
        let threads: Vec<_> = halves
            .into_iter()
            .map(|half| {
                let apt = apt.clone();
                std::thread::spawn(move || {
                    half.into_iter()
                        .map(|id| {
                            let upgrades = apt_upgrades(&apt, &id, &[]);
                            (id, upgrades)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut taken = 0;
        for thread in threads {
            for (id, apt_says) in thread.join().unwrap() {
                runs += 1;
                assert_eq!(
                    included(&entry, &id),
                    apt_says,
                    "machine {id} at {percentage}%: apt {} it",
                    if apt_says { "takes" } else { "does not take" }
                );
                taken += usize::from(apt_says);
            }
        }
        // Both answers occur (ids are spread; 0% still takes ~1 in 101).
        eprintln!("{percentage}%: apt and debpull take 2.0 on {taken} of {MACHINES} machines");
        assert!(taken < ids.len(), "{percentage}%: every machine took it");
        if percentage > 0 {
            assert!(taken > 0, "{percentage}%: no machine took it");
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
    }
    eprintln!(
        "{runs} apt-get runs compared in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
