//! An HttpSink's options: the URL and the request (headers, format, timeout, gzip),
//! plus job keys it brings to the job it is registered for. Validated once, here.

use std::path::PathBuf;
use std::time::Duration;

use thiserror::Error;

use crate::config::{known_key, ConfigKey, ConfigValue, JobConfig};
use crate::http::proxy;
use crate::http::tls::{self, TlsFiles};
use crate::item::{printable_id, Value};

/// The option names, in the order messages list them.
pub const OPTIONS: [&str; 16] = [
    "headers",
    "format",
    "timeout",
    "gzip",
    "caFile",
    "clientCert",
    "clientKey",
    "proxy",
    "resource",
    "idempotencyHeader",
    "maxBatchBytes",
    "batchSize",
    "callPeriod",
    "maxRetries",
    "retryDelay",
    "maxQueueSize",
];

/// The header that carries a batch's id unless the sink names another.
pub const DEFAULT_IDEMPOTENCY_HEADER: &str = "Idempotency-Key";
/// The byte cap unless the sink says: below common collectors' limits on a request
/// (5 MiB and up), before compression.
pub const DEFAULT_MAX_BATCH_BYTES: usize = 4 << 20;
/// The smallest byte cap accepted.
const MIN_BATCH_BYTES: i64 = 1024;

/// Headers the sink sets itself and the user may not.
const RESERVED_HEADERS: [&str; 5] =
    ["content-length", "content-encoding", "transfer-encoding", "host", "connection"];

/// How a batch becomes a request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A JSON array of the items.
    Json,
    /// One JSON document per item, each ending in a newline.
    Ndjson,
    /// An OTLP/HTTP JSON `ExportLogsServiceRequest` of the items as log records.
    Otlp,
}

impl Format {
    /// The request's Content-Type.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Ndjson => "application/x-ndjson",
            Format::Otlp => "application/json",
        }
    }
}

/// A validated sink.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkConfig {
    /// Where batches are posted.
    pub url: String,
    /// `host:port`, for messages.
    pub authority: String,
    /// Extra headers, in order (they may replace User-Agent and Content-Type).
    pub headers: Vec<(String, String)>,
    /// Body format. By default JSON.
    pub format: Format,
    /// Bound on connecting, sending and receiving, each. By default 5 s.
    pub timeout: Duration,
    /// Whether bodies are gzip-compressed. By default not.
    pub gzip: bool,
    /// Whom to trust and the client certificate. By default the system's store.
    pub tls: TlsFiles,
    /// The proxy option (`http://host:port`), which wins over the environment's.
    pub proxy: Option<String>,
    /// The resource attributes of OTLP bodies, in order.
    pub resource: Vec<(String, Value)>,
    /// The header that carries the batch id; none when `false`. By default
    /// `Idempotency-Key`.
    pub idempotency_header: Option<String>,
    /// The largest body (before compression): larger batches are cut. By default 4 MiB.
    pub max_batch_bytes: usize,
    /// The job keys among the options, applied to the job before its own config.
    pub job: JobConfig,
}

/// A value of an option, reduced to what validation needs.
#[derive(Debug, Clone)]
pub enum OptionValue<'a> {
    /// A plain value (an int, a float, or anything by its type name).
    Plain(ConfigValue<'a>),
    /// A bool.
    Bool(bool),
    /// A string.
    Str(&'a [u8]),
    /// An array of key/value pairs (headers), values as strings when they are.
    Map(Vec<(ConfigKey<'a>, Option<&'a [u8]>)>),
}

impl OptionValue<'_> {
    fn describe(&self) -> String {
        match self {
            OptionValue::Plain(v) => v.describe(),
            OptionValue::Bool(_) => "bool".into(),
            OptionValue::Str(_) => "string".into(),
            OptionValue::Map(_) => "array".into(),
        }
    }
}

