//! Harness for the end-to-end tests: real PHP processes, real php-fpm, the real
//! daemon, real files and SysV queues.
//!
//! This crate does not link the extension. It finds the built `libasyncbatch.so`
//! (or the pure-PHP polyfill), starts `php` and `php-fpm` with it, sends FastCGI
//! requests with `cgi-fcgi`, and reads what the PHP side wrote to disk.
//!
//! ```no_run
//! use asyncbatch_e2e::{fixture, FpmPool, Php, Sandbox};
//!
//! let sandbox = Sandbox::new();
//! let pool = FpmPool::builder(Php::Extension).children(2).start(sandbox.path());
//! let response = pool.get(&fixture("hello.php"), "name=world");
//! assert_eq!(response.body_str(), "hello world");
//! println!("answered in {:?}", response.elapsed);
//! ```
//!
//! Every process the harness starts is stopped when its guard is dropped, also
//! when a test panics; every command runs under a timeout.

/// Defines each named test twice, `extension::name` and `polyfill::name`, calling
/// `name(Php::Extension)` and `name(Php::Polyfill)`.
#[macro_export]
macro_rules! on_both_sides {
    ($($name:ident),* $(,)?) => {
        mod extension {
            $(#[test] fn $name() { super::$name($crate::Php::Extension) })*
        }
        mod polyfill {
            $(#[test] fn $name() { super::$name($crate::Php::Polyfill) })*
        }
    };
}

mod batchlog;
mod daemon;
mod fcgi;
mod fpm;
mod http_server;
mod json;
mod netns;
mod paths;
mod php;
mod process;
mod proxy;
mod redis;
mod sandbox;
mod skip;
mod spool;
mod stats;
mod sysv;
mod tls;
mod tmpfs;

pub use batchlog::{all_delivered, delivery_counts, read_batches, Batch};
pub use daemon::{
    append, asyncbatch_cli, descendants, pid_alive, read_status, Background, Daemon, DaemonBuilder,
};
pub use fcgi::{fcgi_request, FcgiResponse};
pub use fpm::{FpmBuilder, FpmPool};
pub use http_server::{HttpServer, Reply, Request};
pub use json::Json;
pub use netns::Hosts;
pub use paths::{
    cgi_fcgi_binary, extension_so, find_extension_so, find_polyfill_autoload, fixture, php_binary,
    php_fpm_binary, polyfill_autoload, repo_root,
};
pub use php::{Php, PhpCommand};
pub use process::{run_with_timeout, wait_until, Output};
pub use proxy::Tinyproxy;
pub use redis::{redis_available, RedisServer};
pub use sandbox::Sandbox;
pub use skip::{is_root, not_run, require_root, root_required};
pub use spool::{
    crc32, queue_message, read_spool, spool_item_counts, write_mixed_segment, write_segment, SpoolFrame,
};
pub use stats::{percentile, Millis};
pub use sysv::{
    create_queue, derived_queue_key, queue_bytes, queue_id, queue_stat, remove_queue, send_message,
    set_queue_owner, QueueStat,
};
pub use tls::{TestPki, TlsFront, TlsFrontOptions};
pub use tmpfs::Tmpfs;
