//! Installing a verified `.deb` with the configured [`Installer`], confirming
//! dpkg's state afterwards, and the health check.
//!
//! Both commands run in a process group of their own, stdin `/dev/null`. A
//! run waits for the command to exit, not for its output to close (a process
//! it left in the background may hold it). An installer's output goes to
//! deleted temporary files whose last [`OUTPUT_TAIL`] bytes are read after it
//! exited: a daemon a maintainer script started may go on writing there (it
//! never meets a closed pipe: no SIGPIPE). A health check's output goes
//! through pipes drained for at most [`DRAIN`] after it exited; only the last
//! [`OUTPUT_TAIL`] bytes of each stream are kept while reading. Past its timeout the group gets SIGTERM and, after
//! [`GRACE`], SIGKILL. Whatever a health check leaves running in its group is
//! killed when it ends; what an installer leaves is not (a maintainer script
//! may start a daemon). dpkg is told to keep locally changed conffiles
//! (`--force-confdef --force-confold`: it never prompts), apt also never to
//! remove another package (`--no-remove`).

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::process::Command;

use super::{Installer, installed_package};
use crate::error::{Error, ErrorKind, Result};
use crate::version::Version;

/// How much of a command's output is kept (and goes into an error message), per stream.
const OUTPUT_TAIL: usize = 2000;
/// How long the output is still read after the command exited.
const DRAIN: Duration = Duration::from_secs(1);
/// How long a command's group has between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(5);

/// Where a package is installed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target<'a> {
    /// dpkg's administrative directory.
    pub admin_dir: &'a Path,
    /// dpkg's `--root`, if not `/`.
    pub root: Option<&'a Path>,
    /// `APT_CONFIG` for the apt installer.
    pub apt_config: Option<&'a Path>,
}

/// What an install may do besides installing.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Allow {
    /// The version is lower than the installed one.
    pub downgrade: bool,
    /// The package is on hold and a pin asks for this version (apt's
    /// `--allow-change-held-packages`).
    pub held: bool,
}

/// Installs `deb` (`name` at `version`) and confirms that dpkg's status file
/// then says `version`, `ok installed`. The installer is stopped (its process
/// group SIGTERMed, then SIGKILLed) after `timeout`. An installer failing
/// because another process holds dpkg's lock is an
/// [`ErrorKind::ConcurrentUpdate`] error.
pub(crate) async fn install(
    installer: &Installer,
    target: Target<'_>,
    deb: &Path,
    name: &str,
    version: &Version,
    allow: Allow,
    timeout: Duration,
) -> Result<()> {
    let deb = std::path::absolute(deb).map_err(|e| Error::io(deb.display(), e))?;
    let admin_dir = target.admin_dir;
    let mut command = match installer {
        Installer::Dpkg => {
            let mut c = system_command("dpkg");
            if let Some(root) = target.root {
                c.arg(opt("--root=", root));
            }
            c.arg(opt("--admindir=", admin_dir))
                .args(["--force-confdef", "--force-confold", "-i"])
                .arg(&deb);
            c
        }
        Installer::Apt => {
            let mut c = Command::new("apt-get");
            c.env("PATH", system_path(std::env::var_os("PATH"))).args([
                "install",
                "-y",
                "-q",
                "--no-remove",
            ]);
            if allow.downgrade {
                c.arg("--allow-downgrades");
            }
            if allow.held {
                c.arg("--allow-change-held-packages");
            }
            c.args([
                "-o",
                "Dpkg::Options::=--force-confdef",
                "-o",
                "Dpkg::Options::=--force-confold",
            ]);
            c.arg("-o")
                .arg(opt("Dir::State::status=", &admin_dir.join("status")));
            if let Some(root) = target.root {
                c.arg("-o").arg(opt("DPkg::Options::=--root=", root));
            }
            c.arg("-o")
                .arg(opt("DPkg::Options::=--admindir=", admin_dir))
                .arg(&deb)
                .env("DEBIAN_FRONTEND", "noninteractive");
            if let Some(config) = target.apt_config {
                c.env("APT_CONFIG", config);
            }
            c
        }
        Installer::Command(argv) => {
            let Some((program, args)) = argv.split_first() else {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    "the installer command is empty",
                ));
            };
            let mut c = Command::new(program);
            c.args(args)
                .arg(&deb)
                .env("DEBPULL_PACKAGE", name)
                .env("DEBPULL_VERSION", version.as_str())
                .env("DEBPULL_ADMIN_DIR", admin_dir);
            if let Some(root) = target.root {
                c.env("DEBPULL_ROOT", root);
            }
            c
        }
    };
    let what = format!(
        "installing {name} {version} ({})",
        installer_name(installer)
    );
    let output = run(&mut command, &what, timeout, false).await?;
    if !output.status.success() {
        let error = failed(&what, &output);
        if dpkg_lock_held(&output) {
            return Err(error.with_kind(ErrorKind::ConcurrentUpdate));
        }
        return Err(error);
    }
    let now = installed_package(admin_dir, name)?;
    match &now {
        Some(p) if p.version == *version && p.is_configured() => Ok(()),
        _ => Err(Error::new(
            ErrorKind::Verification,
            format!(
                "{what}: the installer succeeded but {} says {}",
                super::status_path(admin_dir).display(),
                now.map_or("it is not installed".to_owned(), |p| format!(
                    "version {} is installed ({})",
                    p.version, p.status
                ))
            ),
        )),
    }
}

