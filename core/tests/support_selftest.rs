//! Self-tests of the S3 test infrastructure in core/tests/support/: moto.rs (moto
//! in server mode, with and without authentication), fault_proxy.rs, imds.rs and
//! http1.rs. Independent peers check them: curl (its own SigV4 signer, its own
//! HTTP client), boto3 (botocore's IMDS client), `date` (timestamps), and raw
//! HTTP over std's TcpStream.

#[allow(dead_code)]
#[path = "support/fault_proxy.rs"]
mod fault_proxy;
#[allow(dead_code)]
#[path = "support/http1.rs"]
mod http1;
#[allow(dead_code)]
#[path = "support/imds.rs"]
mod imds;
#[allow(dead_code)]
#[path = "support/moto.rs"]
mod moto;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use debpull::checksum::{self, Algorithm, Algorithms};
use fault_proxy::{Fault, FaultProxy, Faults};
use imds::Imds;
use moto::{Credentials, Moto};

// ---------------------------------------------------------------- helpers

/// A raw HTTP/1.1 client connection.
struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    host: String,
}

impl Client {
    fn connect(endpoint: &str) -> Client {
        let host = endpoint
            .strip_prefix("http://")
            .expect("http://")
            .to_owned();
        let stream = TcpStream::connect(&host).unwrap_or_else(|e| panic!("connect {host}: {e}"));
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        Client {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
            host,
        }
    }

    /// Sends a request with a Content-Length body (for PUT/POST) and reads the response.
    fn send(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> io::Result<(http1::Head, http1::Body)> {
        let mut message = format!("{method} {target} HTTP/1.1\r\nHost: {}\r\n", self.host);
        for (name, value) in headers {
            message.push_str(&format!("{name}: {value}\r\n"));
        }
        if method == "PUT" || method == "POST" {
            message.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        message.push_str("\r\n");
        let mut bytes = message.into_bytes();
        bytes.extend_from_slice(body);
        self.send_raw(&bytes, method)
    }

    fn send_raw(&mut self, bytes: &[u8], method: &str) -> io::Result<(http1::Head, http1::Body)> {
        self.writer.write_all(bytes)?;
        http1::read_response(&mut self.reader, method)
    }
}

/// One request on a fresh connection: status and payload.
fn request(
    endpoint: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<u8>) {
    let (head, body) = Client::connect(endpoint)
        .send(method, target, headers, body)
        .unwrap_or_else(|e| panic!("{method} {endpoint}{target}: {e}"));
    (head.status(), body.data().into_owned())
}

/// An anonymous PUT of a public-read object (moto without auth takes it).
fn put_public(endpoint: &str, bucket: &str, key: &str, body: &[u8]) {
    let (status, answer) = request(
        endpoint,
        "PUT",
        &format!("/{bucket}/{key}"),
        &[
            ("Content-Type", "application/octet-stream"),
            ("x-amz-acl", "public-read"),
        ],
        body,
    );
    assert_eq!(
        status,
        200,
        "PUT {bucket}/{key}: {}",
        String::from_utf8_lossy(&answer)
    );
}

fn md5_hex(data: &[u8]) -> String {
    checksum::of_bytes(data, Algorithms::NONE.with(Algorithm::Md5))
        .hex(Algorithm::Md5)
        .unwrap()
}

/// The S3 error code in an XML error body.
fn error_code(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    text.split_once("<Code>")
        .and_then(|(_, rest)| rest.split_once("</Code>"))
        .map(|(code, _)| code.to_owned())
        .unwrap_or_default()
}

struct Curl {
    status: u16,
    body: Vec<u8>,
    exit: i32,
}

/// Runs curl with `args`; the status, body and exit code.
fn curl(args: &[&str]) -> Curl {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("body");
    let output = Command::new("curl")
        .args(["-s", "--max-time", "30", "-o"])
        .arg(&out)
        .args(["-w", "%{http_code}"])
        .args(args)
        .output()
        .expect("run curl (apt-get install curl)");
    Curl {
        status: String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .unwrap_or(0),
        body: std::fs::read(&out).unwrap_or_default(),
        exit: output.status.code().unwrap_or(-1),
    }
}

/// curl signing with SigV4 as `credentials` (adding the session token if any).
fn signed_curl(credentials: &Credentials, extra: &[&str]) -> Curl {
    let user = format!(
        "{}:{}",
        credentials.access_key_id, credentials.secret_access_key
    );
    let mut args = vec![
        "--aws-sigv4",
        "aws:amz:us-east-1:s3",
        "--user",
        &user,
        "-H",
        "x-amz-content-sha256: UNSIGNED-PAYLOAD",
    ];
    let token = credentials
        .session_token
        .as_ref()
        .map(|t| format!("x-amz-security-token: {t}"));
    if let Some(token) = &token {
        args.extend(["-H", token.as_str()]);
    }
    args.extend_from_slice(extra);
    curl(&args)
}

/// Whether something accepts connections on `port`.
fn listening(port: u16) -> bool {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200)).is_ok()
}

// ---------------------------------------------------------------- moto

