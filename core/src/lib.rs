//! Everything asyncbatch does that needs no PHP: items and their MessagePack
//! encoding, job config, batching, retries, the time budget, the spool, the
//! failure store, the delivery loop, the routes of a submit and their background
//! threads, and the daemon.
//!
//! The PHP extension (the crate at the repository root) converts PHP values and
//! calls in here; it reaches back into PHP only through [`delivery::Host`] and
//! [`producer::Sapi`]. Tests of everything here are plain `cargo test`. The module
//! map and the paths of an item are in `docs/architecture.md`.
//!
//! ```
//! use asyncbatch_core::item::Value;
//!
//! let item = Value::List(vec![Value::Int(1), Value::str("two")]);
//! assert_eq!(Value::decode(&item.encode()).unwrap(), item);
//! ```
#![deny(missing_docs)]

pub mod background;
pub mod batch;
pub mod batch_id;
pub mod budget;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod delivery;
pub mod failure_store;
pub mod fork;
pub mod frame;
pub mod http;
pub mod item;
pub mod ledger;
pub mod msgpack;
pub mod naming;
pub mod outbox;
pub mod outcome;
pub mod producer;
pub mod retry;
pub mod runtime;
pub mod sapi;
pub mod secure_fs;
pub mod settings;
pub mod spool;
pub mod stats;
pub mod sync;
pub mod transport;
