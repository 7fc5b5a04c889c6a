//! The publisher under injected faults and races, on the real local storage
//! wrapped to fail chosen writes (a publisher stopped at that point) or to run
//! another publisher at a chosen moment: afterwards the repository is whole and
//! `verify` is satisfied.

#[path = "support/test_debs.rs"]
mod test_debs;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use debpull::checksum::{self, Algorithm, Algorithms};
use debpull::compress::Compression;
use debpull::index::Release;
use debpull::repo::{Replace, Repository, RepositoryOptions};
use debpull::sign::{KeyKind, SigningKey, TrustedKeys};
use debpull::storage::{
    self, BoxFuture, Capabilities, GetOptions, GetResult, ListEntry, ObjectMeta, ObjectStream,
    Payload, PutMode, Storage,
};
use debpull::{Error, ErrorKind, Result};
use test_debs::build_deb;

type Fail = Box<dyn Fn(&str, &PutMode) -> bool + Send + Sync>;
type Hook = Box<dyn Fn(&str, &str) -> Option<BoxFuture<'static, ()>> + Send + Sync>;

/// Local storage with faults: `fail` decides which puts fail; `hook(operation,
/// key)` may run something (another publisher) before a get or a list.
struct Faulty {
    inner: Arc<dyn Storage>,
    fail: Mutex<Option<Fail>>,
    hook: Mutex<Option<Hook>>,
}

impl std::fmt::Debug for Faulty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "faulty {}", self.inner)
    }
}

impl std::fmt::Display for Faulty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.inner)
    }
}

impl Faulty {
    fn before(&self, operation: &str, key: &str) -> Option<BoxFuture<'static, ()>> {
        self.hook
            .lock()
            .unwrap()
            .as_ref()
            .and_then(|hook| hook(operation, key))
    }
}

impl Storage for Faulty {
    fn get<'a>(&'a self, key: &'a str, options: GetOptions) -> BoxFuture<'a, Result<GetResult>> {
        Box::pin(async move {
            if let Some(run) = self.before("get", key) {
                run.await;
            }
            self.inner.get(key, options).await
        })
    }
    fn get_stream<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<ObjectStream>> {
        Box::pin(async move {
            if let Some(run) = self.before("get", key) {
                run.await;
            }
            self.inner.get_stream(key).await
        })
    }
    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<ObjectMeta>> {
        self.inner.head(key)
    }
    fn put<'a>(
        &'a self,
        key: &'a str,
        payload: Payload,
        mode: PutMode,
    ) -> BoxFuture<'a, Result<ObjectMeta>> {
        Box::pin(async move {
            if self
                .fail
                .lock()
                .unwrap()
                .as_ref()
                .is_some_and(|fail| fail(key, &mode))
            {
                return Err(Error::new(
                    ErrorKind::Io,
                    format!("injected failure writing {key}"),
                ));
            }
            self.inner.put(key, payload, mode).await
        })
    }
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<()>> {
        self.inner.delete(key)
    }
    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<ListEntry>>> {
        Box::pin(async move {
            if let Some(run) = self.before("list", prefix) {
                run.await;
            }
            self.inner.list(prefix).await
        })
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    key: SigningKey,
    trusted: TrustedKeys,
    plain: Arc<dyn Storage>,
    faulty: Arc<Faulty>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate("debpull tests <tests@example.org>", KeyKind::Ed25519).unwrap();
    let trusted = TrustedKeys::from_bytes(key.public_key_armored().unwrap().as_bytes()).unwrap();
    let plain = storage::open(&format!("file://{}", dir.path().join("repo").display())).unwrap();
    let faulty = Arc::new(Faulty {
        inner: plain.clone(),
        fail: Mutex::new(None),
        hook: Mutex::new(None),
    });
    Fixture {
        dir,
        key,
        trusted,
        plain,
        faulty,
    }
}

impl Fixture {
    fn repo(&self) -> Repository {
        Repository::new(
            self.plain.clone(),
            self.key.clone(),
            RepositoryOptions::default(),
        )
        .unwrap()
    }
    fn faulty_repo(&self) -> Repository {
        Repository::new(
            self.faulty.clone(),
            self.key.clone(),
            RepositoryOptions::default(),
        )
        .unwrap()
    }
    fn deb(&self, name: &str, version: &str, arch: &str) -> PathBuf {
        build_deb(self.dir.path(), name, version, arch, "")
    }
    fn file(&self, key: &str) -> PathBuf {
        self.dir.path().join("repo").join(key)
    }
    fn fail_when(&self, fail: impl Fn(&str, &PutMode) -> bool + Send + Sync + 'static) {
        *self.faulty.fail.lock().unwrap() = Some(Box::new(fail));
    }
    /// Runs `run` once, the first time `operation` is done on `key`.
    fn once_before(
        &self,
        operation: &'static str,
        key: &'static str,
        run: impl Fn() -> BoxFuture<'static, ()> + Send + Sync + 'static,
    ) {
        let fired = Mutex::new(false);
        *self.faulty.hook.lock().unwrap() = Some(Box::new(move |op, k| {
            (op == operation && k == key && !std::mem::replace(&mut *fired.lock().unwrap(), true))
                .then(&run)
        }));
    }
    /// Writes `release` as suite `s`'s Release, Release.gpg and InRelease, as
    /// another tool would have published it.
    fn write_signed_release(&self, release: &Release) {
        let text = release.to_string();
        std::fs::write(self.file("dists/s/Release"), &text).unwrap();
        std::fs::write(
            self.file("dists/s/Release.gpg"),
            self.key.sign_detached(text.as_bytes()).unwrap(),
        )
        .unwrap();
        std::fs::write(
            self.file("dists/s/InRelease"),
            self.key.clearsign(&text).unwrap(),
        )
        .unwrap();
    }

