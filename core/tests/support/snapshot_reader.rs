//! A reader of one suite that goes the way apt and debpull's client go, to prove
//! that every snapshot a reader can see while publishers work is whole:
//! `InRelease` (signature checked with the public key) → one `Packages` index by
//! hash, under the strongest hash the Release lists (size and hash checked
//! against the Release) → pool files it lists (size and SHA256 checked against
//! the index). It reads through any [`Storage`] (a local directory, or S3 opened
//! anonymously to read only what the public-read ACL opens).
//!
//! ```ignore
//! let reader = SnapshotReader::new(store, "staging", "main", "amd64", trusted, 7);
//! let running = reader.only_additions().start(Duration::from_millis(20)); // reads in a loop
//! // ... publishers work ...
//! let stats = running.finish();                     // stop after the current read
//! assert!(stats.failures.is_empty(), "{stats}");
//! ```
//!
//! Between reads it also checks what a client checks across updates: the
//! Release's Date never goes back, the suite is the one asked for, and
//! (with [`SnapshotReader::only_additions`], for runs that only publish) no
//! package listed once is missing later — a lost update would show as one.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use debpull::checksum::{self, Algorithms};
use debpull::compress::{Bounds, Compression};
use debpull::index::{Packages, Release};
use debpull::sign::TrustedKeys;
use debpull::storage::{ETag, GetOptions, GetResult, Storage};
use debpull::{ErrorKind, Package};

/// At most this many newly listed packages have their pool file checked per read
/// (plus one chosen at random).
const NEW_PER_READ: usize = 3;
/// Failure messages kept (all are counted).
const KEPT_FAILURES: usize = 20;

/// What a reader did and saw.
#[derive(Debug, Default, Clone)]
pub struct ReaderStats {
    /// Reads begun.
    pub reads: u64,
    /// Reads that found no InRelease before the suite's first commit.
    pub empty: u64,
    /// Distinct InReleases (ETags) seen.
    pub snapshots: u64,
    /// Packages indexes fetched by hash and checked.
    pub indexes: u64,
    /// Pool files fetched and checked.
    pub pool_files: u64,
    /// Bytes fetched (InRelease, indexes, pool files).
    pub bytes: u64,
    /// Packages listed in the last snapshot read.
    pub last_listed: usize,
    /// Failed reads.
    pub failed: u64,
    /// The first failures' messages.
    pub failures: Vec<String>,
}

impl fmt::Display for ReaderStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} reads ({} before the first commit, {} failed), {} snapshots, {} indexes and \
             {} pool files checked, {} bytes, {} packages listed last",
            self.reads,
            self.empty,
            self.failed,
            self.snapshots,
            self.indexes,
            self.pool_files,
            self.bytes,
            self.last_listed
        )?;
        for failure in &self.failures {
            write!(f, "\n  failure: {failure}")?;
        }
        Ok(())
    }
}

/// What the previous successful read saw.
struct Seen {
    etag: ETag,
    date: Option<SystemTime>,
    packages: HashSet<String>,
}

/// Reads one suite's `<component>/binary-<arch>/Packages` the way apt does.
pub struct SnapshotReader {
    store: Arc<dyn Storage>,
    suite: String,
    index: String,
    trusted: TrustedKeys,
    only_additions: bool,
    random: u64,
    last: Option<Seen>,
    stats: ReaderStats,
}

impl SnapshotReader {
    /// A reader of `suite`'s `component`/`arch` index in `store`, trusting
    /// `trusted`; `seed` seeds its choices (which compression, which pool files).
    pub fn new(
        store: Arc<dyn Storage>,
        suite: &str,
        component: &str,
        arch: &str,
        trusted: TrustedKeys,
        seed: u64,
    ) -> SnapshotReader {
        SnapshotReader {
            store,
            suite: suite.to_owned(),
            index: format!("{component}/binary-{arch}/Packages"),
            trusted,
            only_additions: false,
            random: seed,
            last: None,
            stats: ReaderStats::default(),
        }
    }

    /// Also fails a read in which a package listed by an earlier read is missing
    /// (for runs that only add packages).
    pub fn only_additions(mut self) -> SnapshotReader {
        self.only_additions = true;
        self
    }

    /// What the reader did so far.
    pub fn stats(&self) -> &ReaderStats {
        &self.stats
    }

    /// One read, counted in the stats (a failure included); the failure's message.
    pub async fn read(&mut self) -> Result<(), String> {
        self.stats.reads += 1;
        let result = self.read_snapshot().await;
        if let Err(message) = &result {
            self.stats.failed += 1;
            if self.stats.failures.len() < KEPT_FAILURES {
                self.stats
                    .failures
                    .push(format!("read {}: {message}", self.stats.reads));
            }
        }
        result
    }

