//! Loopback HTTP servers for the HTTP storage tests:
//!
//! - [`PythonServer`]: `python3 -m http.server` serving a directory, as many
//!   plain mirrors do: `Last-Modified` and `If-Modified-Since`, no `ETag`, no
//!   ranges (Python 3.11), HTTP/1.0 with `Content-Length`.
//! - [`ScriptServer`]: answers each request as a handler says ([`Reply`]):
//!   any status and headers, redirects, a body that never ends or one that
//!   trickles in slowly; it records
//!   every request head and counts the body bytes it sent.
//!
//! - [`TlsFront`]: HTTPS in front of a [`ScriptServer`], with a certificate
//!   of a private CA ([`TestCa`]) that `openssl` makes at test time.
//!
//! All listen on 127.0.0.1 on a port the kernel picks; the first two stop
//! when dropped, the TLS front with its Tokio runtime.

#[allow(dead_code, clippy::duplicate_mod)]
#[path = "http1.rs"]
mod http1;

use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

pub use http1::Head;

/// What to install when python3 is missing.
pub const PYTHON_HINT: &str = "the HTTP tests need python3 (apt-get install python3)";

/// `python3 -m http.server` serving a directory.
pub struct PythonServer {
    child: Child,
    port: u16,
}

impl Drop for PythonServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl PythonServer {
    /// Serves `dir` on a free loopback port (ready when this returns).
    pub fn start(dir: &Path) -> PythonServer {
        let mut child = Command::new("python3")
            .args([
                "-u",
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(dir)
            .arg("0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run python3 ({e}); {PYTHON_HINT}"));
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let _ = stdout.read_line(&mut line);
        // "Serving HTTP on 127.0.0.1 port 41234 (http://127.0.0.1:41234/) ..."
        let port = line
            .split_whitespace()
            .skip_while(|w| *w != "port")
            .nth(1)
            .and_then(|p| p.parse().ok());
        let Some(port) = port else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("python3 -m http.server did not start (it said {line:?}); {PYTHON_HINT}");
        };
        // Keep reading its output so that it never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while stdout.read_line(&mut sink).is_ok_and(|n| n > 0) {
                sink.clear();
            }
        });
        PythonServer { child, port }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// How a [`ScriptServer`] answers one request.
pub enum Reply {
    /// A complete response (`Content-Length` from the body).
    Full {
        /// The status code.
        status: u16,
        /// Extra header fields.
        headers: Vec<(String, String)>,
        /// The body.
        body: Vec<u8>,
    },
    /// A response with exactly these header fields (no `Content-Length`
    /// added: they may lie about the body), the body, then the connection closed.
    Exact {
        /// The status code.
        status: u16,
        /// Every header field.
        headers: Vec<(String, String)>,
        /// The body.
        body: Vec<u8>,
    },
    /// `200` with these header fields and a body that never ends (until the
    /// client goes away, or after [`ENDLESS_CAP`] bytes as a safety net).
    Endless {
        /// Header fields (`Content-Length` among them, or none: then until close).
        headers: Vec<(String, String)>,
    },
    /// `200` with `Content-Length` of `body`, which is sent `piece` bytes at
    /// a time with `pause` before each piece (a slow or malicious server).
    Drip {
        /// The body.
        body: Vec<u8>,
        /// Bytes per write.
        piece: usize,
        /// The pause before each write.
        pause: std::time::Duration,
    },
}

/// An endless body stops after this many bytes whatever happens.
pub const ENDLESS_CAP: u64 = 1 << 30;

impl Reply {
    /// A response with `status`, no extra headers, and `body`.
    pub fn status(status: u16, body: &[u8]) -> Reply {
        Reply::Full {
            status,
            headers: Vec::new(),
            body: body.to_vec(),
        }
    }

    /// A redirect with `status` to `location`.
    pub fn redirect(status: u16, location: &str) -> Reply {
        Reply::Full {
            status,
            headers: vec![("Location".to_owned(), location.to_owned())],
            body: Vec::new(),
        }
    }
}

type Handler = dyn Fn(&Head) -> Reply + Send + Sync;

struct Shared {
    handler: Box<Handler>,
    requests: Mutex<Vec<Head>>,
    body_bytes: AtomicU64,
    stop: AtomicBool,
}

