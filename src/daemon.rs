//! `AsyncBatch\Internal\Daemon`: what `php/bin/asyncbatch daemon|drain` call. Not
//! part of the API. The loops are in `core::daemon`; this converts and delegates.

use std::path::PathBuf;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::time::Duration;

use asyncbatch_core::daemon::lock::ProcessLock;
use asyncbatch_core::daemon::options::{self, DaemonOptions, OptionError};
use asyncbatch_core::daemon::supervisor::{self, Mode, Role};
use asyncbatch_core::daemon::{self as core_daemon, consume, forward, worker};
use asyncbatch_core::secure_fs;
use asyncbatch_core::settings::{Settings, TransportKind};
use asyncbatch_core::spool::Spool;
use asyncbatch_core::transport::redis::{Streams, DEFAULT_PREFIX};
use asyncbatch_core::transport::sysv::Queue;
use ext_php_rs::args::{Arg, ArgInfoTables};
use ext_php_rs::builders::{ClassBuilder, FunctionBuilder};
use ext_php_rs::ffi;
use ext_php_rs::flags::{ClassFlags, DataType, MethodFlags};
use ext_php_rs::types::{ZendHashTable, Zval};
use ext_php_rs::zend::{ClassEntry, ExecuteData};

use crate::array::{self, Key};
use crate::errors::{self, Failure};
use crate::host::{self, with_producer, PhpHost};
use crate::php;

const CLASS: &str = "AsyncBatch\\Internal\\Daemon";
/// A queue the daemon owns is given this capacity when it may (root).
const QUEUE_CAPACITY: u64 = 8 << 20;

static KEPT: AtomicPtr<ProcessLock> = AtomicPtr::new(std::ptr::null_mut());

/// The spool directory and queue this process's settings name (a refused queue
/// is logged and left out: the spool alone still works).
fn resources(settings: &Settings, create_queue: bool) -> Result<(Spool, Option<Queue>), String> {
    if let Some(base) = &settings.default_base {
        secure_fs::ensure_private_dir(base, "directory").map_err(|e| e.to_string())?;
    }
    let spool = Spool::open(&settings.spool_dir).map_err(|e| e.to_string())?;
    let queue = match settings.transport {
        TransportKind::Spool => None,
        TransportKind::Sysv if create_queue => {
            Some(Queue::open(settings.queue_key, settings.queue_mode).map_err(|e| e.to_string())?)
        }
        TransportKind::Sysv => match Queue::open_existing_checked(settings.queue_key, settings.queue_mode) {
            Ok(q) => q,
            Err(e) => return Err(e.to_string()),
        },
    };
    Ok((spool, queue))
}

/// An option's value as the CLI passed it (a string as typed; a number is taken
/// as its decimal form), for core to check.
fn option_text(v: &Zval) -> Option<String> {
    let v = v.dereference();
    let text = v.zend_str().map(|s| String::from_utf8_lossy(php::str_bytes(s)).into_owned());
    text.or_else(|| v.long().map(|n| n.to_string())).or_else(|| v.double().map(|f| f.to_string()))
}

/// `supervise()`'s array, checked.
struct Parsed {
    daemon: DaemonOptions,
    mode: Mode,
    bootstrap: String,
    metrics: Option<std::net::SocketAddr>,
}

