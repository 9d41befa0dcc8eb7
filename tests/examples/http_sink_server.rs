//! The endpoint of the HTTP sink benchmark (`bench/run.sh`): the tests'
//! [`HttpServer`] answering 200 at once, counting instead of recording.
//!
//! ```text
//! http_sink_server [--listen 127.0.0.1:0] [--stats FILE]
//! ```
//!
//! Prints `listening on ADDR` once it accepts connections, then rewrites FILE every
//! 50 ms with one line: `requests items bytes` received so far (items of
//! 2xx-answered requests: JSON array elements or NDJSON lines). Runs until killed.

use std::time::Duration;
use std::{env, fs, thread};

use asyncbatch_e2e::HttpServer;

fn main() {
    let mut listen = "127.0.0.1:0".to_string();
    let mut stats: Option<String> = None;
    let mut args = env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => listen = args.next().expect("--listen ADDR"),
            "--stats" => stats = Some(args.next().expect("--stats FILE")),
            other => {
                eprintln!("http_sink_server: unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    let server = HttpServer::bind(&listen, false);
    println!("listening on {}", server.addr());
    loop {
        thread::sleep(Duration::from_millis(50));
        if let Some(path) = &stats {
            let (requests, items, bytes) = server.counts();
            let tmp = format!("{path}.tmp");
            if fs::write(&tmp, format!("{requests} {items} {bytes}\n")).is_ok() {
                let _ = fs::rename(&tmp, path);
            }
        }
    }
}
