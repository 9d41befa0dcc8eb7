//! `AsyncBatch\HttpSink` and `AsyncBatch\HttpSinkException`. The sink object keeps
//! its URL and options (validated at construction) in two private properties; the
//! extension reads them back into a `SinkConfig` where it needs one.

use std::ffi::CString;
use std::sync::atomic::{AtomicPtr, Ordering};

use asyncbatch_core::batch::Batch;
use asyncbatch_core::config::{ConfigKey, ConfigValue};
use asyncbatch_core::delivery::CallOutcome;
use asyncbatch_core::http::client::{Client, HttpCounters};
use asyncbatch_core::http::config::{OptionValue, SinkConfig, SinkError};
use asyncbatch_core::item::ItemError;
use ext_php_rs::args::{Arg, ArgInfoTables};
use ext_php_rs::builders::{ClassBuilder, ClassProperty, FunctionBuilder};
use ext_php_rs::ffi::{self, zend_class_entry, zend_object};
use ext_php_rs::flags::{ClassFlags, DataType, MethodFlags, PropertyFlags};
use ext_php_rs::types::{ZendObject, Zval};
use ext_php_rs::zend::{ClassEntry, ExecuteData};

use crate::array::{self, Key};
use crate::errors::Failure;
use crate::{classes, encode, php};

const SINK: &str = "AsyncBatch\\HttpSink";
const EXCEPTION: &str = "AsyncBatch\\HttpSinkException";

static SINK_CE: AtomicPtr<zend_class_entry> = AtomicPtr::new(std::ptr::null_mut());
static EXCEPTION_CE: AtomicPtr<zend_class_entry> = AtomicPtr::new(std::ptr::null_mut());

thread_local! {
    // Connections kept alive for posts made in the PHP thread (spooled batches at the
    // end of a request, retryFailed(), daemon workers, direct calls).
    static CLIENT: Client = Client::new();
}

#[allow(non_upper_case_globals)]
unsafe extern "C" {
    fn zend_update_property(
        scope: *mut zend_class_entry,
        object: *mut zend_object,
        name: *const i8,
        len: usize,
        value: *mut Zval,
    );
}

fn ce(p: &AtomicPtr<zend_class_entry>) -> *mut zend_class_entry {
    p.load(Ordering::Relaxed)
}

fn set_prop(class: *mut zend_class_entry, obj: &mut ZendObject, name: &str, value: &mut Zval) {
    // SAFETY: a live object of `class` and a property it declares.
    unsafe { zend_update_property(class, obj, name.as_ptr().cast(), name.len(), value) };
}

fn get_prop<'a>(class: *mut zend_class_entry, obj: &'a ZendObject, name: &str) -> Option<&'a Zval> {
    let mut rv = Zval::new();
    // SAFETY: reads a declared property with the class as scope (private access).
    let p = unsafe {
        ffi::zend_read_property(
            class,
            std::ptr::from_ref(obj).cast_mut(),
            name.as_ptr().cast(),
            name.len(),
            true,
            &mut rv,
        )
    };
    unsafe { p.as_ref() }.map(Zval::dereference)
}

/// Reads an options array into what validation needs, in order.
fn option_values(options: &ffi::zend_array) -> Vec<(ConfigKey<'_>, OptionValue<'_>, String)> {
    let mut out = Vec::with_capacity(array::len(options));
    let _ = array::try_for_each::<()>(options, |k, v| {
        let v = v.dereference();
        let key = match k {
            Key::Int(i) => ConfigKey::Int(i),
            Key::Str(s) => ConfigKey::Str(s),
        };
        let type_name = crate::runner::debug_type(v);
        let value = if let Some(b) = v.bool() {
            OptionValue::Bool(b)
        } else if let Some(i) = v.long() {
            OptionValue::Plain(ConfigValue::Int(i))
        } else if let Some(f) = v.double() {
            OptionValue::Plain(ConfigValue::Float(f))
        } else if let Some(s) = v.zend_str() {
            OptionValue::Str(php::str_bytes(s))
        } else if let Some(ht) = v.array() {
            let mut pairs = Vec::new();
            let _ = array::try_for_each::<()>(ht, |hk, hv| {
                let hk = match hk {
                    Key::Int(i) => ConfigKey::Int(i),
                    Key::Str(s) => ConfigKey::Str(s),
                };
                pairs.push((hk, hv.dereference().zend_str().map(php::str_bytes)));
                Ok(())
            });
            OptionValue::Map(pairs)
        } else {
            OptionValue::Plain(ConfigValue::Other(""))
        };
        out.push((key, value, type_name));
        Ok(())
    });
    out
}

