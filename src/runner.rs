//! What each `AsyncBatchRunner` method does: arguments already parsed, delegate to
//! `core`, turn the outcome into PHP values or a [`Failure`].

use std::path::Path;
use std::time::{Duration, Instant};

use asyncbatch_core::clock;
use asyncbatch_core::config::{ConfigKey, ConfigValue, JobConfig};
use asyncbatch_core::daemon::status;
use asyncbatch_core::delivery::{self, Mode};
use asyncbatch_core::item::{printable_id, ItemError, ItemErrorKind};
use asyncbatch_core::runtime::{AfterPush, JobId, RunMode};
use asyncbatch_core::secure_fs;
use asyncbatch_core::settings::{RunnerKind, Settings, INI};
use ext_php_rs::ffi::zend_array;
use ext_php_rs::flags::DataType;
use ext_php_rs::types::{ZendHashTable, Zval};

use crate::array::{self, Key};
use crate::encode::{self, EncodeError};
use crate::errors::Failure;
use crate::host::{self, with_runtime, PhpHost};
use crate::{classes, php};

thread_local! {
    // Items are encoded here first, so an item that turns out bad (or a
    // jsonSerialize() that throws) leaves the job's queue untouched.
    static SCRATCH: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Settings resolved from raw values (the ini settings, then ASYNCBATCH_RUNNER),
/// with the warnings resolving them gave.
struct ResolvedSettings {
    raw: Vec<Option<String>>,
    settings: Settings,
    warnings: Vec<String>,
}

/// This request's settings, as the engine sees them now. Resolving them is cheap
/// but not free (paths, keys, warnings): the result is kept per process and reused
/// while the raw values (ini settings, ASYNCBATCH_RUNNER) are the same.
pub fn current_settings() -> (Settings, Vec<String>) {
    thread_local! {
        static LAST: std::cell::RefCell<Option<ResolvedSettings>> = const { std::cell::RefCell::new(None) };
    }
    let mut raw: Vec<Option<String>> = INI.iter().map(|d| php::ini(d.name)).collect();
    raw.push(runner_env());
    let hit = LAST.with(|l| {
        let last = l.borrow();
        last.as_ref().filter(|r| r.raw == raw).map(|r| (r.settings.clone(), r.warnings.clone()))
    });
    if let Some(hit) = hit {
        return hit;
    }
    let env = raw.last().cloned().flatten();
    let (settings, warnings) = Settings::resolve(
        |name| INI.iter().position(|d| d.name == name).and_then(|i| raw[i].clone()),
        env,
        Path::new(&php::temp_dir()),
        secure_fs::euid(),
    );
    LAST.with(|l| {
        *l.borrow_mut() =
            Some(ResolvedSettings { raw, settings: settings.clone(), warnings: warnings.clone() })
    });
    (settings, warnings)
}

/// `ASYNCBATCH_RUNNER`: the SAPI's variable (a FastCGI parameter) for this request,
/// else the process environment's, which is read once per process.
fn runner_env() -> Option<String> {
    static PROCESS: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    php::sapi_env("ASYNCBATCH_RUNNER")
        .or_else(|| PROCESS.get_or_init(|| std::env::var("ASYNCBATCH_RUNNER").ok()).clone())
}

thread_local! {
    // `auto`: whether the daemon was alive when last looked at, and when.
    static DAEMON_SEEN: std::cell::Cell<Option<(Instant, bool)>> = const { std::cell::Cell::new(None) };
}

/// Whether the daemon's status says it runs; looked at most once a second.
fn daemon_alive(spool_dir: &Path) -> bool {
    if let Some((at, alive)) = DAEMON_SEEN.get() {
        if at.elapsed() < Duration::from_secs(1) {
            return alive;
        }
    }
    let alive = status::read_json::<status::DaemonStatus>(&spool_dir.join(status::DAEMON_STATUS))
        .is_some_and(|st| st.is_alive(5.0));
    DAEMON_SEEN.set(Some((Instant::now(), alive)));
    alive
}

/// Starts the request's state at its first API call.
fn ensure_request() {
    if !with_runtime(|rt| rt.in_request()) {
        let (settings, warnings) = current_settings();
        let mode = match settings.runner {
            RunnerKind::Shutdown => RunMode::Shutdown,
            RunnerKind::Daemon => RunMode::Daemon,
            RunnerKind::Auto if daemon_alive(&settings.spool_dir) => RunMode::Daemon,
            RunnerKind::Auto => RunMode::Shutdown,
        };
        let cli = php::sapi_name() == "cli";
        let warnings: Vec<String> = with_runtime(|rt| {
            rt.begin_request_in(settings, cli, mode);
            warnings.into_iter().filter(|w| rt.first_time(w)).collect()
        });
        for w in warnings {
            php::warn(&w);
        }
        raise_sender_warnings();
    }
}

/// Makes sure the shutdown runner's function is registered, when this request uses
/// it: a request whose jobs are all HttpSinks never does (their items are posted by
/// the HTTP sender), so it pays nothing at its end.
fn ensure_hook() {
    let needed =
        with_runtime(|rt| rt.mode == RunMode::Shutdown && !std::mem::replace(&mut rt.shutdown.pending, true));
    if needed {
        let mut hook = classes::shutdown_hook();
        if php::call_function("register_shutdown_function", std::slice::from_mut(&mut hook)).is_none() {
            with_runtime(|rt| rt.shutdown.pending = false);
        }
    }
}

/// Raises what the background threads wanted said: the daemon runner's sender's
/// warnings (once per reason), the HTTP sender's log lines.
fn raise_sender_warnings() {
    let (warnings, logs) = with_runtime(|rt| {
        let ws = rt.existing_outbox().map(|o| o.take_warnings()).unwrap_or_default();
        let ws = ws.into_iter().filter(|(key, _)| rt.first_time(key)).map(|(_, msg)| msg).collect::<Vec<_>>();
        (ws, rt.existing_http_sender().map(|s| s.take_logs()).unwrap_or_default())
    });
    for w in warnings {
        php::warn(&w);
    }
    for line in logs {
        php::log(&line);
    }
}

fn unknown_job(id: &[u8]) -> Failure {
    Failure::UnknownJob(format!(
        "Unknown job '{}': register it with registerAsyncJob() first",
        printable_id(id)
    ))
}

fn registered(id: &[u8]) -> Result<JobId, Failure> {
    with_runtime(|rt| rt.registered(id)).ok_or_else(|| unknown_job(id))
}

fn raise_warnings() {
    for w in with_runtime(|rt| rt.take_warnings()) {
        php::warn(&w);
    }
}

/// `get_debug_type()` of a value, for messages.
pub(crate) fn debug_type(zv: &Zval) -> String {
    let zv = zv.dereference();
    if let Some(obj) = zv.object() {
        return obj.get_class_name().unwrap_or_else(|_| "object".into());
    }
    match zv.get_type() {
        DataType::Null => "null",
        DataType::False | DataType::True | DataType::Bool => "bool",
        DataType::Long => "int",
        DataType::Double => "float",
        DataType::String => "string",
        DataType::Array => "array",
        DataType::Resource => "resource",
        _ => "mixed",
    }
    .to_string()
}

/// A config value as read from the PHP array, before validation borrows it.
enum RawValue {
    Int(i64),
    Float(f64),
    Other(String),
}

/// `registerAsyncJob()`.
pub fn register(id: &[u8], func: &Zval, config: &zend_array) -> Result<(), Failure> {
    let mut entries: Vec<(Key<'_>, RawValue)> = Vec::with_capacity(array::len(config));
    let _ = array::try_for_each::<()>(config, |k, v| {
        let v = v.dereference();
        let raw = match (v.long(), v.double()) {
            (Some(i), _) => RawValue::Int(i),
            (_, Some(f)) => RawValue::Float(f),
            _ => RawValue::Other(debug_type(v)),
        };
        entries.push((k, raw));
        Ok(())
    });
    let sink = crate::http_sink::sink_of(func);
    let base = sink.as_ref().map(|s| s.job.clone()).unwrap_or_default();
    let config = JobConfig::from_entries_over(
        base,
        id,
        entries.iter().map(|(k, v)| {
            let key = match *k {
                Key::Int(i) => ConfigKey::Int(i),
                Key::Str(s) => ConfigKey::Str(s),
            };
            let value = match v {
                RawValue::Int(i) => ConfigValue::Int(*i),
                RawValue::Float(f) => ConfigValue::Float(*f),
                RawValue::Other(t) => ConfigValue::Other(t),
            };
            (key, value)
        }),
    )?;
    ensure_request();
    let is_sink = sink.is_some();
    let job = with_runtime(|rt| match sink {
        Some(sink) => rt.register_sink(id, config, sink),
        None => rt.register(id, config),
    });
    if !is_sink {
        ensure_hook();
    }
    host::set_callable(job, func.shallow_clone());
    Ok(())
}

/// `submitItem()`. The common case takes one borrow of the runtime: the item is
/// written straight into the job's queue. Items holding objects are encoded apart
/// first, as their `jsonSerialize()` is PHP code that may itself submit.
pub fn submit(id: &[u8], item: &Zval) -> Result<(), Failure> {
    enum Fast {
        Done(JobId, AfterPush, bool),
        Setup,
        Unknown,
        Slow(JobId, usize),
        Bad(Box<ItemErrorKind>),
    }
    let mut fast = with_runtime(|rt| {
        rt.after_fork();
        if !rt.in_request() {
            return Fast::Setup;
        }
        let Some(job) = rt.registered(id) else { return Fast::Unknown };
        if !rt.ready_for_submit(job) {
            return Fast::Setup;
        }
        let max = rt.settings().max_item_size;
        match rt.push_with(job, clock::coarse_now(), |buf| encode::encode_plain(item, buf, max)) {
            Ok(after) => Fast::Done(job, after, rt.has_warnings()),
            Err(EncodeError::NeedsPhp) => Fast::Slow(job, max),
            Err(EncodeError::Item(kind)) => Fast::Bad(kind),
            Err(EncodeError::Exception) => unreachable!("encode_plain runs no PHP code"),
        }
    });
    if let Fast::Setup = fast {
        ensure_request();
        if with_runtime(|rt| rt.registered(id).is_some_and(|j| rt.job(j).sink.is_none())) {
            ensure_hook();
        }
        fast = match with_runtime(|rt| rt.registered(id).map(|j| (j, rt.settings().max_item_size))) {
            Some((job, max)) => Fast::Slow(job, max),
            None => Fast::Unknown,
        };
    }
    let (job, after, warnings) = match fast {
        Fast::Done(job, after, warnings) => (job, after, warnings),
        Fast::Setup => unreachable!("set up above"),
        Fast::Unknown => return Err(unknown_job(id)),
        Fast::Bad(kind) => return Err(Failure::Item(ItemError { job: printable_id(id), kind: *kind })),
        Fast::Slow(job, max) => {
            let (after, warnings) = submit_via_scratch(id, job, item, max)?;
            (job, after, warnings)
        }
    };
    if warnings {
        raise_warnings();
    }
    if after == AfterPush::Due {
        delivery::deliver(&PhpHost, &[job], Mode::Due);
    }
    Ok(())
}

fn submit_via_scratch(id: &[u8], job: JobId, item: &Zval, max: usize) -> Result<(AfterPush, bool), Failure> {
    let mut buf = SCRATCH.take();
    buf.clear();
    let result = match encode::encode_item(item, &mut buf, max) {
        Ok(()) => Ok(with_runtime(|rt| (rt.push(job, &buf, clock::coarse_now()), rt.has_warnings()))),
        Err(EncodeError::Item(kind)) => Err(Failure::Item(ItemError { job: printable_id(id), kind: *kind })),
        Err(EncodeError::Exception | EncodeError::NeedsPhp) => Err(Failure::Pending),
    };
    if buf.capacity() > 1 << 20 {
        buf = Vec::new(); // one huge item should not pin its buffer
    }
    SCRATCH.set(buf);
    result
}

fn jobs_for(id: Option<&[u8]>) -> Result<Vec<JobId>, Failure> {
    match id {
        Some(id) => Ok(vec![registered(id)?]),
        None => Ok(with_runtime(|rt| rt.registered_jobs().to_vec())),
    }
}

/// `flush()`: delivers now; in daemon mode, hands what is queued to the daemon now
/// and returns how many items that was.
pub fn flush(id: Option<&[u8]>) -> Result<u64, Failure> {
    ensure_request();
    ensure_hook();
    let jobs = jobs_for(id)?;
    let daemon = with_runtime(|rt| {
        (rt.mode == RunMode::Daemon).then(|| (rt.existing_outbox().cloned(), rt.settings().exit_timeout))
    });
    if let Some((outbox, timeout)) = daemon {
        let handed = outbox.map(|o| o.flush(timeout)).unwrap_or(0);
        raise_sender_warnings();
        return Ok(handed);
    }
    // HttpSink jobs: the HTTP sender posts what it holds now.
    let (sinks, sender) = with_runtime(|rt| {
        let sinks: Vec<JobId> = jobs.iter().copied().filter(|&j| rt.job(j).sink.is_some()).collect();
        (sinks, rt.existing_http_sender().cloned())
    });
    let mut delivered = match (&sender, sinks.is_empty()) {
        (Some(s), false) => s.flush(&sinks),
        _ => 0,
    };
    delivered += delivery::deliver(&PhpHost, &jobs, Mode::Flush).delivered;
    raise_sender_warnings();
    Ok(delivered)
}

/// `retryFailed()`.
pub fn retry_failed(id: Option<&[u8]>) -> Result<u64, Failure> {
    ensure_request();
    let jobs = jobs_for(id)?;
    Ok(delivery::retry_failed(&PhpHost, &jobs)?)
}

/// The runner's shutdown function: the first call puts itself after the shutdown
/// functions registered since; the next releases the client and delivers.
pub fn deliver_at_shutdown() {
    enum Step {
        Nothing,
        Defer,
        Deliver,
    }
    let step = with_runtime(|rt| {
        rt.shutdown.pending = false;
        if !rt.in_request() {
            Step::Nothing
        } else if !std::mem::replace(&mut rt.shutdown.deferred, true) {
            Step::Defer
        } else {
            Step::Deliver
        }
    });
    match step {
        Step::Nothing => {}
        Step::Defer => ensure_hook(),
        Step::Deliver => {
            let release = with_runtime(|rt| rt.settings().finish_request && rt.has_pending_work());
            if release && php::function_exists("fastcgi_finish_request") {
                php::call_function("fastcgi_finish_request", &mut []);
            }
            // What callables submit meanwhile must not register this function
            // again (a callable that always submits would loop): it waits in the
            // spool for the next request.
            let jobs = with_runtime(|rt| {
                rt.shutdown.pending = true;
                rt.registered_jobs().to_vec()
            });
            delivery::deliver(&PhpHost, &jobs, Mode::Shutdown);
            with_runtime(|rt| rt.shutdown.pending = false);
        }
    }
}

/// Process exit (MSHUTDOWN): the journal files kept between runs go; the daemon
/// runner's sender gets `exit_timeout` to hand off what is queued; the rest is
/// written to the spool.
pub fn end_process() {
    host::try_with_runtime(|rt| rt.remove_journal_files());
    let threads = host::try_with_runtime(|rt| {
        (rt.existing_outbox().cloned(), rt.existing_http_sender().cloned(), rt_exit_timeout(rt))
    });
    let Some((outbox, http, timeout)) = threads else { return };
    // Both get the whole timeout: they work side by side.
    let deadline = Instant::now() + timeout;
    if let Some(outbox) = outbox {
        for (key, w) in outbox.shutdown(timeout) {
            // Once per reason, as during requests.
            if host::try_with_runtime(|rt| rt.first_time(&key)).unwrap_or(true) {
                php::log(&w);
            }
        }
    }
    if let Some(http) = http {
        for line in http.shutdown(deadline.saturating_duration_since(Instant::now())) {
            php::log(&line);
        }
    }
}

fn rt_exit_timeout(rt: &asyncbatch_core::runtime::Runtime) -> Duration {
    if rt.in_request() {
        rt.settings().exit_timeout
    } else {
        current_settings().0.exit_timeout
    }
}

/// End of request (RSHUTDOWN): no PHP code may run now. What is still queued goes
/// to the spool; callables are released.
pub fn end_request() {
    let warnings = host::try_with_runtime(|rt| rt.end_request());
    match warnings {
        Some(ws) => ws.iter().for_each(|w| php::log(w)),
        None => php::log(
            "asyncbatch: internal state was busy at the end of the request; queued items may be lost",
        ),
    }
    host::clear_callables();
}

/// Adds what a background thread counted for a job to the process's own counters.
fn merge(stats: &mut asyncbatch_core::stats::JobStats, t: &asyncbatch_core::stats::JobStats) {
    stats.delivered += t.delivered;
    stats.batches += t.batches;
    stats.failed_batches += t.failed_batches;
    stats.retries += t.retries;
    stats.persisted += t.persisted;
    stats.dropped += t.dropped;
    if t.last_flush_at > stats.last_flush_at {
        stats.last_flush_at = t.last_flush_at;
        if t.last_error.is_some() {
            stats.last_error = t.last_error.clone();
        }
    }
    if stats.last_error.is_none() {
        stats.last_error = t.last_error.clone();
    }
}

/// `stats()`.
pub fn stats() -> Zval {
    raise_sender_warnings();
    let rows = with_runtime(|rt| {
        // A forked child reports none of what its parent holds.
        rt.after_fork();
        let outbox = rt.existing_outbox().cloned();
        let http = rt.existing_http_sender().cloned();
        rt.all_jobs()
            .into_iter()
            .map(|j| {
                let job = rt.job(j);
                let mut stats = job.stats.clone();
                let mut queued = job.queue.len() as u64;
                // Daemon mode: what the sender thread did for this job in this process.
                if let Some(o) = &outbox {
                    let (waiting, c) = o.job_state(j);
                    queued += waiting as u64;
                    stats.spooled += c.spooled;
                    stats.dropped += c.dropped;
                    if c.last_error.is_some() {
                        stats.last_error = c.last_error;
                    }
                }
                // HttpSink jobs: what the HTTP sender delivered for it.
                if let Some((waiting, t)) = http.as_ref().and_then(|h| h.job_state(j)) {
                    queued += waiting as u64;
                    merge(&mut stats, &t);
                }
                let http =
                    job.sink.is_some().then(|| (job.http.snapshot(), stats.retries, stats.failed_batches));
                (job.id.clone(), stats, queued, http)
            })
            .collect::<Vec<_>>()
    });
    let mut out = ZendHashTable::with_capacity(rows.len() as u32);
    for (id, s, queued, http) in rows {
        let mut row = ZendHashTable::with_capacity(12);
        let ints = [
            ("submitted", s.submitted),
            ("delivered", s.delivered),
            ("batches", s.batches),
            ("failedBatches", s.failed_batches),
            ("retries", s.retries),
            ("persisted", s.persisted),
            ("queued", queued),
            ("spooled", s.spooled),
            ("dropped", s.dropped),
        ];
        for (k, v) in ints {
            let _ = row.insert(k, v as i64);
        }
        let last_error = match s.last_error {
            Some(e) => php::string_zval(e.as_bytes()),
            None => Zval::null(),
        };
        let _ = row.insert("lastError", last_error);
        let _ = row.insert("lastFlushAt", s.last_flush_at);
        if let Some((counts, retries, failures)) = http {
            let mut h = ZendHashTable::with_capacity(5);
            let _ = h.insert("requests", counts.requests as i64);
            let _ = h.insert("bytes", counts.bytes as i64);
            let mut statuses = ZendHashTable::with_capacity(counts.statuses.len() as u32);
            for (code, n) in counts.statuses {
                let _ = statuses.insert_at_index(code as i64, n as i64);
            }
            let _ = h.insert("statuses", statuses);
            let _ = h.insert("retries", retries as i64);
            let _ = h.insert("failures", failures as i64);
            let _ = row.insert("http", h);
        }
        let mut row_zv = Zval::new();
        row_zv.set_hashtable(row);
        array::symtable_insert(&mut out, &id, row_zv);
    }
    let mut zv = Zval::new();
    zv.set_hashtable(out);
    zv
}
