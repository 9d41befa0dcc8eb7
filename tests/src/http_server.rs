//! An HTTP/1.1 server on loopback that records every request and answers as a
//! test tells it: the endpoint `AsyncBatch\HttpSink` posts to.
//!
//! ```no_run
//! use std::time::Duration;
//! use asyncbatch_e2e::{HttpServer, Reply};
//!
//! let server = HttpServer::start();
//! server.push(Reply::retry_after(503, 1));   // the next request
//! server.set_default(Reply::ok());           // every other one
//! // ... PHP posts to server.url("/ingest") ...
//! let requests = server.wait_for(Duration::from_secs(10), |r| r.len() >= 2);
//! assert_eq!(requests[1].status(), Some(200));
//! ```
//!
//! One thread per connection, keep-alive: each request records the connection it
//! came on. Bodies sent with `Content-Encoding: gzip` are recorded decoded.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::json::Json;

/// How the server answers one request.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// A response: status, extra headers, body.
    Status {
        /// The status code.
        status: u16,
        /// Headers besides Content-Length and Content-Type.
        headers: Vec<(String, String)>,
        /// The body (text/plain).
        body: String,
    },
    /// Waits this long, then answers 200.
    Stall(Duration),
    /// Holds the request until the default reply is changed (or the server
    /// stops), then closes the connection without answering: a server that
    /// hangs, then comes back without having processed the request.
    Hold,
    /// Closes the connection at once without answering.
    Close,
}

impl Reply {
    /// 200 "ok".
    pub fn ok() -> Reply {
        Reply::status(200, "ok")
    }

    /// `status` with `body`.
    pub fn status(status: u16, body: &str) -> Reply {
        Reply::Status { status, headers: Vec::new(), body: body.into() }
    }

    /// `status` (429 or 503, say) with `Retry-After: seconds`.
    pub fn retry_after(status: u16, seconds: u64) -> Reply {
        Reply::Status {
            status,
            headers: vec![("Retry-After".into(), seconds.to_string())],
            body: "try again later".into(),
        }
    }

    /// The status this reply answers with, `None` when it sends no response.
    pub fn answers(&self) -> Option<u16> {
        match self {
            Reply::Status { status, .. } => Some(*status),
            Reply::Stall(_) => Some(200),
            Reply::Hold | Reply::Close => None,
        }
    }
}

/// One request as the server received it.
#[derive(Clone, Debug)]
pub struct Request {
    /// `POST`, ...
    pub method: String,
    /// The request target: path and query.
    pub path: String,
    /// Headers in the order sent, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body, gunzipped when it came with `Content-Encoding: gzip`.
    pub body: Vec<u8>,
    /// The body's length as it came over the wire.
    pub wire_len: usize,
    /// Which connection it came on (1, 2, ... in order of accept).
    pub connection: u64,
    /// Its position among the requests of its connection (1-based).
    pub on_connection: u64,
    /// When it was read completely (before the reply).
    pub at: Instant,
    /// The same as unix time.
    pub unix_at: f64,
    /// How the server answered it.
    pub reply: Reply,
}

impl Request {
    /// The value of header `name` (case-insensitive), first occurrence.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// How many times header `name` was sent.
    pub fn header_count(&self, name: &str) -> usize {
        self.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).count()
    }

    /// The status it was answered with; `None` when no response was sent.
    pub fn status(&self) -> Option<u16> {
        self.reply.answers()
    }

    /// True when it was answered 2xx: the batch counts as delivered.
    pub fn delivered(&self) -> bool {
        matches!(self.status(), Some(200..=299))
    }

    /// The body, lossily decoded.
    pub fn body_str(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The items of the body: the elements of a JSON array, or one JSON document
    /// per line (NDJSON), as the Content-Type says.
    ///
    /// # Panics
    /// When the body does not parse.
    pub fn items(&self) -> Vec<Json> {
        let text = self.body_str();
        let ndjson = self.header("Content-Type").is_some_and(|t| t.contains("ndjson"));
        if ndjson {
            assert!(
                text.is_empty() || text.ends_with('\n'),
                "NDJSON body without a final line feed: {text:?}"
            );
            text.lines()
                .map(|l| Json::parse(l).unwrap_or_else(|e| panic!("bad NDJSON line {l:?}: {e}")))
                .collect()
        } else {
            match Json::parse(&text) {
                Ok(Json::Arr(items)) => items,
                Ok(other) => panic!("body is not a JSON array: {other:?}"),
                Err(e) => panic!("body is not JSON ({e}): {text:?}"),
            }
        }
    }
}

