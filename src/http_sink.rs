//! `AsyncBatch\HttpSink`. The sink object keeps
//! its URL and options (validated at construction) in two private properties; the
//! extension reads them back into a `SinkConfig` where it needs one.

use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Arc;

use asyncbatch_core::batch::Batch;
use asyncbatch_core::batch_id::BatchId;
use asyncbatch_core::config::{ConfigKey, ConfigValue};
use asyncbatch_core::http::client::{Client, HttpCounters};
use asyncbatch_core::http::config::{OptionValue, SinkConfig, SinkError};
use asyncbatch_core::item::ItemError;
use asyncbatch_core::outcome::CallOutcome;
use ext_php_rs::args::{Arg, ArgInfoTables};
use ext_php_rs::builders::{ClassBuilder, FunctionBuilder};
use ext_php_rs::ffi::{self, zend_class_entry};
use ext_php_rs::flags::{ClassFlags, DataType, MethodFlags};
use ext_php_rs::types::{ZendObject, Zval};
use ext_php_rs::zend::{ClassEntry, ExecuteData};

use crate::array;
use crate::errors::{self, Failure};
use crate::{encode, php};

const SINK: &str = "AsyncBatch\\HttpSink";

static SINK_CE: AtomicPtr<zend_class_entry> = AtomicPtr::new(std::ptr::null_mut());

