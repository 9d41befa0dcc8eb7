//! The extension's exception classes, and the one place where errors from `core`
//! become PHP exceptions.

use std::ffi::CString;
use std::sync::atomic::{AtomicPtr, Ordering};

use asyncbatch_core::config::ConfigError;
use asyncbatch_core::daemon::options::OptionError;
use asyncbatch_core::http::config::SinkError;
use asyncbatch_core::item::ItemError;
use asyncbatch_core::secure_fs::StorageError;
use ext_php_rs::args::ArgInfoTables;
use ext_php_rs::builders::ClassBuilder;
use ext_php_rs::ffi::{self, zend_class_entry};
use ext_php_rs::zend::ClassEntry;

use crate::php;

/// Why an API call failed.
pub enum Failure {
    /// A bad identifier or config.
    Config(ConfigError),
    /// An item that cannot be queued.
    Item(ItemError),
    /// A job not registered in this request (message ready).
    UnknownJob(String),
    /// A directory or file that cannot be used.
    Storage(StorageError),
    /// A bad HttpSink URL or option.
    Sink(SinkError),
    /// A bad option of the daemon (the CLI makes it a usage error).
    DaemonOption(OptionError),
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

#[derive(Clone, Copy)]
enum Class {
    InvalidConfig,
    InvalidItem,
    UnknownJob,
    Storage,
}

static CLASSES: [AtomicPtr<zend_class_entry>; 4] = [
    AtomicPtr::new(std::ptr::null_mut()),
    AtomicPtr::new(std::ptr::null_mut()),
    AtomicPtr::new(std::ptr::null_mut()),
    AtomicPtr::new(std::ptr::null_mut()),
];

const DEFINITIONS: [(Class, &str, bool); 4] = [
    (Class::InvalidConfig, "AsyncBatch\\InvalidConfigException", true),
    (Class::InvalidItem, "AsyncBatch\\InvalidItemException", true),
    (Class::UnknownJob, "AsyncBatch\\UnknownJobException", true),
    (Class::Storage, "AsyncBatch\\StorageException", false),
];

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

/// Registers the exception classes (MINIT).
pub fn register_classes() -> ext_php_rs::error::Result<()> {
    let keepers: [fn(&'static mut ClassEntry, ArgInfoTables); 4] =
        [keep::<0>, keep::<1>, keep::<2>, keep::<3>];
    for (class, name, invalid_arg) in DEFINITIONS {
        let parent: ext_php_rs::class::ClassEntryInfo = if invalid_arg {
            (invalid_argument, "\\InvalidArgumentException")
        } else {
            (runtime_exception, "\\RuntimeException")
        };
        ClassBuilder::new(name).extends(parent).registration(keepers[class as usize]).register()?;
    }
    Ok(())
}

impl Failure {
    /// Throws the exception for this failure.
    pub fn throw(self) {
        let (class, message) = match self {
            Failure::Config(e) => (Class::InvalidConfig, e.to_string()),
            Failure::Sink(e) => (Class::InvalidConfig, e.to_string()),
            Failure::Item(e) => (Class::InvalidItem, e.to_string()),
            Failure::UnknownJob(m) => (Class::UnknownJob, m),
            Failure::Storage(e) => (Class::Storage, format!("asyncbatch: {e}")),
            Failure::DaemonOption(e) => {
                return ext_php_rs::exception::PhpException::new(
                    e.to_string(),
                    0,
                    ext_php_rs::zend::ce::value_error(),
                )
                .throw()
            }
            Failure::Pending => return,
        };
        let ce = CLASSES[class as usize].load(Ordering::Relaxed);
        let msg = CString::new(message.replace('\0', "\\0")).expect("NULs replaced");
        // SAFETY: a registered exception class and a C string the engine copies.
        unsafe { ffi::zend_throw_exception(ce, msg.as_ptr(), 0) };
    }
}
