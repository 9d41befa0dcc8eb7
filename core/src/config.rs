//! Job config: the keys users write (`batchSize`, ...) with their defaults declared
//! once, and [`JobConfig::from_entries`], the one place they are validated.

use std::time::Duration;

use thiserror::Error;

use crate::item::printable_id;

/// Longest job identifier, in bytes.
pub const MAX_IDENTIFIER_LEN: usize = 128;

/// The user-facing keys, in the order messages list them.
pub const KEYS: [&str; 6] =
    ["batchSize", "callPeriod", "maxRetries", "retryDelay", "maxQueueSize", "withBatchId"];

/// A job's validated settings.
#[derive(Debug, Clone, PartialEq)]
pub struct JobConfig {
    /// Most items per call. `batchSize`, default 100.
    pub batch_size: usize,
    /// Longest an item waits in a long-running script before its batch is due.
    /// `callPeriod` in seconds, default 2.0.
    pub call_period: Duration,
    /// Retries after a failed call before the batch is stored as failed.
    /// `maxRetries`, default 3.
    pub max_retries: u32,
    /// Base of the exponential backoff between retries. `retryDelay` in seconds,
    /// default 0.1.
    pub retry_delay: Duration,
    /// Items held in memory per job and process before they spill to the spool.
    /// `maxQueueSize`, default 10000.
    pub max_queue_size: usize,
    /// Whether the callable is given the batch id as a second argument.
    /// `withBatchId`, default false (callables of one parameter keep working).
    pub with_batch_id: bool,
}

impl Default for JobConfig {
    fn default() -> Self {
        JobConfig {
            batch_size: 100,
            call_period: Duration::from_secs(2),
            max_retries: 3,
            retry_delay: Duration::from_millis(100),
            max_queue_size: 10_000,
            with_batch_id: false,
        }
    }
}

/// A config array key as PHP has it.
#[derive(Debug, Clone, Copy)]
pub enum ConfigKey<'a> {
    /// A string key.
    Str(&'a [u8]),
    /// An integer key.
    Int(i64),
}

/// A config value, reduced to what validation needs.
#[derive(Debug, Clone)]
pub enum ConfigValue<'a> {
    /// A PHP `int`.
    Int(i64),
    /// A PHP `float`.
    Float(f64),
    /// A PHP `bool`.
    Bool(bool),
    /// Anything else, by its `get_debug_type()` name.
    Other(&'a str),
}

impl ConfigValue<'_> {
    /// How messages show it: a number as PHP prints it, else its type.
    pub fn describe(&self) -> String {
        match self {
            ConfigValue::Int(i) => i.to_string(),
            ConfigValue::Float(f) => php_float_string(*f),
            ConfigValue::Bool(_) => "bool".to_string(),
            ConfigValue::Other(t) => (*t).to_string(),
        }
    }
}

/// Why a job could not be registered.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ConfigError {
    /// Empty, too long, or with a NUL byte.
    #[error("Invalid job identifier '{0}': it must be 1 to 128 bytes long with no NUL byte")]
    InvalidIdentifier(String),
    /// A key that is not one of [`KEYS`].
    #[error("Unknown config key '{key}' for job '{job}' (known keys: batchSize, callPeriod, maxRetries, retryDelay, maxQueueSize, withBatchId)")]
    UnknownKey {
        /// The job.
        job: String,
        /// The key as given.
        key: String,
    },
    /// A known key with a value out of its rule.
    #[error("Config key '{key}' of job '{job}' must be {rule}, got {got}")]
    InvalidValue {
        /// The job.
        job: String,
        /// The key.
        key: &'static str,
        /// What it must be.
        rule: &'static str,
        /// What it was.
        got: String,
    },
}

/// Checks a job identifier.
pub fn validate_identifier(id: &[u8]) -> Result<(), ConfigError> {
    if id.is_empty() || id.len() > MAX_IDENTIFIER_LEN || id.contains(&0) {
        return Err(ConfigError::InvalidIdentifier(printable_id(id)));
    }
    Ok(())
}

/// A job key's name as written in code (`"batchSize"`), when `key` is one.
pub fn known_key(key: &[u8]) -> Option<&'static str> {
    KEYS.iter().find(|known| known.as_bytes() == key).copied()
}

