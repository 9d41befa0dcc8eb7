//! The process's runtime and the request's callables, and [`PhpHost`], through which
//! the delivery loop in `core` calls PHP.
//!
//! PHP runs one request at a time per process (NTS), so both live in thread-locals.
//! Neither is ever borrowed while PHP code runs: a callable may submit, register or
//! die, and a fatal error that skips our frames leaves no borrow behind.

use std::cell::RefCell;

use asyncbatch_core::batch::Batch;
use asyncbatch_core::daemon::signals;
use asyncbatch_core::delivery::{CallOutcome, Host};
use asyncbatch_core::runtime::{JobId, Runtime};
use ext_php_rs::types::Zval;
use ext_php_rs::zend::ExecutorGlobals;

use crate::{decode, php};

thread_local! {
    static RT: RefCell<Runtime> = RefCell::new(Runtime::new());
    static CALLABLES: RefCell<Vec<Option<Zval>>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on the process's runtime.
pub fn with_runtime<R>(f: impl FnOnce(&mut Runtime) -> R) -> R {
    RT.with(|rt| f(&mut rt.borrow_mut()))
}

/// Runs `f` on the runtime unless it is borrowed (which only a bug could cause).
pub fn try_with_runtime<R>(f: impl FnOnce(&mut Runtime) -> R) -> Option<R> {
    RT.with(|rt| rt.try_borrow_mut().ok().map(|mut r| f(&mut r)))
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

/// The delivery loop's way into PHP.
pub struct PhpHost;

impl Host for PhpHost {
    fn with<R>(&self, f: impl FnOnce(&mut Runtime) -> R) -> R {
        with_runtime(f)
    }

    fn call(&self, job: JobId, items: &Batch) -> CallOutcome {
        // An HttpSink job is posted from Rust: no PHP code per batch.
        if let Some((sink, counters)) = with_runtime(|rt| {
            let j = rt.job(job);
            j.sink.clone().map(|s| (s, std::sync::Arc::clone(&j.http)))
        }) {
            return crate::http_sink::post(&sink, items, &counters);
        }
        let Some(callable) = callable(job) else {
            return CallOutcome::failed("the job has no callable in this request");
        };
        let list = match decode::batch_to_array(items) {
            Ok(l) => l,
            Err(e) => return CallOutcome::failed(format!("cannot decode the batch: {e}")),
        };
        let mut args = [list];
        // In a daemon, a stop signal waits until the call returns: a sleep() or a
        // socket read in the callable is not cut short (a hung one is killed at the
        // stop timeout).
        let _blocked = with_runtime(|rt| rt.daemon_process).then(signals::BlockedDuringCall::new);
        let result = php::call(&callable, &mut args);
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