/// The daemon's options, what its workers do, the bootstrap file and where the
/// metrics are served, from `supervise()`'s array (`command` is `daemon` or `consume`).
fn parse_options(options: &ffi::zend_array) -> Result<Parsed, Failure> {
    let (mut workers, mut stop_timeout, mut bootstrap) = (None, None, String::new());
    let (mut metrics, mut metrics_public) = (None, false);
    let (mut consume, mut forward, mut redis, mut group, mut claim_idle, mut max_deliveries) =
        (false, None, None, None, None, None);
    array::try_for_each(options, |k, v| {
        match k {
            Key::Str(b"workers") => workers = option_text(v),
            Key::Str(b"stopTimeout") => stop_timeout = option_text(v),
            Key::Str(b"command") => consume = option_text(v).as_deref() == Some("consume"),
            Key::Str(b"forward") => forward = option_text(v),
            Key::Str(b"redis") => redis = option_text(v),
            Key::Str(b"group") => group = option_text(v),
            Key::Str(b"claimIdle") => claim_idle = option_text(v),
            Key::Str(b"maxDeliveries") => max_deliveries = option_text(v),
            Key::Str(b"metrics") => metrics = option_text(v),
            Key::Str(b"metricsPublic") => metrics_public = v.dereference().coerce_to_bool(),
            Key::Str(b"bootstrap") => bootstrap = v.dereference().string().unwrap_or_default(),
            Key::Str(b"log") => {} // the CLI points error_log at it; PHP reopens it per line
            Key::Str(other) => return Err(OptionError::Unknown(String::from_utf8_lossy(other).into_owned())),
            Key::Int(i) => return Err(OptionError::Unknown(i.to_string())),
        }
        Ok(())
    })?;
    let daemon = DaemonOptions::parse(workers.as_deref(), stop_timeout.as_deref())?;
    let mode = if consume {
        Mode::Consume(options::parse_consume(
            redis.as_deref(),
            group.as_deref(),
            claim_idle.as_deref(),
            max_deliveries.as_deref(),
        )?)
    } else if let Some(url) = forward.filter(|u| !u.is_empty()) {
        Mode::Forward { url: options::parse_forward(&url)? }
    } else {
        Mode::Deliver
    };
    let metrics = options::parse_metrics(metrics.as_deref(), metrics_public)?;
    Ok(Parsed { daemon, mode, bootstrap, metrics })
}

fn role_array(pairs: &[(&str, Zval)]) -> Zval {
    let mut ht = ZendHashTable::with_capacity(pairs.len() as u32);
    for (k, v) in pairs {
        let _ = ht.insert(*k, v.shallow_clone());
    }
    let mut z = Zval::new();
    z.set_hashtable(ht);
    z
}

fn long(n: i64) -> Zval {
    let mut z = Zval::new();
    z.set_long(n);
    z
}

fn string(s: &str) -> Zval {
    php::string_zval(s.as_bytes())
}

/// `Daemon::parseOptions(array $options): array`: the CLI's `--workers` and
/// `--stop-timeout`, checked, as `['workers' => int, 'stopTimeout' => float]`.
fn check_options(options: &ffi::zend_array) -> Result<Zval, Failure> {
    let o = parse_options(options)?.daemon;
    let mut seconds = Zval::new();
    seconds.set_double(o.stop_timeout.as_secs_f64());
    Ok(role_array(&[("workers", long(o.workers as i64)), ("stopTimeout", seconds)]))
}

/// `Daemon::supervise(array $options): array`.
fn supervise(options: &ffi::zend_array) -> Result<Zval, Failure> {
    let Parsed { daemon, mode, bootstrap, metrics } = parse_options(options)?;
    let (settings, _) = host::current_settings();
    // Every process of the daemon is a daemon process: none reads the spool at the
    // end of its "request" (the workers do that properly), none uses the daemon runner.
    with_producer(|p| p.mark_daemon_process());
    let (_, queue) = match resources(&settings, true) {
        Ok(r) => r,
        Err(e) => {
            fatal(&format!("asyncbatch daemon: {e}"));
            return Ok(role_array(&[("role", string("master")), ("exitCode", long(1))]));
        }
    };
    if let Some(q) = queue {
        if secure_fs::euid() == 0
            && q.stat().is_ok_and(|s| s.capacity < QUEUE_CAPACITY)
            && q.set_capacity(QUEUE_CAPACITY).is_ok()
        {
            php::log(&format!(
                "asyncbatch daemon: queue {:#x} capacity raised to {} bytes",
                q.key(),
                QUEUE_CAPACITY
            ));
        }
    }
    let role = supervisor::supervise(
        supervisor::Options {
            mode,
            daemon,
            bootstrap,
            spool_dir: settings.spool_dir.clone(),
            failure_dir: settings.failure_dir.clone(),
            queue,
            metrics,
        },
        &|line| php::log(line),
        &fatal,
    );
    Ok(match role {
        Role::Worker { index } => role_array(&[("role", string("worker")), ("index", long(index as i64))]),
        Role::Master { exit_code } => {
            role_array(&[("role", string("master")), ("exitCode", long(exit_code as i64))])
        }
    })
}