/// Runs the health check `argv`: it passes when it exits 0 within `timeout`.
/// What it leaves running is killed.
pub(crate) async fn health_check(argv: &[String], timeout: Duration) -> Result<()> {
    let Some((program, args)) = argv.split_first() else {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "the health check command is empty",
        ));
    };
    let what = format!("health check {argv:?}");
    let mut command = Command::new(program);
    command.args(args);
    let output = run(&mut command, &what, timeout, true).await?;
    if output.status.success() {
        Ok(())
    } else {
        Err(failed(&what, &output))
    }
}

/// The end of one output stream of a command.
#[derive(Debug, Default)]
struct Tail {
    /// The last bytes read (at most [`OUTPUT_TAIL`] once finished).
    bytes: Vec<u8>,
    /// How many bytes were read in all.
    total: u64,
}

/// How a command ended.
#[derive(Debug)]
struct Captured {
    status: ExitStatus,
    stdout: Tail,
    stderr: Tail,
}

/// Runs `command` in its own process group (see the module documentation).
/// A timeout is a [`ErrorKind::Verification`] error saying so.
async fn run(
    command: &mut Command,
    what: &str,
    timeout: Duration,
    kill_leftovers: bool,
) -> Result<Captured> {
    command
        .stdin(Stdio::null())
        .process_group(0)
        .kill_on_drop(false);
    if kill_leftovers {
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        run_piped(command, what, timeout).await
    } else {
        run_to_files(command, what, timeout).await
    }
}

/// Runs an installer with its output going to deleted temporary files, read
/// back after it exited: a process it leaves behind (a daemon a maintainer
/// script started) may go on writing, never to a closed pipe (SIGPIPE).
async fn run_to_files(command: &mut Command, what: &str, timeout: Duration) -> Result<Captured> {
    let io = |e| Error::io(what, e);
    let out = output_file().map_err(io)?;
    let err = output_file().map_err(io)?;
    command
        .stdout(out.try_clone().map_err(io)?)
        .stderr(err.try_clone().map_err(io)?);
    let mut child = command.spawn().map_err(io)?;
    let group = child.id();
    let status = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(status) => status.map_err(io)?,
        Err(_) => return Err(stop(&mut child, group, what, timeout).await),
    };
    Ok(Captured {
        status,
        stdout: file_tail(&out).map_err(io)?,
        stderr: file_tail(&err).map_err(io)?,
    })
}

/// A fresh `0600` file in the temporary directory with no name (`O_TMPFILE`;
/// where not supported, created and deleted at once).
fn output_file() -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = std::env::temp_dir();
    let tmpfile = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_TMPFILE)
        .open(&dir);
    if let Ok(file) = tmpfile {
        return Ok(file);
    }
    let name = dir.join(format!(
        "debpull-output-{}-{:x}",
        std::process::id(),
        rand::Rng::r#gen::<u64>(&mut rand::rngs::OsRng)
    ));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&name)?;
    std::fs::remove_file(&name)?;
    Ok(file)
}

/// The last [`OUTPUT_TAIL`] bytes written to `file` so far.
fn file_tail(file: &std::fs::File) -> std::io::Result<Tail> {
    use std::os::unix::fs::FileExt;
    let total = file.metadata()?.len();
    let from = total.saturating_sub(OUTPUT_TAIL as u64);
    let mut bytes = vec![0u8; (total - from) as usize];
    let n = file.read_at(&mut bytes, from)?;
    bytes.truncate(n);
    Ok(Tail { bytes, total })
}

