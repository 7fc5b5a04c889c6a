//! HTTP/1.1 message framing over blocking std streams, for the loopback test
//! servers (fault_proxy.rs, imds.rs) and raw-HTTP test clients.
//!
//! It reads a message head (start line and headers) and then its body as the
//! framing says (RFC 9112 §6): no body, `Content-Length`, `Transfer-Encoding:
//! chunked` (chunk extensions and trailers kept), or until the connection closes.
//! Bodies are kept exactly as they were on the wire ([`Body::wire`]) so a proxy can
//! relay them byte for byte; [`Body::data`] decodes chunking.
//!
//! Limits: heads up to [`MAX_HEAD`] bytes; no HTTP/2, no pipelining tricks beyond
//! reading one message after another from the same stream; header values are taken
//! as UTF-8 (lossy).

use std::borrow::Cow;
use std::io::{self, BufRead, Read};

/// The largest message head accepted (start line and headers).
pub const MAX_HEAD: usize = 64 * 1024;

/// A message head: the start line, the headers in order, and the raw bytes read.
#[derive(Clone, Debug)]
pub struct Head {
    /// `GET /x HTTP/1.1` or `HTTP/1.1 200 OK`.
    pub start_line: String,
    /// Header fields in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The head exactly as received, up to and including the empty line.
    pub raw: Vec<u8>,
}

impl Head {
    /// The first value of header `name` (case-insensitive), trimmed.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether a comma-separated header `name` lists `token` (case-insensitive).
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    /// The request method (first word of a request line).
    pub fn method(&self) -> &str {
        self.start_line.split(' ').next().unwrap_or("")
    }

    /// The request target (second word of a request line), e.g. `/bucket/key?x=1`.
    pub fn target(&self) -> &str {
        self.start_line.split(' ').nth(1).unwrap_or("")
    }

    /// The request target without its query string.
    pub fn path(&self) -> &str {
        let target = self.target();
        target.split_once('?').map_or(target, |(p, _)| p)
    }

    /// The status code of a response line (0 if it has none).
    pub fn status(&self) -> u16 {
        self.start_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    /// The protocol version: the first word of a response line, the last of a request line.
    pub fn version(&self) -> &str {
        if self.start_line.starts_with("HTTP/") {
            self.start_line.split(' ').next().unwrap_or("")
        } else {
            self.start_line.rsplit(' ').next().unwrap_or("")
        }
    }

    /// Whether the connection stays open after this message (HTTP/1.1 unless
    /// `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`).
    pub fn keep_alive(&self) -> bool {
        if self.has_token("Connection", "close") {
            false
        } else if self.version() == "HTTP/1.0" {
            self.has_token("Connection", "keep-alive")
        } else {
            true
        }
    }
}

/// How a message body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// No body.
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Everything until the peer closes (responses only).
    UntilClose,
}

/// A body as it was on the wire.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Body {
    /// The bytes exactly as received (chunk sizes, extensions and trailers included).
    pub wire: Vec<u8>,
    /// Whether `wire` is chunked.
    pub chunked: bool,
}

impl Body {
    /// The payload: `wire` without chunk framing.
    pub fn data(&self) -> Cow<'_, [u8]> {
        if !self.chunked {
            return Cow::Borrowed(&self.wire);
        }
        let mut out = Vec::new();
        let mut rest = &self.wire[..];
        while let Some(end) = find(rest, b"\r\n") {
            let size = chunk_size(&rest[..end]).unwrap_or(0) as usize;
            if size == 0 {
                break;
            }
            let start = end + 2;
            let stop = (start + size).min(rest.len());
            out.extend_from_slice(&rest[start..stop]);
            rest = &rest[(stop + 2).min(rest.len())..];
        }
        Cow::Owned(out)
    }
}

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn chunk_size(line: &[u8]) -> io::Result<u64> {
    let text = std::str::from_utf8(line).map_err(|_| invalid("chunk size is not ASCII"))?;
    let hex = text.split(';').next().unwrap_or("").trim();
    u64::from_str_radix(hex, 16).map_err(|_| invalid(format!("bad chunk size line {text:?}")))
}

/// Reads one line ending in `\n` into `out`; returns its length (0 at EOF).
fn read_line_into(reader: &mut impl BufRead, out: &mut Vec<u8>, limit: usize) -> io::Result<usize> {
    let start = out.len();
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(out.len() - start);
        }
        let (take, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        out.extend_from_slice(&buf[..take]);
        reader.consume(take);
        if out.len() - start > limit {
            return Err(invalid("line too long"));
        }
        if done {
            return Ok(out.len() - start);
        }
    }
}

