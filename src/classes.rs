//! `AsyncBatchRunner`: its method handlers and its registration. Handlers parse
//! arguments with the engine's own rules and hand over to [`crate::runner`]; none
//! holds logic.

use ext_php_rs::args::{Arg, ArgInfoTables};
use ext_php_rs::builders::{ClassBuilder, FunctionBuilder};
use ext_php_rs::ffi;
use ext_php_rs::flags::{DataType, MethodFlags};
use ext_php_rs::types::Zval;
use ext_php_rs::zend::{ClassEntry, ExecuteData};

use crate::errors::{self, Failure};
use crate::{php, runner};

const RUNNER: &str = "AsyncBatchRunner";

fn keep_runner(_ce: &'static mut ClassEntry, tables: ArgInfoTables) {
    // The engine points into the arg-info tables for the life of the process.
    crate::keep_forever(tables);
}

/// An optional `?string` argument: `Ok(None)` for null or absent.
fn opt_string<'a>(ex: &ExecuteData, n: usize) -> Result<Option<&'a [u8]>, ()> {
    if php::given(ex) <= n {
        return Ok(None);
    }
    let Some(z) = php::arg(ex, n) else { return Ok(None) };
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
    errors::guarded(|| {
        if !php::check_arg_count(ex, 2, 3) {
            return;
        }
        let (Some(id), Some(func)) = (php::arg(ex, 0), php::arg(ex, 1)) else { return };
        let Some(id) = php::arg_string(id, 1) else { return };
        if !php::check_callable(func, 2) {
            return;
        }
        // SAFETY: the engine's immutable empty array lives for the process.
        let empty = unsafe { &*std::ptr::addr_of!(ffi::zend_empty_array) };
        // Not passed: its slot was never written, so it is not even looked at.
        let config = match (php::given(ex) > 2).then(|| php::arg(ex, 2)).flatten() {
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
    errors::guarded(|| {
        if !php::check_arg_count(ex, 2, 2) {
            return;
        }
        let (Some(id), Some(item)) = (php::arg(ex, 0), php::arg(ex, 1)) else { return };
        let Some(id) = php::arg_string(id, 1) else { return };
        done(runner::submit(php::str_bytes(id), item), |_| {});
    })
}

extern "C" fn flush(ex: &mut ExecuteData, retval: &mut Zval) {
    errors::guarded(|| {
        if !php::check_arg_count(ex, 0, 1) {
            return;
        }
        let Ok(id) = opt_string(ex, 0) else { return };
        done(runner::flush(id), |n| retval.set_long(n as i64));
    })
}

extern "C" fn end_request(ex: &mut ExecuteData, retval: &mut Zval) {
    errors::guarded(|| {
        if php::check_arg_count(ex, 0, 0) {
            retval.set_long(runner::end_of_request() as i64);
        }
    })
}

extern "C" fn stats(ex: &mut ExecuteData, retval: &mut Zval) {
    errors::guarded(|| {
        if php::check_arg_count(ex, 0, 0) {
            *retval = runner::stats();
        }
    })
}

extern "C" fn retry_failed(ex: &mut ExecuteData, retval: &mut Zval) {
    errors::guarded(|| {
        if !php::check_arg_count(ex, 0, 1) {
            return;
        }
        let Ok(id) = opt_string(ex, 0) else { return };
        done(runner::retry_failed(id), |n| retval.set_long(n as i64));
    })
}

fn nullable_string(name: &str) -> Arg<'static> {
    Arg::new(name, DataType::String).allow_null().default("null")
}

/// Registers `AsyncBatchRunner` (MINIT).
pub fn register_class() -> ext_php_rs::error::Result<()> {
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
            FunctionBuilder::new("endRequest", end_request).required_args(0).returns(
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

    Ok(())
}