/// Why a sink could not be made.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SinkError {
    /// Not an http(s) URL with a host.
    #[error("Invalid URL '{}' for AsyncBatch\\HttpSink: it must be an http:// or https:// URL with a host", redacted_url(.0))]
    Url(String),
    /// An option it does not have.
    #[error("Unknown option '{0}' for AsyncBatch\\HttpSink (known options: headers, format, timeout, gzip, caFile, clientCert, clientKey, proxy, resource, idempotencyHeader, maxBatchBytes, batchSize, callPeriod, maxRetries, retryDelay, maxQueueSize)")]
    UnknownOption(String),
    /// An option with a bad value.
    #[error("Option '{key}' of AsyncBatch\\HttpSink must be {rule}, got {got}")]
    BadOption {
        /// The option.
        key: &'static str,
        /// What it must be.
        rule: &'static str,
        /// What it was.
        got: String,
    },
    /// One of `clientCert` and `clientKey` without the other.
    #[error("Options 'clientCert' and 'clientKey' of AsyncBatch\\HttpSink go together: '{0}' is missing")]
    ClientPair(&'static str),
}

impl SinkConfig {
    /// Validates a URL and options, in the order given.
    pub fn new<'a>(
        url: &[u8],
        options: impl IntoIterator<Item = (ConfigKey<'a>, OptionValue<'a>)>,
    ) -> Result<SinkConfig, SinkError> {
        let (url, authority) = check_url(url).ok_or_else(|| SinkError::Url(printable_id(url)))?;
        let mut sink = SinkConfig {
            url,
            authority,
            headers: Vec::new(),
            format: Format::Json,
            timeout: Duration::from_secs(5),
            gzip: false,
            tls: TlsFiles::default(),
            proxy: None,
            resource: Vec::new(),
            idempotency_header: Some(DEFAULT_IDEMPOTENCY_HEADER.to_string()),
            max_batch_bytes: DEFAULT_MAX_BATCH_BYTES,
            job: JobConfig::default(),
        };
        let (mut client_cert, mut client_key) = (None, None);
        for (key, value) in options {
            let name = match key {
                ConfigKey::Str(k) => OPTIONS.iter().find(|o| o.as_bytes() == k).copied(),
                ConfigKey::Int(_) => None,
            };
            let Some(name) = name else {
                return Err(SinkError::UnknownOption(match key {
                    ConfigKey::Str(k) => printable_id(k),
                    ConfigKey::Int(i) => i.to_string(),
                }));
            };
            let bad = |rule: &'static str| SinkError::BadOption { key: name, rule, got: value.describe() };
            match (name, &value) {
                ("headers", OptionValue::Map(pairs)) => {
                    sink.headers = headers(pairs).map_err(|got| SinkError::BadOption {
                        key: "headers",
                        rule: "an array of header names to string values",
                        got,
                    })?
                }
                ("headers", _) => return Err(bad("an array of header names to string values")),
                ("format", OptionValue::Str(b"json")) => sink.format = Format::Json,
                ("format", OptionValue::Str(b"ndjson")) => sink.format = Format::Ndjson,
                ("format", OptionValue::Str(b"otlp")) => sink.format = Format::Otlp,
                ("format", _) => return Err(bad("'json', 'ndjson' or 'otlp'")),
                ("resource", OptionValue::Map(pairs)) => {
                    sink.resource = attributes(pairs).map_err(|got| SinkError::BadOption {
                        key: "resource",
                        rule: RESOURCE_RULE,
                        got,
                    })?
                }
                ("resource", _) => return Err(bad(RESOURCE_RULE)),
                ("timeout", OptionValue::Plain(v)) => {
                    sink.timeout = seconds(v).ok_or_else(|| bad("a number of seconds > 0"))?
                }
                ("timeout", _) => return Err(bad("a number of seconds > 0")),
                ("idempotencyHeader", OptionValue::Bool(false)) => sink.idempotency_header = None,
                ("idempotencyHeader", OptionValue::Str(name)) if is_header_name(name) => {
                    sink.idempotency_header = Some(String::from_utf8_lossy(name).into_owned())
                }
                ("idempotencyHeader", _) => return Err(bad("a header name or false")),
                ("maxBatchBytes", OptionValue::Plain(ConfigValue::Int(n))) if *n >= MIN_BATCH_BYTES => {
                    sink.max_batch_bytes = usize::try_from(*n).unwrap_or(usize::MAX)
                }
                ("maxBatchBytes", _) => return Err(bad("an int of bytes >= 1024")),
                ("gzip", OptionValue::Bool(b)) => sink.gzip = *b,
                ("gzip", _) => return Err(bad("a bool")),
                ("proxy", v) => {
                    let url = match v {
                        OptionValue::Str(s) => std::str::from_utf8(s).ok().and_then(proxy::normalize),
                        _ => None,
                    };
                    sink.proxy = Some(url.ok_or_else(|| bad(proxy::PROXY_RULE))?);
                }
                ("caFile" | "clientCert" | "clientKey", v) => {
                    let path = file_path(v).ok_or_else(|| bad("a path to a PEM file"))?;
                    match name {
                        "caFile" => sink.tls.ca_file = Some(path),
                        "clientCert" => client_cert = Some(path),
                        _ => client_key = Some(path),
                    }
                }
                (job_key, v) => {
                    let key = known_key(job_key.as_bytes()).expect("the other options are job keys");
                    let plain = match v {
                        OptionValue::Plain(p) => p.clone(),
                        other => ConfigValue::Other(match other {
                            OptionValue::Bool(_) => "bool",
                            OptionValue::Str(_) => "string",
                            _ => "array",
                        }),
                    };
                    sink.job.apply(key, &plain).map_err(bad)?;
                }
            }
        }
        sink.tls.client = match (client_cert, client_key) {
            (Some(c), Some(k)) => Some((c, k)),
            (None, None) => None,
            (Some(_), None) => return Err(SinkError::ClientPair("clientKey")),
            (None, Some(_)) => return Err(SinkError::ClientPair("clientCert")),
        };
        Ok(sink)
    }

    /// Checks that the TLS files can be used now, as the constructor of
    /// `AsyncBatch\HttpSink` does. (They are read again where a connection needs
    /// them: a renewed certificate is taken up.)
    pub fn check_files(&self) -> Result<(), SinkError> {
        let bad = |key: &'static str, rule: &'static str, path: &std::path::Path, e: tls::PemError| {
            SinkError::BadOption { key, rule, got: format!("'{}' ({e})", path.display()) }
        };
        const CERTS: &str = "a readable PEM file of certificates";
        if let Some(ca) = &self.tls.ca_file {
            tls::certificates(ca).map_err(|e| bad("caFile", CERTS, ca, e))?;
        }
        if let Some((cert, key)) = &self.tls.client {
            tls::certificates(cert).map_err(|e| bad("clientCert", CERTS, cert, e))?;
            tls::private_key(key)
                .map_err(|e| bad("clientKey", "a readable PEM file with a private key", key, e))?;
        }
        Ok(())
    }
}

