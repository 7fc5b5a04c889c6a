//! The real `apt-get` with a private configuration: its state, cache, sources
//! and trusted keys in a temporary directory, never the system's.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// An apt configuration of its own, with one source.
pub struct PrivateApt {
    pub dir: PathBuf,
    config: PathBuf,
}

impl PrivateApt {
    /// A configuration under `dir` whose only source is `source_line`
    /// (e.g. `deb [signed-by=/k.asc] file:/repo staging main`).
    pub fn new(dir: &Path, source_line: &str) -> PrivateApt {
        for sub in [
            "state/lists/partial",
            "cache/archives/partial",
            "etc/sources.list.d",
            "etc/trusted.gpg.d",
            "etc/preferences.d",
            "etc/apt.conf.d",
            "log",
        ] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        std::fs::write(dir.join("status"), "").unwrap();
        std::fs::write(dir.join("etc/sources.list"), format!("{source_line}\n")).unwrap();
        let d = dir.display();
        let config = dir.join("apt.conf");
        std::fs::write(
            &config,
            format!(
                "Dir::State \"{d}/state\";\n\
                 Dir::State::status \"{d}/status\";\n\
                 Dir::Cache \"{d}/cache\";\n\
                 Dir::Log \"{d}/log\";\n\
                 Dir::Etc::SourceList \"{d}/etc/sources.list\";\n\
                 Dir::Etc::SourceParts \"{d}/etc/sources.list.d\";\n\
                 Dir::Etc::Trusted \"{d}/etc/trusted.gpg\";\n\
                 Dir::Etc::TrustedParts \"{d}/etc/trusted.gpg.d\";\n\
                 Dir::Etc::Preferences \"{d}/etc/preferences\";\n\
                 Dir::Etc::PreferencesParts \"{d}/etc/preferences.d\";\n\
                 Dir::Etc::Parts \"{d}/etc/apt.conf.d\";\n\
                 APT::Architecture \"amd64\";\n\
                 APT::Architectures {{ \"amd64\"; }};\n\
                 Acquire::Languages \"none\";\n\
                 APT::Sandbox::User \"root\";\n"
            ),
        )
        .unwrap();
        PrivateApt {
            dir: dir.to_owned(),
            config,
        }
    }

    /// Runs `apt-get` with this configuration and `args`.
    pub fn apt_get(&self, args: &[&str]) -> Output {
        Command::new("apt-get")
            .args(["-q", "-o", "Debug::NoLocking=1"])
            .args(args)
            .env("APT_CONFIG", &self.config)
            .env("LC_ALL", "C")
            .output()
            .expect("run apt-get (package apt)")
    }

    /// `apt-get update`: Ok with its output, or Err with it.
    pub fn update(&self) -> Result<String, String> {
        let out = self.apt_get(&["update"]);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // apt-get update exits 0 on some signature problems; its "W:"/"E:" lines tell.
        if out.status.success()
            && !text.contains("\nE:")
            && !text.contains("\nW:")
            && !text.starts_with("E:")
        {
            Ok(text)
        } else {
            Err(text)
        }
    }

    /// `apt-get install --download-only PACKAGE`; returns the names of the .debs
    /// apt put into its archive cache.
    pub fn download(&self, package: &str) -> Result<Vec<String>, String> {
        let out = self.apt_get(&["install", "-y", "--download-only", package]);
        if !out.status.success() {
            return Err(format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let mut debs: Vec<String> = std::fs::read_dir(self.dir.join("cache/archives"))
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".deb"))
            .collect();
        debs.sort();
        Ok(debs)
    }

    /// The candidate version apt picks for `package` (`apt-cache policy`).
    pub fn candidate(&self, package: &str) -> Option<String> {
        let out = Command::new("apt-cache")
            .args(["policy", package])
            .env("APT_CONFIG", &self.config)
            .env("LC_ALL", "C")
            .output()
            .expect("run apt-cache");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("Candidate:")
                    .map(|v| v.trim().to_owned())
            })
            .filter(|v| v != "(none)")
    }
}
