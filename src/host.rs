//! The process's [`Producer`] and the request's callables, and [`PhpHost`], through
//! which `core` calls PHP: callables, warnings, the log, the settings, the SAPI's
//! shutdown function and `fastcgi_finish_request()`.
//!
//! PHP runs one request at a time per process (NTS), so both live in thread-locals.
//! Neither is ever borrowed while PHP code runs: a callable may submit, register or
//! die, and a fatal error that skips our frames leaves no borrow behind.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicPtr, Ordering};

use asyncbatch_core::batch::Batch;
use asyncbatch_core::batch_id::BatchId;
use asyncbatch_core::daemon::signals;
use asyncbatch_core::delivery::{Host, Pieces};
use asyncbatch_core::http::cap;
use asyncbatch_core::ledger::JobId;
use asyncbatch_core::outcome::CallOutcome;
use asyncbatch_core::producer::{self, Producer, Sapi};
use asyncbatch_core::sapi;
use asyncbatch_core::secure_fs;
use asyncbatch_core::settings::{Settings, INI};
use ext_php_rs::args::ArgInfoTables;
use ext_php_rs::builders::{ClassBuilder, FunctionBuilder};
use ext_php_rs::convert::IntoZval;
use ext_php_rs::ffi;
use ext_php_rs::flags::{ClassFlags, DataType, MethodFlags};
use ext_php_rs::types::{ZendObject, Zval};
use ext_php_rs::zend::{ClassEntry, ExecuteData, ExecutorGlobals};

use crate::{decode, errors, http_sink, php};

thread_local! {
    static PRODUCER: RefCell<Producer> = RefCell::new(Producer::new());
    static CALLABLES: RefCell<Vec<Option<Zval>>> = const { RefCell::new(Vec::new()) };
    static KEPT: RefCell<Vec<Kept>> = const { RefCell::new(Vec::new()) };
}

/// The values submitted to a job in this request that wait for its callable here,
/// in order, each with its encoding. A batch item whose bytes equal a kept value's
/// encoding is given as that value (PHP's copy-on-write kept it as it was submitted),
/// so the callable's list is not decoded again. The bytes stay the truth: they are
/// journaled before the call, and any item without its kept value (spooled, from an
/// earlier request, retried) is decoded from them.
#[derive(Default)]
struct Kept {
    bytes: Vec<u8>,
    values: VecDeque<(usize, usize, Zval)>,
}

/// Values kept per job at most; beyond, items are decoded. A kept value stays in
/// PHP's memory (and counts against memory_limit) until delivered, where its
/// encoding alone would have: a few batches' worth, not a bulk import's.
const MAX_KEPT: usize = 1000;
/// Kept encoded bytes per job at most (the PHP values take a few times that).
const MAX_KEPT_BYTES: usize = 1 << 20;
/// How far past the oldest kept value a batch item is looked for (older ones left
/// the queue another way: spooled at the memory cap).
const KEPT_WINDOW: usize = 8;

/// Keeps `item`, just submitted to `job` and encoded as `encoded`, for the callable.
pub fn keep_value(job: JobId, item: &Zval, encoded: &[u8]) {
    KEPT.with(|k| {
        let mut k = k.borrow_mut();
        if k.len() <= job {
            k.resize_with(job + 1, Kept::default);
        }
        let kept = &mut k[job];
        if kept.values.is_empty() {
            kept.bytes.clear();
        }
        if kept.values.len() >= MAX_KEPT || kept.bytes.len() + encoded.len() > MAX_KEPT_BYTES {
            return;
        }
        let start = kept.bytes.len();
        kept.bytes.extend_from_slice(encoded);
        kept.values.push_back((start, kept.bytes.len(), item.shallow_clone()));
    });
}

/// The kept value of `job` encoded as `item`, taken (with the older ones skipped
/// over on the way, which no batch will hold now).
fn take_kept(job: JobId, item: &[u8]) -> Option<Zval> {
    KEPT.with(|k| {
        let mut k = k.borrow_mut();
        let kept = k.get_mut(job)?;
        let at = kept.values.iter().take(KEPT_WINDOW).position(|(s, e, _)| &kept.bytes[*s..*e] == item)?;
        kept.values.drain(..at);
        kept.values.pop_front().map(|(_, _, v)| v)
    })
}

