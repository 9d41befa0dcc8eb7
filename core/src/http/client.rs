//! Posting a batch: the body (JSON or NDJSON, maybe gzipped), the request over a
//! kept-alive connection, and the verdict on the answer — whether to retry, and how
//! long at least to wait — kept apart from the backoff, which is the job's.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use crate::batch::Batch;
use crate::batch_id::BatchId;
use crate::http::config::{Format, SinkConfig};
use crate::http::tls::TlsKey;
use crate::http::{cap, json, otlp, proxy};
use crate::outcome::{CallError, CallOutcome, HttpAnswer, RetryAction};
use crate::sync::Mutex;

/// The longest `Retry-After` honoured.
pub const RETRY_AFTER_MAX: Duration = Duration::from_secs(300);
/// Bytes of a failed response's body kept in `lastError`.
const EXCERPT: usize = 256;
/// A response body is read up to this size (so the connection can be reused).
const BODY_LIMIT: u64 = 64 << 10;

/// What the requests of one sink job did, shared by every thread that posts for it.
#[derive(Debug, Default)]
pub struct HttpCounters {
    requests: AtomicU64,
    bytes: AtomicU64,
    statuses: Mutex<BTreeMap<u16, u64>>,
}

/// A copy of [`HttpCounters`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HttpCounts {
    /// Requests sent, retries included.
    pub requests: u64,
    /// Request body bytes as sent.
    pub bytes: u64,
    /// Responses by status code.
    pub statuses: BTreeMap<u16, u64>,
}

impl HttpCounters {
    /// A copy of the counts now.
    pub fn snapshot(&self) -> HttpCounts {
        HttpCounts {
            requests: self.requests.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            statuses: self.statuses.lock().clone(),
        }
    }
}

/// What an answer means for the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Delivered.
    Delivered,
    /// Try again later.
    Retry,
    /// Trying again will not help: store it as failed now.
    Permanent,
}

/// The verdict on a status code: 2xx delivered; 408, 429 and 5xx but 501 retried;
/// anything else (3xx included: redirects are not followed) permanent.
pub fn verdict(status: u16) -> Verdict {
    match status {
        200..=299 => Verdict::Delivered,
        408 | 429 => Verdict::Retry,
        501 => Verdict::Permanent,
        500..=599 => Verdict::Retry,
        _ => Verdict::Permanent,
    }
}

/// A `Retry-After` value: seconds, or an HTTP date; at most [`RETRY_AFTER_MAX`].
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let wait = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => http_date(value)?.duration_since(now).unwrap_or(Duration::ZERO),
    };
    Some(wait.min(RETRY_AFTER_MAX))
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn http_date(s: &str) -> Option<SystemTime> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    if parts.len() != 6 || parts[5] != "GMT" {
        return None;
    }
    let day: u64 = parts[1].parse().ok()?;
    let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        .iter()
        .position(|m| *m == parts[2])? as u64
        + 1;
    let year: u64 = parts[3].parse().ok()?;
    let hms: Vec<u64> = parts[4].split(':').map(|x| x.parse().ok()).collect::<Option<_>>()?;
    if hms.len() != 3 || !(1..=31).contains(&day) || year < 1970 {
        return None;
    }
    // Days since the epoch (a civil-from-days inverse).
    let (y, m) = if month <= 2 { (year - 1, month + 9) } else { (year, month - 3) };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hms[0] * 3600 + hms[1] * 60 + hms[2];
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
}

/// The request body for a batch, compressed when the sink says so.
pub fn body(sink: &SinkConfig, batch: &Batch) -> Result<Vec<u8>, String> {
    let plain = plain_body(sink, batch)?;
    if sink.gzip {
        return gzip(&plain);
    }
    Ok(plain)
}

fn gzip(plain: &[u8]) -> Result<Vec<u8>, String> {
    let mut gz =
        flate2::write::GzEncoder::new(Vec::with_capacity(plain.len() / 4), flate2::Compression::fast());
    gz.write_all(plain).map_err(|e| e.to_string())?;
    gz.finish().map_err(|e| e.to_string())
}