/// Reads a message head. `Ok(None)` if the stream ended before its first byte
/// (a client closing an idle keep-alive connection).
pub fn read_head(reader: &mut impl BufRead) -> io::Result<Option<Head>> {
    let mut raw = Vec::new();
    loop {
        let line_start = raw.len();
        let n = read_line_into(reader, &mut raw, MAX_HEAD)?;
        if n == 0 {
            if raw.is_empty() {
                return Ok(None);
            }
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "stream ended inside a message head",
            ));
        }
        if raw.len() > MAX_HEAD {
            return Err(invalid("message head too large"));
        }
        let line = &raw[line_start..];
        if line == b"\r\n" || line == b"\n" {
            if line_start == 0 {
                // Tolerate a stray empty line between messages (RFC 9112 §2.2).
                raw.clear();
                continue;
            }
            break;
        }
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let mut lines = text.split("\r\n").flat_map(|l| l.split('\n'));
    let start_line = lines.next().unwrap_or("").to_owned();
    if start_line.split(' ').count() < 2 {
        return Err(invalid(format!("bad start line {start_line:?}")));
    }
    let mut headers = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| invalid(format!("bad header line {line:?}")))?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    Ok(Some(Head {
        start_line,
        headers,
        raw,
    }))
}

fn declared_length(head: &Head) -> io::Result<Option<u64>> {
    match head.header("Content-Length") {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| invalid(format!("bad Content-Length {v:?}"))),
    }
}

/// The framing of a request body.
pub fn request_framing(head: &Head) -> io::Result<Framing> {
    if let Some(te) = head.header("Transfer-Encoding") {
        return if te
            .rsplit(',')
            .next()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("chunked"))
        {
            Ok(Framing::Chunked)
        } else {
            Err(invalid(format!(
                "request Transfer-Encoding {te:?} without chunked last"
            )))
        };
    }
    Ok(match declared_length(head)? {
        Some(0) | None => Framing::Empty,
        Some(n) => Framing::Length(n),
    })
}

/// The framing of a response to a request with `request_method`.
pub fn response_framing(head: &Head, request_method: &str) -> io::Result<Framing> {
    let status = head.status();
    if request_method.eq_ignore_ascii_case("HEAD")
        || (100..200).contains(&status)
        || status == 204
        || status == 304
    {
        return Ok(Framing::Empty);
    }
    if head.header("Transfer-Encoding").is_some() {
        return Ok(if head.has_token("Transfer-Encoding", "chunked") {
            Framing::Chunked
        } else {
            Framing::UntilClose
        });
    }
    Ok(match declared_length(head)? {
        Some(0) => Framing::Empty,
        Some(n) => Framing::Length(n),
        None => Framing::UntilClose,
    })
}

/// Reads a body with `framing`, keeping its wire bytes.
pub fn read_body(reader: &mut impl BufRead, framing: Framing) -> io::Result<Body> {
    let mut wire = Vec::new();
    match framing {
        Framing::Empty => {}
        Framing::Length(n) => {
            reader.by_ref().take(n).read_to_end(&mut wire)?;
            if (wire.len() as u64) < n {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("body ended after {} of {n} bytes", wire.len()),
                ));
            }
        }
        Framing::UntilClose => {
            reader.read_to_end(&mut wire)?;
        }
        Framing::Chunked => loop {
            let start = wire.len();
            if read_line_into(reader, &mut wire, 4096)? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "stream ended inside a chunked body",
                ));
            }
            let size = chunk_size(wire[start..].trim_ascii_end())?;
            if size == 0 {
                // Trailer fields, then the empty line.
                loop {
                    let at = wire.len();
                    if read_line_into(reader, &mut wire, MAX_HEAD)? == 0 {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "stream ended inside chunked trailers",
                        ));
                    }
                    if wire[at..].trim_ascii_end().is_empty() {
                        break;
                    }
                }
                break;
            }
            let before = wire.len();
            reader.by_ref().take(size + 2).read_to_end(&mut wire)?;
            if ((wire.len() - before) as u64) < size + 2 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "stream ended inside a chunk",
                ));
            }
            if !wire.ends_with(b"\r\n") {
                return Err(invalid("chunk not followed by CRLF"));
            }
        },
    }
    Ok(Body {
        wire,
        chunked: framing == Framing::Chunked,
    })
}

/// Reads a final response (skipping `1xx` interim ones) to a request with `method`.
pub fn read_response(reader: &mut impl BufRead, method: &str) -> io::Result<(Head, Body)> {
    loop {
        let head = read_head(reader)?.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed before a response",
            )
        })?;
        let status = head.status();
        if (100..200).contains(&status) && status != 101 {
            continue;
        }
        let body = read_body(reader, response_framing(&head, method)?)?;
        return Ok((head, body));
    }
}

/// A complete response with `status`, `headers` and `body` (Content-Length set
/// from `body`; no body bytes for `HEAD`).
pub fn response(
    status: u16,
    reason: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    method: &str,
) -> Vec<u8> {
    let mut message = format!("HTTP/1.1 {status} {reason}\r\n");
    for (name, value) in headers {
        message.push_str(&format!("{name}: {value}\r\n"));
    }
    message.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = message.into_bytes();
    if !method.eq_ignore_ascii_case("HEAD") {
        bytes.extend_from_slice(body);
    }
    bytes
}