impl JobConfig {
    /// Validates the identifier and the user's config entries, in the order given.
    pub fn from_entries<'a>(
        id: &[u8],
        entries: impl IntoIterator<Item = (ConfigKey<'a>, ConfigValue<'a>)>,
    ) -> Result<JobConfig, ConfigError> {
        Self::from_entries_over(JobConfig::default(), id, entries)
    }

    /// Like [`JobConfig::from_entries`], starting from `base` instead of the defaults
    /// (an HttpSink's own job keys).
    pub fn from_entries_over<'a>(
        base: JobConfig,
        id: &[u8],
        entries: impl IntoIterator<Item = (ConfigKey<'a>, ConfigValue<'a>)>,
    ) -> Result<JobConfig, ConfigError> {
        validate_identifier(id)?;
        let mut config = base;
        for (key, value) in entries {
            let name = match key {
                ConfigKey::Str(k) => known_key(k),
                ConfigKey::Int(_) => None,
            };
            let Some(name) = name else {
                return Err(ConfigError::UnknownKey {
                    job: printable_id(id),
                    key: match key {
                        ConfigKey::Str(k) => printable_id(k),
                        ConfigKey::Int(i) => i.to_string(),
                    },
                });
            };
            config.apply(name, &value).map_err(|rule| ConfigError::InvalidValue {
                job: printable_id(id),
                key: name,
                rule,
                got: value.describe(),
            })?;
        }
        Ok(config)
    }

    /// Sets one key (a name from [`KEYS`]); on a bad value returns the rule it breaks.
    pub fn apply(&mut self, name: &str, value: &ConfigValue<'_>) -> Result<(), &'static str> {
        match name {
            "batchSize" => self.batch_size = int_at_least(value, 1).ok_or("an integer >= 1")?,
            "maxQueueSize" => self.max_queue_size = int_at_least(value, 1).ok_or("an integer >= 1")?,
            "maxRetries" => {
                self.max_retries =
                    int_at_least(value, 0).and_then(|n| u32::try_from(n).ok()).ok_or("an integer >= 0")?
            }
            "callPeriod" => self.call_period = seconds(value, false).ok_or("a number > 0")?,
            "retryDelay" => self.retry_delay = seconds(value, true).ok_or("a number >= 0")?,
            "withBatchId" => match value {
                ConfigValue::Bool(b) => self.with_batch_id = *b,
                _ => return Err("a bool"),
            },
            _ => unreachable!("every name in KEYS is handled"),
        }
        Ok(())
    }
}

fn int_at_least(v: &ConfigValue<'_>, min: i64) -> Option<usize> {
    match *v {
        ConfigValue::Int(i) if i >= min => usize::try_from(i).ok(),
        _ => None,
    }
}

fn seconds(v: &ConfigValue<'_>, zero_ok: bool) -> Option<Duration> {
    let s = match *v {
        ConfigValue::Int(i) => i as f64,
        ConfigValue::Float(f) => f,
        ConfigValue::Bool(_) | ConfigValue::Other(_) => return None,
    };
    let in_range = if zero_ok { s >= 0.0 } else { s > 0.0 };
    if !in_range || !s.is_finite() {
        return None;
    }
    Duration::try_from_secs_f64(s).ok()
}

