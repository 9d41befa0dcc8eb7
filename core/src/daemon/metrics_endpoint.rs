//! `asyncbatch daemon --metrics [HOST:]PORT`: the master answers `GET /metrics`
//! from its own loop, between its other work. No thread: the master forks its
//! workers, and a fork of a process with threads may inherit a lock another thread
//! held.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

/// Connections answered in one call of [`Endpoint::serve`], so that a flood of them
/// cannot keep the master from its workers.
const PER_CALL: usize = 16;
/// How long a client may take to send its request line and headers.
const READ_TIMEOUT: Duration = Duration::from_millis(500);
/// The most of a request that is read.
const MAX_REQUEST: usize = 8192;
/// The content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The listening socket.
#[derive(Debug)]
pub struct Endpoint {
    listener: TcpListener,
}

impl Endpoint {
    /// Listens on `addr`.
    pub fn bind(addr: SocketAddr) -> io::Result<Endpoint> {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        Ok(Endpoint { listener })
    }

    /// Where it listens (the port, when 0 was asked for).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Answers the connections that wait with `metrics`, then returns.
    pub fn serve(&self, metrics: &str) {
        for _ in 0..PER_CALL {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    let _ = answer(stream, metrics);
                }
                Err(_) => return, // WouldBlock: none waits; others: try again next time
            }
        }
    }
}

fn answer(mut stream: TcpStream, metrics: &str) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < MAX_REQUEST {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        request.extend_from_slice(&buf[..n]);
    }
    let line = request.split(|&b| b == b'\r' || b == b'\n').next().unwrap_or_default();
    let mut words = line.split(|&b| b == b' ');
    let (method, target) = (words.next().unwrap_or_default(), words.next().unwrap_or_default());
    let path = target.split(|&b| b == b'?').next().unwrap_or_default();
    let (status, body) = match (method, path) {
        (b"GET" | b"HEAD", b"/metrics") => ("200 OK", metrics),
        (b"GET" | b"HEAD", _) => ("404 Not Found", "asyncbatch: the metrics are at /metrics\n"),
        _ => ("405 Method Not Allowed", "asyncbatch: GET /metrics\n"),
    };
    let content_type = if status.starts_with("200") { CONTENT_TYPE } else { "text/plain; charset=utf-8" };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    if method != b"HEAD" {
        stream.write_all(body.as_bytes())?;
    }
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(addr: SocketAddr, request: &str) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn it_serves_the_metrics_on_their_path_only() {
        let e = Endpoint::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = e.local_addr().unwrap();
        let client = std::thread::spawn(move || {
            [
                get(addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
                get(addr, "GET /other HTTP/1.0\r\n\r\n"),
                get(addr, "POST /metrics HTTP/1.1\r\n\r\n"),
            ]
        });
        let mut answered = 0;
        for _ in 0..500 {
            e.serve("asyncbatch_daemon_up 1\n");
            answered += 1;
            if client.is_finished() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let [ok, missing, post] = client.join().unwrap();
        assert!(answered < 500);
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(ok.contains("Content-Type: text/plain; version=0.0.4"), "{ok}");
        assert!(ok.ends_with("\r\n\r\nasyncbatch_daemon_up 1\n"), "{ok}");
        assert!(missing.starts_with("HTTP/1.1 404 "), "{missing}");
        assert!(post.starts_with("HTTP/1.1 405 "), "{post}");
    }
}
