//! asyncbatch, the PHP extension: hand items off in nanoseconds, have them delivered
//! in batches after the response is sent, with retries and failed batches kept.
//!
//! This crate is the PHP-facing glue only: the module and its hooks, the classes,
//! ini settings, and conversions between zvals and items. Everything else is in
//! `asyncbatch-core` (the `core/` directory).

mod array;
mod classes;
mod daemon;
mod decode;
mod encode;
mod errors;
mod host;
mod http_sink;
mod ini;
mod php;
mod runner;

use ext_php_rs::prelude::*;
use ext_php_rs::zend::ModuleEntry;
use ext_php_rs::{info_table_end, info_table_row, info_table_start};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Keeps something the engine points into for the life of the process (ini tables,
/// arg info). Held by address in a static, it stays reachable: leak checkers do
/// not mistake it for a leak.
pub(crate) fn keep_forever<T: 'static>(value: T) {
    static KEPT: std::sync::Mutex<Vec<usize>> = std::sync::Mutex::new(Vec::new());
    let addr = Box::into_raw(Box::new(value)) as usize;
    KEPT.lock().unwrap_or_else(|e| e.into_inner()).push(addr);
}

/// Engine hooks never let a panic reach C: it would abort the PHP process.
fn hook(name: &str, f: impl FnOnce() -> i32) -> i32 {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        php::log(&format!("asyncbatch: internal error in {name}"));
        1
    })
}

extern "C" fn startup(_ty: i32, module_number: i32) -> i32 {
    hook("startup", || {
        asyncbatch_core::fork::install();
        ini::register(module_number);
        match errors::register_classes()
            .and_then(|_| classes::register_class())
            .and_then(|_| host::register_class())
            .and_then(|_| daemon::register_class())
            .and_then(|_| http_sink::register_class())
        {
            Ok(()) => {
                if let Some(line) = asyncbatch_core::sapi::unsupported_notice(&php::sapi_name()) {
                    php::log(&line);
                }
                0
            }
            Err(e) => {
                php::log(&format!("asyncbatch: cannot register classes: {e}"));
                1
            }
        }
    })
}

extern "C" fn module_shutdown(_ty: i32, _module_number: i32) -> i32 {
    hook("module shutdown", || {
        runner::end_process();
        0
    })
}

extern "C" fn request_shutdown(_ty: i32, _module_number: i32) -> i32 {
    hook("request shutdown", || {
        runner::end_request();
        0
    })
}

extern "C" fn info(module: *mut ModuleEntry) {
    hook("phpinfo", || {
        let (settings, _) = host::current_settings();
        info_table_start!();
        info_table_row!("asyncbatch support", "enabled");
        info_table_row!("Version", env!("CARGO_PKG_VERSION"));
        let name = php::sapi_name();
        let sapi = match asyncbatch_core::sapi::lookup(&name) {
            Some(_) => name,
            None => format!("{name} (not supported)"),
        };
        info_table_row!("SAPI", sapi);
        info_table_row!("Runner", settings.runner.as_str());
        info_table_row!("Spool directory", settings.spool_dir.display().to_string());
        info_table_row!("Failure directory", settings.failure_dir.display().to_string());
        let (jobs, queued) = host::with_producer(|p| {
            let rt = p.jobs();
            let queued: usize = rt.all_jobs().iter().map(|&j| rt.queued(j)).sum();
            (rt.registered_jobs().len(), queued)
        });
        info_table_row!("Jobs registered in this request", jobs.to_string());
        info_table_row!("Items queued in this process", queued.to_string());
        info_table_end!();
        php::print_ini_entries(module);
        0
    });
}

#[php_module]
pub fn get_module(module: ModuleBuilder) -> ModuleBuilder {
    module
        .startup_function(startup)
        .shutdown_function(module_shutdown)
        .request_shutdown_function(request_shutdown)
        .info_function(info)
}