/// A server answering as its handler says.
pub struct ScriptServer {
    port: u16,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl Drop for ScriptServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

impl ScriptServer {
    /// Starts a server on a free loopback port answering with `handler`.
    pub fn start(handler: impl Fn(&Head) -> Reply + Send + Sync + 'static) -> ScriptServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("local address").port();
        let shared = Arc::new(Shared {
            handler: Box::new(handler),
            requests: Mutex::new(Vec::new()),
            body_bytes: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        });
        let accepting = Arc::clone(&shared);
        let acceptor = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accepting.stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let serving = Arc::clone(&accepting);
                std::thread::spawn(move || serve(stream, &serving));
            }
        });
        ScriptServer {
            port,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The heads of the requests received so far.
    pub fn requests(&self) -> Vec<Head> {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Body bytes written to clients so far.
    pub fn body_bytes(&self) -> u64 {
        self.shared.body_bytes.load(Ordering::SeqCst)
    }
}

fn serve(stream: TcpStream, shared: &Shared) {
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    while let Ok(Some(head)) = http1::read_head(&mut reader) {
        if http1::request_framing(&head)
            .and_then(|f| http1::read_body(&mut reader, f))
            .is_err()
        {
            return;
        }
        shared
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(head.clone());
        match (shared.handler)(&head) {
            Reply::Full {
                status,
                headers,
                body,
            } => {
                let headers: Vec<(&str, &str)> = headers
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_str()))
                    .collect();
                let bytes = http1::response(status, "Status", &headers, &body, head.method());
                if writer.write_all(&bytes).is_err() {
                    return;
                }
                if head.method() != "HEAD" {
                    shared
                        .body_bytes
                        .fetch_add(body.len() as u64, Ordering::SeqCst);
                }
            }
            Reply::Exact {
                status,
                headers,
                body,
            } => {
                let mut message = format!("HTTP/1.1 {status} Status\r\nConnection: close\r\n");
                for (name, value) in &headers {
                    message.push_str(&format!("{name}: {value}\r\n"));
                }
                message.push_str("\r\n");
                let mut bytes = message.into_bytes();
                if head.method() != "HEAD" {
                    bytes.extend_from_slice(&body);
                }
                let _ = writer.write_all(&bytes);
                let _ = writer.shutdown(Shutdown::Both);
                return;
            }
            Reply::Endless { headers } => {
                let mut message = "HTTP/1.1 200 OK\r\nConnection: close\r\n".to_owned();
                for (name, value) in &headers {
                    message.push_str(&format!("{name}: {value}\r\n"));
                }
                message.push_str("\r\n");
                if writer.write_all(message.as_bytes()).is_err() {
                    return;
                }
                let chunk = vec![b'x'; 64 * 1024];
                let mut sent = 0;
                while sent < ENDLESS_CAP && !shared.stop.load(Ordering::SeqCst) {
                    if writer.write_all(&chunk).is_err() {
                        break;
                    }
                    sent += chunk.len() as u64;
                    shared
                        .body_bytes
                        .fetch_add(chunk.len() as u64, Ordering::SeqCst);
                }
                let _ = writer.shutdown(Shutdown::Both);
                return;
            }
            Reply::Drip { body, piece, pause } => {
                let message = format!(
                    "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                );
                if writer.write_all(message.as_bytes()).is_err() {
                    return;
                }
                for part in body.chunks(piece.max(1)) {
                    std::thread::sleep(pause);
                    if shared.stop.load(Ordering::SeqCst) || writer.write_all(part).is_err() {
                        break;
                    }
                    shared
                        .body_bytes
                        .fetch_add(part.len() as u64, Ordering::SeqCst);
                }
                let _ = writer.shutdown(Shutdown::Both);
                return;
            }
        }
        if !head.keep_alive() {
            let _ = writer.shutdown(Shutdown::Write);
            return;
        }
    }
}

/// What to install when openssl is missing.
pub const OPENSSL_HINT: &str = "the HTTPS tests need openssl (apt-get install openssl)";

/// A private CA and a server certificate for 127.0.0.1 and localhost, made
/// by the `openssl` command in a temporary directory (PEM files).
pub struct TestCa {
    /// The directory holding the files.
    pub dir: tempfile::TempDir,
    /// The CA's certificate (PEM).
    pub ca_pem: Vec<u8>,
    /// The server's certificate (PEM), signed by the CA.
    pub cert_pem: Vec<u8>,
    /// The server's private key (PEM, PKCS#8).
    pub key_pem: Vec<u8>,
}

impl TestCa {
    /// Makes the CA and the server certificate (valid for a day).
    pub fn new() -> TestCa {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let run = |args: &[&str]| {
            let output = Command::new("openssl")
                .args(args)
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .output()
                .unwrap_or_else(|e| panic!("cannot run openssl ({e}); {OPENSSL_HINT}"));
            assert!(
                output.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        };
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
        run(&[
            &["req", "-x509", "-nodes", "-days", "1"],
            &ec[..],
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-subj",
                "/CN=debpull test CA",
            ],
            &["-addext", "basicConstraints=critical,CA:TRUE"],
            &["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ]
        .concat());
        run(&[
            &["req", "-nodes"][..],
            &ec[..],
            &[
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=localhost",
            ],
        ]
        .concat());
        std::fs::write(
            dir.path().join("server.ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
             extendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n",
        )
        .expect("write server.ext");
        run(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "server.ext",
            "-out",
            "server.pem",
        ]);
        let read = |name: &str| std::fs::read(dir.path().join(name)).expect(name);
        TestCa {
            ca_pem: read("ca.pem"),
            cert_pem: read("server.pem"),
            key_pem: read("server.key"),
            dir,
        }
    }
}

/// A TLS terminator on a loopback port forwarding each connection to a plain
/// server (a [`ScriptServer`]): HTTPS with a [`TestCa`] certificate. Runs on
/// the calling Tokio runtime until that ends.
pub struct TlsFront {
    port: u16,
}

impl TlsFront {
    /// Serves TLS with `ca`'s server certificate in front of `upstream_port`.
    pub fn start(ca: &TestCa, upstream_port: u16) -> TlsFront {
        use rustls::pki_types::pem::PemObject as _;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs = CertificateDer::pem_slice_iter(&ca.cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .expect("the server certificate");
        let key = PrivateKeyDer::from_pem_slice(&ca.key_pem).expect("the server key");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("a server configuration");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("local address").port();
        listener.set_nonblocking(true).expect("non-blocking");
        let listener = tokio::net::TcpListener::from_std(listener).expect("a Tokio listener");
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let Ok(mut plain) =
                        tokio::net::TcpStream::connect(("127.0.0.1", upstream_port)).await
                    else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
        TlsFront { port }
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }
}
