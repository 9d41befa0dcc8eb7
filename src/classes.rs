//! The PHP classes and their method handlers. Handlers parse arguments with the
//! engine's own rules and hand over to [`crate::runner`]; none holds logic.

use std::panic::{catch_unwind, AssertUnwindSafe};

use ext_php_rs::args::Arg;
use std::sync::atomic::{AtomicPtr, Ordering};

use ext_php_rs::args::ArgInfoTables;
use ext_php_rs::builders::{ClassBuilder, ClassProperty, FunctionBuilder};
use ext_php_rs::convert::IntoZval;
use ext_php_rs::ffi;
use ext_php_rs::flags::{ClassFlags, DataType, MethodFlags, PropertyFlags};
use ext_php_rs::types::{ZendObject, Zval};
use ext_php_rs::zend::{ClassEntry, ExecuteData};

use crate::errors::Failure;
use crate::{php, runner};

const RUNNER: &str = "AsyncBatchRunner";
static HOOK_CE: AtomicPtr<ffi::zend_class_entry> = AtomicPtr::new(std::ptr::null_mut());

fn keep_runner(_ce: &'static mut ClassEntry, tables: ArgInfoTables) {
    // The engine points into the arg-info tables for the life of the process.
    crate::keep_forever(tables);
}

fn keep_hook(ce: &'static mut ClassEntry, tables: ArgInfoTables) {
    crate::keep_forever(tables);
    HOOK_CE.store(ce, Ordering::Relaxed);
}
const SHUTDOWN_HOOK: &str = "AsyncBatch\\Internal\\ShutdownHook";

/// Runs a handler body; a Rust panic becomes a PHP `Error`, never an abort.
pub(crate) fn guarded(body: impl FnOnce()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(body)) {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Failure::Internal(what).throw();
    }
}

/// A private property declared by one of the extension's classes.
pub(crate) fn private_property(name: &str, default: fn() -> Zval) -> ClassProperty {
    ClassProperty {
        name: name.into(),
        flags: PropertyFlags::Private,
        default: Some(Box::new(move || Ok(default()))),
        docs: &[],
        ty: None,
        nullable: true,
        readonly: false,
        default_stub: None,
    }
}

pub(crate) fn arg<'a>(ex: &ExecuteData, n: usize) -> Option<&'a mut Zval> {
    // SAFETY: n is below the argument count checked by the caller.
    unsafe { ex.zend_call_arg(n) }.map(Zval::dereference_mut)
}

pub(crate) fn given(ex: &ExecuteData) -> usize {
    // SAFETY: ZEND_CALL_NUM_ARGS of the live frame.
    unsafe { ex.This.u2.num_args as usize }
}

/// An optional `?string` argument: `Ok(None)` for null or absent.
fn opt_string<'a>(ex: &ExecuteData, n: usize) -> Result<Option<&'a [u8]>, ()> {
    if given(ex) <= n {
        return Ok(None);
    }
    let Some(z) = arg(ex, n) else { return Ok(None) };
    if z.is_null() {
        return Ok(None);
    }
    php::arg_string(z, n as u32 + 1).map(|s| Some(php::str_bytes(s))).ok_or(())
}

fn done<T>(result: Result<T, Failure>, ok: impl FnOnce(T)) {
    match result {
        Ok(v) => ok(v),
        Err(f) => f.throw(),
    }
}

extern "C" fn register_async_job(ex: &mut ExecuteData, _retval: &mut Zval) {
    guarded(|| {
        if !php::check_arg_count(ex, 2, 3) {
            return;
        }
        let (Some(id), Some(func)) = (arg(ex, 0), arg(ex, 1)) else { return };
        let Some(id) = php::arg_string(id, 1) else { return };
        if !php::check_callable(func, 2) {
            return;
        }
        // SAFETY: the engine's immutable empty array lives for the process.
        let empty = unsafe { &*std::ptr::addr_of!(ffi::zend_empty_array) };
        // Not passed: its slot was never written, so it is not even looked at.
        let config = match (given(ex) > 2).then(|| arg(ex, 2)).flatten() {
            None => empty,
            Some(z) => match z.array() {
                Some(ht) => ht,
                None => return php::wrong_array_arg(z, 3),
            },
        };
        done(runner::register(php::str_bytes(id), func, config), |_| {});
    })
}

