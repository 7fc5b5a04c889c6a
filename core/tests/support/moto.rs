//! moto (a fake of S3, IAM and STS) in server mode on a free loopback port, for
//! the S3 tests: `python3` runs `moto_host.py` (next to this file, embedded with
//! `include_str!`), which starts `moto.server.ThreadedMotoServer` on 127.0.0.1
//! with a port the kernel picks and prints it; ready in well under a second.
//!
//! ```ignore
//! let moto = moto::Moto::shared();             // one server per test binary
//! let bucket = moto.create_bucket("publish");  // "publish-7": fresh, so tests stay apart
//! // endpoint http://127.0.0.1:PORT, region us-east-1, path-style, moto.credentials()
//! ```
//!
//! Lifetime: the Rust handle keeps the child's stdin pipe open and the script exits
//! at EOF on it, so the server dies with the test process however that dies
//! (panic, `abort`, SIGKILL: the kernel closes the pipe; no destructor needed).
//! Dropping a [`Moto`] kills its server at once. The [`Moto::shared`] servers live
//! in statics and end with the process.
//!
//! Two kinds of server:
//! - [`Moto::start`] / [`Moto::shared`]: no authentication. moto accepts any
//!   signature and any key; [`Moto::credentials`] are fixed fake ones. Anonymous
//!   (unsigned) GET/HEAD of an object still honours its ACL (public-read: 200,
//!   private: 403) and a bucket policy, but anonymous bucket listings and anonymous
//!   PUTs are accepted: on this server only objects are access-checked.
//! - [`Moto::start_with_auth`] / [`Moto::shared_with_auth`]: authentication on
//!   (moto's `INITIAL_NO_AUTH_ACTION_COUNT`). Before switching it on, the script
//!   creates an IAM user allowed `s3:*` ([`Moto::credentials`]), a role allowed
//!   `s3:*` and a session of it from `sts:AssumeRole` ([`AuthKeys::role`]: key,
//!   secret and session token, what an EC2 instance profile hands out through IMDS)
//!   and a user without permissions ([`AuthKeys::no_permission`]). Then a wrong
//!   secret gets 403 `SignatureDoesNotMatch`, an unknown key 403
//!   `InvalidAccessKeyId`, a wrong session token 400 `InvalidToken`, the
//!   permission-less user 403 `AccessDenied`. Anonymous GET/HEAD is served only for
//!   objects with a public-read ACL or under a public-read bucket policy
//!   ([`Moto::public_read`]); every other anonymous request gets 403 (moto 5.2
//!   answers these with a 500; `moto_host.py` patches that one path, see there).
//!
//! Buckets, policies and [`Moto::reset`] go through the script (boto3, signed with
//! [`Moto::credentials`]), so they work on both kinds. Tests needing signed S3
//! requests use the S3 backend or `curl --aws-sigv4` (moto wants an
//! `x-amz-content-sha256` header on signed requests).
//!
//! Limits: state is in memory; one server handles requests on a thread each (it
//! held 16 concurrent writers); moto's S3 is a model of S3, not S3.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

/// What to install when the server can't start.
pub const INSTALL_HINT: &str = "the S3 tests need moto in server mode for python3: \
     python3 -m pip install 'moto[server]>=5.2.5,<6' (scripts/setup installs it)";

/// The region every bucket is created in.
pub const REGION: &str = "us-east-1";

const HOST_SCRIPT: &str = include_str!("moto_host.py");

/// An access key, its secret and, for temporary credentials, a session token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// `AKIA...` (a user's key) or `ASIA...` (a role session's).
    pub access_key_id: String,
    /// The secret key.
    pub secret_access_key: String,
    /// The session token of temporary credentials.
    pub session_token: Option<String>,
}

/// The extra identities of an auth-enabled server.
#[derive(Clone, Debug)]
pub struct AuthKeys {
    /// The role name an instance profile would report.
    pub role_name: String,
    /// A session of that role (allowed `s3:*`), with its session token.
    pub role: Credentials,
    /// A valid user without any permission.
    pub no_permission: Credentials,
}

/// A moto server, its child process and the line protocol to its script.
pub struct Moto {
    port: u16,
    pid: u32,
    credentials: Credentials,
    auth: Option<AuthKeys>,
    control: Mutex<Control>,
}

struct Control {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let control = self.control.get_mut().unwrap_or_else(|e| e.into_inner());
        control.stdin.take();
        let _ = control.child.kill();
        let _ = control.child.wait();
    }
}

static BUCKETS: AtomicU64 = AtomicU64::new(1);

impl Moto {
    /// A new server without authentication.
    pub fn start() -> Moto {
        Moto::launch(false, false)
    }

    /// A new server with authentication on (see the module docs).
    pub fn start_with_auth() -> Moto {
        Moto::launch(true, false)
    }

    /// A new server without authentication that ignores If-Match and
    /// If-None-Match on writes, as some S3-compatible stores do.
    pub fn start_ignoring_conditions() -> Moto {
        Moto::launch(false, true)
    }