/// Forgets every kept value (end of request).
pub fn clear_kept() {
    let old = KEPT.with(|k| std::mem::take(&mut *k.borrow_mut()));
    drop(old);
}

/// Runs `f` on the process's producer.
pub fn with_producer<R>(f: impl FnOnce(&mut Producer) -> R) -> R {
    PRODUCER.with(|p| f(&mut p.borrow_mut()))
}

/// Runs `f` on the producer unless it is borrowed (which only a bug could cause).
pub fn try_with_producer<R>(f: impl FnOnce(&mut Producer) -> R) -> Option<R> {
    PRODUCER.with(|p| p.try_borrow_mut().ok().map(|mut p| f(&mut p)))
}

/// Keeps the callable of `job` for this request.
pub fn set_callable(job: JobId, callable: Zval) {
    CALLABLES.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() <= job {
            c.resize_with(job + 1, || None);
        }
        c[job] = Some(callable);
    });
}

/// Forgets every callable (end of request).
pub fn clear_callables() {
    let old = CALLABLES.with(|c| std::mem::take(&mut *c.borrow_mut()));
    drop(old);
}

fn callable(job: JobId) -> Option<Zval> {
    CALLABLES.with(|c| c.borrow().get(job).and_then(|z| z.as_ref().map(Zval::shallow_clone)))
}

/// This request's settings, as the engine sees them now (the ini settings, then
/// `ASYNCBATCH_RUNNER`), resolved again only when those changed.
pub fn current_settings() -> (Settings, Vec<String>) {
    let env = php::SapiEnv::get(c"ASYNCBATCH_RUNNER");
    let mut raw = [None; INI.len() + 1];
    for (slot, d) in raw.iter_mut().zip(&INI) {
        // SAFETY: looked at below, before any PHP code runs.
        *slot = unsafe { php::ini_bytes(d.name) };
    }
    raw[INI.len()] = env.bytes().or_else(|| process_runner_env().map(str::as_bytes));
    with_producer(|p| p.settings_cache().get(&raw, || (PathBuf::from(php::temp_dir()), secure_fs::euid())))
}

/// `ASYNCBATCH_RUNNER` of the process environment, read once per process (the
/// SAPI's variable, a FastCGI parameter, comes first).
fn process_runner_env() -> Option<&'static str> {
    static PROCESS: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    PROCESS.get_or_init(|| std::env::var("ASYNCBATCH_RUNNER").ok()).as_deref()
}

/// The way from `core` into PHP.
pub struct PhpHost;

impl Host for PhpHost {
    type State = Producer;

    fn with<R>(&self, f: impl FnOnce(&mut Producer) -> R) -> R {
        with_producer(f)
    }

    fn call(&self, job: JobId, items: &Batch, id: &BatchId) -> CallOutcome {
        // An HttpSink job is posted from Rust: no PHP code per batch.
        let (sink, with_id) = with_producer(|p| {
            let j = p.jobs().job(job);
            (j.sink.clone().map(|s| (s, std::sync::Arc::clone(&j.http))), j.config.with_batch_id)
        });
        if let Some((sink, counters)) = sink {
            return http_sink::post(&sink, items, id, &counters);
        }
        let Some(callable) = callable(job) else {
            return CallOutcome::failed("the job has no callable in this request");
        };
        let list = match decode::batch_to_array(items, |item| take_kept(job, item)) {
            Ok(l) => l,
            Err(e) => return CallOutcome::failed(format!("cannot decode the batch: {e}")),
        };
        // In a daemon, a stop signal waits until the call returns: a sleep() or a
        // socket read in the callable is not cut short (a hung one is killed at the
        // stop timeout).
        let _blocked = with_producer(|p| p.is_daemon_process()).then(signals::BlockedDuringCall::new);
        let result = if with_id {
            php::call(&callable, &mut [list, php::string_zval(id.text().as_bytes())])
        } else {
            php::call(&callable, &mut [list])
        };
        if let Some(message) = take_exception() {
            return match message {
                Some(m) => CallOutcome::failed(m),
                None => CallOutcome::Abort,
            };
        }
        match result {
            None => CallOutcome::failed("the callable could not be called"),
            Some(r) if r.is_false() => CallOutcome::failed("callable returned false"),
            Some(_) => CallOutcome::Accepted,
        }
    }