/// A line that ends the daemon: to its log, and to stderr too when the log is a
/// file (the operator starting it by hand, or supervisord's stderr log, shows it).
fn fatal(line: &str) {
    php::log(line);
    if php::ini("error_log").is_some_and(|l| !l.is_empty()) {
        eprintln!("{line}");
    }
}

fn worker_status_path(spool_dir: PathBuf, name: &str, index: usize) -> PathBuf {
    spool_dir.join(supervisor::worker_status_file(name, index))
}

/// `Daemon::work(): int`, in a worker after its bootstrap.
fn work() -> i64 {
    let index = supervisor::worker_index();
    let (jobs, spool_dir) = with_producer(|p| {
        let rt = p.jobs();
        (rt.registered_jobs().to_vec(), rt.in_request().then(|| rt.settings().spool_dir.clone()))
    });
    let spool_dir = spool_dir.unwrap_or_else(|| host::current_settings().0.spool_dir);
    if jobs.is_empty() {
        let why = "the bootstrap registered no job (call registerAsyncJob() in it)";
        if index > 0 {
            supervisor::announce(Err(why)); // the master says it, once
        } else {
            php::log(&format!("asyncbatch daemon: {why}"));
        }
        return 1;
    }
    let mode = supervisor::mode();
    let status = (index > 0)
        .then(|| worker::StatusTarget { path: worker_status_path(spool_dir, mode.name(), index), index });
    let timeout = std::time::Duration::from_secs(5);
    match mode {
        Mode::Deliver => {
            supervisor::announce(Ok(()));
            worker::run(&PhpHost, &jobs, worker::Until::Stopped, status);
        }
        Mode::Forward { url } => {
            let streams = match Streams::open(&url, timeout) {
                Ok(s) => s,
                Err(e) => return refuse(index, &e.to_string()),
            };
            supervisor::announce(Ok(()));
            forward::run(&PhpHost, &jobs, streams, DEFAULT_PREFIX, status);
        }
        Mode::Consume(opts) => {
            let streams = match Streams::open(&opts.url, timeout) {
                Ok(s) => s,
                Err(e) => return refuse(index, &e.to_string()),
            };
            supervisor::announce(Ok(()));
            let consumer = format!("{}-{}", secure_fs::hostname(), std::process::id());
            consume::run(&PhpHost, &jobs, streams, &opts, &consumer, status);
        }
    }
    0
}

/// A worker that cannot start: the master says why, once.
fn refuse(index: usize, why: &str) -> i64 {
    if index > 0 {
        supervisor::announce(Err(why));
    } else {
        php::log(&format!("asyncbatch daemon: {why}"));
    }
    1
}

/// `Daemon::drain(?float $maxTime = null): int`, after the bootstrap.
fn drain(max_time: Option<Duration>) -> i64 {
    with_producer(|p| p.mark_daemon_process());
    let (settings, _) = host::current_settings();
    let jobs = with_producer(|p| p.jobs().registered_jobs().to_vec());
    if jobs.is_empty() {
        php::log("asyncbatch drain: the bootstrap registered no job (call registerAsyncJob() in it)");
        return 1;
    }
    let (spool, queue) = match resources(&settings, false) {
        Ok(r) => r,
        Err(e) => {
            php::log(&format!("asyncbatch drain: {e}"));
            match Spool::open(&settings.spool_dir) {
                Ok(s) => (s, None),
                Err(_) => return 1,
            }
        }
    };
    let report = core_daemon::drain(&PhpHost, &jobs, queue, spool, max_time);
    let left = with_producer(|p| jobs.iter().map(|&j| p.jobs().job(j).stats.dropped).sum::<u64>());
    if report.failed_batches > 0 || left > 0 {
        1
    } else {
        0
    }
}