#[test]
fn moto_starts_and_buckets_are_isolated() {
    let started = Instant::now();
    let moto = Moto::start();
    eprintln!("moto started in {:?}", started.elapsed());
    assert!(listening(moto.port()));
    assert_eq!(moto.endpoint(), format!("http://127.0.0.1:{}", moto.port()));

    let a = moto.create_bucket("selftest");
    let b = moto.create_bucket("selftest");
    assert_ne!(a, b);
    assert!(a.starts_with("selftest-") && b.starts_with("selftest-"));
    let endpoint = moto.endpoint();
    for bucket in [&a, &b] {
        assert_eq!(
            request(&endpoint, "HEAD", &format!("/{bucket}"), &[], b"").0,
            200,
            "bucket {bucket}"
        );
    }
    assert_eq!(
        request(&endpoint, "HEAD", "/selftest-never-made", &[], b"").0,
        404
    );

    put_public(&endpoint, &a, "dists/stable/InRelease", b"in a");
    let (status, body) = request(
        &endpoint,
        "GET",
        &format!("/{a}/dists/stable/InRelease"),
        &[],
        b"",
    );
    assert_eq!((status, body.as_slice()), (200, &b"in a"[..]));
    let (status, body) = request(
        &endpoint,
        "GET",
        &format!("/{b}/dists/stable/InRelease"),
        &[],
        b"",
    );
    assert_eq!(
        (status, error_code(&body).as_str()),
        (404, "NoSuchKey"),
        "the other bucket is empty"
    );

    moto.public_read(&a, "");
    moto.reset();
    assert_eq!(
        request(&endpoint, "HEAD", &format!("/{a}"), &[], b"").0,
        404,
        "reset wiped the bucket"
    );
}

#[test]
fn moto_shared_is_one_server() {
    let first = Moto::shared();
    let second = Moto::shared();
    assert!(std::ptr::eq(first, second));
    assert_eq!(first.port(), second.port());
    assert!(listening(first.port()));
    let bucket = first.create_bucket("shared");
    assert_eq!(
        request(&second.endpoint(), "HEAD", &format!("/{bucket}"), &[], b"").0,
        200
    );
}

#[test]
#[should_panic(expected = "bucket prefix")]
fn moto_refuses_a_bad_bucket_prefix() {
    Moto::shared().create_bucket("Upper_case");
}

#[test]
fn moto_with_auth_checks_signatures_and_permissions() {
    let moto = Moto::shared_with_auth();
    let keys = moto.auth().expect("auth keys");
    let good = moto.credentials().clone();
    assert!(good.access_key_id.starts_with("AKIA"), "{good:?}");
    assert!(keys.role.access_key_id.starts_with("ASIA") && keys.role.session_token.is_some());

    let bucket = moto.create_bucket("auth");
    let url = format!("{}/{bucket}/pool/a.deb", moto.endpoint());
    let put = signed_curl(
        &good,
        &[
            "-X",
            "PUT",
            "-H",
            "Content-Type: application/octet-stream",
            "--data-binary",
            "deb bytes",
            &url,
        ],
    );
    assert_eq!(put.status, 200, "{}", String::from_utf8_lossy(&put.body));
    let get = signed_curl(&good, &[&url]);
    assert_eq!((get.status, get.body.as_slice()), (200, &b"deb bytes"[..]));

    let wrong_secret = Credentials {
        secret_access_key: "not-the-secret".into(),
        ..good.clone()
    };
    let unknown_key = Credentials {
        access_key_id: "AKIAUNKNOWNUNKNOWN00".into(),
        ..good.clone()
    };
    let wrong_token = Credentials {
        session_token: Some("not-the-token".into()),
        ..keys.role.clone()
    };
    let expectations = [
        (&wrong_secret, 403, "SignatureDoesNotMatch"),
        (&unknown_key, 403, "InvalidAccessKeyId"),
        (&keys.no_permission, 403, "AccessDenied"),
        (&wrong_token, 400, "InvalidToken"),
    ];
    for (credentials, status, code) in expectations {
        let refused = signed_curl(credentials, &[&url]);
        assert_eq!(
            (refused.status, error_code(&refused.body).as_str()),
            (status, code),
            "{credentials:?}"
        );
        let put = signed_curl(
            credentials,
            &[
                "-X",
                "PUT",
                "--data-binary",
                "evil",
                "-H",
                "Content-Type: application/octet-stream",
                &url,
            ],
        );
        assert_eq!(put.status, status, "PUT as {credentials:?}");
    }
    let role = signed_curl(&keys.role, &[&url]);
    assert_eq!(
        (role.status, role.body.as_slice()),
        (200, &b"deb bytes"[..]),
        "the role session"
    );
    let still = signed_curl(&good, &[&url]);
    assert_eq!(still.body, b"deb bytes", "refused PUTs changed nothing");
}

