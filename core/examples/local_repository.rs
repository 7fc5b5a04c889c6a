//! The main job on the embedded default, a local directory: a signed apt
//! repository that real apt accepts.
//!
//! Builds three versions of a demo app as `.deb`s, publishes them to `staging`,
//! promotes one to `production`, lists both suites and verifies them as a client
//! would, saying what it does at each step. Then a server pulls: the real dpkg
//! installs the app into a root of its own (`DIR-server/`), a second check finds
//! nothing new, a staged release (a promotion to `production` for half of the
//! fleet, then all of it) reaches the server, and so does a rollback of
//! `production`. Running it again publishes nothing (identical packages are a
//! no-op) and plays the release and rollback again.
//!
//! Usage: `cargo run --release --example local_repository -- [DIR]` (default
//! `./demo-repo`). The signing key is generated once into `DIR-keys/`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use debpull::client::{Policy, Source, SourceOptions, SourceTrust, Updater, UpdaterOptions};
use debpull::deb::Builder;
use debpull::repo::{Progress, PromoteOptions, Replace, Repository, RepositoryOptions};
use debpull::sign::{KeyKind, SigningKey, TrustedKeys};
use debpull::{Error, Result, Version, storage};

const APP: &str = "app";
const VERSIONS: [&str; 3] = ["1.0.0-1", "1.1.0-1", "1.2.0~rc1-1"];
const PROMOTED: &str = "1.1.0-1";
/// The release candidate released, then rolled back, on the server.
const RELEASED: &str = "1.2.0~rc1-1";
/// The demo server's machine id (staged rollouts: `/etc/machine-id` on a server).
const MACHINE_ID: &str = "5d1c3e1f0b6a4c2e9f8d7a6b5c4d0005";
/// The share of the fleet the release goes to first.
const FIRST_STAGE: u8 = 50;

#[tokio::main]
async fn main() -> ExitCode {
    let dir = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("demo-repo"), PathBuf::from);
    match run(&dir).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo failed ({}): {e}", e.kind());
            ExitCode::FAILURE
        }
    }
}

async fn run(dir: &Path) -> Result<()> {
    let dir = absolute(dir)?;
    let keys = PathBuf::from(format!("{}-keys", dir.display()));
    let uri = format!("file://{}", dir.display());
    println!("repository  {uri}");

    let key = signing_key(&keys)?;
    let public = keys.join("repository.asc");
    write(&public, key.public_key_armored()?.as_bytes())?;
    println!(
        "signing key {} (public key for apt's signed-by: {})",
        key.fingerprint(),
        public.display()
    );

    let build = keys.join("build");
    let debs = VERSIONS
        .iter()
        .map(|v| build_app(&build, v))
        .collect::<Result<Vec<_>>>()?;
    println!(
        "built       {} .debs of {APP}: {}",
        debs.len(),
        VERSIONS.join(", ")
    );

    let options = RepositoryOptions {
        origin: "debpull demo".into(),
        label: APP.into(),
        ..RepositoryOptions::default()
    };
    let repo = Repository::new(storage::open(&uri)?, key, options)?;

    let uploaded = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = uploaded.clone();
    let progress = move |event: Progress| {
        if let Progress::Uploaded { bytes, .. } = event {
            counter.fetch_add(bytes, std::sync::atomic::Ordering::Relaxed);
        }
    };
    let report = repo
        .publish("staging", "main", &debs, Replace::Never, &progress)
        .await?;
    println!(
        "publish     staging: {} added, {} already there, {} bytes written, {} attempt(s)",
        report.added.len(),
        report.unchanged.len(),
        uploaded.load(std::sync::atomic::Ordering::Relaxed),
        report.attempts
    );

    let promoted = repo
        .promote(APP, &Version::parse(PROMOTED)?, "staging", "production")
        .await?;
    if promoted.is_empty() {
        println!("promote     {APP} {PROMOTED} is in production already: nothing to do");
    } else {
        println!(
            "promote     {APP} {PROMOTED} staging -> production ({} index entr{}, pool files shared)",
            promoted.len(),
            if promoted.len() == 1 { "y" } else { "ies" }
        );
    }

    let trusted = TrustedKeys::from_bytes(
        std::fs::read(&public)
            .map_err(|e| Error::io(public.display(), e))?
            .as_slice(),
    )?;
    for suite in ["staging", "production"] {
        let packages = repo.list(suite).await?;
        let listed: Vec<String> = packages
            .iter()
            .map(|p| format!("{} {} ({})", p.name(), p.version(), p.architecture()))
            .collect();
        println!("list        {suite}: {}", listed.join(", "));
        let report = repo.verify(suite, &trusted).await?;
        println!(
            "verify      {suite}: signature good, {} index files and {} pool files match, {} bytes checked",
            report.index_files, report.pool_files, report.bytes
        );
    }
    println!(
        "apt source  deb [signed-by={}] {uri} production main",
        public.display()
    );
    serve(
        &repo,
        &uri,
        trusted,
        &PathBuf::from(format!("{}-server", dir.display())),
    )
    .await
}

