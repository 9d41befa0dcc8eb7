//! The extension's exception classes, and the one place where errors from `core`
//! become PHP exceptions.

use std::ffi::CString;
use std::sync::atomic::{AtomicPtr, Ordering};

use asyncbatch_core::config::ConfigError;
use asyncbatch_core::daemon::options::OptionError;
use asyncbatch_core::http::config::SinkError;
use asyncbatch_core::item::ItemError;
use asyncbatch_core::outcome::CallError;
use asyncbatch_core::producer::ApiError;
use asyncbatch_core::runtime::UnknownJob;
use asyncbatch_core::secure_fs::StorageError;
use ext_php_rs::args::ArgInfoTables;
use ext_php_rs::builders::{ClassBuilder, FunctionBuilder};
use ext_php_rs::ffi::{self, zend_class_entry};
use ext_php_rs::flags::{DataType, MethodFlags};
use ext_php_rs::types::Zval;
use ext_php_rs::zend::{ce, ClassEntry, ExecuteData};

use crate::php;

/// Runs a method handler's body; a Rust panic becomes a PHP `Error`, never an abort.
pub fn guarded(body: impl FnOnce()) {
    if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Failure::Internal(what).throw();
    }
}

/// Why an API call failed.
pub enum Failure {
    /// A bad identifier or config.
    Config(ConfigError),
    /// An item that cannot be queued.
    Item(ItemError),
    /// A job not registered in this request.
    UnknownJob(UnknownJob),
    /// A directory or file that cannot be used.
    Storage(StorageError),
    /// A bad HttpSink URL or option.
    Sink(SinkError),
    /// A bad option of the daemon (the CLI makes it a usage error).
    DaemonOption(OptionError),
    /// A direct call of an HttpSink failed.
    Http(CallError),
    /// A direct call of an HttpSink was given a batch id that is not one.
    BatchId,
    /// Redis could not be used.
    Redis(asyncbatch_core::transport::redis::RedisFailure),
    /// A bug: a Rust panic in a method, caught before it reached PHP.
    Internal(String),
    /// PHP code (`jsonSerialize()`) threw: that exception is pending already.
    Pending,
}

impl From<ConfigError> for Failure {
    fn from(e: ConfigError) -> Self {
        Failure::Config(e)
    }
}

impl From<OptionError> for Failure {
    fn from(e: OptionError) -> Self {
        Failure::DaemonOption(e)
    }
}

impl From<StorageError> for Failure {
    fn from(e: StorageError) -> Self {
        Failure::Storage(e)
    }
}

impl From<UnknownJob> for Failure {
    fn from(e: UnknownJob) -> Self {
        Failure::UnknownJob(e)
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::UnknownJob(e) => Failure::UnknownJob(e),
            ApiError::Storage(e) => Failure::Storage(e),
        }
    }
}

/// The extension's own exception classes.
#[derive(Clone, Copy)]
enum Class {
    InvalidConfig,
    InvalidItem,
    UnknownJob,
    Storage,
    HttpSink,
}

static CLASSES: [AtomicPtr<zend_class_entry>; 5] = [
    AtomicPtr::new(std::ptr::null_mut()),
    AtomicPtr::new(std::ptr::null_mut()),
    AtomicPtr::new(std::ptr::null_mut()),
    AtomicPtr::new(std::ptr::null_mut()),
    AtomicPtr::new(std::ptr::null_mut()),
];

/// Each class, its name, and whether it is an `InvalidArgumentException` (else a
/// `RuntimeException`).
const DEFINITIONS: [(Class, &str, bool); 5] = [
    (Class::InvalidConfig, "AsyncBatch\\InvalidConfigException", true),
    (Class::InvalidItem, "AsyncBatch\\InvalidItemException", true),
    (Class::UnknownJob, "AsyncBatch\\UnknownJobException", true),
    (Class::Storage, "AsyncBatch\\StorageException", false),
    (Class::HttpSink, "AsyncBatch\\HttpSinkException", false),
];

fn class(c: Class) -> *mut zend_class_entry {
    CLASSES[c as usize].load(Ordering::Relaxed)
}

fn invalid_argument() -> &'static ClassEntry {
    // SAFETY: SPL registers its classes before any extension's MINIT.
    unsafe { &**std::ptr::addr_of!(php::spl_ce_InvalidArgumentException) }
}

fn runtime_exception() -> &'static ClassEntry {
    // SAFETY: as above.
    unsafe { &**std::ptr::addr_of!(php::spl_ce_RuntimeException) }
}

fn keep<const I: usize>(ce: &'static mut ClassEntry, tables: ArgInfoTables) {
    // The engine points into the arg-info tables for the life of the process.
    crate::keep_forever(tables);
    CLASSES[I].store(ce, Ordering::Relaxed);
}

/// `HttpSinkException`'s getters read its private properties.
fn exception_getter(ex: &mut ExecuteData, retval: &mut Zval, name: &str) {
    guarded(|| {
        if !php::check_arg_count(ex, 0, 0) {
            return;
        }
        let Some(this) = ex.get_self() else { return };
        if let Some(v) = php::read_property(class(Class::HttpSink), this, name) {
            *retval = v.shallow_clone();
        }
    })
}