#[test]
fn moto_with_auth_serves_anonymous_reads_of_public_objects_only() {
    let moto = Moto::shared_with_auth();
    let good = moto.credentials();
    let bucket = moto.create_bucket("anon");
    let base = moto.bucket_url(&bucket);
    for (key, acl) in [
        ("acl/public", "public-read"),
        ("private/x", "private"),
        ("pool/p.deb", "private"),
    ] {
        let put = signed_curl(
            good,
            &[
                "-X",
                "PUT",
                "-H",
                "Content-Type: application/octet-stream",
                "-H",
                &format!("x-amz-acl: {acl}"),
                "--data-binary",
                key,
                &format!("{base}/{key}"),
            ],
        );
        assert_eq!(put.status, 200, "{}", String::from_utf8_lossy(&put.body));
    }
    let endpoint = moto.endpoint();
    let get = |key: &str| request(&endpoint, "GET", &format!("/{bucket}/{key}"), &[], b"");
    let head = |key: &str| request(&endpoint, "HEAD", &format!("/{bucket}/{key}"), &[], b"").0;
    assert_eq!(get("acl/public"), (200, b"acl/public".to_vec()));
    assert_eq!(head("acl/public"), 200);
    assert_eq!(get("private/x").0, 403);
    assert_eq!(get("pool/p.deb").0, 403, "no policy yet");
    assert_eq!(get("pool/missing").0, 403);
    assert_eq!(
        request(
            &endpoint,
            "GET",
            &format!("/{bucket}?list-type=2"),
            &[],
            b""
        )
        .0,
        403
    );
    let (status, body) = request(
        &endpoint,
        "PUT",
        &format!("/{bucket}/pool/evil"),
        &[],
        b"evil",
    );
    assert_eq!((status, error_code(&body).as_str()), (403, "AccessDenied"));

    moto.public_read(&bucket, "pool/");
    assert_eq!(get("pool/p.deb"), (200, b"pool/p.deb".to_vec()));
    assert_eq!(head("pool/p.deb"), 200);
    assert_eq!(get("pool/missing").0, 404, "readable prefix, missing key");
    assert_eq!(get("private/x").0, 403, "outside the public prefix");
    assert_eq!(
        request(
            &endpoint,
            "PUT",
            &format!("/{bucket}/pool/evil"),
            &[],
            b"evil"
        )
        .0,
        403
    );
    let check = signed_curl(good, &[&format!("{base}/pool/evil")]);
    assert_eq!(check.status, 404, "the anonymous PUT wrote nothing");
}

#[test]
fn moto_without_auth_reads_follow_object_acls() {
    let moto = Moto::shared();
    let bucket = moto.create_bucket("noauth-acl");
    let endpoint = moto.endpoint();
    put_public(&endpoint, &bucket, "public", b"p");
    let (status, _) = request(
        &endpoint,
        "PUT",
        &format!("/{bucket}/private"),
        &[("Content-Type", "application/octet-stream")],
        b"s",
    );
    assert_eq!(status, 200, "anonymous PUTs are accepted without auth");
    assert_eq!(
        request(&endpoint, "GET", &format!("/{bucket}/public"), &[], b""),
        (200, b"p".to_vec())
    );
    assert_eq!(
        request(&endpoint, "GET", &format!("/{bucket}/private"), &[], b"").0,
        403
    );
    let signed = signed_curl(
        moto.credentials(),
        &[&format!("{endpoint}/{bucket}/private")],
    );
    assert_eq!(
        (signed.status, signed.body.as_slice()),
        (200, &b"s"[..]),
        "any signature"
    );
    moto.public_read(&bucket, "");
    assert_eq!(
        request(&endpoint, "GET", &format!("/{bucket}/private"), &[], b"").0,
        200
    );
}

/// Run by `moto_dies_with_its_test_process` in a child process: starts moto,
/// prints its pid and port, then aborts or waits to be killed.
#[test]
#[ignore = "a helper that moto_dies_with_its_test_process runs in a child process"]
fn moto_child_process() {
    let mode = std::env::var("DEBPULL_MOTO_CHILD").expect("DEBPULL_MOTO_CHILD=abort|wait");
    let moto = Moto::shared();
    println!("moto-child {} {}", moto.pid(), moto.port());
    io::stdout().flush().unwrap();
    if mode == "abort" {
        // Aborts once the parent has seen moto running (a line on stdin):
        // aborting at once raced the parent's look.
        let mut line = String::new();
        let _ = io::stdin().read_line(&mut line);
        std::process::abort();
    }
    std::thread::sleep(Duration::from_secs(120));
}

fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/status")) {
        Ok(status) => !status
            .lines()
            .any(|l| l.starts_with("State:") && l.contains('Z')),
        Err(_) => false,
    }
}

#[test]
fn moto_dies_with_its_test_process() {
    for mode in ["sigkill", "abort"] {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "moto_child_process",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("DEBPULL_MOTO_CHILD", mode)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        // libtest prints "test moto_child_process ... " first, on the same line.
        let line = stdout
            .lines()
            .map_while(Result::ok)
            .find_map(|l| l.split_once("moto-child ").map(|(_, rest)| rest.to_owned()))
            .unwrap_or_else(|| panic!("{mode}: the child printed no moto line"));
        let words: Vec<u32> = line.split(' ').map(|w| w.parse().unwrap()).collect();
        let (pid, port) = (words[0], words[1] as u16);
        assert!(process_alive(pid) && listening(port), "{mode}: moto runs");
        if mode == "sigkill" {
            child.kill().unwrap();
        } else {
            writeln!(child.stdin.as_mut().unwrap(), "abort now").unwrap();
        }
        let status = child.wait().unwrap();
        assert!(!status.success(), "{mode}: {status:?}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while (process_alive(pid) || listening(port)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            !process_alive(pid),
            "{mode}: moto (pid {pid}) outlived its test process"
        );
        assert!(!listening(port), "{mode}: port {port} still open");
    }
}