    async fn verify(&self, suite: &str) {
        self.repo()
            .verify(suite, &self.trusted)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

fn no_progress(_: debpull::repo::Progress) {}

/// Suite `s` with package `keep`, and package `aa` published then removed, its
/// pool file marked by a gc longer than `grace` ago. Returns aa's `.deb`.
async fn aa_marked_by_gc(f: &Fixture, grace: Duration) -> PathBuf {
    let repo = f.repo();
    let aa = f.deb("aa", "1", "amd64");
    repo.publish(
        "s",
        "main",
        &[f.deb("keep", "1", "amd64")],
        Replace::Never,
        &no_progress,
    )
    .await
    .unwrap();
    repo.publish(
        "s",
        "main",
        std::slice::from_ref(&aa),
        Replace::Never,
        &no_progress,
    )
    .await
    .unwrap();
    repo.remove("s", "aa", None).await.unwrap();
    repo.gc(grace).await.unwrap();
    tokio::time::sleep(grace + Duration::from_millis(200)).await;
    aa
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_files_left_stale_by_a_stopped_publisher_are_repaired_by_the_next_one() {
    let f = fixture();
    f.repo()
        .publish(
            "s",
            "main",
            &[f.deb("aa", "1", "amd64"), f.deb("cc", "1", "arm64")],
            Replace::Never,
            &no_progress,
        )
        .await
        .unwrap();
    // Stopped after its commit: none of the plain-path files are written.
    f.fail_when(|_, mode| *mode == PutMode::Overwrite);
    let err = f
        .faulty_repo()
        .publish(
            "s",
            "main",
            &[f.deb("bb", "1", "amd64")],
            Replace::Never,
            &no_progress,
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("was committed"), "{err}");
    // Another publisher changes only the arm64 index.
    f.repo()
        .publish(
            "s",
            "main",
            &[f.deb("dd", "1", "arm64")],
            Replace::Never,
            &no_progress,
        )
        .await
        .unwrap();
    f.verify("s").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_release_gpg_left_stale_is_repaired_by_a_rerun() {
    let f = fixture();
    f.repo()
        .publish(
            "s",
            "main",
            &[f.deb("aa", "1", "amd64")],
            Replace::Never,
            &no_progress,
        )
        .await
        .unwrap();
    f.fail_when(|key, _| key.ends_with("Release.gpg"));
    let bb = f.deb("bb", "1", "amd64");
    assert!(
        f.faulty_repo()
            .publish(
                "s",
                "main",
                std::slice::from_ref(&bb),
                Replace::Never,
                &no_progress
            )
            .await
            .is_err()
    );
    // The rerun finds everything published: it only repairs.
    let report = f
        .repo()
        .publish("s", "main", &[bb], Replace::Never, &no_progress)
        .await
        .unwrap();
    assert_eq!((report.added.len(), report.unchanged.len()), (0, 1));
    f.verify("s").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repair_racing_a_publisher_leaves_the_newest_plain_files() {
    let f = fixture();
    let aa = f.deb("aa", "1", "amd64");
    f.repo()
        .publish(
            "s",
            "main",
            std::slice::from_ref(&aa),
            Replace::Never,
            &no_progress,
        )
        .await
        .unwrap();
    std::fs::write(f.file("dists/s/Release.gpg"), "stale").unwrap();
    let other = f.repo();
    let bb = f.deb("bb", "1", "amd64");
    // While the rerun below checks the plain files, another job publishes bb.
    f.once_before("get", "dists/s/Release", move || {
        let (other, bb) = (other.clone(), bb.clone());
        Box::pin(async move {
            other
                .publish("s", "main", &[bb], Replace::Never, &no_progress)
                .await
                .unwrap();
        })
    });
    f.faulty_repo()
        .publish("s", "main", &[aa], Replace::Never, &no_progress)
        .await
        .unwrap();
    f.verify("s").await;
    assert_eq!(f.repo().list("s").await.unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_architecture_gets_every_components_all_packages() {
    let f = fixture();
    let repo = f.repo();
    repo.publish(
        "s",
        "contrib",
        &[f.deb("xx", "1", "all")],
        Replace::Never,
        &no_progress,
    )
    .await
    .unwrap();
    repo.publish(
        "s",
        "main",
        &[f.deb("yy", "1", "arm64")],
        Replace::Never,
        &no_progress,
    )
    .await
    .unwrap();
    repo.publish(
        "s",
        "contrib",
        &[f.deb("zz", "1", "all")],
        Replace::Never,
        &no_progress,
    )
    .await
    .unwrap();
    for arch in ["amd64", "arm64"] {
        let text =
            std::fs::read_to_string(f.file(&format!("dists/s/contrib/binary-{arch}/Packages")))
                .unwrap();
        let names: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("Package: "))
            .collect();
        assert_eq!(names, ["xx", "zz"], "contrib/binary-{arch}");
    }
    f.verify("s").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn gc_keeps_what_a_snapshot_referenced_within_the_grace_period() {
    let f = fixture();
    let repo = f.repo();
    let grace = Duration::from_secs(2);
    let aa = aa_marked_by_gc(&f, grace).await;
    // A rollback republishes aa (reusing its pool file), then it goes again.
    repo.publish("s", "main", &[aa], Replace::Never, &no_progress)
        .await
        .unwrap();
    repo.remove("s", "aa", None).await.unwrap();
    let report = repo.gc(grace).await.unwrap();
    assert!(
        !report.deleted.iter().any(|k| k.contains("/aa_1_")),
        "{report:?}"
    );
    assert!(f.file("pool/main/a/aa/aa_1_amd64.deb").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn gc_racing_a_publisher_that_reuses_a_marked_file_keeps_the_snapshot_whole() {
    let f = fixture();
    let grace = Duration::from_secs(1);
    let aa = aa_marked_by_gc(&f, grace).await;
    // Between gc's reading of the references and its deletions, aa comes back.
    let other = f.repo();
    f.once_before("list", "pool/", move || {
        let (other, aa) = (other.clone(), aa.clone());
        Box::pin(async move {
            other
                .publish("s", "main", &[aa], Replace::Never, &no_progress)
                .await
                .unwrap();
        })
    });
    f.faulty_repo().gc(grace).await.unwrap();
    assert_eq!(f.repo().list("s").await.unwrap().len(), 2);
    f.verify("s").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn appending_to_an_index_without_a_final_blank_line_keeps_stanzas_apart() {
    let f = fixture();
    let repo = f.repo();
    repo.publish(
        "s",
        "main",
        &[f.deb("kk", "1", "amd64")],
        Replace::Never,
        &no_progress,
    )
    .await
    .unwrap();
    // As another tool might write it: no blank line after the last stanza.
    let text = std::fs::read_to_string(f.file("dists/s/main/binary-amd64/Packages")).unwrap();
    let text = text.trim_end_matches('\n').to_owned() + "\n";
    let mut release =
        Release::parse(&std::fs::read_to_string(f.file("dists/s/Release")).unwrap()).unwrap();
    for file in release.files.iter_mut() {
        let bytes = Compression::from_file_name(&file.path)
            .compress(text.as_bytes())
            .unwrap();
        std::fs::write(f.file(&format!("dists/s/{}", file.path)), &bytes).unwrap();
        file.size = bytes.len() as u64;
        file.checksums = checksum::of_bytes(&bytes, Algorithms::DEFAULT);
        let hex = file.checksums.hex(Algorithm::Sha256).unwrap();
        std::fs::write(
            f.file(&format!("dists/s/main/binary-amd64/by-hash/SHA256/{hex}")),
            &bytes,
        )
        .unwrap();
    }
    f.write_signed_release(&release);

    repo.publish(
        "s",
        "main",
        &[f.deb("mm", "1", "amd64")],
        Replace::Never,
        &no_progress,
    )
    .await
    .unwrap();
    let names: Vec<String> = repo
        .list("s")
        .await
        .unwrap()
        .iter()
        .map(|p| p.name().to_owned())
        .collect();
    assert_eq!(names, ["kk", "mm"]);
    f.verify("s").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn taking_over_a_repository_without_by_hash_adds_the_by_hash_files() {
    let f = fixture();
    let repo = f.repo();
    repo.publish(
        "s",
        "main",
        &[f.deb("kk", "1", "amd64"), f.deb("nn", "1", "arm64")],
        Replace::Never,
        &no_progress,
    )
    .await
    .unwrap();
    // As aptly or apt-ftparchive write it by default: no by-hash.
    for arch in ["amd64", "arm64"] {
        std::fs::remove_dir_all(f.file(&format!("dists/s/main/binary-{arch}/by-hash"))).unwrap();
    }
    let mut release =
        Release::parse(&std::fs::read_to_string(f.file("dists/s/Release")).unwrap()).unwrap();
    release.acquire_by_hash = false;
    f.write_signed_release(&release);

    // Only the amd64 index changes; arm64's is carried over and gets its by-hash copy.
    repo.publish(
        "s",
        "main",
        &[f.deb("mm", "1", "amd64")],
        Replace::Never,
        &no_progress,
    )
    .await
    .unwrap();
    f.verify("s").await;
}