extern "C" fn is_retryable(ex: &mut ExecuteData, retval: &mut Zval) {
    exception_getter(ex, retval, "retryable")
}

extern "C" fn status_code(ex: &mut ExecuteData, retval: &mut Zval) {
    exception_getter(ex, retval, "statusCode")
}

extern "C" fn retry_after(ex: &mut ExecuteData, retval: &mut Zval) {
    exception_getter(ex, retval, "retryAfter")
}

fn getter(
    name: &'static str,
    handler: extern "C" fn(&mut ExecuteData, &mut Zval),
    ty: DataType,
    nullable: bool,
) -> FunctionBuilder<'static> {
    FunctionBuilder::new(name, handler).required_args(0).returns(ty, false, nullable)
}

/// Registers the exception classes (MINIT).
pub fn register_classes() -> ext_php_rs::error::Result<()> {
    let keepers: [fn(&'static mut ClassEntry, ArgInfoTables); 5] =
        [keep::<0>, keep::<1>, keep::<2>, keep::<3>, keep::<4>];
    for (c, name, invalid_arg) in DEFINITIONS {
        let parent: ext_php_rs::class::ClassEntryInfo = if invalid_arg {
            (invalid_argument, "\\InvalidArgumentException")
        } else {
            (runtime_exception, "\\RuntimeException")
        };
        let mut builder = ClassBuilder::new(name).extends(parent).registration(keepers[c as usize]);
        if let Class::HttpSink = c {
            builder = builder
                .property(php::private_property("retryable", || {
                    let mut z = Zval::new();
                    z.set_bool(true);
                    z
                }))
                .property(php::private_property("statusCode", Zval::null))
                .property(php::private_property("retryAfter", Zval::null))
                .method(getter("isRetryable", is_retryable, DataType::Bool, false), MethodFlags::Public)
                .method(getter("getStatusCode", status_code, DataType::Long, true), MethodFlags::Public)
                .method(getter("getRetryAfter", retry_after, DataType::Double, true), MethodFlags::Public);
        }
        builder.register()?;
    }
    Ok(())
}

fn throw(class: *mut zend_class_entry, message: &str) -> Option<&'static mut ffi::zend_object> {
    let msg = CString::new(message.replace('\0', "\\0")).expect("NULs replaced");
    // SAFETY: a registered exception class and a C string the engine copies.
    unsafe { ffi::zend_throw_exception(class, msg.as_ptr(), 0).as_mut() }
}

const BAD_BATCH_ID: &str =
    "AsyncBatch\\HttpSink::__invoke(): Argument #2 ($batchId) must be a batch id (a UUID in lowercase hex with dashes) or null";

impl Failure {
    /// Throws the exception for this failure.
    pub fn throw(self) {
        let (c, message) = match self {
            Failure::Config(e) => (Class::InvalidConfig, e.to_string()),
            Failure::Sink(e) => (Class::InvalidConfig, e.to_string()),
            Failure::Item(e) => (Class::InvalidItem, e.to_string()),
            Failure::UnknownJob(e) => (Class::UnknownJob, e.to_string()),
            Failure::Storage(e) => (Class::Storage, format!("asyncbatch: {e}")),
            Failure::Http(e) => return throw_http(e),
            Failure::DaemonOption(e) => {
                throw(ce::value_error() as *const ClassEntry as *mut zend_class_entry, &e.to_string());
                return;
            }
            Failure::Redis(e) => {
                throw(
                    runtime_exception() as *const ClassEntry as *mut zend_class_entry,
                    &format!("asyncbatch: {e}"),
                );
                return;
            }
            Failure::BatchId => {
                throw(ce::value_error() as *const ClassEntry as *mut zend_class_entry, BAD_BATCH_ID);
                return;
            }
            Failure::Internal(what) => {
                throw(
                    ce::error() as *const ClassEntry as *mut zend_class_entry,
                    &format!("asyncbatch internal error: {what}"),
                );
                return;
            }
            Failure::Pending => return,
        };
        throw(class(c), &message);
    }
}

/// `AsyncBatch\HttpSinkException`: whether a retry may help, the status and the
/// `Retry-After` the collector gave.
fn throw_http(e: CallError) {
    let class = class(Class::HttpSink);
    let Some(obj) = throw(class, &e.message) else { return };
    let mut retryable = Zval::new();
    retryable.set_bool(e.retry.retries());
    php::update_property(class, obj, "retryable", &mut retryable);
    let mut code = Zval::null();
    let mut after = Zval::null();
    if let Some(answer) = e.http {
        code.set_long(answer.status as i64);
        if let Some(d) = answer.retry_after {
            after.set_double(d.as_secs_f64());
        }
    }
    php::update_property(class, obj, "statusCode", &mut code);
    php::update_property(class, obj, "retryAfter", &mut after);
}