// ---------------------------------------------------------------- fault proxy

/// A one-connection-at-a-time upstream that records each raw request and
/// answers with `response` (raw bytes).
fn recording_upstream(response: &'static [u8]) -> (String, Arc<Mutex<Vec<Vec<u8>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut writer = stream;
            while let Ok(Some(head)) = http1::read_head(&mut reader) {
                if head.has_token("Expect", "100-continue") {
                    writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").unwrap();
                }
                let body =
                    http1::read_body(&mut reader, http1::request_framing(&head).unwrap()).unwrap();
                let mut raw = head.raw.clone();
                raw.extend_from_slice(&body.wire);
                record.lock().unwrap().push(raw);
                writer.write_all(response).unwrap();
            }
        }
    });
    (endpoint, seen)
}

#[test]
fn proxy_relays_requests_and_responses_byte_for_byte() {
    // A chunked response with an extension and a trailer, after an interim 100.
    const RESPONSE: &[u8] =
        b"HTTP/1.1 200 OK\r\nx-amz-request-id: R1\r\nTransfer-Encoding: chunked\r\n\r\n\
        5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32: AAAAAA==\r\n\r\n";
    let (upstream, seen) = recording_upstream(RESPONSE);
    let proxy = FaultProxy::start(&upstream, 1);
    let mut client = Client::connect(&proxy.endpoint());
    let requests: [&[u8]; 4] = [
        b"PUT /b/k%20x?partNumber=1 HTTP/1.1\r\nHost: h\r\nAuthorization: AWS4-HMAC-SHA256 sig\r\n\
          content-length: 5\r\nX-Mixed-Case:  spaced \r\n\r\nabcde",
        b"PUT /b/chunked HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\
          Content-Encoding: aws-chunked\r\nx-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER\r\n\r\n\
          3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nx-amz-checksum-crc32: 8mbm5Q==\r\n\r\n",
        b"PUT /b/expect HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nxyz",
        b"GET /b/k HTTP/1.1\r\nHost: h\r\nRange: bytes=0-1\r\n\r\n",
    ];
    for raw in requests {
        let method = std::str::from_utf8(raw).unwrap().split(' ').next().unwrap();
        let (head, body) = client.send_raw(raw, method).unwrap();
        let mut relayed = head.raw.clone();
        relayed.extend_from_slice(&body.wire);
        assert_eq!(relayed, RESPONSE, "the response came through unchanged");
        assert_eq!(body.data().as_ref(), b"hello world");
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), requests.len());
    for (sent, received) in requests.iter().zip(&seen) {
        assert_eq!(
            String::from_utf8_lossy(received),
            String::from_utf8_lossy(sent),
            "forwarded unchanged"
        );
    }
    let stats = proxy.stats();
    assert_eq!(stats.requests_of("PUT"), 3);
    assert_eq!(stats.requests_of("GET"), 1);
    assert_eq!(stats.forwarded, 4);
    assert_eq!(
        stats.request_bytes,
        requests.iter().map(|r| r.len() as u64).sum::<u64>()
    );
    let body_len =
        |raw: &[u8]| raw.len() - (raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4);
    let bodies: usize = requests.iter().map(|r| body_len(r)).sum();
    assert_eq!(bodies, 5 + 56 + 3);
    assert_eq!(stats.request_body_bytes, bodies as u64);
    let continue_line = b"HTTP/1.1 100 Continue\r\n\r\n".len() as u64;
    assert_eq!(
        stats.response_bytes,
        4 * RESPONSE.len() as u64 + continue_line
    );
    assert_eq!(stats.statuses.get(&200), Some(&4));
    assert_eq!(stats.total_faults(), 0);
    proxy.reset_stats();
    assert_eq!(proxy.stats(), fault_proxy::Stats::default());
}

