//! The native HTTP sink: a job whose callable is an `AsyncBatch\HttpSink` has its
//! batches posted from Rust — by a background thread of the PHP process, or by the
//! daemon — with no PHP code per batch.

pub mod cap;
pub mod client;
pub mod config;
pub mod json;
pub mod otlp;
pub mod proxy;
pub mod sender;
pub mod tls;