/// The body for a batch before compression (what `maxBatchBytes` bounds).
pub fn plain_body(sink: &SinkConfig, batch: &Batch) -> Result<Vec<u8>, String> {
    // JSON is larger than MessagePack (quotes, key separators, floats as text):
    // enough room to build most bodies without growing.
    let mut out = Vec::with_capacity(batch.byte_len() * 2 + batch.len() * 16 + 2);
    let bad = |e: crate::msgpack::DecodeError| format!("cannot encode the batch as JSON: {e}");
    match sink.format {
        Format::Json => {
            out.push(b'[');
            for (i, item) in batch.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                json::write_item(item, &mut out).map_err(bad)?;
            }
            out.push(b']');
        }
        Format::Ndjson => {
            for item in batch.iter() {
                json::write_item(item, &mut out).map_err(bad)?;
                out.push(b'\n');
            }
        }
        Format::Otlp => otlp::body(batch, &sink.resource, &mut out).map_err(bad)?,
    }
    Ok(out)
}

/// What an agent is made for.
#[derive(Debug, PartialEq, Eq)]
struct AgentKey {
    tls: Option<TlsKey>,
    proxy: Option<String>,
}

/// Posts batches, keeping connections alive between them. One per thread.
pub struct Client {
    // An agent per TLS configuration and proxy in use (most processes have one): its
    // connections are kept alive between batches.
    agents: Mutex<Vec<(AgentKey, ureq::Agent)>>,
}

impl Default for Client {
    fn default() -> Self {
        Self::new()
    }
}

fn seconds_text(d: Duration) -> String {
    crate::config::php_float_string(d.as_secs_f64())
}

impl Client {
    /// A client with asyncbatch's defaults: no redirects, statuses as answers.
    pub const fn new() -> Self {
        Client { agents: Mutex::new(Vec::new()) }
    }