/// Stops a command past its timeout: SIGTERM to its group, SIGKILL after
/// [`GRACE`]; the error saying so.
async fn stop(
    child: &mut tokio::process::Child,
    group: Option<u32>,
    what: &str,
    timeout: Duration,
) -> Error {
    signal_group(group, libc::SIGTERM);
    if tokio::time::timeout(GRACE, child.wait()).await.is_err() {
        signal_group(group, libc::SIGKILL);
        let _ = child.wait().await;
    }
    signal_group(group, libc::SIGKILL);
    Error::new(
        ErrorKind::Verification,
        format!("{what} did not finish within {timeout:?}: killed"),
    )
}

/// Runs a health check with its output on pipes (what it leaves is killed).
async fn run_piped(command: &mut Command, what: &str, timeout: Duration) -> Result<Captured> {
    let mut child = command.spawn().map_err(|e| Error::io(what, e))?;
    let group = child.id();
    let stdout = Arc::new(Mutex::new(Tail::default()));
    let stderr = Arc::new(Mutex::new(Tail::default()));
    let mut readers = [
        tokio::spawn(read_tail(child.stdout.take(), stdout.clone())),
        tokio::spawn(read_tail(child.stderr.take(), stderr.clone())),
    ];
    let status = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(status) => status.map_err(|e| Error::io(what, e))?,
        Err(_) => {
            let error = stop(&mut child, group, what, timeout).await;
            for reader in &readers {
                reader.abort();
            }
            return Err(error);
        }
    };
    signal_group(group, libc::SIGKILL);
    for reader in &mut readers {
        if tokio::time::timeout(DRAIN, &mut *reader).await.is_err() {
            reader.abort();
        }
    }
    let take =
        |tail: &Mutex<Tail>| std::mem::take(&mut *tail.lock().unwrap_or_else(|p| p.into_inner()));
    Ok(Captured {
        status,
        stdout: take(&stdout),
        stderr: take(&stderr),
    })
}

/// Reads `stream` to its end into `tail`, keeping its last [`OUTPUT_TAIL`] bytes.
async fn read_tail(stream: Option<impl tokio::io::AsyncRead + Unpin>, tail: Arc<Mutex<Tail>>) {
    let Some(mut stream) = stream else { return };
    let mut buf = vec![0u8; 8192];
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 {
            break;
        }
        let mut tail = tail.lock().unwrap_or_else(|p| p.into_inner());
        tail.total = tail.total.saturating_add(n as u64);
        tail.bytes.extend_from_slice(&buf[..n]);
        let excess = tail.bytes.len().saturating_sub(OUTPUT_TAIL);
        tail.bytes.drain(..excess);
    }
}

/// Sends `signal` to the process group `group` (a child's id, the group's
/// leader since `process_group(0)`); a group already gone is not an error.
fn signal_group(group: Option<u32>, signal: libc::c_int) {
    let Some(group) = group
        .and_then(|g| libc::pid_t::try_from(g).ok())
        .filter(|g| *g > 1)
    else {
        return;
    };
    // SAFETY: killpg takes plain integers and touches no memory of ours; the
    // group is our child's (its id stays reserved while any member lives).
    unsafe {
        libc::killpg(group, signal);
    }
}

fn installer_name(installer: &Installer) -> String {
    match installer {
        Installer::Dpkg => "dpkg -i".into(),
        Installer::Apt => "apt-get install".into(),
        Installer::Command(argv) => format!("{argv:?}"),
    }
}

/// `--name=value` with a path value.
fn opt(name: &str, value: &Path) -> std::ffi::OsString {
    let mut s = std::ffi::OsString::from(name);
    s.push(value);
    s
}

/// Whether the installer's output says another process holds dpkg's lock
/// (dpkg: "database lock was locked", "frontend lock was locked"; apt:
/// "Could not get lock").
fn dpkg_lock_held(output: &Captured) -> bool {
    [&output.stderr, &output.stdout].iter().any(|tail| {
        let text = String::from_utf8_lossy(&tail.bytes);
        [
            "dpkg status database is locked",
            "dpkg database lock was locked",
            "dpkg frontend lock was locked",
            "dpkg frontend lock is locked",
            "Could not get lock",
        ]
        .iter()
        .any(|m| text.contains(m))
    })
}

/// A command for the system program `name` (dpkg, apt-get) with the system
/// directories in its `PATH` (see [`system_path`]). The program is looked up
/// here: given by its full path, it is started with `posix_spawn` (a changed
/// `PATH` and a bare name would make std fork the whole process instead).
fn system_command(name: &str) -> Command {
    let path = system_path(std::env::var_os("PATH"));
    let program = std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| name.into());
    let mut command = Command::new(program);
    command.env("PATH", path);
    command
}