thread_local! {
    // Connections kept alive for posts made in the PHP thread (spooled batches at the
    // end of a request, retryFailed(), daemon workers, direct calls).
    static CLIENT: Client = const { Client::new() };
    // The sinks validated lately, by URL and encoded options: a php-fpm worker
    // builds the same sink at every request, and reads it back at its registration.
    static VALIDATED: std::cell::RefCell<Vec<(Vec<u8>, Arc<SinkConfig>)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Sinks kept validated per process.
const VALIDATED_KEPT: usize = 8;

fn sink_class() -> *mut zend_class_entry {
    SINK_CE.load(Ordering::Relaxed)
}

/// Reads an options array into what validation needs, in order.
fn option_values(options: &ffi::zend_array) -> Vec<(ConfigKey<'_>, OptionValue<'_>, String)> {
    let mut out = Vec::with_capacity(array::len(options));
    let _ = array::try_for_each::<()>(options, |k, v| {
        let v = v.dereference();
        let key = k.config_key();
        let type_name = php::debug_type(v);
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
                pairs.push((hk.config_key(), hv.dereference().zend_str().map(php::str_bytes)));
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

fn sink_config(url: &[u8], options: &ffi::zend_array) -> Result<Arc<SinkConfig>, SinkError> {
    // Validation reads no files (SinkConfig::check_files does): the same URL and
    // options always give the same config.
    let mut key = Vec::with_capacity(url.len() + 64);
    key.extend_from_slice(&url.len().to_le_bytes());
    key.extend_from_slice(url);
    let cacheable = encode::encode_plain_array(options, &mut key).is_ok();
    if cacheable {
        let hit = VALIDATED.with(|v| v.borrow().iter().find(|(k, _)| *k == key).map(|(_, s)| Arc::clone(s)));
        if let Some(sink) = hit {
            return Ok(sink);
        }
    }
    let sink = Arc::new(validate(url, options)?);
    if cacheable {
        VALIDATED.with(|v| {
            let mut v = v.borrow_mut();
            if v.len() >= VALIDATED_KEPT {
                v.remove(0);
            }
            v.push((key, Arc::clone(&sink)));
        });
    }
    Ok(sink)
}

fn validate(url: &[u8], options: &ffi::zend_array) -> Result<SinkConfig, SinkError> {
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
pub fn sink_of(callable: &Zval) -> Option<Arc<SinkConfig>> {
    sink_of_object(callable.dereference().object()?)
}

fn sink_of_object(obj: &ZendObject) -> Option<Arc<SinkConfig>> {
    let class = sink_class();
    // SAFETY: two live class entries. (The slow check only looks at parents: the
    // engine's inline instanceof tests equality first, and so must we.)
    if class.is_null() || (obj.ce != class && !unsafe { ffi::instanceof_function_slow(obj.ce, class) }) {
        return None;
    }
    let url = php::read_property(class, obj, "url")?.zend_str().map(php::str_bytes)?;
    let options = php::read_property(class, obj, "options")?.array()?;
    // Validated at construction; this only fails if someone tampered with it.
    sink_config(url, options).ok()
}

/// Posts a batch for a sink job from the calling thread.
pub fn post(sink: &SinkConfig, items: &Batch, id: &BatchId, counters: &HttpCounters) -> CallOutcome {
    CLIENT.with(|c| c.post(sink, items, id, counters))
}

extern "C" fn construct(ex: &mut ExecuteData, _retval: &mut Zval) {
    errors::guarded(|| {
        if !php::check_arg_count(ex, 1, 2) {
            return;
        }
        let Some(url_zv) = php::arg(ex, 0) else { return };
        let Some(url) = php::arg_string(url_zv, 1) else { return };
        let url = php::str_bytes(url);
        // SAFETY: the engine's immutable empty array lives for the process.
        let empty = unsafe { &*std::ptr::addr_of!(ffi::zend_empty_array) };
        let options_zv = if php::given(ex) > 1 { php::arg(ex, 1) } else { None };
        let options = match &options_zv {
            None => empty,
            Some(z) => match z.array() {
                Some(ht) => ht,
                None => return php::wrong_array_arg(options_zv.expect("present"), 2),
            },
        };
        if let Err(e) = sink_config(url, options).and_then(|sink| sink.check_files()) {
            return Failure::Sink(e).throw();
        }
        let Some(this) = ex.get_self() else { return };
        let class = sink_class();
        let mut u = php::string_zval(url);
        php::update_property(class, this, "url", &mut u);
        let mut o = Zval::new();
        // SAFETY: duplicating a live array (the object keeps its own copy).
        o.set_hashtable(unsafe {
            ext_php_rs::boxed::ZBox::from_raw(ffi::zend_array_dup(std::ptr::from_ref(options).cast_mut()))
        });
        php::update_property(class, this, "options", &mut o);
    })
}

extern "C" fn invoke(ex: &mut ExecuteData, retval: &mut Zval) {
    errors::guarded(|| {
        if !php::check_arg_count(ex, 1, 2) {
            return;
        }
        // The batch id to send; a new one when none is given.
        let given = if php::given(ex) > 1 { php::arg(ex, 1) } else { None };
        let id = match given.filter(|z| !z.is_null()) {
            None => BatchId::new(),
            Some(z) => {
                let Some(text) = php::arg_string(z, 2) else { return };
                match BatchId::parse(php::str_bytes(text)) {
                    Some(id) => id,
                    None => return Failure::BatchId.throw(),
                }
            }
        };
        let Some(z) = php::arg(ex, 0) else { return };
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
        match post(&sink, &batch, &id, &HttpCounters::default()) {
            CallOutcome::Accepted => retval.set_bool(true),
            CallOutcome::Failed(e) => Failure::Http(e).throw(),
            CallOutcome::Abort => {}
        }
    })
}

fn keep_sink(ce: &'static mut ClassEntry, tables: ArgInfoTables) {
    crate::keep_forever(tables);
    SINK_CE.store(ce, Ordering::Relaxed);
}

/// Registers the class (MINIT).
pub fn register_class() -> ext_php_rs::error::Result<()> {
    let public = MethodFlags::Public;
    ClassBuilder::new(SINK)
        .flags(ClassFlags::Final)
        .property(php::private_property("url", Zval::null))
        .property(php::private_property("options", Zval::null))
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
                .arg(Arg::new("batchId", DataType::String).allow_null().default("null"))
                .required_args(1)
                .returns(DataType::Bool, false, false),
            public,
        )
        .registration(keep_sink)
        .register()?;
    Ok(())
}