    fn split(&self, job: JobId, items: &Batch) -> Option<Pieces> {
        let sink = with_producer(|p| p.jobs().job(job).sink.clone())?;
        cap::split(&sink, items)
    }

    fn log(&self, msg: &str) {
        php::log(msg);
    }

    fn warn(&self, msg: &str) {
        php::warn(msg);
    }

    fn sleep(&self, d: std::time::Duration) {
        signals::sleep(d);
    }

    fn should_stop(&self) -> bool {
        signals::stop_requested()
    }
}

impl Sapi for PhpHost {
    fn settings(&self) -> (Settings, Vec<String>) {
        current_settings()
    }

    fn is_cli(&self) -> bool {
        sapi::kind(&php::sapi_name()).script
    }

    fn register_shutdown_function(&self) -> bool {
        let mut hook = shutdown_hook();
        php::call_function("register_shutdown_function", std::slice::from_mut(&mut hook)).is_some()
    }

    fn finish_request(&self) {
        if let Some(f) = sapi::kind(&php::sapi_name()).finish_request.filter(|f| php::function_exists(f)) {
            php::call_function(f, &mut []);
        }
    }
}

/// Takes the pending exception, if any, and returns `Some(Some("Class: message"))`;
/// `Some(None)` for `exit()`, which is left pending to end the script.
fn take_exception() -> Option<Option<String>> {
    {
        let globals = ExecutorGlobals::get();
        let ex = globals.exception()?;
        if php::is_exit(ex) {
            return Some(None);
        }
    }
    let ex = ExecutorGlobals::take_exception()?;
    let class = ex.get_class_name().unwrap_or_else(|_| "Exception".into());
    let message = ex.try_call_method("getMessage", vec![]).ok().and_then(|m| m.string()).unwrap_or_default();
    // getMessage() of a user class could itself throw; do not let that escape.
    drop(ExecutorGlobals::take_exception());
    Some(Some(format!("{class}: {message}")))
}

/// The class of the extension's shutdown function (not part of the API).
const SHUTDOWN_HOOK: &str = "AsyncBatch\\Internal\\ShutdownHook";
static HOOK_CE: AtomicPtr<ffi::zend_class_entry> = AtomicPtr::new(std::ptr::null_mut());

fn keep_hook(ce: &'static mut ClassEntry, tables: ArgInfoTables) {
    // The engine points into the arg-info tables for the life of the process.
    crate::keep_forever(tables);
    HOOK_CE.store(ce, Ordering::Relaxed);
}

extern "C" fn hook_construct(_ex: &mut ExecuteData, _retval: &mut Zval) {}

extern "C" fn hook_invoke(ex: &mut ExecuteData, _retval: &mut Zval) {
    errors::guarded(|| {
        if php::check_arg_count(ex, 0, 0) {
            producer::run_shutdown_function(&PhpHost);
        }
    })
}

/// Registers the shutdown function's class (MINIT).
pub fn register_class() -> ext_php_rs::error::Result<()> {
    ClassBuilder::new(SHUTDOWN_HOOK)
        .flags(ClassFlags::Final)
        .method(FunctionBuilder::constructor(hook_construct), MethodFlags::Private)
        .method(
            FunctionBuilder::new("__invoke", hook_invoke).required_args(0).returns(
                DataType::Void,
                false,
                false,
            ),
            MethodFlags::Public,
        )
        .registration(keep_hook)
        .register()
}

/// A new shutdown hook object: the callable registered with
/// `register_shutdown_function()`. PHP code cannot make one (private constructor).
fn shutdown_hook() -> Zval {
    // SAFETY: registered at startup, lives for the process.
    let ce = unsafe { &*HOOK_CE.load(Ordering::Relaxed) };
    let obj: ext_php_rs::boxed::ZBox<ZendObject> = ZendObject::new(ce);
    obj.into_zval(false).expect("an object always converts")
}
