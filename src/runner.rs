//! What each `AsyncBatchRunner` method does, its arguments parsed: convert, hand to
//! `core::producer`, turn the outcome into PHP values or a [`Failure`].

use asyncbatch_core::clock;
use asyncbatch_core::config::{ConfigValue, JobConfig};
use asyncbatch_core::item::{printable_id, ItemError};
use asyncbatch_core::producer::{self, JobReport, Refused};
use ext_php_rs::ffi::zend_array;
use ext_php_rs::types::{ZendHashTable, Zval};

use crate::array::{self, Key};
use crate::encode::{self, EncodeError};
use crate::errors::Failure;
use crate::host::{self, with_producer, PhpHost};
use crate::php;

thread_local! {
    // Items holding objects are encoded here first, so an item that turns out bad
    // (or a jsonSerialize() that throws) leaves the job's queue untouched.
    static SCRATCH: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// A config value as read from the PHP array, before validation borrows it.
enum RawValue {
    Int(i64),
    Float(f64),
    Bool(bool),
    Other(String),
}

/// `registerAsyncJob()`.
pub fn register(id: &[u8], func: &Zval, config: &zend_array) -> Result<(), Failure> {
    let mut entries: Vec<(Key<'_>, RawValue)> = Vec::with_capacity(array::len(config));
    let _ = array::try_for_each::<()>(config, |k, v| {
        let v = v.dereference();
        let raw = match (v.long(), v.double(), v.bool()) {
            (Some(i), ..) => RawValue::Int(i),
            (_, Some(f), _) => RawValue::Float(f),
            (.., Some(b)) => RawValue::Bool(b),
            _ => RawValue::Other(php::debug_type(v)),
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
            let value = match v {
                RawValue::Int(i) => ConfigValue::Int(*i),
                RawValue::Float(f) => ConfigValue::Float(*f),
                RawValue::Bool(b) => ConfigValue::Bool(*b),
                RawValue::Other(t) => ConfigValue::Other(t),
            };
            (k.config_key(), value)
        }),
    )?;
    let job = producer::register(&PhpHost, id, config, sink);
    host::set_callable(job, func.shallow_clone());
    Ok(())
}

/// `submitItem()`. The common case takes one borrow of the producer: the item is
/// written straight where it goes. Items holding objects are encoded apart first, as
/// their `jsonSerialize()` is PHP code that may itself submit.
pub fn submit(id: &[u8], item: &Zval) -> Result<(), Failure> {
    let now = clock::coarse_now();
    let mut linked = false;
    let fast = with_producer(|p| {
        let r = p.try_submit(id, now, |buf, max| encode::encode_plain(item, buf, max, &mut linked));
        if let (Ok(s), false) = (&r, linked) {
            if let Some(bytes) = p.last_queued_here(s.job) {
                host::keep_value(s.job, item, bytes);
            }
        }
        r
    });
    let submitted = match fast {
        Ok(done) => done,
        Err(Refused::Unknown(e)) => return Err(e.into()),
        Err(Refused::Encode(EncodeError::Item(kind))) => {
            return Err(Failure::Item(ItemError { job: printable_id(id), kind: *kind }))
        }
        Err(Refused::NotReady | Refused::Encode(EncodeError::NeedsPhp | EncodeError::Exception)) => {
            let (job, max) = producer::prepare_submit(&PhpHost, id)?;
            submit_via_scratch(id, item, max, |bytes| with_producer(|p| p.push_encoded(job, bytes, now)))?
        }
    };
    producer::after_submit(&PhpHost, submitted);
    Ok(())
}

/// Encodes `item` (running `jsonSerialize()` where it must) into the scratch
/// buffer, then hands the bytes to `push`.
fn submit_via_scratch<T>(
    id: &[u8],
    item: &Zval,
    max: usize,
    push: impl FnOnce(&[u8]) -> T,
) -> Result<T, Failure> {
    let mut buf = SCRATCH.take();
    buf.clear();
    let result = match encode::encode_item(item, &mut buf, max) {
        Ok(()) => Ok(push(&buf)),
        Err(EncodeError::Item(kind)) => Err(Failure::Item(ItemError { job: printable_id(id), kind: *kind })),
        Err(EncodeError::Exception | EncodeError::NeedsPhp) => Err(Failure::Pending),
    };
    if buf.capacity() > 1 << 20 {
        buf = Vec::new(); // one huge item should not pin its buffer
    }
    SCRATCH.set(buf);
    result
}

/// `flush()`.
pub fn flush(id: Option<&[u8]>) -> Result<u64, Failure> {
    Ok(producer::flush(&PhpHost, id)?)
}

/// `endRequest()`.
pub fn end_of_request() -> u64 {
    producer::end_of_request(&PhpHost)
}

/// `retryFailed()`.
pub fn retry_failed(id: Option<&[u8]>) -> Result<u64, Failure> {
    Ok(producer::retry_failed(&PhpHost, id)?)
}

/// Process exit (MSHUTDOWN).
pub fn end_process() {
    // Read before the producer is borrowed: the timeout when no request is under way.
    let settings = host::current_settings().0;
    let lines = host::try_with_producer(|p| p.end_process(&settings));
    for line in lines.unwrap_or_default() {
        php::log(&line);
    }
}

/// End of request (RSHUTDOWN): no PHP code may run now. What is still queued goes
/// to the spool; callables are released.
pub fn end_request() {
    match host::try_with_producer(|p| p.end_request()) {
        Some(ws) => ws.iter().for_each(|w| php::log(w)),
        None => php::log(
            "asyncbatch: internal state was busy at the end of the request; queued items may be lost",
        ),
    }
    host::clear_callables();
    host::clear_kept();
}

/// `stats()`.
pub fn stats() -> Zval {
    producer::raise_thread_messages(&PhpHost);
    let rows = with_producer(|p| p.stats());
    let mut out = ZendHashTable::with_capacity(rows.len() as u32);
    for row in rows {
        let id = row.id.clone();
        array::symtable_insert(&mut out, &id, stats_row(row));
    }
    let mut zv = Zval::new();
    zv.set_hashtable(out);
    zv
}

fn stats_row(JobReport { stats: s, queued, http, .. }: JobReport) -> Zval {
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
    if let Some(h) = http {
        let mut t = ZendHashTable::with_capacity(5);
        let _ = t.insert("requests", h.counts.requests as i64);
        let _ = t.insert("bytes", h.counts.bytes as i64);
        let mut statuses = ZendHashTable::with_capacity(h.counts.statuses.len() as u32);
        for (code, n) in h.counts.statuses {
            let _ = statuses.insert_at_index(code as i64, n as i64);
        }
        let _ = t.insert("statuses", statuses);
        let _ = t.insert("retries", h.retries as i64);
        let _ = t.insert("failures", h.failures as i64);
        let _ = row.insert("http", t);
    }
    let mut row_zv = Zval::new();
    row_zv.set_hashtable(row);
    row_zv
}
