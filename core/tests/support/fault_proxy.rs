//! A loopback HTTP/1.1 proxy in front of an S3 endpoint (moto) that injects
//! faults into a chosen fraction of requests, deterministically from a seed, and
//! counts what passes through.
//!
//! ```ignore
//! let proxy = FaultProxy::start(&moto.endpoint(), 42);
//! // point the S3 client at proxy.endpoint() instead of moto.endpoint()
//! proxy.set_faults(Faults::new(0.2, &[Fault::SlowDown, Fault::ResetAfterForward]).methods(&["PUT"]));
//! ...
//! proxy.clear_faults();
//! let stats = proxy.stats();   // requests per method, bytes, statuses, faults per kind
//! ```
//!
//! Faults ([`Fault`]): a 500 `InternalError` or a 503 `SlowDown` with S3's XML error
//! body (the request does not reach moto); a connection reset (TCP RST) before
//! forwarding; a reset after forwarding (moto executed the request, the client
//! never sees the answer: a retried conditional PUT then meets its own success as
//! a 412); a truncated body (the full `Content-Length` head, half of the body, then
//! close; only responses with a body: otherwise the response passes untouched and
//! no fault is counted).
//!
//! Determinism: the k-th request that matches the filters (methods, path) since the
//! last [`FaultProxy::set_faults`] gets the fault `f(seed, k)`: the same sequence of
//! requests meets the same faults. Concurrent clients make the order, not the rule,
//! vary. [`Faults::at_most`] stops after a number of faults ("fail the next PUT once").
//!
//! Each request is read whole (head and body: `Content-Length`, chunked, with
//! `Expect: 100-continue` answered by the proxy), forwarded unchanged (headers and
//! body bytes as received, so SigV4 signatures stay valid) on a fresh upstream
//! connection, and the whole response read (interim 1xx skipped; HEAD, 204 and 304
//! without body) before it is relayed or a fault applied. The response goes out
//! byte for byte but for the hop-by-hop `Connection`/`Keep-Alive` fields: moto
//! (werkzeug) closes every connection, the proxy keeps client connections alive
//! as HTTP/1.1 says, like S3 does (one thread each), and says `Connection: close`
//! when it closes one.
//!
//! Limits: HTTP only (no TLS, no CONNECT), bodies held in memory, Linux only
//! (the reset sets SO_LINGER through `setsockopt`).

// Its own copy, so this file can be included alone (http1 is small).
#[allow(dead_code, clippy::duplicate_mod)]
#[path = "http1.rs"]
mod http1;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use http1::{Body, Head};

/// A kind of injected fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// 500 with S3's `InternalError` XML body; not forwarded.
    InternalError,
    /// 503 with S3's `SlowDown` XML body; not forwarded.
    SlowDown,
    /// Connection reset after reading the request; not forwarded.
    ResetBeforeForward,
    /// Forwarded and answered by upstream, then the connection is reset.
    ResetAfterForward,
    /// Forwarded; the response head and half its body are sent, then the connection closed.
    TruncateBody,
    /// 409 with S3's `ConditionalRequestConflict` XML body (another conditional
    /// write to the key is in flight); not forwarded. Not in [`Fault::ALL`]:
    /// only conditional writes get it from S3.
    ConditionalConflict,
}

impl Fault {
    /// Every kind.
    pub const ALL: [Fault; 5] = [
        Fault::InternalError,
        Fault::SlowDown,
        Fault::ResetBeforeForward,
        Fault::ResetAfterForward,
        Fault::TruncateBody,
    ];
}

/// Which requests get faults, and which.
#[derive(Clone, Debug)]
pub struct Faults {
    rate: f64,
    kinds: Vec<Fault>,
    methods: Vec<String>,
    path_contains: Option<String>,
    at_most: Option<u64>,
}

impl Faults {
    /// A fraction `rate` (0 to 1) of matching requests gets a fault, its kind
    /// chosen evenly among `kinds`.
    pub fn new(rate: f64, kinds: &[Fault]) -> Faults {
        assert!(
            (0.0..=1.0).contains(&rate),
            "fault rate {rate} outside 0..=1"
        );
        assert!(!kinds.is_empty(), "no fault kinds");
        Faults {
            rate,
            kinds: kinds.to_vec(),
            methods: Vec::new(),
            path_contains: None,
            at_most: None,
        }
    }

    /// Only requests with one of these methods (e.g. `["PUT"]`); all by default.
    pub fn methods(mut self, methods: &[&str]) -> Faults {
        self.methods = methods.iter().map(|m| m.to_ascii_uppercase()).collect();
        self
    }