    /// The no-auth server shared by the tests of this binary (started on first use).
    pub fn shared() -> &'static Moto {
        static SHARED: OnceLock<Moto> = OnceLock::new();
        SHARED.get_or_init(Moto::start)
    }

    /// The auth-enabled server shared by the tests of this binary.
    pub fn shared_with_auth() -> &'static Moto {
        static SHARED: OnceLock<Moto> = OnceLock::new();
        SHARED.get_or_init(Moto::start_with_auth)
    }

    fn launch(auth: bool, ignore_conditions: bool) -> Moto {
        let mut command = Command::new("python3");
        command.arg("-c").arg(HOST_SCRIPT);
        if auth {
            command.arg("--auth");
        }
        if ignore_conditions {
            command.arg("--ignore-conditions");
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run python3 ({e}); {INSTALL_HINT}"));
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        let _ = stdout.read_line(&mut line);
        let words: Vec<&str> = line.split_whitespace().collect();
        let expected = if auth { 9 } else { 2 };
        if words.first() != Some(&"ready") || words.len() != expected {
            let _ = child.kill();
            let _ = child.wait();
            panic!("moto did not start (it said {line:?}; its errors are above); {INSTALL_HINT}");
        }
        let port = words[1].parse().expect("moto's port");
        let key = |i: usize, token: Option<usize>| Credentials {
            access_key_id: words[i].to_owned(),
            secret_access_key: words[i + 1].to_owned(),
            session_token: token.map(|t| words[t].to_owned()),
        };
        let (credentials, keys) = if auth {
            let keys = AuthKeys {
                role_name: "debpull-instance".to_owned(),
                role: key(4, Some(6)),
                no_permission: key(7, None),
            };
            (key(2, None), Some(keys))
        } else {
            let fake = Credentials {
                access_key_id: "AKIAIOSFODNN7EXAMPLE".to_owned(),
                secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_owned(),
                session_token: None,
            };
            (fake, None)
        };
        Moto {
            port,
            pid: child.id(),
            credentials,
            auth: keys,
            control: Mutex::new(Control {
                child,
                stdin,
                stdout,
            }),
        }
    }

    /// `http://127.0.0.1:PORT`, for path-style requests.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The process id of the server (the python3 child).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// `http://127.0.0.1:PORT/BUCKET`: the base URL of a bucket for plain HTTP GETs (apt).
    pub fn bucket_url(&self, bucket: &str) -> String {
        format!("{}/{bucket}", self.endpoint())
    }

    /// Credentials allowed everything on S3 (fixed fake ones without auth).
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The role session and the permission-less user of an auth-enabled server.
    pub fn auth(&self) -> Option<&AuthKeys> {
        self.auth.as_ref()
    }

    /// Creates a new bucket named `PREFIX-N` (N unique in this process) and returns
    /// its name. `prefix`: 1 to 40 of `a-z 0-9 -`, starting with a letter or digit.
    pub fn create_bucket(&self, prefix: &str) -> String {
        let valid = !prefix.is_empty()
            && prefix.len() <= 40
            && prefix.as_bytes()[0].is_ascii_alphanumeric()
            && prefix
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        assert!(valid, "bucket prefix {prefix:?}: use 1-40 of a-z 0-9 -");
        let name = format!("{prefix}-{}", BUCKETS.fetch_add(1, Ordering::Relaxed));
        self.command(&format!("create_bucket {name}"))
            .unwrap_or_else(|e| panic!("create bucket {name}: {e}"));
        name
    }

    /// Lets anyone GET and HEAD the objects of `bucket` under `prefix` ("" = all)
    /// without signing, through a bucket policy (replacing any earlier one).
    /// Objects uploaded with a public-read ACL need no policy.
    pub fn public_read(&self, bucket: &str, prefix: &str) {
        assert!(
            !bucket.contains(char::is_whitespace) && !prefix.contains(char::is_whitespace),
            "bucket {bucket:?} or prefix {prefix:?} with whitespace"
        );
        let prefix = if prefix.is_empty() { "-" } else { prefix };
        self.command(&format!("public_read {bucket} {prefix}"))
            .unwrap_or_else(|e| panic!("public-read policy on {bucket}/{prefix}: {e}"));
    }

    /// Wipes every bucket (`POST /moto-api/reset`). Only on a server of your own:
    /// never on a shared one (other tests' buckets vanish), never with auth (the
    /// keys would vanish too).
    pub fn reset(&self) {
        assert!(
            self.auth.is_none(),
            "reset would delete the keys of an auth-enabled moto"
        );
        self.command("reset")
            .unwrap_or_else(|e| panic!("moto reset: {e}"));
    }

    /// Sends one command line to the script; its `ok` value or `err` message.
    fn command(&self, line: &str) -> Result<String, String> {
        let mut control = self.control.lock().unwrap_or_else(|e| e.into_inner());
        let control = &mut *control;
        let stdin = control.stdin.as_mut().expect("moto's stdin");
        writeln!(stdin, "{line}")
            .and_then(|_| stdin.flush())
            .unwrap_or_else(|e| panic!("moto (pid {}) is gone: {e}", self.pid));
        let mut answer = String::new();
        control
            .stdout
            .read_line(&mut answer)
            .unwrap_or_else(|e| panic!("moto (pid {}) is gone: {e}", self.pid));
        let answer = answer.trim_end();
        if answer == "ok" {
            Ok(String::new())
        } else if let Some(value) = answer.strip_prefix("ok ") {
            Ok(value.to_owned())
        } else if let Some(message) = answer.strip_prefix("err ") {
            Err(message.to_owned())
        } else {
            panic!("moto (pid {}) answered {answer:?} to {line:?}", self.pid)
        }
    }
}