/// A file path option: a non-empty string without NUL.
fn file_path(v: &OptionValue<'_>) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    match v {
        OptionValue::Str(s) if !s.is_empty() && !s.contains(&0) => {
            Some(PathBuf::from(std::ffi::OsStr::from_bytes(s)))
        }
        _ => None,
    }
}

const RESOURCE_RULE: &str = "an array of attribute names to string values";

/// OTLP resource attributes: string names to string values.
fn attributes(pairs: &[(ConfigKey<'_>, Option<&[u8]>)]) -> Result<Vec<(String, Value)>, String> {
    pairs
        .iter()
        .map(|(k, v)| {
            let name = match k {
                ConfigKey::Str(n) if !n.is_empty() => String::from_utf8_lossy(n).into_owned(),
                ConfigKey::Str(_) => return Err("attribute ''".to_string()),
                ConfigKey::Int(i) => return Err(format!("attribute {i}")),
            };
            let value = v.ok_or_else(|| format!("attribute '{name}'"))?;
            Ok((name, Value::Bytes(value.to_vec())))
        })
        .collect()
}

fn seconds(v: &ConfigValue<'_>) -> Option<Duration> {
    let s = match *v {
        ConfigValue::Int(i) => i as f64,
        ConfigValue::Float(f) => f,
        ConfigValue::Bool(_) | ConfigValue::Other(_) => return None,
    };
    (s.is_finite() && s > 0.0 && s <= 3600.0).then(|| Duration::from_secs_f64(s))
}

fn is_token(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|&c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c))
}