#[test]
fn proxy_in_front_of_moto_keeps_alive_and_agrees_with_direct_access() {
    let moto = Moto::shared();
    let bucket = moto.create_bucket("proxy");
    let proxy = FaultProxy::start(&moto.endpoint(), 7);
    let content: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut client = Client::connect(&proxy.endpoint());
    let target = format!("/{bucket}/pool/big.deb");
    let headers = [
        ("Content-Type", "application/octet-stream"),
        ("x-amz-acl", "public-read"),
    ];
    let (head, _) = client.send("PUT", &target, &headers, &content).unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(
        head.header("ETag"),
        Some(format!("\"{}\"", md5_hex(&content)).as_str())
    );

    // Chunked upload and Expect: 100-continue on the same connection.
    let mut chunked = format!(
        "PUT /{bucket}/chunked HTTP/1.1\r\nHost: x\r\nx-amz-acl: public-read\r\n\
         Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    for piece in content.chunks(30_000) {
        chunked.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        chunked.extend_from_slice(piece);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let (head, _) = client.send_raw(&chunked, "PUT").unwrap();
    assert_eq!(head.status(), 200, "chunked PUT");
    let expect = [("Expect", "100-continue"), headers[0], headers[1]];
    let (head, _) = client
        .send("PUT", &format!("/{bucket}/expect"), &expect, b"continued")
        .unwrap();
    assert_eq!(head.status(), 200, "PUT with Expect: 100-continue");
    assert!(
        !head.has_token("Connection", "close"),
        "the proxy keeps the connection"
    );
    let direct = Client::connect(&moto.endpoint())
        .send("HEAD", &target, &[], b"")
        .unwrap();
    assert!(
        direct.0.has_token("Connection", "close"),
        "moto (werkzeug) closes every connection"
    );

    for key in ["pool/big.deb", "chunked", "expect", "missing"] {
        let (head, body) = client
            .send("GET", &format!("/{bucket}/{key}"), &[], b"")
            .unwrap();
        let direct = request(
            &moto.endpoint(),
            "GET",
            &format!("/{bucket}/{key}"),
            &[],
            b"",
        );
        assert_eq!(head.status(), direct.0, "{key}");
        if direct.0 == 200 {
            assert_eq!(body.data().as_ref(), direct.1.as_slice(), "{key}");
        }
        let (head, body) = client
            .send("HEAD", &format!("/{bucket}/{key}"), &[], b"")
            .unwrap();
        assert!(body.wire.is_empty(), "HEAD has no body");
        assert_eq!(head.status(), direct.0, "HEAD {key}");
    }
    let chunked_body = request(
        &moto.endpoint(),
        "GET",
        &format!("/{bucket}/chunked"),
        &[],
        b"",
    )
    .1;
    assert_eq!(chunked_body, content, "moto got the chunked body");
    let ranged = client
        .send("GET", &target, &[("Range", "bytes=10-19")], b"")
        .unwrap();
    assert_eq!(
        (ranged.0.status(), ranged.1.data().as_ref()),
        (206, &content[10..20])
    );
    let conditional = client
        .send(
            "PUT",
            &target,
            &[("If-None-Match", "*"), headers[0]],
            b"other",
        )
        .unwrap();
    assert_eq!(
        conditional.0.status(),
        412,
        "moto's conditional PUT through the proxy"
    );
    let (last, _) = client
        .send("GET", &target, &[("Connection", "close")], b"")
        .unwrap();
    assert!(last.has_token("Connection", "close"));
    let mut rest = Vec::new();
    client.reader.read_to_end(&mut rest).unwrap();
    assert!(
        rest.is_empty(),
        "closed after a request with Connection: close"
    );

    let stats = proxy.stats();
    assert_eq!(stats.requests_of("PUT"), 4);
    assert_eq!(stats.requests_of("GET"), 6);
    assert_eq!(stats.requests_of("HEAD"), 4);
    assert_eq!(stats.forwarded, 14);
    let chunked_body =
        chunked.len() - chunked.windows(4).position(|w| w == b"\r\n\r\n").unwrap() - 4;
    let sent = content.len() + chunked_body + b"continued".len() + b"other".len();
    assert_eq!(stats.request_body_bytes, sent as u64);
    assert!(stats.response_body_bytes > 2 * content.len() as u64 + 19);
}

/// What a client saw of one request through a faulty proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Seen {
    Ok,
    InternalError,
    SlowDown,
    Reset,
    Truncated,
}

