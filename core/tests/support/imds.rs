//! A fake EC2 instance metadata service (IMDSv2) on loopback, handing out an
//! instance role's credentials, so the S3 tests can run the SDK's instance-role
//! path against moto.
//!
//! ```ignore
//! let moto = Moto::shared_with_auth();
//! let keys = moto.auth().unwrap();
//! let role = &keys.role;
//! let token = role.session_token.as_deref().unwrap();
//! let imds = Imds::start(&keys.role_name, &role.access_key_id, &role.secret_access_key, token);
//! // in the process under test (no AWS_* key variables, no config files):
//! //   AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.endpoint()
//! //   AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent
//! assert!(imds.hits(&imds.credentials_path()) >= 1);   // the role path was used
//! ```
//!
//! It answers what aws-config asks (checked in its source, 1.8.1 to 1.13):
//! - `PUT /latest/api/token` with header `x-aws-ec2-metadata-token-ttl-seconds`
//!   (1 to 21600): a token, echoing the TTL in the same response header (the SDK
//!   needs it); without the header or with a bad value: 400.
//! - `GET /latest/meta-data/iam/security-credentials/`: the role name.
//! - `GET /latest/meta-data/iam/security-credentials/<role>`: JSON with `Code`
//!   "Success", `LastUpdated`, `Type` "AWS-HMAC", `AccessKeyId`, `SecretAccessKey`,
//!   `Token`, `Expiration` an hour ahead (RFC 3339, UTC).
//! - GETs without a token this server issued in `x-aws-ec2-metadata-token`: 401.
//! - Anything else: 404. That includes `.../security-credentials-extended/`
//!   (the "IMDS credentials 2.1" API that aws-config 1.8.0 alone asked first; it
//!   fell back to the paths above on 404, and 1.8.1 removed it again).
//!
//! Every request is recorded (method, path, status): [`Imds::hits`] counts the
//! requests to a path. Limits: tokens never expire; no IMDSv1 (token-less GETs are
//! refused, as on an instance that requires IMDSv2); only the paths above.

// Its own copy, so this file can be included alone (http1 is small).
#[allow(dead_code, clippy::duplicate_mod)]
#[path = "http1.rs"]
mod http1;

use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One request the service answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// `GET` or `PUT`...
    pub method: String,
    /// The path, without query.
    pub path: String,
    /// The status answered.
    pub status: u16,
}

struct Shared {
    role: String,
    access_key_id: String,
    secret_access_key: String,
    token: String,
    issued: Mutex<Vec<String>>,
    log: Mutex<Vec<Request>>,
    stop: AtomicBool,
}