    /// The agent for `sink`: for its TLS files as they are now (none for http://
    /// URLs) and the proxy chosen for it now.
    fn agent(&self, sink: &SinkConfig) -> Result<ureq::Agent, String> {
        let https = sink.url.get(..8).is_some_and(|s| s.eq_ignore_ascii_case("https://"));
        let host = sink.authority.rsplit_once(':').map_or(sink.authority.as_str(), |(h, _)| h);
        let key = AgentKey {
            tls: https.then(|| sink.tls.key()),
            proxy: proxy::select(sink.proxy.as_deref(), https, host, |name| std::env::var(name).ok()),
        };
        let mut agents = self.agents.lock();
        if let Some((_, agent)) = agents.iter().find(|(k, _)| *k == key) {
            return Ok(agent.clone());
        }
        // No proxy unless chosen: ureq's own default would read HTTP_PROXY, which
        // a CGI request sets from its Proxy: header.
        let via = match &key.proxy {
            Some(url) => {
                Some(ureq::Proxy::new(url).map_err(|e| format!("bad proxy {}: {e}", proxy::redacted(url)))?)
            }
            None => None,
        };
        let config = ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).proxy(via);
        let config = match &key.tls {
            Some(_) => config.tls_config(sink.tls.config()?),
            None => config,
        };
        let agent: ureq::Agent = config.build().into();
        // An agent for files that changed since replaces the one for them before.
        let files = |k: &AgentKey| k.tls.as_ref().map(|t| t.files().clone());
        agents.retain(|(k, _)| !(files(k) == files(&key) && k.proxy == key.proxy));
        agents.push((key, agent.clone()));
        Ok(agent)
    }

    /// Posts one batch under its id; the outcome says whether it was delivered, or
    /// failed and how. A body over `maxBatchBytes` is not sent (delivery cuts batches
    /// to fit before they get here: only a direct call meets this).
    pub fn post(
        &self,
        sink: &SinkConfig,
        batch: &Batch,
        id: &BatchId,
        counters: &HttpCounters,
    ) -> CallOutcome {
        let body = match plain_body(sink, batch) {
            Ok(b) if b.len() > sink.max_batch_bytes => {
                return CallOutcome::Failed(CallError {
                    message: cap::too_big("body", b.len(), sink.max_batch_bytes),
                    retry: RetryAction::Never,
                    http: None,
                })
            }
            Ok(b) if sink.gzip => match gzip(&b) {
                Ok(gz) => gz,
                Err(e) => return CallOutcome::failed(e),
            },
            Ok(b) => b,
            Err(e) => return CallOutcome::failed(e),
        };
        let agent = match self.agent(sink) {
            Ok(a) => a,
            Err(e) => return CallOutcome::failed(format!("cannot connect to {}: {e}", sink.authority)),
        };
        let mut req = agent
            .post(&sink.url)
            .config()
            .timeout_connect(Some(sink.timeout))
            .timeout_send_body(Some(sink.timeout))
            .timeout_recv_response(Some(sink.timeout))
            .timeout_recv_body(Some(sink.timeout))
            .build();
        // The sink's own headers replace the defaults of the same name.
        let given = |name: &str| sink.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
        if !given("content-type") {
            req = req.header("Content-Type", sink.format.content_type());
        }
        if !given("user-agent") {
            req = req.header("User-Agent", concat!("asyncbatch/", env!("CARGO_PKG_VERSION")));
        }
        if sink.gzip {
            req = req.header("Content-Encoding", "gzip");
        }
        if let Some(name) = sink.idempotency_header.as_deref().filter(|n| !given(n)) {
            req = req.header(name, id.text());
        }
        for (k, v) in &sink.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        counters.requests.fetch_add(1, Ordering::Relaxed);
        counters.bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
        let mut resp = match req.send(&body[..]) {
            Ok(r) => r,
            Err(ureq::Error::Timeout(_)) => {
                return CallOutcome::failed(format!("timeout after {}s", seconds_text(sink.timeout)))
            }
            Err(e) => return CallOutcome::failed(format!("connection to {} failed: {e}", sink.authority)),
        };
        let status = resp.status().as_u16();
        *counters.statuses.lock().entry(status).or_insert(0) += 1;
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        // Read the body (bounded) so the connection can serve the next batch.
        let text = resp.body_mut().with_config().limit(BODY_LIMIT).read_to_vec().unwrap_or_default();
        let verdict = verdict(status);
        if verdict == Verdict::Delivered {
            return CallOutcome::Accepted;
        }
        let reason = resp.status().canonical_reason().unwrap_or("");
        // One line: each line break (CRLF, LF or CR) becomes one space.
        let excerpt = String::from_utf8_lossy(&text[..text.len().min(EXCERPT)])
            .replace("\r\n", " ")
            .replace(['\r', '\n'], " ");
        let mut message = format!("HTTP {status} {reason}").trim_end().to_string();
        if !excerpt.trim().is_empty() {
            message.push_str(": ");
            message.push_str(excerpt.trim_end());
        }
        let retry = match (verdict, retry_after) {
            (Verdict::Permanent, _) => RetryAction::Never,
            (_, Some(d)) => RetryAction::NotBefore(d),
            (_, None) => RetryAction::Backoff,
        };
        CallOutcome::Failed(CallError { message, retry, http: Some(HttpAnswer { status, retry_after }) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_on_temporary_errors_only() {
        assert_eq!(verdict(200), Verdict::Delivered);
        assert_eq!(verdict(204), Verdict::Delivered);
        for s in [408, 429, 500, 502, 503, 504, 599] {
            assert_eq!(verdict(s), Verdict::Retry, "{s}");
        }
        for s in [301, 302, 400, 401, 403, 404, 413, 422, 501] {
            assert_eq!(verdict(s), Verdict::Permanent, "{s}");
        }
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date_capped() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now), Some(Duration::from_secs(10)));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:30 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("99999", now), Some(RETRY_AFTER_MAX));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn bodies_are_json_or_ndjson_and_may_be_gzipped() {
        use crate::item::Value;
        let mut b = Batch::new();
        b.push(&Value::Int(1).encode());
        b.push(&Value::str("x").encode());
        let sink = |format, gzip| SinkConfig {
            url: "http://h/".into(),
            authority: "h:80".into(),
            headers: vec![],
            format,
            timeout: Duration::from_secs(1),
            gzip,
            tls: Default::default(),
            proxy: None,
            resource: Vec::new(),
            idempotency_header: None,
            max_batch_bytes: 1 << 20,
            job: Default::default(),
        };
        assert_eq!(body(&sink(Format::Json, false), &b).unwrap(), b"[1,\"x\"]");
        assert_eq!(body(&sink(Format::Ndjson, false), &b).unwrap(), b"1\n\"x\"\n");
        let gz = body(&sink(Format::Json, true), &b).unwrap();
        let mut plain = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut plain).unwrap();
        assert_eq!(plain, b"[1,\"x\"]");
    }
}