/// A header name the sink may send.
fn is_header_name(name: &[u8]) -> bool {
    is_token(name) && !RESERVED_HEADERS.iter().any(|r| r.as_bytes().eq_ignore_ascii_case(name))
}

/// A URL as it may be shown: user info and query values replaced by `***` (they
/// are where credentials and tokens go).
pub fn redacted_url(url: &str) -> String {
    let (url, fragment) = match url.split_once('#') {
        Some((u, f)) => (u, Some(f)),
        None => (url, None),
    };
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let scheme_end = head.find("://").map_or(0, |i| i + 3);
    let authority_end = head[scheme_end..].find('/').map_or(head.len(), |i| scheme_end + i);
    let mut out = String::with_capacity(url.len());
    match head[scheme_end..authority_end].rfind('@') {
        Some(at) => {
            out.push_str(&head[..scheme_end]);
            out.push_str("***");
            out.push_str(&head[scheme_end + at..]);
        }
        None => out.push_str(head),
    }
    if let Some(q) = query {
        out.push('?');
        let parts: Vec<String> = q
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((name, _)) => format!("{name}=***"),
                None if p.is_empty() => String::new(),
                None => "***".to_string(),
            })
            .collect();
        out.push_str(&parts.join("&"));
    }
    if fragment.is_some() {
        out.push_str("#***");
    }
    out
}