/// `path` with the system directories dpkg needs (it runs `ldconfig` and
/// `start-stop-daemon` from them, and refuses when they are missing) added at
/// its end: cron starts jobs with `PATH=/usr/bin:/bin`.
fn system_path(path: Option<std::ffi::OsString>) -> std::ffi::OsString {
    let mut dirs: Vec<std::path::PathBuf> = path
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    for dir in [
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
    ] {
        if !dirs.iter().any(|d| d == Path::new(dir)) {
            dirs.push(dir.into());
        }
    }
    std::env::join_paths(dirs).unwrap_or_else(|_| "/usr/sbin:/usr/bin:/sbin:/bin".into())
}

/// The error of a command that exited unsuccessfully, with the end of its output.
fn failed(what: &str, output: &Captured) -> Error {
    let mut message = format!("{what} failed ({})", output.status);
    for (stream, tail) in [("stderr", &output.stderr), ("stdout", &output.stdout)] {
        let text = String::from_utf8_lossy(&tail.bytes);
        let text = text.trim();
        if !text.is_empty() {
            let cut = if tail.total > tail.bytes.len() as u64 {
                "..."
            } else {
                ""
            };
            message.push_str(&format!("; {stream}: {cut}{text}"));
        }
    }
    Error::new(ErrorKind::Io, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpkg_gets_the_system_directories_crons_path_lacks() {
        assert_eq!(
            system_path(Some("/usr/bin:/bin".into())),
            std::ffi::OsString::from(
                "/usr/bin:/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/sbin"
            )
        );
        let full = "/opt/x:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        assert_eq!(
            system_path(Some(full.into())),
            std::ffi::OsString::from(full)
        );
        assert_eq!(
            system_path(None),
            std::ffi::OsString::from(
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
            )
        );
    }

    #[tokio::test]
    async fn health_checks_pass_fail_and_time_out() {
        let ok = |s: &str| s.to_owned();
        health_check(&[ok("true")], Duration::from_secs(10))
            .await
            .unwrap();
        let err = health_check(
            &[ok("sh"), ok("-c"), ok("echo broken >&2; exit 3")],
            Duration::from_secs(10),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("broken"), "{err}");
        assert!(err.to_string().contains("exit status: 3"), "{err}");
        let err = health_check(&[ok("sleep"), ok("30")], Duration::from_millis(100))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("did not finish"), "{err}");
        let err = health_check(&[], Duration::from_secs(1)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }

    #[tokio::test]
    async fn long_output_is_cut_to_its_end_while_reading() {
        let argv = |s: &str| vec!["sh".to_owned(), "-c".to_owned(), s.to_owned()];
        let err = health_check(
            &argv("head -c 3000000 /dev/zero | tr '\\0' a >&2; echo the end >&2; exit 1"),
            Duration::from_secs(30),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().ends_with("the end"), "{err}");
        assert!(err.to_string().contains("stderr: ..."), "{err}");
        assert!(err.to_string().len() < OUTPUT_TAIL + 200);
    }

    /// A command leaving a grandchild that holds its output pipes: the run
    /// ends when the command exits, and the health check's leftovers are killed.
    #[tokio::test]
    async fn a_backgrounded_grandchild_neither_blocks_nor_survives_a_health_check() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let script = format!("sleep 300 & echo $! > '{}'; exit 0", pid_file.display());
        let argv = vec!["sh".to_owned(), "-c".to_owned(), script];
        let started = std::time::Instant::now();
        health_check(&argv, Duration::from_secs(20)).await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(15));
        assert_gone(&pid_file);
    }

    /// Waits a little for the process whose id is in `pid_file` to be gone
    /// (or a zombie): panics if it lives on.
    fn assert_gone(pid_file: &Path) {
        let pid = std::fs::read_to_string(pid_file).unwrap();
        let alive = || {
            std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()))
                .is_ok_and(|s| !s.contains(") Z "))
        };
        for _ in 0..100 {
            if !alive() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("process {pid} survived");
    }

    /// Past the timeout the whole group is killed, grandchildren included.
    #[tokio::test]
    async fn a_timeout_kills_the_group() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let script = format!("sleep 300 & echo $! > '{}'; wait", pid_file.display());
        let argv = vec!["sh".to_owned(), "-c".to_owned(), script];
        let err = health_check(&argv, Duration::from_millis(500))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("did not finish"), "{err}");
        assert_gone(&pid_file);
    }
}