/// The fake metadata service: a listener on 127.0.0.1 and a thread per connection.
pub struct Imds {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl Drop for Imds {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// The path listing the role.
pub const ROLE_LIST_PATH: &str = "/latest/meta-data/iam/security-credentials/";
/// The token path.
pub const TOKEN_PATH: &str = "/latest/api/token";

impl Imds {
    /// A service reporting instance role `role` whose credentials are this key,
    /// secret and session token (e.g. the parts of moto's `AuthKeys::role`).
    pub fn start(
        role: &str,
        access_key_id: &str,
        secret_access_key: &str,
        session_token: &str,
    ) -> Imds {
        assert!(
            !role.is_empty() && !role.contains(['/', '?', '"', '\\']),
            "role name {role:?}"
        );
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared {
            role: role.to_owned(),
            access_key_id: access_key_id.to_owned(),
            secret_access_key: secret_access_key.to_owned(),
            token: session_token.to_owned(),
            issued: Mutex::new(Vec::new()),
            log: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
        });
        let accepting = Arc::clone(&shared);
        let acceptor = std::thread::Builder::new()
            .name("imds".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if accepting.stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(stream) = stream else { continue };
                    let serving = Arc::clone(&accepting);
                    let _ = std::thread::Builder::new()
                        .name("imds-conn".into())
                        .spawn(move || serve(stream, &serving));
                }
            })
            .expect("spawn the IMDS thread");
        Imds {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// `http://127.0.0.1:PORT`: the value for `AWS_EC2_METADATA_SERVICE_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The path of the role's credentials.
    pub fn credentials_path(&self) -> String {
        format!("{ROLE_LIST_PATH}{}", self.shared.role)
    }

    /// How many requests reached `path` (any method, any status).
    pub fn hits(&self, path: &str) -> usize {
        self.requests().iter().filter(|r| r.path == path).count()
    }

    /// Every request answered so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.shared
            .log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

fn serve(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
    let _ = stream.set_nodelay(true);
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    while !shared.stop.load(Ordering::SeqCst) {
        let Ok(Some(head)) = http1::read_head(&mut reader) else {
            return;
        };
        if http1::request_framing(&head)
            .and_then(|f| http1::read_body(&mut reader, f))
            .is_err()
        {
            return;
        }
        let (status, headers, body) = answer(shared, &head);
        shared
            .log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Request {
                method: head.method().to_owned(),
                path: head.path().to_owned(),
                status,
            });
        let mut all: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        all.push(("Server", "EC2ws"));
        if !head.keep_alive() {
            all.push(("Connection", "close"));
        }
        let reason = match status {
            200 => "OK",
            400 => "Bad Request",
            401 => "Unauthorized",
            404 => "Not Found",
            _ => "Method Not Allowed",
        };
        let response = http1::response(status, reason, &all, body.as_bytes(), head.method());
        if writer.write_all(&response).is_err() || !head.keep_alive() {
            return;
        }
    }
}

type Answer = (u16, Vec<(&'static str, String)>, String);

fn answer(shared: &Shared, head: &http1::Head) -> Answer {
    let text = |status, body: &str| {
        (
            status,
            vec![("Content-Type", "text/plain".to_owned())],
            body.to_owned(),
        )
    };
    let path = head.path();
    let method = head.method();
    if path == TOKEN_PATH {
        if method != "PUT" {
            return text(405, "");
        }
        let ttl = head
            .header("x-aws-ec2-metadata-token-ttl-seconds")
            .and_then(|v| v.parse::<u32>().ok());
        let Some(ttl) = ttl.filter(|t| (1..=21_600).contains(t)) else {
            return text(400, "");
        };
        let mut issued = shared.issued.lock().unwrap_or_else(|e| e.into_inner());
        let token = format!(
            "debpull-imds-token-{}-{}",
            std::process::id(),
            issued.len() + 1
        );
        issued.push(token.clone());
        let mut answer = text(200, &token);
        answer
            .1
            .push(("x-aws-ec2-metadata-token-ttl-seconds", ttl.to_string()));
        return answer;
    }
    if method != "GET" && method != "HEAD" {
        return text(405, "");
    }
    let token_ok = head.header("x-aws-ec2-metadata-token").is_some_and(|t| {
        shared
            .issued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|i| i == t)
    });
    if !token_ok {
        return text(401, "");
    }
    if path == ROLE_LIST_PATH {
        return text(200, &shared.role);
    }
    if path.strip_prefix(ROLE_LIST_PATH) == Some(shared.role.as_str()) {
        let now = SystemTime::now();
        let json = format!(
            "{{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : \"{}\",\n  \"Type\" : \"AWS-HMAC\",\n  \
             \"AccessKeyId\" : \"{}\",\n  \"SecretAccessKey\" : \"{}\",\n  \"Token\" : \"{}\",\n  \
             \"Expiration\" : \"{}\"\n}}",
            rfc3339(now),
            json_escape(&shared.access_key_id),
            json_escape(&shared.secret_access_key),
            json_escape(&shared.token),
            rfc3339(now + Duration::from_secs(3600)),
        );
        return text(200, &json);
    }
    text(404, "")
}

fn json_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| match c {
            '"' | '\\' => vec!['\\', c],
            c if (c as u32) < 0x20 => format!("\\u{:04x}", c as u32).chars().collect(),
            c => vec![c],
        })
        .collect()
}

/// `YYYY-MM-DDTHH:MM:SSZ` for `time` (UTC), by the civil-from-days algorithm.
pub fn rfc3339(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}
