//! One FastCGI request through `cgi-fcgi -bind -connect`.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::paths::cgi_fcgi_binary;
use crate::process::run_with_timeout;

/// A FastCGI response, as `cgi-fcgi` printed it.
#[derive(Debug, Clone)]
pub struct FcgiResponse {
    /// From the `Status:` header; 200 when there is none.
    pub status: u16,
    /// Headers in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// What cgi-fcgi wrote to stderr (the FastCGI stderr stream, connection errors).
    pub stderr: String,
    /// From starting `cgi-fcgi` until it exited, i.e. until the end of the
    /// response (php-fpm ends the request at `fastcgi_finish_request()`).
    pub elapsed: Duration,
    /// Whether `cgi-fcgi` exited with status 0.
    pub client_ok: bool,
}

impl FcgiResponse {
    /// The body, lossily decoded.
    pub fn body_str(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// True when the client succeeded and the status is 200.
    pub fn ok(&self) -> bool {
        self.client_ok && self.status == 200
    }

    /// One line: status, client result, time.
    pub fn summary(&self) -> String {
        format!(
            "status {}, cgi-fcgi {}, {:.1} ms",
            self.status,
            if self.client_ok { "ok" } else { "failed" },
            self.elapsed.as_secs_f64() * 1000.0
        )
    }
}

/// Sends a GET request for `script` (an absolute path, the `SCRIPT_FILENAME`)
/// with `query` as `QUERY_STRING` to the FastCGI server on unix socket `socket`.
///
/// `cgi-fcgi` passes its environment as the request's parameters, so it runs with
/// a cleared environment holding only the CGI variables.
pub fn fcgi_request(socket: &Path, script: &Path, query: &str, timeout: Duration) -> FcgiResponse {
    let script_name = format!("/{}", script.file_name().map(|n| n.to_string_lossy()).unwrap_or_default());
    let document_root = script.parent().map(|p| p.display().to_string()).unwrap_or_default();
    let request_uri = if query.is_empty() { script_name.clone() } else { format!("{script_name}?{query}") };
    let mut cmd = Command::new(cgi_fcgi_binary());
    cmd.env_clear()
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .env("SERVER_SOFTWARE", "asyncbatch-e2e")
        .env("SERVER_PROTOCOL", "HTTP/1.1")
        .env("SERVER_NAME", "localhost")
        .env("SERVER_PORT", "80")
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("REQUEST_METHOD", "GET")
        .env("SCRIPT_FILENAME", script)
        .env("SCRIPT_NAME", &script_name)
        .env("DOCUMENT_ROOT", document_root)
        .env("REQUEST_URI", request_uri)
        .env("QUERY_STRING", query)
        .arg("-bind")
        .arg("-connect")
        .arg(socket);
    let out = run_with_timeout(&mut cmd, None, timeout);
    let (status, headers, body) = parse_cgi_output(&out.stdout);
    let mut stderr = out.stderr;
    if out.timed_out {
        stderr.push_str(&format!("\n(cgi-fcgi killed after {timeout:?})"));
    }
    FcgiResponse {
        status,
        headers,
        body,
        stderr,
        elapsed: out.elapsed,
        client_ok: out.status.success() && !out.timed_out,
    }
}

/// Splits CGI output into status, headers and body.
fn parse_cgi_output(raw: &[u8]) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let (head, body) = match find(raw, b"\r\n\r\n") {
        Some(i) => (&raw[..i], raw[i + 4..].to_vec()),
        None => match find(raw, b"\n\n") {
            Some(i) => (&raw[..i], raw[i + 2..].to_vec()),
            None => return (if raw.is_empty() { 0 } else { 200 }, Vec::new(), raw.to_vec()),
        },
    };
    let mut status = 200;
    let mut headers = Vec::new();
    for line in String::from_utf8_lossy(head).lines() {
        if let Some((name, value)) = line.split_once(':') {
            let (name, value) = (name.trim().to_string(), value.trim().to_string());
            if name.eq_ignore_ascii_case("Status") {
                status = value.split_whitespace().next().and_then(|s| s.parse().ok()).unwrap_or(0);
            }
            headers.push((name, value));
        }
    }
    (status, headers, body)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::parse_cgi_output;

    #[test]
    fn parses_status_headers_and_body() {
        let (status, headers, body) =
            parse_cgi_output(b"Status: 500 Internal Server Error\r\nContent-type: text/html\r\n\r\nboom");
        assert_eq!(status, 500);
        assert_eq!(headers[1], ("Content-type".into(), "text/html".into()));
        assert_eq!(body, b"boom");
    }

    #[test]
    fn missing_status_header_means_200() {
        let (status, _, body) = parse_cgi_output(b"X-Powered-By: PHP\r\n\r\n{\"a\":1}\r\n\r\nx");
        assert_eq!(status, 200);
        assert_eq!(body, b"{\"a\":1}\r\n\r\nx");
    }

    #[test]
    fn empty_output_has_status_0() {
        assert_eq!(parse_cgi_output(b"").0, 0);
    }
}