fn sink_config(url: &[u8], options: &ffi::zend_array) -> Result<SinkConfig, SinkError> {
    let values = option_values(options);
    SinkConfig::new(
        url,
        values.iter().map(|(k, v, t)| {
            let v = match v {
                OptionValue::Plain(ConfigValue::Other(_)) => OptionValue::Plain(ConfigValue::Other(t)),
                other => other.clone(),
            };
            (*k, v)
        }),
    )
}

/// The sink config of `callable`, when it is an `AsyncBatch\HttpSink`.
pub fn sink_of(callable: &Zval) -> Option<SinkConfig> {
    sink_of_object(callable.dereference().object()?)
}

fn sink_of_object(obj: &ZendObject) -> Option<SinkConfig> {
    let class = ce(&SINK_CE);
    // SAFETY: two live class entries. (The slow check only looks at parents: the
    // engine's inline instanceof tests equality first, and so must we.)
    if class.is_null() || (obj.ce != class && !unsafe { ffi::instanceof_function_slow(obj.ce, class) }) {
        return None;
    }
    let url = get_prop(class, obj, "url")?.zend_str().map(php::str_bytes)?;
    let options = get_prop(class, obj, "options")?.array()?;
    // Validated at construction; this only fails if someone tampered with it.
    sink_config(url, options).ok()
}

/// Posts a batch for a sink job from the calling thread.
pub fn post(sink: &SinkConfig, items: &Batch, counters: &HttpCounters) -> CallOutcome {
    CLIENT.with(|c| c.post(sink, items, counters))
}

/// Throws `AsyncBatch\HttpSinkException` for a failed direct call.
fn throw_failure(message: &str, permanent: bool, retry_after: Option<std::time::Duration>) {
    let class = ce(&EXCEPTION_CE);
    let msg = CString::new(message.replace('\0', "\\0")).expect("NULs replaced");
    // SAFETY: a registered exception class; the engine copies the message.
    let obj = unsafe { ffi::zend_throw_exception(class, msg.as_ptr(), 0).as_mut() };
    let Some(obj) = obj else { return };
    let status = message
        .strip_prefix("HTTP ")
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|d| d.parse::<i64>().ok());
    let mut retryable = Zval::new();
    retryable.set_bool(!permanent);
    set_prop(class, obj, "retryable", &mut retryable);
    let mut code = Zval::null();
    if let Some(s) = status {
        code.set_long(s);
    }
    set_prop(class, obj, "statusCode", &mut code);
    let mut after = Zval::null();
    if let Some(d) = retry_after {
        after.set_double(d.as_secs_f64());
    }
    set_prop(class, obj, "retryAfter", &mut after);
}

extern "C" fn construct(ex: &mut ExecuteData, _retval: &mut Zval) {
    classes::guarded(|| {
        if !php::check_arg_count(ex, 1, 2) {
            return;
        }
        let Some(url_zv) = classes::arg(ex, 0) else { return };
        let Some(url) = php::arg_string(url_zv, 1) else { return };
        let url = php::str_bytes(url);
        // SAFETY: the engine's immutable empty array lives for the process.
        let empty = unsafe { &*std::ptr::addr_of!(ffi::zend_empty_array) };
        let options_zv = if classes::given(ex) > 1 { classes::arg(ex, 1) } else { None };
        let options = match &options_zv {
            None => empty,
            Some(z) => match z.array() {
                Some(ht) => ht,
                None => return php::wrong_array_arg(options_zv.expect("present"), 2),
            },
        };
        if let Err(e) = sink_config(url, options) {
            return Failure::Sink(e).throw();
        }
        let Some(this) = ex.get_self() else { return };
        let class = ce(&SINK_CE);
        let mut u = php::string_zval(url);
        set_prop(class, this, "url", &mut u);
        let mut o = Zval::new();
        // SAFETY: duplicating a live array (the object keeps its own copy).
        o.set_hashtable(unsafe {
            ext_php_rs::boxed::ZBox::from_raw(ffi::zend_array_dup(std::ptr::from_ref(options).cast_mut()))
        });
        set_prop(class, this, "options", &mut o);
    })
}