struct State {
    requests: Vec<Request>,
    queue: VecDeque<Reply>,
    default: Reply,
    /// Bumped whenever the default changes: releases held requests.
    generation: u64,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    stop: AtomicBool,
    connections: AtomicU64,
    record: bool,
    requests: AtomicU64,
    items: AtomicU64,
    bytes: AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The server. Dropping it stops it (connections still open are closed).
pub struct HttpServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// Listens on `127.0.0.1:0`, answering 200 by default, recording every request.
    pub fn start() -> HttpServer {
        HttpServer::bind("127.0.0.1:0", true)
    }

    /// Listens on `addr`. With `record` false, requests are only counted
    /// ([`HttpServer::counts`]), not kept: for benchmarks.
    ///
    /// # Panics
    /// When the address cannot be bound.
    pub fn bind(addr: &str, record: bool) -> HttpServer {
        let listener = TcpListener::bind(addr).unwrap_or_else(|e| panic!("cannot listen on {addr}: {e}"));
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                requests: Vec::new(),
                queue: VecDeque::new(),
                default: Reply::ok(),
                generation: 0,
            }),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
            connections: AtomicU64::new(0),
            record,
            requests: AtomicU64::new(0),
            items: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if shared.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let id = shared.connections.fetch_add(1, Ordering::SeqCst) + 1;
                    let shared = Arc::clone(&shared);
                    thread::spawn(move || serve(stream, id, &shared));
                }
            })
        };
        HttpServer { addr, shared, acceptor: Some(acceptor) }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:{port}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Answers the next request (after those already pushed) with `reply`.
    pub fn push(&self, reply: Reply) {
        self.shared.lock().queue.push_back(reply);
    }

    /// Answers every request with `reply` once the pushed replies are used up.
    /// Releases requests held by [`Reply::Hold`].
    pub fn set_default(&self, reply: Reply) {
        let mut state = self.shared.lock();
        state.default = reply;
        state.generation += 1;
        self.shared.changed.notify_all();
    }

    /// The requests received so far, in order of arrival.
    pub fn requests(&self) -> Vec<Request> {
        self.shared.lock().requests.clone()
    }

    /// Waits until `done` holds for the requests received (checked every 10 ms),
    /// or `timeout` passes; returns the requests either way.
    pub fn wait_for(&self, timeout: Duration, mut done: impl FnMut(&[Request]) -> bool) -> Vec<Request> {
        let deadline = Instant::now() + timeout;
        loop {
            let requests = self.requests();
            if done(&requests) || Instant::now() >= deadline {
                return requests;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Requests, items (JSON array elements or NDJSON lines of 2xx-answered
    /// requests) and body bytes received so far; counted in both modes.
    pub fn counts(&self) -> (u64, u64, u64) {
        (
            self.shared.requests.load(Ordering::SeqCst),
            self.shared.items.load(Ordering::SeqCst),
            self.shared.bytes.load(Ordering::SeqCst),
        )
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.changed.notify_all();
        // Wakes the acceptor, which then sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// Serves one connection: requests one after the other until the client closes,
/// asks to close, or a reply closes it.
fn serve(stream: TcpStream, connection: u64, shared: &Shared) {
    // Short reads, so that a stopped server's threads notice and end.
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let _ = stream.set_nodelay(true);
    let Ok(mut writer) = stream.try_clone() else { return };
    let mut reader = BufReader::new(stream);
    let mut on_connection = 0;
    while let Some((method, path, headers, wire)) = read_request(&mut reader, shared) {
        on_connection += 1;
        let gzip = headers.iter().any(|(n, v)| {
            n.eq_ignore_ascii_case("Content-Encoding") && v.trim().eq_ignore_ascii_case("gzip")
        });
        let body = if gzip { gunzip(&wire) } else { wire.clone() };
        let close = headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("Connection") && v.trim().eq_ignore_ascii_case("close"));

        let (reply, generation) = {
            let mut state = shared.lock();
            let reply = state.queue.pop_front().unwrap_or_else(|| state.default.clone());
            let request = Request {
                method,
                path,
                headers,
                body,
                wire_len: wire.len(),
                connection,
                on_connection,
                at: Instant::now(),
                unix_at: unix_now(),
                reply: reply.clone(),
            };
            shared.requests.fetch_add(1, Ordering::SeqCst);
            shared.bytes.fetch_add(wire.len() as u64, Ordering::SeqCst);
            if request.delivered() {
                shared.items.fetch_add(count_items(&request), Ordering::SeqCst);
            }
            if shared.record {
                state.requests.push(request);
            }
            (reply, state.generation)
        };

        let (status, extra, text) = match reply {
            Reply::Status { status, headers, body } => (status, headers, body),
            Reply::Stall(d) => {
                let until = Instant::now() + d;
                while Instant::now() < until && !shared.stop.load(Ordering::SeqCst) {
                    thread::sleep(Duration::from_millis(10).min(until - Instant::now()));
                }
                (200, Vec::new(), "ok".to_string())
            }
            Reply::Hold => {
                let mut state = shared.lock();
                while state.generation == generation && !shared.stop.load(Ordering::SeqCst) {
                    state = shared
                        .changed
                        .wait_timeout(state, Duration::from_millis(100))
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
                break;
            }
            Reply::Close => break,
        };
        let mut head = format!(
            "HTTP/1.1 {status} {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n",
            reason(status),
            text.len()
        );
        for (name, value) in &extra {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if close {
            head.push_str("Connection: close\r\n");
        }
        head.push_str("\r\n");
        head.push_str(&text);
        if writer.write_all(head.as_bytes()).is_err() || close {
            break;
        }
    }
    let _ = writer.shutdown(Shutdown::Both);
}

type Head = (String, String, Vec<(String, String)>, Vec<u8>);

/// Reads one request: request line, headers, body (Content-Length or chunked).
/// `None` at the end of the connection, on a malformed request, or when the
/// server stops.
fn read_request(reader: &mut BufReader<TcpStream>, shared: &Shared) -> Option<Head> {
    let mut line = String::new();
    // The request line; empty lines before it are allowed (RFC 9112 2.2).
    loop {
        line.clear();
        if read_line(reader, &mut line, shared)? == 0 {
            return None;
        }
        if !line.trim().is_empty() {
            break;
        }
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        line.clear();
        if read_line(reader, &mut line, shared)? == 0 {
            return None;
        }
        let l = line.trim_end_matches(['\r', '\n']);
        if l.is_empty() {
            break;
        }
        let (name, value) = l.split_once(':')?;
        headers.push((name.to_string(), value.trim().to_string()));
    }
    let header =
        |name: &str| headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
    let mut body = Vec::new();
    if header("Transfer-Encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        loop {
            line.clear();
            read_line(reader, &mut line, shared)?;
            let size = usize::from_str_radix(line.trim().split(';').next()?.trim(), 16).ok()?;
            if size == 0 {
                // Trailers, up to the empty line.
                loop {
                    line.clear();
                    if read_line(reader, &mut line, shared)? == 0 || line.trim().is_empty() {
                        break;
                    }
                }
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            read_exact(reader, &mut body[start..], shared)?;
            line.clear();
            read_line(reader, &mut line, shared)?;
        }
    } else if let Some(len) = header("Content-Length") {
        let len: usize = len.trim().parse().ok()?;
        body.resize(len, 0);
        read_exact(reader, &mut body, shared)?;
    }
    Some((method, path, headers, body))
}

fn timed_out(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)
}

fn read_line(reader: &mut BufReader<TcpStream>, line: &mut String, shared: &Shared) -> Option<usize> {
    let mut raw = Vec::new();
    loop {
        match reader.read_until(b'\n', &mut raw) {
            Ok(n) if n == 0 || raw.ends_with(b"\n") => {
                line.push_str(&String::from_utf8_lossy(&raw));
                return Some(raw.len());
            }
            Ok(_) => continue,
            Err(e) if timed_out(&e) && !shared.stop.load(Ordering::SeqCst) => continue,
            Err(_) => return None,
        }
    }
}

fn read_exact(reader: &mut BufReader<TcpStream>, mut buf: &mut [u8], shared: &Shared) -> Option<()> {
    while !buf.is_empty() {
        match reader.read(buf) {
            Ok(0) => return None,
            Ok(n) => buf = &mut buf[n..],
            Err(e) if timed_out(&e) && !shared.stop.load(Ordering::SeqCst) => continue,
            Err(_) => return None,
        }
    }
    Some(())
}

fn gunzip(wire: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match flate2::read::MultiGzDecoder::new(wire).read_to_end(&mut out) {
        Ok(_) => out,
        // Kept as it came: a test comparing items will show it.
        Err(_) => wire.to_vec(),
    }
}

/// Items in a body without parsing it: NDJSON lines, or the top-level elements
/// of a JSON array (commas outside strings at depth 1).
fn count_items(request: &Request) -> u64 {
    let body = &request.body;
    if request.header("Content-Type").is_some_and(|t| t.contains("ndjson")) {
        return body.iter().filter(|&&b| b == b'\n').count() as u64;
    }
    let (mut depth, mut in_string, mut escaped, mut commas, mut any) = (0i32, false, false, 0u64, false);
    for &b in body {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                any |= depth == 1;
            }
            b'[' | b'{' => {
                any |= depth == 1;
                depth += 1;
            }
            b']' | b'}' => depth -= 1,
            b',' if depth == 1 => commas += 1,
            b' ' | b'\n' | b'\r' | b'\t' => {}
            _ => any |= depth == 1,
        }
    }
    if any {
        commas + 1
    } else {
        0
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        202 => "Accepted",
        204 => "No Content",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(server: &HttpServer, stream: &mut TcpStream, body: &[u8], extra: &str) -> String {
        let head = format!(
            "POST /in HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}\r\n",
            server.addr(),
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut status = String::new();
        reader.read_line(&mut status).unwrap();
        let mut len = 0;
        loop {
            let mut l = String::new();
            reader.read_line(&mut l).unwrap();
            if l.trim().is_empty() {
                break;
            }
            if let Some(v) = l.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap();
        status.trim().to_string()
    }

    #[test]
    fn records_requests_and_answers_as_told_on_one_connection() {
        let server = HttpServer::start();
        server.push(Reply::retry_after(429, 2));
        let mut s = TcpStream::connect(server.addr()).unwrap();
        assert_eq!(post(&server, &mut s, b"[1,2]", ""), "HTTP/1.1 429 Too Many Requests");
        assert_eq!(post(&server, &mut s, b"[3]", ""), "HTTP/1.1 200 OK");
        let requests = server.requests();
        assert_eq!(requests.len(), 2);
        assert_eq!((requests[0].connection, requests[1].connection), (1, 1));
        assert_eq!(requests[1].on_connection, 2);
        assert_eq!(requests[0].items(), vec![Json::Num(1.0), Json::Num(2.0)]);
        assert_eq!(server.counts(), (2, 1, 8));
    }

    #[test]
    fn gunzips_gzip_bodies() {
        use flate2::{write::GzEncoder, Compression};
        let server = HttpServer::start();
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(b"[\"a\",{\"b\":[1,2]}]").unwrap();
        let wire = gz.finish().unwrap();
        let mut s = TcpStream::connect(server.addr()).unwrap();
        post(&server, &mut s, &wire, "Content-Encoding: gzip\r\n");
        let r = &server.requests()[0];
        assert_eq!(r.body_str(), "[\"a\",{\"b\":[1,2]}]");
        assert_eq!(r.wire_len, wire.len());
        assert_eq!(server.counts().1, 2);
    }

    #[test]
    fn held_requests_are_closed_unanswered_when_the_default_changes() {
        let server = HttpServer::start();
        server.set_default(Reply::Hold);
        let mut s = TcpStream::connect(server.addr()).unwrap();
        s.write_all(b"POST /in HTTP/1.1\r\nContent-Length: 2\r\n\r\n[]").unwrap();
        assert!(!server.wait_for(Duration::from_secs(5), |r| !r.is_empty()).is_empty());
        server.set_default(Reply::ok());
        let mut rest = Vec::new();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let n = s.read_to_end(&mut rest).unwrap_or(0);
        assert_eq!(n, 0, "no response for a held request");
        assert_eq!(server.requests()[0].status(), None);
    }
}