fn get_once(client: &mut Option<Client>, endpoint: &str, target: &str, expected: &[u8]) -> Seen {
    let connection = client.get_or_insert_with(|| Client::connect(endpoint));
    let result = connection.writer.write_all(
        format!("GET {target} HTTP/1.1\r\nHost: {}\r\n\r\n", connection.host).as_bytes(),
    );
    let seen = match result.and_then(|_| http1::read_head(&mut connection.reader)) {
        Err(_) | Ok(None) => Seen::Reset,
        Ok(Some(head)) => {
            let framing = http1::response_framing(&head, "GET").unwrap();
            match (
                head.status(),
                http1::read_body(&mut connection.reader, framing),
            ) {
                (200, Ok(body)) => {
                    assert_eq!(body.data().as_ref(), expected);
                    Seen::Ok
                }
                (200, Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => Seen::Truncated,
                (500, Ok(body)) if error_code(&body.wire) == "InternalError" => Seen::InternalError,
                (503, Ok(body)) if error_code(&body.wire) == "SlowDown" => Seen::SlowDown,
                (status, body) => panic!("unexpected {status} {body:?}"),
            }
        }
    };
    if !matches!(seen, Seen::Ok | Seen::InternalError | Seen::SlowDown) {
        *client = None;
    }
    seen
}

#[test]
fn proxy_injects_each_fault_at_the_configured_rate_deterministically() {
    let moto = Moto::shared();
    let bucket = moto.create_bucket("rates");
    let content = b"a small object with a body to truncate";
    put_public(&moto.endpoint(), &bucket, "obj", content);
    let target = format!("/{bucket}/obj");
    const N: usize = 300;
    let run = |seed: u64| {
        let proxy = FaultProxy::start(&moto.endpoint(), seed);
        proxy.set_faults(Faults::new(0.5, &Fault::ALL));
        let mut client = None;
        let seen: Vec<Seen> = (0..N)
            .map(|_| get_once(&mut client, &proxy.endpoint(), &target, content))
            .collect();
        (seen, proxy.stats())
    };
    let (seen, stats) = run(2024);
    let count = |kind: Seen| seen.iter().filter(|s| **s == kind).count() as u64;
    assert_eq!(
        count(Seen::InternalError),
        stats.faults_of(Fault::InternalError)
    );
    assert_eq!(count(Seen::SlowDown), stats.faults_of(Fault::SlowDown));
    assert_eq!(
        count(Seen::Reset),
        stats.faults_of(Fault::ResetBeforeForward) + stats.faults_of(Fault::ResetAfterForward)
    );
    assert_eq!(count(Seen::Truncated), stats.faults_of(Fault::TruncateBody));
    assert_eq!(count(Seen::Ok), N as u64 - stats.total_faults());
    // Binomial(300, 0.5) total, about 30 of each kind: bounds at ~4 standard deviations.
    assert!((115..=185).contains(&stats.total_faults()), "{stats:?}");
    for kind in Fault::ALL {
        assert!(
            (10..=55).contains(&stats.faults_of(kind)),
            "{kind:?}: {stats:?}"
        );
    }
    assert_eq!(stats.requests_of("GET"), N as u64);
    assert_eq!(
        stats.forwarded,
        N as u64
            - stats.faults_of(Fault::InternalError)
            - stats.faults_of(Fault::SlowDown)
            - stats.faults_of(Fault::ResetBeforeForward)
    );
    let (again, _) = run(2024);
    assert_eq!(again, seen, "same seed, same faults");
    let (other, _) = run(2025);
    assert_ne!(other, seen, "another seed, other faults");
}

#[test]
fn proxy_fault_filters_by_method_path_and_count() {
    let moto = Moto::shared();
    let bucket = moto.create_bucket("filters");
    let proxy = FaultProxy::start(&moto.endpoint(), 3);
    let endpoint = proxy.endpoint();
    let put = |key: &str| {
        request(
            &endpoint,
            "PUT",
            &format!("/{bucket}/{key}"),
            &[
                ("x-amz-acl", "public-read"),
                ("Content-Type", "application/octet-stream"),
            ],
            key.as_bytes(),
        )
        .0
    };
    let get = |key: &str| request(&endpoint, "GET", &format!("/{bucket}/{key}"), &[], b"").0;

    proxy.set_faults(Faults::new(1.0, &[Fault::SlowDown]).methods(&["PUT"]));
    assert_eq!(put("a"), 503);
    assert_eq!(put("a"), 503);
    put_public(&moto.endpoint(), &bucket, "a", b"a");
    assert_eq!(get("a"), 200, "GETs pass");

    proxy.set_faults(Faults::new(1.0, &[Fault::InternalError]).path_contains("InRelease"));
    assert_eq!(put("dists/InRelease"), 500);
    assert_eq!(put("pool/x.deb"), 200);
    assert_eq!(get("a"), 200);

    proxy.set_faults(
        Faults::new(1.0, &[Fault::InternalError])
            .methods(&["put"])
            .at_most(1),
    );
    assert_eq!(put("b"), 500, "the first PUT fails");
    assert_eq!(put("b"), 200, "the retry passes");
    assert_eq!(put("c"), 200);

    proxy.clear_faults();
    assert_eq!(put("dists/InRelease"), 200);
    let stats = proxy.stats();
    assert_eq!(stats.faults_of(Fault::SlowDown), 2);
    assert_eq!(stats.faults_of(Fault::InternalError), 2);
    assert_eq!(stats.statuses.get(&503), Some(&2));
    assert_eq!(stats.statuses.get(&500), Some(&2));
}

#[test]
fn proxy_reset_after_forward_reached_moto_and_reset_before_did_not() {
    let moto = Moto::shared();
    let bucket = moto.create_bucket("resets");
    let proxy = FaultProxy::start(&moto.endpoint(), 11);
    let headers = [
        ("If-None-Match", "*"),
        ("x-amz-acl", "public-read"),
        ("Content-Type", "application/octet-stream"),
    ];
    let put = |key: &str| {
        Client::connect(&proxy.endpoint()).send("PUT", &format!("/{bucket}/{key}"), &headers, b"v1")
    };
    let direct = |key: &str| {
        request(
            &moto.endpoint(),
            "GET",
            &format!("/{bucket}/{key}"),
            &[],
            b"",
        )
    };

    proxy.set_faults(Faults::new(1.0, &[Fault::ResetBeforeForward]));
    let error = put("before").expect_err("reset before forwarding");
    assert!(
        matches!(
            error.kind(),
            io::ErrorKind::ConnectionReset | io::ErrorKind::UnexpectedEof
        ),
        "{error:?}"
    );
    assert_eq!(direct("before").0, 404, "the request never reached moto");

    proxy.set_faults(Faults::new(1.0, &[Fault::ResetAfterForward]));
    let error = put("after").expect_err("reset after forwarding");
    assert_eq!(
        error.kind(),
        io::ErrorKind::ConnectionReset,
        "a TCP reset: {error:?}"
    );
    assert_eq!(
        direct("after"),
        (200, b"v1".to_vec()),
        "moto executed the PUT"
    );

    proxy.clear_faults();
    let (retry, _) = put("after").unwrap();
    assert_eq!(
        retry.status(),
        412,
        "the retried create-only PUT meets its own success"
    );
    let stats = proxy.stats();
    assert_eq!(stats.forwarded, 2);
    assert_eq!(stats.faults_of(Fault::ResetBeforeForward), 1);
    assert_eq!(stats.faults_of(Fault::ResetAfterForward), 1);
}

#[test]
fn proxy_truncation_is_detected_by_clients() {
    let moto = Moto::shared();
    let bucket = moto.create_bucket("truncate");
    let content: Vec<u8> = (0..10_000u32).map(|i| (i % 256) as u8).collect();
    put_public(&moto.endpoint(), &bucket, "Packages", &content);
    let proxy = FaultProxy::start(&moto.endpoint(), 5);
    proxy.set_faults(Faults::new(1.0, &[Fault::TruncateBody]));
    let url = format!("{}/{bucket}/Packages", proxy.endpoint());

    let curl = curl(&[&url]);
    assert_eq!(curl.exit, 18, "curl: partial file");
    assert_eq!(curl.status, 200);
    assert_eq!(curl.body, &content[..content.len() / 2]);

    let mut client = Client::connect(&proxy.endpoint());
    let error = client
        .send("GET", &format!("/{bucket}/Packages"), &[], b"")
        .expect_err("a short body");
    assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof, "{error}");

    // A response without a body passes untouched and counts no fault.
    let (head, _) = Client::connect(&proxy.endpoint())
        .send("HEAD", &format!("/{bucket}/Packages"), &[], b"")
        .unwrap();
    assert_eq!(head.header("Content-Length"), Some("10000"));
    let stats = proxy.stats();
    assert_eq!(stats.faults_of(Fault::TruncateBody), 2);
    assert_eq!(stats.requests_of("HEAD"), 1);
}

