//! Installing a verified `.deb` with the configured [`Installer`], confirming
//! the installed version afterwards, and the health check.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use tokio::process::Command;

use super::{Installer, installed_version};
use crate::error::{Error, ErrorKind, Result};
use crate::version::Version;

/// How much of a failing command's output goes into the error message, per stream.
const OUTPUT_TAIL: usize = 2000;

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

/// Installs `deb` (`name` at `version`) and confirms that dpkg's status file
/// then says `version`. `downgrade`: the version is lower than the installed one.
pub(crate) async fn install(
    installer: &Installer,
    target: Target<'_>,
    deb: &Path,
    name: &str,
    version: &Version,
    downgrade: bool,
) -> Result<()> {
    let deb = std::path::absolute(deb).map_err(|e| Error::io(deb.display(), e))?;
    let admin_dir = target.admin_dir;
    let mut command = match installer {
        Installer::Dpkg => {
            let mut c = Command::new("dpkg");
            if let Some(root) = target.root {
                c.arg(opt("--root=", root));
            }
            c.arg(opt("--admindir=", admin_dir)).arg("-i").arg(&deb);
            c
        }
        Installer::Apt => {
            let mut c = Command::new("apt-get");
            c.args(["install", "-y", "-q"]);
            if downgrade {
                c.arg("--allow-downgrades");
            }
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
    let output = command
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| Error::io(&what, e))?;
    if !output.status.success() {
        return Err(failed(&what, &output));
    }
    let now = installed_version(admin_dir, name)?;
    if now.as_ref() != Some(version) {
        return Err(Error::new(
            ErrorKind::Verification,
            format!(
                "{what}: the installer succeeded but {} says {}",
                super::status_path(admin_dir).display(),
                now.map_or("it is not installed".to_owned(), |v| format!(
                    "version {v} is installed"
                ))
            ),
        ));
    }
    Ok(())
}

/// Runs the health check `argv`: it passes when it exits 0 within `timeout`.
pub(crate) async fn health_check(argv: &[String], timeout: Duration) -> Result<()> {
    let Some((program, args)) = argv.split_first() else {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "the health check command is empty",
        ));
    };
    let what = format!("health check {argv:?}");
    let child = Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(timeout, child).await {
        Err(_) => Err(Error::new(
            ErrorKind::Verification,
            format!("{what} did not finish within {timeout:?}: killed"),
        )),
        Ok(Err(e)) => Err(Error::io(&what, e)),
        Ok(Ok(output)) if output.status.success() => Ok(()),
        Ok(Ok(output)) => Err(failed(&what, &output)),
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

/// The error of a command that exited unsuccessfully, with the end of its output.
fn failed(what: &str, output: &Output) -> Error {
    let mut message = format!("{what} failed ({})", output.status);
    for (stream, bytes) in [("stderr", &output.stderr), ("stdout", &output.stdout)] {
        let text = String::from_utf8_lossy(tail(bytes));
        let text = text.trim();
        if !text.is_empty() {
            let cut = if bytes.len() > OUTPUT_TAIL { "..." } else { "" };
            message.push_str(&format!("; {stream}: {cut}{text}"));
        }
    }
    Error::new(ErrorKind::Io, message)
}

fn tail(bytes: &[u8]) -> &[u8] {
    &bytes[bytes.len().saturating_sub(OUTPUT_TAIL)..]
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn long_output_is_cut_to_its_end() {
        let output = Output {
            status: std::process::ExitStatus::default(),
            stdout: Vec::new(),
            stderr: [vec![b'a'; 10_000], b"the end".to_vec()].concat(),
        };
        let err = failed("x", &output);
        assert!(err.to_string().ends_with("the end"), "{err}");
        assert!(err.to_string().len() < OUTPUT_TAIL + 100);
    }
}
