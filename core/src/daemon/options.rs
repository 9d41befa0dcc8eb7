//! The daemon's options (`asyncbatch daemon --workers N --stop-timeout S`), declared
//! and checked here only. The CLI hands the values as typed to the extension, which
//! checks them with [`DaemonOptions::parse`]; the polyfill's CLI, which can run
//! without the extension, keeps a copy that a test holds equal to this one.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::daemon::consume::ConsumeOptions;

/// Daemon workers when `--workers` is not given.
pub const DEFAULT_WORKERS: usize = 2;
/// The most daemon workers one daemon runs.
pub const MAX_WORKERS: usize = 256;
/// Seconds a stop may take when `--stop-timeout` is not given.
pub const DEFAULT_STOP_TIMEOUT: f64 = 10.0;
/// The longest `--stop-timeout`, in seconds (a day).
pub const MAX_STOP_TIMEOUT: f64 = 86_400.0;

/// How the daemon runs, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct DaemonOptions {
    /// Daemon worker processes.
    pub workers: usize,
    /// How long a stop may take before the rest is killed.
    pub stop_timeout: Duration,
}

impl Default for DaemonOptions {
    fn default() -> Self {
        DaemonOptions {
            workers: DEFAULT_WORKERS,
            stop_timeout: Duration::from_secs_f64(DEFAULT_STOP_TIMEOUT),
        }
    }
}

/// A daemon option that cannot be used; the message is the CLI's usage error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionError {
    /// `--workers` is not a whole number in range.
    #[error("option '--workers' needs a whole number from 1 to {MAX_WORKERS}, got '{0}'")]
    Workers(String),
    /// `--stop-timeout` is not a number of seconds in range.
    #[error(
        "option '--stop-timeout' needs a number of seconds > 0 and at most {MAX_STOP_TIMEOUT}, got '{0}'"
    )]
    StopTimeout(String),
    /// An option the daemon does not have.
    #[error("unknown option '{0}'")]
    Unknown(String),
    /// `--forward` or `--redis` is not a Redis URL.
    #[error("option '--{0}' needs a redis://host[:port][/db] URL, got '{1}'")]
    RedisUrl(&'static str, String),
    /// `asyncbatch consume` without `--redis`.
    #[error("option '--redis' is required: the Redis to consume from (redis://host[:port][/db])")]
    NoRedis,
    /// `--group` is not a name.
    #[error("option '--group' needs a name of 1 to 128 printable characters without spaces, got '{0}'")]
    Group(String),
    /// `--claim-idle` is not a number of seconds in range.
    #[error("option '--claim-idle' needs a number of seconds > 0 and at most {MAX_STOP_TIMEOUT}, got '{0}'")]
    ClaimIdle(String),
    /// `--max-deliveries` is not a whole number in range.
    #[error("option '--max-deliveries' needs a whole number from 1 to 1000, got '{0}'")]
    MaxDeliveries(String),
    /// `--metrics` is not `[HOST:]PORT`.
    #[error(
        "option '--metrics' needs PORT or HOST:PORT (an IP address or localhost, port 1 to 65535), got '{0}'"
    )]
    Metrics(String),
    /// `--metrics` beyond loopback without `--metrics-public`.
    #[error("--metrics {0} listens beyond loopback: add --metrics-public to mean it")]
    MetricsPublic(String),
    /// `--metrics-public` without `--metrics`.
    #[error("option '--metrics-public' needs '--metrics [HOST:]PORT'")]
    MetricsPublicAlone,
    /// `--max-time` of `drain` is not a number of seconds in range.
    #[error("option '--max-time' needs a number of seconds > 0 and at most {MAX_STOP_TIMEOUT}, got '{0}'")]
    MaxTime(String),
    /// A process lock other than `daemon` and `drain`.
    #[error("lock name must be 'drain' or 'daemon', got '{0}'")]
    LockName(String),
}

impl DaemonOptions {
    /// Checks the options as the user typed them (`None`: not given, the default).
    pub fn parse(workers: Option<&str>, stop_timeout: Option<&str>) -> Result<DaemonOptions, OptionError> {
        let mut o = DaemonOptions::default();
        if let Some(s) = workers {
            o.workers = parse_workers(s).ok_or_else(|| OptionError::Workers(s.to_string()))?;
        }
        if let Some(s) = stop_timeout {
            let secs = parse_seconds(s).ok_or_else(|| OptionError::StopTimeout(s.to_string()))?;
            o.stop_timeout = Duration::from_secs_f64(secs);
        }
        Ok(o)
    }
}