extern "C" fn invoke(ex: &mut ExecuteData, retval: &mut Zval) {
    classes::guarded(|| {
        if !php::check_arg_count(ex, 1, 1) {
            return;
        }
        let Some(z) = classes::arg(ex, 0) else { return };
        let Some(items) = z.array() else { return php::wrong_array_arg(z, 1) };
        let Some(this) = ex.get_self() else { return };
        let Some(sink) = sink_of_object(this) else { return };
        let mut batch = Batch::new();
        let mut buf = Vec::new();
        let bad = array::try_for_each(items, |_, item| {
            buf.clear();
            match encode::encode_item(item, &mut buf, usize::MAX) {
                Ok(()) => {
                    batch.push(&buf);
                    Ok(())
                }
                Err(e) => Err(e),
            }
        });
        match bad {
            Err(encode::EncodeError::Item(kind)) => {
                return Failure::Item(ItemError { job: sink.url.clone(), kind: *kind }).throw()
            }
            Err(_) => return,
            Ok(()) => {}
        }
        match post(&sink, &batch, &HttpCounters::default()) {
            CallOutcome::Accepted => retval.set_bool(true),
            CallOutcome::Failed { message, permanent, retry_after } => {
                throw_failure(&message, permanent, retry_after)
            }
            CallOutcome::Abort => {}
        }
    })
}

fn exception_getter(ex: &mut ExecuteData, retval: &mut Zval, name: &str) {
    classes::guarded(|| {
        if !php::check_arg_count(ex, 0, 0) {
            return;
        }
        let Some(this) = ex.get_self() else { return };
        if let Some(v) = get_prop(ce(&EXCEPTION_CE), this, name) {
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

fn private(name: &str, default: fn() -> Zval) -> ClassProperty {
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

fn keep_sink(ce: &'static mut ClassEntry, tables: ArgInfoTables) {
    crate::keep_forever(tables);
    SINK_CE.store(ce, Ordering::Relaxed);
}

fn keep_exception(ce: &'static mut ClassEntry, tables: ArgInfoTables) {
    crate::keep_forever(tables);
    EXCEPTION_CE.store(ce, Ordering::Relaxed);
}

fn runtime_exception() -> &'static ClassEntry {
    // SAFETY: SPL registers its classes before any extension's MINIT.
    unsafe { &**std::ptr::addr_of!(php::spl_ce_RuntimeException) }
}

/// Registers both classes (MINIT).
pub fn register_classes() -> ext_php_rs::error::Result<()> {
    let public = MethodFlags::Public;
    ClassBuilder::new(SINK)
        .flags(ClassFlags::Final)
        .property(private("url", Zval::null))
        .property(private("options", Zval::null))
        .method(
            FunctionBuilder::constructor(construct)
                .arg(Arg::new("url", DataType::String))
                .arg(Arg::new("options", DataType::Array).default("[]"))
                .required_args(1),
            public,
        )
        .method(
            FunctionBuilder::new("__invoke", invoke)
                .arg(Arg::new("items", DataType::Array))
                .required_args(1)
                .returns(DataType::Bool, false, false),
            public,
        )
        .registration(keep_sink)
        .register()?;
    ClassBuilder::new(EXCEPTION)
        .extends((runtime_exception, "\\RuntimeException"))
        .property(private("retryable", || {
            let mut z = Zval::new();
            z.set_bool(true);
            z
        }))
        .property(private("statusCode", Zval::null))
        .property(private("retryAfter", Zval::null))
        .method(
            FunctionBuilder::new("isRetryable", is_retryable).required_args(0).returns(
                DataType::Bool,
                false,
                false,
            ),
            public,
        )
        .method(
            FunctionBuilder::new("getStatusCode", status_code).required_args(0).returns(
                DataType::Long,
                false,
                true,
            ),
            public,
        )
        .method(
            FunctionBuilder::new("getRetryAfter", retry_after).required_args(0).returns(
                DataType::Double,
                false,
                true,
            ),
            public,
        )
        .registration(keep_exception)
        .register()?;
    Ok(())
}