/// A server pulling `production`: the real dpkg installs into `server/root`.
async fn serve(repo: &Repository, uri: &str, trusted: TrustedKeys, server: &Path) -> Result<()> {
    let root = server.join("root");
    let admin = root.join("var/lib/dpkg");
    for sub in ["updates", "info"] {
        let dir = admin.join(sub);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(dir.display(), e))?;
    }
    let status = admin.join("status");
    if !status.exists() {
        write(&status, b"")?;
    }
    let mut options = SourceOptions::new(
        "production",
        SourceTrust::Keys(trusted),
        server.join("state"),
    );
    options.architecture = Some("amd64".into());
    options.admin_dir = admin;
    options.machine_id = Some(MACHINE_ID.into());
    let source = Source::open(uri, options)?;
    let mut options = UpdaterOptions::new(APP);
    // A production rollback (Repository::rollback; `rake deploy:rollback`) reaches the server.
    options.policy = Policy::FollowRepository;
    // The health check: the installed app runs.
    options.health_check = Some(vec![root.join("usr/bin").join(APP).display().to_string()]);
    options.root = Some(root);
    let updater = Updater::new(source, options);
    println!(
        "server      {} (dpkg --root), pulling production",
        server.display()
    );
    println!("update      {}", updater.update().await);
    println!("update      {}", updater.update().await);
    // A staged release: half of the fleet first (whether this server is in
    // that half is apt's rule on its machine id), then everyone.
    let released = Version::parse(RELEASED)?;
    let first_stage = PromoteOptions {
        percentage: Some(FIRST_STAGE),
        ..PromoteOptions::default()
    };
    repo.promote_with(APP, &released, "staging", "production", &first_stage)
        .await?;
    println!(
        "promote     {APP} {RELEASED} staging -> production for {FIRST_STAGE}% of the fleet \
         (this server's number: {}, in when <= {FIRST_STAGE})",
        debpull::phasing::phase_number(APP, RELEASED, MACHINE_ID)
    );
    println!("update      {}", updater.update().await);
    repo.phase("production", APP, &released, 100).await?;
    println!("phase       {APP} {RELEASED} in production: 100% (rollout complete)");
    println!("update      {}", updater.update().await);
    // A production rollback: Repository::rollback to the previous version, still in
    // production (promoting it again is refused); the newer ones are demoted.
    let previous = Version::parse(PROMOTED)?;
    let rollback = repo.rollback("production", APP, &previous).await?;
    let demoted: Vec<String> = rollback
        .demoted
        .iter()
        .map(|p| p.version().to_string())
        .collect();
    println!(
        "rollback    production to {APP} {PROMOTED} (demoted: {})",
        demoted.join(", ")
    );
    println!("update      {}", updater.update().await);
    Ok(())
}

/// The demo's signing key: generated on the first run, read back afterwards.
fn signing_key(keys: &Path) -> Result<SigningKey> {
    let secret = keys.join("signing-key.asc");
    if secret.exists() {
        let text = std::fs::read_to_string(&secret).map_err(|e| Error::io(secret.display(), e))?;
        return SigningKey::from_armored(&text, None);
    }
    let key = SigningKey::generate("debpull demo <demo@example.org>", KeyKind::Ed25519)?;
    write(&secret, key.to_armored_secret(None)?.as_bytes())?;
    Ok(key)
}

/// Builds the demo app at `version`: a script and a README.
fn build_app(dir: &Path, version: &str) -> Result<PathBuf> {
    let root = dir.join(format!("{APP}-{version}"));
    let program = root.join(format!("usr/bin/{APP}"));
    write(
        &program,
        format!("#!/bin/sh\necho {APP} {version}\n").as_bytes(),
    )?;
    std::fs::set_permissions(
        &program,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .map_err(|e| Error::io(program.display(), e))?;
    write(
        &root.join(format!("usr/share/doc/{APP}/README")),
        b"The demo app of debpull.\n",
    )?;
    let output = dir.join(format!("{APP}_{version}_amd64.deb"));
    Builder::new(&root)
        .field("Package", APP)
        .field("Version", version)
        .field("Architecture", "amd64")
        .field("Maintainer", "Demo <demo@example.org>")
        .field("Section", "misc")
        .field("Priority", "optional")
        .field(
            "Description",
            "demo app\n Built by debpull's local_repository example.",
        )
        .mtime(1_700_000_000)
        .write_file(&output)?;
    Ok(output)
}

fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).map_err(|e| Error::io(path.display(), e))
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent.display(), e))?;
    }
    std::fs::write(path, bytes).map_err(|e| Error::io(path.display(), e))
}