/// `--max-time SECONDS` of `asyncbatch drain`, checked.
pub fn parse_max_time(s: &str) -> Result<Duration, OptionError> {
    parse_seconds(s).map(Duration::from_secs_f64).ok_or_else(|| OptionError::MaxTime(s.to_string()))
}

/// `--metrics [HOST:]PORT` and `--metrics-public`, checked: where the daemon serves
/// its metrics. A bare port is on 127.0.0.1; an address beyond loopback must be
/// asked for, since the metrics name the jobs.
pub fn parse_metrics(addr: Option<&str>, public: bool) -> Result<Option<SocketAddr>, OptionError> {
    let Some(text) = addr else {
        return if public { Err(OptionError::MetricsPublicAlone) } else { Ok(None) };
    };
    let bad = || OptionError::Metrics(text.to_string());
    let port = |p: &str| p.parse::<u16>().ok().filter(|&p| p > 0).ok_or_else(bad);
    let sock = if text.bytes().all(|b| b.is_ascii_digit()) {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port(text)?)
    } else if let Some(p) = text.strip_prefix("localhost:") {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port(p)?)
    } else {
        let sock: SocketAddr = text.parse().map_err(|_| bad())?;
        if sock.port() == 0 {
            return Err(bad());
        }
        sock
    };
    if !sock.ip().is_loopback() && !public {
        return Err(OptionError::MetricsPublic(text.to_string()));
    }
    Ok(Some(sock))
}

/// Seconds an entry may stay pending with a consumer before another claims it,
/// unless `--claim-idle` says: longer than a batch takes (a claim while the first
/// consumer still works on it delivers it twice).
pub const DEFAULT_CLAIM_IDLE: f64 = 60.0;
/// Deliveries of a stream entry before it is a dead letter, unless `--max-deliveries` says.
pub const DEFAULT_MAX_DELIVERIES: usize = 5;

/// `--forward URL` of `asyncbatch daemon`, checked.
pub fn parse_forward(url: &str) -> Result<String, OptionError> {
    redis_url("forward", url)
}

fn redis_url(option: &'static str, url: &str) -> Result<String, OptionError> {
    crate::transport::redis::Streams::open(url, Duration::from_secs(1))
        .map(|_| url.to_string())
        .map_err(|_| OptionError::RedisUrl(option, crate::http::config::redacted_url(url)))
}

/// The options of `asyncbatch consume`, checked (`None`: not given).
pub fn parse_consume(
    redis: Option<&str>,
    group: Option<&str>,
    claim_idle: Option<&str>,
    max_deliveries: Option<&str>,
) -> Result<ConsumeOptions, OptionError> {
    let url = redis_url("redis", redis.ok_or(OptionError::NoRedis)?)?;
    let group = match group {
        None => crate::transport::redis::DEFAULT_GROUP.to_string(),
        Some(g) if !g.is_empty() && g.len() <= 128 && g.bytes().all(|b| b.is_ascii_graphic()) => {
            g.to_string()
        }
        Some(g) => return Err(OptionError::Group(g.to_string())),
    };
    let claim_idle = match claim_idle {
        None => DEFAULT_CLAIM_IDLE,
        Some(c) => parse_seconds(c).ok_or_else(|| OptionError::ClaimIdle(c.to_string()))?,
    };
    let max_deliveries = match max_deliveries {
        None => DEFAULT_MAX_DELIVERIES,
        Some(m) => parse_whole(m, 1000).ok_or_else(|| OptionError::MaxDeliveries(m.to_string()))?,
    };
    Ok(ConsumeOptions {
        url,
        group,
        prefix: crate::transport::redis::DEFAULT_PREFIX.to_string(),
        claim_idle: Duration::from_secs_f64(claim_idle),
        max_deliveries,
    })
}

fn parse_workers(s: &str) -> Option<usize> {
    parse_whole(s, MAX_WORKERS)
}

fn parse_whole(s: &str, max: usize) -> Option<usize> {
    // Digits only: no sign, no exponent, no fraction ("1.5" is not 1).
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<usize>().ok().filter(|n| (1..=max).contains(n))
}

