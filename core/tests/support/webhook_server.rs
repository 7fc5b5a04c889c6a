//! A loopback webhook for the notification tests: it answers each POST as a
//! script says (statuses with headers, or no answer at all) and records every
//! request body it received.

#![allow(dead_code)]

use std::io::{BufReader, Read as _, Write as _};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

#[path = "http1.rs"]
mod http1;

/// How the server answers one request.
#[derive(Clone, Debug)]
pub enum Answer {
    /// This status, these headers, this body.
    Status(u16, Vec<(String, String)>, String),
    /// Read the request, then say nothing (until the client gives up).
    Silence,
}

impl Answer {
    /// `200 ok`, as Slack answers.
    pub fn ok() -> Answer {
        Answer::Status(200, Vec::new(), "ok".into())
    }
    /// `status` with `body`.
    pub fn status(status: u16, body: &str) -> Answer {
        Answer::Status(status, Vec::new(), body.into())
    }
    /// `429` with `Retry-After: secs`.
    pub fn rate_limited(secs: u64) -> Answer {
        Answer::Status(
            429,
            vec![("Retry-After".into(), secs.to_string())],
            "rate_limited".into(),
        )
    }
}

struct Shared {
    script: Mutex<Vec<Answer>>,
    then: Answer,
    bodies: Mutex<Vec<(String, String)>>,
    stop: AtomicBool,
}

/// The server; stops when dropped.
pub struct WebhookServer {
    port: u16,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl Drop for WebhookServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(a) = self.acceptor.take() {
            let _ = a.join();
        }
    }
}

impl WebhookServer {
    /// Answers the first requests with `script`, in order, and every later one with `then`.
    pub fn start(script: Vec<Answer>, then: Answer) -> WebhookServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            script: Mutex::new(script.into_iter().rev().collect()),
            then,
            bodies: Mutex::new(Vec::new()),
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
        WebhookServer {
            port,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// A server answering `200 ok` to everything.
    pub fn ok() -> WebhookServer {
        WebhookServer::start(Vec::new(), Answer::ok())
    }

    /// The webhook URL (with a secret-looking path).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/services/T000/B000/s3cr3t", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The bodies received, with each request's Content-Type.
    pub fn received(&self) -> Vec<(String, String)> {
        self.shared.bodies.lock().unwrap().clone()
    }

    /// The bodies received, parsed as JSON.
    pub fn json(&self) -> Vec<serde_json::Value> {
        self.received()
            .iter()
            .map(|(_, b)| serde_json::from_str(b).expect("the body is JSON"))
            .collect()
    }
}

fn serve(stream: TcpStream, shared: &Shared) {
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    while let Ok(Some(head)) = http1::read_head(&mut reader) {
        let Ok(body) = http1::request_framing(&head).and_then(|f| http1::read_body(&mut reader, f))
        else {
            return;
        };
        let text = String::from_utf8_lossy(&body.data()).into_owned();
        let content_type = head.header("content-type").unwrap_or("").to_owned();
        shared.bodies.lock().unwrap().push((content_type, text));
        let answer = shared
            .script
            .lock()
            .unwrap()
            .pop()
            .unwrap_or_else(|| shared.then.clone());
        match answer {
            Answer::Status(status, headers, body) => {
                let headers: Vec<(&str, &str)> = headers
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_str()))
                    .collect();
                let bytes = http1::response(status, "Status", &headers, body.as_bytes(), "POST");
                if writer.write_all(&bytes).is_err() {
                    return;
                }
            }
            Answer::Silence => {
                // Wait until the client hangs up (a read sees the end, or
                // an error) or the server stops; a read timing out is the
                // client still waiting.
                let _ = writer.set_read_timeout(Some(Duration::from_millis(20)));
                let mut byte = [0u8; 1];
                while !shared.stop.load(Ordering::SeqCst) {
                    match reader.get_mut().read(&mut byte) {
                        Ok(0) => break,
                        Ok(_) => {}
                        Err(e)
                            if matches!(
                                e.kind(),
                                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                            ) => {}
                        Err(_) => break,
                    }
                }
                let _ = writer.shutdown(Shutdown::Both);
                return;
            }
        }
    }
}