// ---------------------------------------------------------------- IMDS

#[test]
fn imds_answers_the_token_flow_and_refuses_missing_tokens() {
    let imds = Imds::start("debpull-role", "ASIAEXAMPLE", "secret/key+x", "the\"token");
    let endpoint = imds.endpoint();
    let mut client = Client::connect(&endpoint);

    let (head, _) = client.send("PUT", imds::TOKEN_PATH, &[], b"").unwrap();
    assert_eq!(head.status(), 400, "no TTL header");
    let ttl = [("x-aws-ec2-metadata-token-ttl-seconds", "21600")];
    let (head, token) = client.send("PUT", imds::TOKEN_PATH, &ttl, b"").unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(
        head.header("x-aws-ec2-metadata-token-ttl-seconds"),
        Some("21600")
    );
    let token = String::from_utf8(token.data().into_owned()).unwrap();
    assert!(!token.is_empty());
    let too_long = [("x-aws-ec2-metadata-token-ttl-seconds", "21601")];
    assert_eq!(
        client
            .send("PUT", imds::TOKEN_PATH, &too_long, b"")
            .unwrap()
            .0
            .status(),
        400
    );

    let list = imds::ROLE_LIST_PATH;
    assert_eq!(
        client.send("GET", list, &[], b"").unwrap().0.status(),
        401,
        "no token"
    );
    let bogus = [("x-aws-ec2-metadata-token", "bogus")];
    assert_eq!(
        client.send("GET", list, &bogus, b"").unwrap().0.status(),
        401,
        "a token it never issued"
    );
    let with_token = [("x-aws-ec2-metadata-token", token.as_str())];
    let (head, role) = client.send("GET", list, &with_token, b"").unwrap();
    assert_eq!(
        (head.status(), role.data().as_ref()),
        (200, &b"debpull-role"[..])
    );

    let before = SystemTime::now();
    let (head, json) = client
        .send("GET", &imds.credentials_path(), &with_token, b"")
        .unwrap();
    assert_eq!(head.status(), 200);
    let json = String::from_utf8(json.data().into_owned()).unwrap();
    for field in [
        "\"Code\" : \"Success\"",
        "\"Type\" : \"AWS-HMAC\"",
        "\"AccessKeyId\" : \"ASIAEXAMPLE\"",
        "\"SecretAccessKey\" : \"secret/key+x\"",
        "\"Token\" : \"the\\\"token\"",
    ] {
        assert!(json.contains(field), "{field} in {json}");
    }
    let expiration = json_field(&json, "Expiration");
    let updated = json_field(&json, "LastUpdated");
    let hour = Duration::from_secs(3600);
    let plausible = [
        imds::rfc3339(before + hour),
        imds::rfc3339(SystemTime::now() + hour),
    ];
    assert!(
        plausible.contains(&expiration),
        "{expiration} not an hour after {updated}"
    );

    let extended = "/latest/meta-data/iam/security-credentials-extended/";
    assert_eq!(
        client
            .send("GET", extended, &with_token, b"")
            .unwrap()
            .0
            .status(),
        404
    );
    assert_eq!(
        client
            .send(
                "GET",
                "/latest/meta-data/iam/security-credentials/other",
                &with_token,
                b""
            )
            .unwrap()
            .0
            .status(),
        404
    );
    assert_eq!(imds.hits(imds::TOKEN_PATH), 3);
    assert_eq!(imds.hits(list), 3);
    assert_eq!(imds.hits(&imds.credentials_path()), 1);
    assert_eq!(imds.requests().len(), 9);
}