fn headers(pairs: &[(ConfigKey<'_>, Option<&[u8]>)]) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::with_capacity(pairs.len());
    for (k, v) in pairs {
        let name = match k {
            ConfigKey::Str(n) => *n,
            ConfigKey::Int(i) => return Err(format!("header {i}")),
        };
        let shown = format!("header '{}'", printable_id(name));
        if !is_header_name(name) {
            return Err(shown);
        }
        let Some(value) = v else { return Err(shown) };
        if value.iter().any(|&c| c == b'\r' || c == b'\n' || c == 0) {
            return Err(shown);
        }
        let value = std::str::from_utf8(value).map_err(|_| shown.clone())?;
        out.push((String::from_utf8_lossy(name).into_owned(), value.to_string()));
    }
    Ok(out)
}

/// The URL, and its `host:port`, when it is an http(s) URL with a host and nothing
/// dubious (user info, a fragment, whitespace or control characters).
fn check_url(url: &[u8]) -> Option<(String, String)> {
    let url = std::str::from_utf8(url).ok()?;
    if url.bytes().any(|c| c <= b' ' || c == 0x7f) || url.contains('#') {
        return None;
    }
    let lower = url.to_ascii_lowercase();
    let (rest, default_port) = if let Some(r) = lower.strip_prefix("http://") {
        (r, 80)
    } else if let Some(r) = lower.strip_prefix("https://") {
        (r, 443)
    } else {
        return None;
    };
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6.split_once(']')?;
        (format!("[{h}]"), after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.to_string(), None),
        }
    };
    if host.is_empty() || host == "[]" {
        return None;
    }
    let port: u16 = match port {
        None => default_port,
        Some(p) => p.parse().ok().filter(|&p: &u16| p > 0)?,
    };
    Some((url.to_string(), format!("{host}:{port}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sink(url: &str, opts: Vec<(&'static str, OptionValue<'static>)>) -> Result<SinkConfig, SinkError> {
        SinkConfig::new(url.as_bytes(), opts.into_iter().map(|(k, v)| (ConfigKey::Str(k.as_bytes()), v)))
    }

    #[test]
    fn urls_are_shown_without_credentials_or_query_values() {
        assert_eq!(redacted_url("https://h:8443/v1/logs"), "https://h:8443/v1/logs");
        assert_eq!(redacted_url("https://u:secret@h/p?api_key=abc&x=1"), "https://***@h/p?api_key=***&x=***");
        assert_eq!(redacted_url("http://h/p?TOKEN"), "http://h/p?***");
        assert_eq!(redacted_url("http://h/a@b?k=v#frag"), "http://h/a@b?k=***#***");
        let e = SinkConfig::new(b"https://user:pw@h/?token=t0p", std::iter::empty()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid URL 'https://***@h/?token=***' for AsyncBatch\\HttpSink: it must be an http:// or https:// URL with a host"
        );
    }

    #[test]
    fn the_idempotency_header_and_the_byte_cap() {
        let s = SinkConfig::new(b"http://h/", std::iter::empty()).unwrap();
        assert_eq!(s.idempotency_header.as_deref(), Some("Idempotency-Key"));
        assert_eq!(s.max_batch_bytes, 4 << 20);
        let opt = |k: &'static str, v: OptionValue<'static>| {
            SinkConfig::new(b"http://h/", [(ConfigKey::Str(k.as_bytes()), v)])
        };
        assert_eq!(opt("idempotencyHeader", OptionValue::Bool(false)).unwrap().idempotency_header, None);
        assert_eq!(
            opt("idempotencyHeader", OptionValue::Str(b"X-Batch")).unwrap().idempotency_header.as_deref(),
            Some("X-Batch")
        );
        assert_eq!(
            opt("maxBatchBytes", OptionValue::Plain(ConfigValue::Int(1024))).unwrap().max_batch_bytes,
            1024
        );
        for (k, v) in [
            ("idempotencyHeader", OptionValue::Bool(true)),
            ("idempotencyHeader", OptionValue::Str(b"bad header")),
            ("idempotencyHeader", OptionValue::Str(b"Host")),
            ("maxBatchBytes", OptionValue::Plain(ConfigValue::Int(1023))),
            ("maxBatchBytes", OptionValue::Str(b"4096")),
        ] {
            assert!(matches!(opt(k, v), Err(SinkError::BadOption { .. })), "{k}");
        }
    }

    #[test]
    fn urls_must_be_http_with_a_host() {
        let s = sink("https://logs.example.com/v1/ingest?x=1", vec![]).unwrap();
        assert_eq!(s.authority, "logs.example.com:443");
        assert_eq!(sink("http://127.0.0.1:8080", vec![]).unwrap().authority, "127.0.0.1:8080");
        assert_eq!(sink("http://[::1]:9/x", vec![]).unwrap().authority, "[::1]:9");
        for bad in [
            "ftp://x",
            "http://",
            "http://user:pw@host/",
            "http://host/#frag",
            "http://host/a b",
            "host",
            "http://host:0/",
            "http://host:99999/",
        ] {
            let e = sink(bad, vec![]).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "Invalid URL '{}' for AsyncBatch\\HttpSink: it must be an http:// or https:// URL with a host",
                    redacted_url(bad)
                )
            );
        }
    }

    #[test]
    fn options_are_checked_and_named() {
        let e = sink("http://h", vec![("timeOut", OptionValue::Plain(ConfigValue::Int(1)))]).unwrap_err();
        assert!(e
            .to_string()
            .starts_with("Unknown option 'timeOut' for AsyncBatch\\HttpSink (known options: headers,"));
        let cases: Vec<(&'static str, OptionValue<'static>, &str)> = vec![
            ("format", OptionValue::Str(b"xml"), "Option 'format' of AsyncBatch\\HttpSink must be 'json', 'ndjson' or 'otlp', got string"),
            ("timeout", OptionValue::Plain(ConfigValue::Int(0)), "Option 'timeout' of AsyncBatch\\HttpSink must be a number of seconds > 0, got 0"),
            ("gzip", OptionValue::Plain(ConfigValue::Int(1)), "Option 'gzip' of AsyncBatch\\HttpSink must be a bool, got 1"),
            ("proxy", OptionValue::Str(b"socks5://p:1"), "Option 'proxy' of AsyncBatch\\HttpSink must be an http:// URL with a host and a port, got string"),
            ("batchSize", OptionValue::Plain(ConfigValue::Int(0)), "Option 'batchSize' of AsyncBatch\\HttpSink must be an integer >= 1, got 0"),
            ("retryDelay", OptionValue::Str(b"1"), "Option 'retryDelay' of AsyncBatch\\HttpSink must be a number >= 0, got string"),
            ("headers", OptionValue::Str(b"x"), "Option 'headers' of AsyncBatch\\HttpSink must be an array of header names to string values, got string"),
            ("headers", OptionValue::Map(vec![(ConfigKey::Str(b"Bad Name"), Some(b"v"))]), "Option 'headers' of AsyncBatch\\HttpSink must be an array of header names to string values, got header 'Bad Name'"),
            ("headers", OptionValue::Map(vec![(ConfigKey::Str(b"X-A"), Some(b"a\r\nb"))]), "Option 'headers' of AsyncBatch\\HttpSink must be an array of header names to string values, got header 'X-A'"),
            ("headers", OptionValue::Map(vec![(ConfigKey::Str(b"content-length"), Some(b"1"))]), "Option 'headers' of AsyncBatch\\HttpSink must be an array of header names to string values, got header 'content-length'"),
        ];
        for (k, v, want) in cases {
            assert_eq!(sink("http://h", vec![(k, v)]).unwrap_err().to_string(), want);
        }
    }

    #[test]
    fn tls_files_are_paths_the_client_pair_goes_together_and_files_are_checked_at_construction() {
        let e = sink("https://h", vec![("caFile", OptionValue::Str(b""))]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Option 'caFile' of AsyncBatch\\HttpSink must be a path to a PEM file, got string"
        );
        let e = sink("https://h", vec![("clientCert", OptionValue::Str(b"/c.pem"))]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Options 'clientCert' and 'clientKey' of AsyncBatch\\HttpSink go together: 'clientKey' is missing"
        );
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "-----BEGIN CERTIFICATE-----\n").unwrap();
        let path = |p: &std::path::Path| -> &'static [u8] { p.to_str().unwrap().as_bytes().to_vec().leak() };
        let (junk_b, missing_b) = (path(&junk), path(&dir.path().join("none.pem")));
        let s = sink("https://h", vec![("caFile", OptionValue::Str(missing_b))]).unwrap();
        assert_eq!(s.tls.ca_file.as_deref(), Some(dir.path().join("none.pem").as_path()));
        assert_eq!(
            s.check_files().unwrap_err().to_string(),
            format!(
                "Option 'caFile' of AsyncBatch\\HttpSink must be a readable PEM file of certificates, got '{}' (no such file)",
                dir.path().join("none.pem").display()
            )
        );
        let s = sink(
            "https://h",
            vec![("clientCert", OptionValue::Str(junk_b)), ("clientKey", OptionValue::Str(junk_b))],
        )
        .unwrap();
        assert_eq!(
            s.check_files().unwrap_err().to_string(),
            format!(
                "Option 'clientCert' of AsyncBatch\\HttpSink must be a readable PEM file of certificates, got '{}' (no certificate in it)",
                junk.display()
            )
        );
    }

    #[test]
    fn job_keys_become_the_jobs_base_config() {
        let s = sink(
            "http://h",
            vec![
                ("batchSize", OptionValue::Plain(ConfigValue::Int(500))),
                ("gzip", OptionValue::Bool(true)),
                ("format", OptionValue::Str(b"ndjson")),
                ("headers", OptionValue::Map(vec![(ConfigKey::Str(b"Authorization"), Some(b"Bearer t"))])),
            ],
        )
        .unwrap();
        assert_eq!(s.job.batch_size, 500);
        assert!(s.gzip);
        assert_eq!(s.format, Format::Ndjson);
        assert_eq!(s.headers, vec![("Authorization".to_string(), "Bearer t".to_string())]);
    }
}