/// `Daemon::streams(string $url, string $group): array`: per job that has a stream,
/// what `status --redis` shows.
fn streams(url: &str, group: &str) -> Result<Zval, Failure> {
    let mut redis = Streams::open(url, std::time::Duration::from_secs(5)).map_err(Failure::Redis)?;
    let mut out = ZendHashTable::new();
    let now_ms = (asyncbatch_core::naming::unix_secs() * 1000.0) as u64;
    for job in redis.jobs(DEFAULT_PREFIX).map_err(Failure::Redis)? {
        let st = redis.stream_state(DEFAULT_PREFIX, &job, group).map_err(Failure::Redis)?;
        let mut age = Zval::null();
        if let Some(ms) = st.oldest_pending_ms {
            age.set_double(now_ms.saturating_sub(ms) as f64 / 1000.0);
        }
        let mut lag = Zval::null();
        if let Some(l) = st.lag {
            lag.set_long(l as i64);
        }
        let row = role_array(&[
            ("forwarded", long(st.forwarded as i64)),
            ("length", long(st.length as i64)),
            ("lag", lag),
            ("pending", long(st.pending as i64)),
            ("oldestPendingAge", age),
            ("claims", long(st.claims as i64)),
            ("deadLetters", long(st.dead_letters as i64)),
        ]);
        let _ = out.insert(String::from_utf8_lossy(&job).as_ref(), row);
    }
    let mut z = Zval::new();
    z.set_hashtable(out);
    Ok(z)
}

/// `Daemon::lock(string $name): ?int`.
fn lock(name: &[u8]) -> Result<Option<i64>, Failure> {
    let name = match name {
        b"drain" => "drain",
        b"daemon" => "daemon",
        other => return Err(OptionError::LockName(String::from_utf8_lossy(other).into_owned()).into()),
    };
    // The drain takes its lock before its bootstrap registers the jobs: from here on
    // this process is a daemon process (its own submits stay local).
    with_producer(|p| p.mark_daemon_process());
    let (settings, _) = host::current_settings();
    let spool = match resources(&settings, false) {
        Ok((spool, _)) => spool,
        Err(_) => Spool::open(&settings.spool_dir)?,
    };
    match ProcessLock::take(spool.dir(), name)? {
        Ok(held) => {
            // Held for the rest of the process.
            let old = KEPT.swap(Box::into_raw(Box::new(held)), Ordering::SeqCst);
            if !old.is_null() {
                // SAFETY: a lock we boxed earlier in this process.
                drop(unsafe { Box::from_raw(old) });
            }
            Ok(None)
        }
        Err(pid) => Ok(Some(pid as i64)),
    }
}

extern "C" fn h_supervise(ex: &mut ExecuteData, retval: &mut Zval) {
    errors::guarded(|| {
        if !php::check_arg_count(ex, 1, 1) {
            return;
        }
        let Some(z) = php::arg(ex, 0) else { return };
        let Some(options) = z.array() else { return php::wrong_array_arg(z, 1) };
        match supervise(options) {
            Ok(v) => *retval = v,
            Err(f) => f.throw(),
        }
    })
}

extern "C" fn h_parse_options(ex: &mut ExecuteData, retval: &mut Zval) {
    errors::guarded(|| {
        if !php::check_arg_count(ex, 1, 1) {
            return;
        }
        let Some(z) = php::arg(ex, 0) else { return };
        let Some(options) = z.array() else { return php::wrong_array_arg(z, 1) };
        match check_options(options) {
            Ok(v) => *retval = v,
            Err(f) => f.throw(),
        }
    })
}