    /// Only requests whose target (path and query) contains `text`.
    pub fn path_contains(mut self, text: &str) -> Faults {
        self.path_contains = Some(text.to_owned());
        self
    }

    /// No more than `n` faults in all; then requests pass.
    pub fn at_most(mut self, n: u64) -> Faults {
        self.at_most = Some(n);
        self
    }

    fn matches(&self, head: &Head) -> bool {
        (self.methods.is_empty() || self.methods.iter().any(|m| m == head.method()))
            && self
                .path_contains
                .as_ref()
                .is_none_or(|text| head.target().contains(text.as_str()))
    }
}

/// What went through the proxy since it started or [`FaultProxy::reset_stats`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Requests read from clients, per method (faulted ones included).
    pub requests: BTreeMap<String, u64>,
    /// Bytes of requests read from clients (heads and bodies as on the wire).
    pub request_bytes: u64,
    /// Of which body bytes (chunk framing included).
    pub request_body_bytes: u64,
    /// Bytes written to clients (heads, bodies, `100 Continue`, injected errors).
    pub response_bytes: u64,
    /// Of which body bytes.
    pub response_body_bytes: u64,
    /// Status codes of the responses clients received a head of (truncated ones included).
    pub statuses: BTreeMap<u16, u64>,
    /// Faults injected, per kind.
    pub faults: BTreeMap<Fault, u64>,
    /// Requests sent to upstream.
    pub forwarded: u64,
}

impl Stats {
    /// All requests read.
    pub fn total_requests(&self) -> u64 {
        self.requests.values().sum()
    }

    /// Requests with `method`.
    pub fn requests_of(&self, method: &str) -> u64 {
        self.requests.get(method).copied().unwrap_or(0)
    }

    /// All faults injected.
    pub fn total_faults(&self) -> u64 {
        self.faults.values().sum()
    }

    /// Faults of `kind` injected.
    pub fn faults_of(&self, kind: Fault) -> u64 {
        self.faults.get(&kind).copied().unwrap_or(0)
    }
}

#[derive(Default)]
struct State {
    faults: Option<Faults>,
    matched: u64,
    injected: u64,
    stats: Stats,
}

struct Shared {
    upstream: SocketAddr,
    seed: u64,
    state: Mutex<State>,
    stop: AtomicBool,
    connections: Mutex<HashMap<u64, TcpStream>>,
    next_connection: AtomicU64,
}

impl Shared {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The proxy: a listener on 127.0.0.1 and a thread per client connection.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        let connections = self
            .shared
            .connections
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for stream in connections.values() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

impl FaultProxy {
    /// A proxy to `upstream` (`http://HOST:PORT`), faults off, choices from `seed`.
    pub fn start(upstream: &str, seed: u64) -> FaultProxy {
        let authority = upstream
            .strip_prefix("http://")
            .unwrap_or_else(|| panic!("upstream {upstream:?} is not http://HOST:PORT"))
            .trim_end_matches('/');
        let upstream = authority
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .unwrap_or_else(|| panic!("upstream address {authority:?}"));
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared {
            upstream,
            seed,
            state: Mutex::new(State::default()),
            stop: AtomicBool::new(false),
            connections: Mutex::new(HashMap::new()),
            next_connection: AtomicU64::new(0),
        });
        let accepting = Arc::clone(&shared);
        let acceptor = std::thread::Builder::new()
            .name("fault-proxy".into())
            .spawn(move || accept(listener, accepting))
            .expect("spawn the proxy thread");
        FaultProxy {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// `http://127.0.0.1:PORT` of the proxy.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Injects `faults` from now on (the request count for determinism restarts).
    pub fn set_faults(&self, faults: Faults) {
        let mut state = self.shared.state();
        state.faults = Some(faults);
        state.matched = 0;
        state.injected = 0;
    }

    /// No more faults: every request is relayed.
    pub fn clear_faults(&self) {
        self.shared.state().faults = None;
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        self.shared.state().stats.clone()
    }

    /// Zeroes the counters.
    pub fn reset_stats(&self) {
        self.shared.state().stats = Stats::default();
    }
}

fn accept(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        // Heads and bodies go out in separate writes: don't let Nagle hold them back.
        let _ = stream.set_nodelay(true);
        let id = shared.next_connection.fetch_add(1, Ordering::Relaxed);
        if let Ok(clone) = stream.try_clone() {
            shared
                .connections
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id, clone);
        }
        let serving = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name("fault-proxy-conn".into())
            .spawn(move || {
                serve(stream, &serving);
                serving
                    .connections
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&id);
            });
        if spawned.is_err() {
            shared
                .connections
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&id);
        }
    }
}