    /// Reads in a loop on a thread of its own (with its own Tokio runtime) until
    /// [`Running::finish`], pausing `pause` after each read (so that a server
    /// sharing the machine's cores keeps time for the publishers).
    pub fn start(mut self, pause: Duration) -> Running {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a Tokio runtime for the reader");
            runtime.block_on(async {
                while !flag.load(Ordering::Relaxed) {
                    let _ = self.read().await;
                    tokio::time::sleep(pause).await;
                }
            });
            self.stats
        });
        Running { stop, thread }
    }

    async fn read_snapshot(&mut self) -> Result<(), String> {
        let store = self.store.clone();
        let inrelease_key = format!("dists/{}/InRelease", self.suite);
        let (inrelease, etag) = match store.get(&inrelease_key, GetOptions::default()).await {
            Ok(GetResult::Found { data, meta }) => (data, meta.etag),
            Ok(GetResult::NotModified) => return Err(format!("{inrelease_key}: 304 unasked")),
            Err(e) if e.kind() == ErrorKind::NotFound && self.last.is_none() => {
                self.stats.empty += 1;
                return Ok(());
            }
            // Storage errors name the store and the key.
            Err(e) => return Err(e.to_string()),
        };
        self.stats.bytes += inrelease.len() as u64;
        let text =
            String::from_utf8(inrelease).map_err(|_| format!("{inrelease_key}: not UTF-8"))?;
        let verified = self
            .trusted
            .verify_cleartext(&text, SystemTime::now())
            .map_err(|e| format!("{inrelease_key}: {e}"))?;
        let release =
            Release::parse(&verified.text).map_err(|e| format!("{inrelease_key}: {e}"))?;
        if release.suite.as_deref() != Some(self.suite.as_str()) {
            return Err(format!("{inrelease_key}: Suite {:?}", release.suite));
        }
        if let Some(last) = &self.last
            && release.date < last.date
        {
            return Err(format!(
                "{inrelease_key}: Date {:?} is older than the one read before ({:?})",
                release.date, last.date
            ));
        }

        let packages = self.read_index(&release).await?;
        let listed: HashSet<String> = packages.iter().map(entry).collect();
        let previous = self.last.as_ref().map(|last| &last.packages);
        if self.only_additions
            && let Some(gone) = previous.and_then(|p| p.difference(&listed).next())
        {
            return Err(format!(
                "{inrelease_key}: {gone} was listed before and is gone"
            ));
        }

        // The newly listed packages (their pool files were written last) and one at random.
        let mut chosen: Vec<&Package> = packages
            .iter()
            .filter(|p| previous.is_none_or(|seen| !seen.contains(&entry(p))))
            .collect();
        while chosen.len() > NEW_PER_READ {
            let drop = self.next_random() as usize % chosen.len();
            chosen.swap_remove(drop);
        }
        if !packages.is_empty() {
            chosen.push(&packages.packages()[self.next_random() as usize % packages.len()]);
        }
        for package in chosen {
            self.check_pool_file(package).await?;
        }

        if self.last.as_ref().is_none_or(|last| last.etag != etag) {
            self.stats.snapshots += 1;
        }
        self.stats.last_listed = listed.len();
        self.last = Some(Seen {
            etag,
            date: release.date,
            packages: listed,
        });
        Ok(())
    }

    /// One of the listed forms of the index (chosen at random), fetched by hash.
    async fn read_index(&mut self, release: &Release) -> Result<Packages, String> {
        let forms: Vec<_> = release
            .files
            .iter()
            .filter_map(|file| {
                let extension = file.path.strip_prefix(self.index.as_str())?;
                Some((file, Compression::from_extension(extension)?))
            })
            .collect();
        if forms.is_empty() {
            return Err(format!(
                "dists/{}/InRelease lists no {}",
                self.suite, self.index
            ));
        }
        let (file, compression) = forms[self.next_random() as usize % forms.len()];
        let (algorithm, hex) = file
            .checksums
            .strongest()
            .ok_or_else(|| format!("{}: no SHA256 or SHA512 in the Release", file.path))?;
        let dir = file.path.rsplit_once('/').map_or("", |(dir, _)| dir);
        let key = format!(
            "dists/{}/{dir}/by-hash/{}/{hex}",
            self.suite,
            algorithm.release_field()
        );
        let data = self.fetch(&key).await?;
        if data.len() as u64 != file.size {
            return Err(format!(
                "{key}: {} bytes, the Release says {}",
                data.len(),
                file.size
            ));
        }
        checksum::of_bytes(&data, Algorithms::NONE.with(algorithm))
            .verify(&file.checksums)
            .map_err(|m| format!("{key}: {m} (against the Release)"))?;
        self.stats.indexes += 1;
        Packages::parse_compressed(&data, compression, Bounds::output(64 << 20))
            .map_err(|e| format!("{key}: {e}"))
    }

    async fn check_pool_file(&mut self, package: &Package) -> Result<(), String> {
        let key = package
            .filename()
            .ok_or_else(|| format!("{} has no Filename", entry(package)))?;
        let data = self.fetch(key).await?;
        if data.len() as u64 != package.size() {
            return Err(format!(
                "{key}: {} bytes, the index says {}",
                data.len(),
                package.size()
            ));
        }
        checksum::of_bytes(&data, Algorithms::DEFAULT)
            .verify(package.checksums())
            .map_err(|m| format!("{key}: {m} (against the index)"))?;
        self.stats.pool_files += 1;
        Ok(())
    }

    /// The content of `key`, which must exist.
    async fn fetch(&mut self, key: &str) -> Result<Vec<u8>, String> {
        match self.store.get(key, GetOptions::default()).await {
            Ok(GetResult::Found { data, .. }) => {
                self.stats.bytes += data.len() as u64;
                Ok(data)
            }
            Ok(GetResult::NotModified) => Err(format!("{key}: 304 unasked")),
            Err(e) => Err(e.to_string()),
        }
    }

    /// splitmix64: reproducible choices without a random-number crate.
    fn next_random(&mut self) -> u64 {
        self.random = self.random.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.random;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// `name version arch`, how one index entry is told apart.
fn entry(package: &Package) -> String {
    format!(
        "{} {} {}",
        package.name(),
        package.version(),
        package.architecture()
    )
}

/// A [`SnapshotReader`] reading in a loop on its own thread.
pub struct Running {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<ReaderStats>,
}

impl Running {
    /// Stops after the current read; what the reader did.
    pub fn finish(self) -> ReaderStats {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("the reader thread panicked")
    }
}