extern "C" fn submit_item(ex: &mut ExecuteData, _retval: &mut Zval) {
    guarded(|| {
        if !php::check_arg_count(ex, 2, 2) {
            return;
        }
        let (Some(id), Some(item)) = (arg(ex, 0), arg(ex, 1)) else { return };
        let Some(id) = php::arg_string(id, 1) else { return };
        done(runner::submit(php::str_bytes(id), item), |_| {});
    })
}

extern "C" fn flush(ex: &mut ExecuteData, retval: &mut Zval) {
    guarded(|| {
        if !php::check_arg_count(ex, 0, 1) {
            return;
        }
        let Ok(id) = opt_string(ex, 0) else { return };
        done(runner::flush(id), |n| retval.set_long(n as i64));
    })
}

extern "C" fn stats(ex: &mut ExecuteData, retval: &mut Zval) {
    guarded(|| {
        if php::check_arg_count(ex, 0, 0) {
            *retval = runner::stats();
        }
    })
}

extern "C" fn retry_failed(ex: &mut ExecuteData, retval: &mut Zval) {
    guarded(|| {
        if !php::check_arg_count(ex, 0, 1) {
            return;
        }
        let Ok(id) = opt_string(ex, 0) else { return };
        done(runner::retry_failed(id), |n| retval.set_long(n as i64));
    })
}

extern "C" fn hook_construct(_ex: &mut ExecuteData, _retval: &mut Zval) {}

extern "C" fn hook_invoke(ex: &mut ExecuteData, _retval: &mut Zval) {
    guarded(|| {
        if php::check_arg_count(ex, 0, 0) {
            runner::deliver_at_shutdown();
        }
    })
}

fn nullable_string(name: &str) -> Arg<'static> {
    Arg::new(name, DataType::String).allow_null().default("null")
}

/// Registers `AsyncBatchRunner` and its helper class (MINIT).
pub fn register_classes() -> ext_php_rs::error::Result<()> {
    let public = MethodFlags::Public;
    ClassBuilder::new(RUNNER)
        .method(
            FunctionBuilder::new("registerAsyncJob", register_async_job)
                .arg(Arg::new("identifier", DataType::String))
                .arg(Arg::new("func", DataType::Callable))
                .arg(Arg::new("config", DataType::Array).default("[]"))
                .required_args(2)
                .returns(DataType::Void, false, false),
            public,
        )
        .method(
            FunctionBuilder::new("submitItem", submit_item)
                .arg(Arg::new("identifier", DataType::String))
                .arg(Arg::new("item", DataType::Mixed))
                .required_args(2)
                .returns(DataType::Void, false, false),
            public,
        )
        .method(
            FunctionBuilder::new("flush", flush).arg(nullable_string("identifier")).required_args(0).returns(
                DataType::Long,
                false,
                false,
            ),
            public,
        )
        .method(
            FunctionBuilder::new("stats", stats).required_args(0).returns(DataType::Array, false, false),
            public,
        )
        .method(
            FunctionBuilder::new("retryFailed", retry_failed)
                .arg(nullable_string("identifier"))
                .required_args(0)
                .returns(DataType::Long, false, false),
            public | MethodFlags::Static,
        )
        .registration(keep_runner)
        .register()?;

    ClassBuilder::new(SHUTDOWN_HOOK)
        .flags(ClassFlags::Final)
        .method(FunctionBuilder::constructor(hook_construct), MethodFlags::Private)
        .method(
            FunctionBuilder::new("__invoke", hook_invoke).required_args(0).returns(
                DataType::Void,
                false,
                false,
            ),
            public,
        )
        .registration(keep_hook)
        .register()?;
    Ok(())
}

/// A new shutdown hook object: the callable the runner registers with
/// `register_shutdown_function()`. PHP code cannot make one (private constructor).
pub fn shutdown_hook() -> Zval {
    // SAFETY: registered at startup, lives for the process.
    let ce = unsafe { &*HOOK_CE.load(Ordering::Relaxed) };
    let obj: ext_php_rs::boxed::ZBox<ZendObject> = ZendObject::new(ce);
    obj.into_zval(false).expect("an object always converts")
}