/// The 64-bit finalizer of SplitMix64: a well-mixed function of its input.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The fault, if any, for the `k`-th matching request.
fn choose(seed: u64, k: u64, faults: &Faults) -> Option<Fault> {
    let roll = mix(seed ^ mix(k));
    let unit = (roll >> 11) as f64 / (1u64 << 53) as f64;
    (unit < faults.rate).then(|| faults.kinds[(mix(roll) % faults.kinds.len() as u64) as usize])
}

fn decide(shared: &Shared, head: &Head) -> Option<Fault> {
    let mut state = shared.state();
    let state = &mut *state;
    let faults = state.faults.as_ref()?;
    if !faults.matches(head) || faults.at_most.is_some_and(|n| state.injected >= n) {
        return None;
    }
    let k = state.matched;
    state.matched += 1;
    let fault = choose(shared.seed, k, faults)?;
    if fault != Fault::TruncateBody {
        state.injected += 1;
        *state.stats.faults.entry(fault).or_default() += 1;
    }
    Some(fault)
}

/// Counts a truncation when it can happen (the response has a body) and is still allowed.
fn take_truncation(shared: &Shared) -> bool {
    let mut state = shared.state();
    let allowed = state
        .faults
        .as_ref()
        .is_none_or(|f| f.at_most.is_none_or(|n| state.injected < n));
    if allowed {
        state.injected += 1;
        *state.stats.faults.entry(Fault::TruncateBody).or_default() += 1;
    }
    allowed
}

fn serve(client: TcpStream, shared: &Shared) {
    let Ok(read_half) = client.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = client;
    while !shared.stop.load(Ordering::SeqCst) {
        let head = match http1::read_head(&mut reader) {
            Ok(Some(head)) => head,
            _ => return,
        };
        {
            let mut state = shared.state();
            *state
                .stats
                .requests
                .entry(head.method().to_owned())
                .or_default() += 1;
            state.stats.request_bytes += head.raw.len() as u64;
        }
        if head.has_token("Expect", "100-continue")
            && !send(
                &mut writer,
                shared,
                None,
                b"HTTP/1.1 100 Continue\r\n\r\n",
                0,
            )
        {
            return;
        }
        let body =
            match http1::request_framing(&head).and_then(|f| http1::read_body(&mut reader, f)) {
                Ok(body) => body,
                Err(_) => return,
            };
        {
            let mut state = shared.state();
            state.stats.request_bytes += body.wire.len() as u64;
            state.stats.request_body_bytes += body.wire.len() as u64;
        }
        let keep_alive = head.keep_alive();
        let fault = decide(shared, &head);
        let open = match fault {
            Some(Fault::InternalError) => {
                inject_error(&mut writer, shared, &head, 500, "InternalError")
            }
            Some(Fault::SlowDown) => inject_error(&mut writer, shared, &head, 503, "SlowDown"),
            Some(Fault::ConditionalConflict) => inject_error(
                &mut writer,
                shared,
                &head,
                409,
                "ConditionalRequestConflict",
            ),
            Some(Fault::ResetBeforeForward) => {
                reset(&writer);
                return;
            }
            _ => match forward(shared, &head, &body) {
                Ok((response, response_body)) => {
                    if fault == Some(Fault::ResetAfterForward) {
                        reset(&writer);
                        return;
                    }
                    let truncate = fault == Some(Fault::TruncateBody)
                        && !response_body.wire.is_empty()
                        && take_truncation(shared);
                    let sent = if truncate {
                        response_body.wire.len() / 2
                    } else {
                        response_body.wire.len()
                    };
                    let delimited = http1::response_framing(&response, head.method())
                        .is_ok_and(|f| f != http1::Framing::UntilClose);
                    let stay_open = keep_alive && delimited && !truncate;
                    let mut bytes = client_head(&response.raw, stay_open);
                    bytes.extend_from_slice(&response_body.wire[..sent]);
                    send(&mut writer, shared, Some(response.status()), &bytes, sent) && stay_open
                }
                Err(error) => {
                    let message = format!("fault proxy: upstream {}: {error}\n", shared.upstream);
                    let headers = [("Content-Type", "text/plain"), ("Connection", "close")];
                    let method = head.method();
                    let bytes =
                        http1::response(502, "Bad Gateway", &headers, message.as_bytes(), method);
                    let body_len = if method == "HEAD" { 0 } else { message.len() };
                    send(&mut writer, shared, Some(502), &bytes, body_len);
                    false
                }
            },
        };
        if !open || !keep_alive {
            let _ = writer.shutdown(Shutdown::Write);
            return;
        }
    }
}