fn parse_seconds(s: &str) -> Option<f64> {
    let t = s.trim();
    // A plain decimal number ("10", "0.5", "2e1"), not "inf" or "NaN".
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)) {
        return None;
    }
    t.parse::<f64>().ok().filter(|v| v.is_finite() && *v > 0.0 && *v <= MAX_STOP_TIMEOUT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_on_loopback_unless_asked_for_beyond() {
        let ok = |a: &str, public: bool| parse_metrics(Some(a), public).unwrap().unwrap().to_string();
        assert_eq!(ok("9464", false), "127.0.0.1:9464");
        assert_eq!(ok("localhost:9464", false), "127.0.0.1:9464");
        assert_eq!(ok("[::1]:9464", false), "[::1]:9464");
        assert_eq!(ok("0.0.0.0:9464", true), "0.0.0.0:9464");
        assert_eq!(parse_metrics(None, false), Ok(None));
        assert_eq!(parse_metrics(None, true), Err(OptionError::MetricsPublicAlone));
        let err = parse_metrics(Some("0.0.0.0:9464"), false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--metrics 0.0.0.0:9464 listens beyond loopback: add --metrics-public to mean it"
        );
        for bad in ["", "0", "65536", "host:80", "127.0.0.1", "127.0.0.1:0", ":9464", "-1"] {
            assert_eq!(parse_metrics(Some(bad), true), Err(OptionError::Metrics(bad.into())), "{bad}");
        }
    }

    #[test]
    fn defaults_when_nothing_is_given() {
        assert_eq!(DaemonOptions::parse(None, None), Ok(DaemonOptions::default()));
        assert_eq!(DaemonOptions::default().workers, 2);
        assert_eq!(DaemonOptions::default().stop_timeout, Duration::from_secs(10));
    }

    #[test]
    fn workers_are_a_whole_number_from_1_to_the_maximum() {
        for (s, n) in [("1", 1), ("2", 2), ("0016", 16), ("256", 256)] {
            assert_eq!(DaemonOptions::parse(Some(s), None).unwrap().workers, n, "{s}");
        }
        for s in ["0", "257", "300", "-1", "+2", "1.5", "two", "", " 2", "1e2", "99999999999999999999"] {
            assert_eq!(DaemonOptions::parse(Some(s), None), Err(OptionError::Workers(s.into())), "{s}");
        }
    }

    #[test]
    fn the_stop_timeout_is_a_positive_number_of_seconds_up_to_a_day() {
        for (s, secs) in [("10", 10.0), ("0.5", 0.5), (" 2 ", 2.0), ("2e1", 20.0), ("86400", 86_400.0)] {
            let o = DaemonOptions::parse(None, Some(s)).unwrap();
            assert_eq!(o.stop_timeout, Duration::from_secs_f64(secs), "{s}");
        }
        for s in ["0", "-3", "soon", "", "inf", "NaN", "86401", "1e400"] {
            assert_eq!(DaemonOptions::parse(None, Some(s)), Err(OptionError::StopTimeout(s.into())), "{s}");
        }
    }

    #[test]
    fn consume_options_have_defaults_and_rules() {
        let o = parse_consume(Some("redis://10.0.0.5:6379/2"), None, None, None).unwrap();
        assert_eq!(
            (o.group.as_str(), o.claim_idle, o.max_deliveries),
            ("asyncbatch", Duration::from_secs(60), 5)
        );
        assert_eq!(parse_consume(None, None, None, None), Err(OptionError::NoRedis));
        assert_eq!(
            parse_consume(Some("http://u:pw@h/"), None, None, None).unwrap_err().to_string(),
            "option '--redis' needs a redis://host[:port][/db] URL, got 'http://***@h/'"
        );
        let url = Some("redis://h");
        assert_eq!(parse_consume(url, Some("a b"), None, None), Err(OptionError::Group("a b".into())));
        assert_eq!(parse_consume(url, None, Some("0"), None), Err(OptionError::ClaimIdle("0".into())));
        assert_eq!(parse_consume(url, None, None, Some("0")), Err(OptionError::MaxDeliveries("0".into())));
        assert_eq!(parse_forward("redis://h:1/0"), Ok("redis://h:1/0".into()));
        assert!(parse_forward("h:6379").is_err());
    }

    #[test]
    fn messages_name_the_option_and_the_value() {
        assert_eq!(
            OptionError::Workers("300".into()).to_string(),
            "option '--workers' needs a whole number from 1 to 256, got '300'"
        );
        assert_eq!(
            OptionError::StopTimeout("0".into()).to_string(),
            "option '--stop-timeout' needs a number of seconds > 0 and at most 86400, got '0'"
        );
    }
}