extern "C" fn h_work(ex: &mut ExecuteData, retval: &mut Zval) {
    errors::guarded(|| {
        if php::check_arg_count(ex, 0, 0) {
            retval.set_long(work());
        }
    })
}

extern "C" fn h_drain(ex: &mut ExecuteData, retval: &mut Zval) {
    errors::guarded(|| {
        if !php::check_arg_count(ex, 0, 1) {
            return;
        }
        let given = (php::given(ex) > 0).then(|| php::arg(ex, 0)).flatten();
        let max_time = match given.filter(|z| !z.is_null()).map(|z| option_text(z).unwrap_or_default()) {
            None => None,
            Some(text) => match options::parse_max_time(&text) {
                Ok(d) => Some(d),
                Err(e) => return Failure::from(e).throw(),
            },
        };
        retval.set_long(drain(max_time));
    })
}

extern "C" fn h_streams(ex: &mut ExecuteData, retval: &mut Zval) {
    errors::guarded(|| {
        if !php::check_arg_count(ex, 2, 2) {
            return;
        }
        let Some(z) = php::arg(ex, 0) else { return };
        let Some(url) =
            php::arg_string(z, 1).map(|s| String::from_utf8_lossy(php::str_bytes(s)).into_owned())
        else {
            return;
        };
        let Some(z) = php::arg(ex, 1) else { return };
        let Some(group) =
            php::arg_string(z, 2).map(|s| String::from_utf8_lossy(php::str_bytes(s)).into_owned())
        else {
            return;
        };
        match streams(&url, &group) {
            Ok(v) => *retval = v,
            Err(f) => f.throw(),
        }
    })
}

extern "C" fn h_lock(ex: &mut ExecuteData, retval: &mut Zval) {
    errors::guarded(|| {
        if !php::check_arg_count(ex, 1, 1) {
            return;
        }
        let Some(z) = php::arg(ex, 0) else { return };
        let Some(name) = php::arg_string(z, 1) else { return };
        match lock(php::str_bytes(name)) {
            Ok(Some(pid)) => retval.set_long(pid),
            Ok(None) => retval.set_null(),
            Err(f) => f.throw(),
        }
    })
}

fn keep(_ce: &'static mut ClassEntry, tables: ArgInfoTables) {
    crate::keep_forever(tables);
}

/// Registers the class (MINIT).
pub fn register_class() -> ext_php_rs::error::Result<()> {
    let flags = MethodFlags::Public | MethodFlags::Static;
    ClassBuilder::new(CLASS)
        .flags(ClassFlags::Final)
        .method(
            FunctionBuilder::new("supervise", h_supervise)
                .arg(Arg::new("options", DataType::Array))
                .required_args(1)
                .returns(DataType::Array, false, false),
            flags,
        )
        .method(
            FunctionBuilder::new("parseOptions", h_parse_options)
                .arg(Arg::new("options", DataType::Array))
                .required_args(1)
                .returns(DataType::Array, false, false),
            flags,
        )
        .method(
            FunctionBuilder::new("work", h_work).required_args(0).returns(DataType::Long, false, false),
            flags,
        )
        .method(
            FunctionBuilder::new("drain", h_drain)
                .arg(Arg::new("maxTime", DataType::Double).allow_null().default("null"))
                .required_args(0)
                .returns(DataType::Long, false, false),
            flags,
        )
        .method(
            FunctionBuilder::new("streams", h_streams)
                .arg(Arg::new("url", DataType::String))
                .arg(Arg::new("group", DataType::String))
                .required_args(2)
                .returns(DataType::Array, false, false),
            flags,
        )
        .method(
            FunctionBuilder::new("lock", h_lock)
                .arg(Arg::new("name", DataType::String))
                .required_args(1)
                .returns(DataType::Long, false, true),
            flags,
        )
        .registration(keep)
        .register()
}