/// The upstream response head for the client: without the hop-by-hop
/// `Connection` and `Keep-Alive` fields of the upstream connection (moto closes
/// every connection), with `Connection: close` if the proxy closes this one.
fn client_head(raw: &[u8], stay_open: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + 19);
    let body_of_head = raw.strip_suffix(b"\r\n").unwrap_or(raw);
    for line in body_of_head.split_inclusive(|&b| b == b'\n') {
        let name = line.split(|&b| b == b':').next().unwrap_or(b"");
        let hop =
            name.eq_ignore_ascii_case(b"connection") || name.eq_ignore_ascii_case(b"keep-alive");
        if !hop {
            out.extend_from_slice(line);
        }
    }
    if !stay_open {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Counts `bytes` (a response with `status`, its last `body_len` bytes the body)
/// and writes them; whether that worked. Counting first means a client that has
/// read a response finds it in the stats.
fn send(
    writer: &mut TcpStream,
    shared: &Shared,
    status: Option<u16>,
    bytes: &[u8],
    body_len: usize,
) -> bool {
    {
        let mut state = shared.state();
        if let Some(status) = status {
            *state.stats.statuses.entry(status).or_default() += 1;
        }
        state.stats.response_bytes += bytes.len() as u64;
        state.stats.response_body_bytes += body_len as u64;
    }
    writer.write_all(bytes).and_then(|_| writer.flush()).is_ok()
}

/// Writes S3's error response `code` with `status`; whether the connection is still usable.
fn inject_error(
    writer: &mut TcpStream,
    shared: &Shared,
    head: &Head,
    status: u16,
    code: &str,
) -> bool {
    let (reason, message) = match status {
        503 => ("Slow Down", "Please reduce your request rate."),
        409 => (
            "Conflict",
            "A conflicting conditional operation is currently in progress against this \
             resource. Please try again.",
        ),
        _ => (
            "Internal Server Error",
            "We encountered an internal error. Please try again.",
        ),
    };
    let request_id = format!("FAULTPROXY{:010}", shared.state().stats.total_requests());
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
         <Message>{message}</Message><RequestId>{request_id}</RequestId>\
         <HostId>debpull-fault-proxy</HostId></Error>"
    );
    let mut headers = vec![
        ("Content-Type", "application/xml"),
        ("x-amz-request-id", request_id.as_str()),
    ];
    if !head.keep_alive() {
        headers.push(("Connection", "close"));
    }
    let method = head.method();
    let bytes = http1::response(status, reason, &headers, body.as_bytes(), method);
    let body_len = if method == "HEAD" { 0 } else { body.len() };
    send(writer, shared, Some(status), &bytes, body_len)
}

/// Sends the request upstream on a fresh connection and reads the whole response.
fn forward(shared: &Shared, head: &Head, body: &Body) -> std::io::Result<(Head, Body)> {
    let mut upstream = TcpStream::connect_timeout(&shared.upstream, Duration::from_secs(5))?;
    upstream.set_read_timeout(Some(Duration::from_secs(60)))?;
    upstream.set_nodelay(true)?;
    upstream.write_all(&head.raw)?;
    upstream.write_all(&body.wire)?;
    upstream.flush()?;
    shared.state().stats.forwarded += 1;
    let mut reader = BufReader::new(upstream);
    http1::read_response(&mut reader, head.method())
}

/// Closes `stream`'s socket with a TCP RST (SO_LINGER on, timeout 0) once every
/// handle of it is dropped.
fn reset(stream: &TcpStream) {
    use std::os::fd::AsRawFd;
    #[repr(C)]
    struct Linger {
        l_onoff: i32,
        l_linger: i32,
    }
    unsafe extern "C" {
        fn setsockopt(
            fd: i32,
            level: i32,
            name: i32,
            value: *const std::ffi::c_void,
            len: u32,
        ) -> i32;
    }
    const SOL_SOCKET: i32 = 1; // Linux
    const SO_LINGER: i32 = 13; // Linux
    let linger = Linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: the descriptor belongs to `stream`, alive for the call; the pointer and
    // length describe `linger`, a `struct linger` as Linux defines it.
    unsafe {
        setsockopt(
            stream.as_raw_fd(),
            SOL_SOCKET,
            SO_LINGER,
            (&linger as *const Linger).cast(),
            std::mem::size_of::<Linger>() as u32,
        );
    }
}