/// A float as PHP's `(string)` prints it with the default `precision` of 14
/// (`0.1`, `-1.5`, `1.0E+25`, `NAN`), so messages match the polyfill's.
pub fn php_float_string(f: f64) -> String {
    const PRECISION: usize = 14;
    if f.is_nan() {
        return "NAN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "INF".into() } else { "-INF".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    // 14 significant digits, rounded: "d.ddddddddddddde<exp>".
    let sci = format!("{:.*e}", PRECISION - 1, f.abs());
    let (mantissa, exp) = sci.split_once('e').expect("scientific format");
    let exp: i32 = exp.parse().expect("exponent");
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let decpt = exp + 1; // value = 0.DIGITS x 10^decpt
    let sign = if f < 0.0 { "-" } else { "" };
    let exponential = if decpt < 0 { decpt < -3 } else { decpt > PRECISION as i32 };
    if exponential {
        let (first, rest) = digits.split_at(1);
        let rest = if rest.is_empty() { "0" } else { rest };
        let e = decpt - 1;
        let esign = if e < 0 { '-' } else { '+' };
        format!("{sign}{first}.{rest}E{esign}{}", e.abs())
    } else if decpt <= 0 {
        format!("{sign}0.{}{digits}", "0".repeat((-decpt) as usize))
    } else {
        let decpt = decpt as usize;
        if digits.len() <= decpt {
            format!("{sign}{digits}{}", "0".repeat(decpt - digits.len()))
        } else {
            format!("{sign}{}.{}", &digits[..decpt], &digits[decpt..])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(
        pairs: &[(&'static str, ConfigValue<'static>)],
    ) -> Vec<(ConfigKey<'static>, ConfigValue<'static>)> {
        pairs.iter().map(|(k, v)| (ConfigKey::Str(k.as_bytes()), v.clone())).collect()
    }

    #[test]
    fn defaults_when_empty() {
        assert_eq!(JobConfig::from_entries(b"logs", []).unwrap(), JobConfig::default());
    }

    #[test]
    fn accepts_every_key() {
        let c = JobConfig::from_entries(
            b"logs",
            entries(&[
                ("batchSize", ConfigValue::Int(5)),
                ("callPeriod", ConfigValue::Float(0.25)),
                ("maxRetries", ConfigValue::Int(0)),
                ("retryDelay", ConfigValue::Int(0)),
                ("maxQueueSize", ConfigValue::Int(7)),
            ]),
        )
        .unwrap();
        assert_eq!(c.batch_size, 5);
        assert_eq!(c.call_period, Duration::from_millis(250));
        assert_eq!(c.max_retries, 0);
        assert_eq!(c.retry_delay, Duration::ZERO);
        assert_eq!(c.max_queue_size, 7);
    }

    #[test]
    fn names_the_unknown_key() {
        let e = JobConfig::from_entries(b"logs", entries(&[("batchsize", ConfigValue::Int(5))])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Unknown config key 'batchsize' for job 'logs' (known keys: batchSize, callPeriod, maxRetries, retryDelay, maxQueueSize, withBatchId)"
        );
        let e = JobConfig::from_entries(b"logs", [(ConfigKey::Int(0), ConfigValue::Int(5))]).unwrap_err();
        assert!(e.to_string().starts_with("Unknown config key '0' for job 'logs'"));
    }

    #[test]
    fn names_the_key_and_the_bad_value() {
        let cases = [
            (
                "batchSize",
                ConfigValue::Int(0),
                "Config key 'batchSize' of job 'logs' must be an integer >= 1, got 0",
            ),
            (
                "batchSize",
                ConfigValue::Other("string"),
                "Config key 'batchSize' of job 'logs' must be an integer >= 1, got string",
            ),
            (
                "batchSize",
                ConfigValue::Float(10.0),
                "Config key 'batchSize' of job 'logs' must be an integer >= 1, got 10",
            ),
            (
                "callPeriod",
                ConfigValue::Float(-1.5),
                "Config key 'callPeriod' of job 'logs' must be a number > 0, got -1.5",
            ),
            (
                "callPeriod",
                ConfigValue::Int(0),
                "Config key 'callPeriod' of job 'logs' must be a number > 0, got 0",
            ),
            (
                "callPeriod",
                ConfigValue::Float(f64::NAN),
                "Config key 'callPeriod' of job 'logs' must be a number > 0, got NAN",
            ),
            (
                "callPeriod",
                ConfigValue::Float(f64::INFINITY),
                "Config key 'callPeriod' of job 'logs' must be a number > 0, got INF",
            ),
            (
                "maxRetries",
                ConfigValue::Int(-1),
                "Config key 'maxRetries' of job 'logs' must be an integer >= 0, got -1",
            ),
            (
                "retryDelay",
                ConfigValue::Other("null"),
                "Config key 'retryDelay' of job 'logs' must be a number >= 0, got null",
            ),
            (
                "maxQueueSize",
                ConfigValue::Other("array"),
                "Config key 'maxQueueSize' of job 'logs' must be an integer >= 1, got array",
            ),
        ];
        for (key, value, want) in cases {
            let e = JobConfig::from_entries(b"logs", entries(&[(key, value)])).unwrap_err();
            assert_eq!(e.to_string(), want);
        }
    }

    #[test]
    fn the_first_bad_key_is_reported() {
        let e = JobConfig::from_entries(
            b"j",
            entries(&[("maxRetries", ConfigValue::Int(-1)), ("nope", ConfigValue::Int(1))]),
        )
        .unwrap_err();
        assert!(matches!(e, ConfigError::InvalidValue { key: "maxRetries", .. }));
    }

    #[test]
    fn identifiers_are_checked() {
        assert!(validate_identifier(b"logs").is_ok());
        assert!(validate_identifier(&[b'x'; 128]).is_ok());
        assert!(validate_identifier(&[b'x'; 129]).is_err());
        assert!(validate_identifier(b"").is_err());
        assert_eq!(
            validate_identifier(b"a\0b").unwrap_err().to_string(),
            "Invalid job identifier 'a\\0b': it must be 1 to 128 bytes long with no NUL byte"
        );
    }

    #[test]
    fn floats_print_like_php() {
        let cases = [
            (0.1, "0.1"),
            (-1.5, "-1.5"),
            (100.0, "100"),
            (1e25, "1.0E+25"),
            (1.5e-7, "1.5E-7"),
            (0.0001, "0.0001"),
            (0.00001, "1.0E-5"),
            (1e14, "1.0E+14"),
            (123456789012.0, "123456789012"),
            (0.1 + 0.2, "0.3"),
            (-0.0, "-0"),
            (2.5e-3, "0.0025"),
        ];
        for (f, want) in cases {
            assert_eq!(php_float_string(f), want, "{f}");
        }
    }
}