fn json_field(json: &str, name: &str) -> String {
    let start = json
        .find(&format!("\"{name}\" : \""))
        .unwrap_or_else(|| panic!("{name} in {json}"))
        + name.len()
        + 6;
    json[start..].split('"').next().unwrap().to_owned()
}

#[test]
fn imds_timestamps_agree_with_date() {
    // Epoch, leap days, century rules, end of year, and now.
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for secs in [
        0,
        951_782_400,
        951_868_799,
        4_107_542_400,
        1_704_067_199,
        1_709_251_199,
        now,
    ] {
        let output = Command::new("date")
            .args(["-u", "-d", &format!("@{secs}"), "+%Y-%m-%dT%H:%M:%SZ"])
            .output()
            .expect("run date");
        let expected = String::from_utf8(output.stdout).unwrap();
        let ours = imds::rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(ours, expected.trim(), "{secs}");
    }
}

#[test]
fn imds_role_credentials_work_for_botocore_against_moto_with_auth() {
    let moto = Moto::shared_with_auth();
    let keys = moto.auth().unwrap();
    let role = &keys.role;
    let imds = Imds::start(
        &keys.role_name,
        &role.access_key_id,
        &role.secret_access_key,
        role.session_token.as_deref().unwrap(),
    );
    let bucket = moto.create_bucket("imds");
    // botocore's own IMDS client finds the credentials, then signs an S3 PUT and GET.
    let script = "import boto3, sys\n\
        session = boto3.Session()\n\
        credentials = session.get_credentials()\n\
        print(credentials.method, credentials.access_key)\n\
        s3 = session.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1')\n\
        s3.put_object(Bucket=sys.argv[2], Key='from-instance', Body=b'role')\n\
        print(s3.get_object(Bucket=sys.argv[2], Key='from-instance')['Body'].read().decode())\n";
    let mut python = Command::new("python3");
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("AWS_") {
            python.env_remove(name);
        }
    }
    let output = python
        .args(["-c", script, &moto.endpoint(), &bucket])
        .env("AWS_CONFIG_FILE", "/nonexistent/config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.endpoint())
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout, format!("iam-role {}\nrole\n", role.access_key_id));
    assert!(imds.hits(imds::TOKEN_PATH) >= 1);
    assert!(imds.hits(&imds.credentials_path()) >= 1);
    assert!(
        imds.requests().iter().all(|r| r.status != 401),
        "{:?}",
        imds.requests()
    );

    // The same role session with another token is refused by moto.
    let forged = Credentials {
        session_token: Some("forged".into()),
        ..role.clone()
    };
    let refused = signed_curl(
        &forged,
        &[&format!("{}/{bucket}/from-instance", moto.endpoint())],
    );
    assert_eq!(
        refused.status,
        400,
        "{}",
        String::from_utf8_lossy(&refused.body)
    );
}

// ---------------------------------------------------------------- http1

#[test]
fn http1_reads_framings_and_rejects_broken_messages() {
    let parse = |raw: &[u8], method: &str| {
        let mut reader = BufReader::new(raw);
        http1::read_response(&mut reader, method)
    };
    let (head, body) = parse(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiEXTRA",
        "GET",
    )
    .unwrap();
    assert_eq!((head.status(), body.wire.as_slice()), (200, &b"hi"[..]));
    let (_, body) = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", "HEAD").unwrap();
    assert!(body.wire.is_empty());
    let (_, body) = parse(
        b"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
        "GET",
    )
    .unwrap();
    assert!(body.wire.is_empty());
    let (head, body) = parse(b"HTTP/1.0 200 OK\r\n\r\nuntil close", "GET").unwrap();
    assert_eq!(body.wire, b"until close");
    assert!(!head.keep_alive());
    let (_, body) = parse(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n",
        "GET",
    )
    .unwrap();
    assert_eq!(body.data().as_ref(), b"0123456789");

    for broken in [
        &b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc"[..],
        b"HTTP/1.1 200 OK\r\nContent-Length: five\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
        b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Le",
        b"",
    ] {
        assert!(
            parse(broken, "GET").is_err(),
            "{:?}",
            String::from_utf8_lossy(broken)
        );
    }
    let huge = [
        b"GET / HTTP/1.1\r\nX: ".as_slice(),
        &vec![b'a'; http1::MAX_HEAD + 1],
    ]
    .concat();
    assert!(http1::read_head(&mut BufReader::new(huge.as_slice())).is_err());
    let mut reader = BufReader::new(&b"GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"[..]);
    let head = http1::read_head(&mut reader).unwrap().unwrap();
    assert!(
        http1::request_framing(&head).is_err(),
        "a request body without chunked framing"
    );
}
