//! The HTTP sender thread against a small HTTP/1.1 server in the test: order, batch
//! sizes, kept-alive connections, Retry-After, permanent failures, and a bounded
//! exit while the server stalls.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use asyncbatch_core::clock;
use asyncbatch_core::config::{ConfigKey, ConfigValue, JobConfig};
use asyncbatch_core::failure_store::FailureStore;
use asyncbatch_core::frame;
use asyncbatch_core::http::client::HttpCounters;
use asyncbatch_core::http::config::{OptionValue, SinkConfig};
use asyncbatch_core::http::sender::HttpSender;
use asyncbatch_core::item::Value;
use asyncbatch_core::ledger::DiskConfig;
use asyncbatch_core::settings::Settings;

#[derive(Clone)]
struct Answer {
    status: u16,
    headers: &'static str,
    body: &'static str,
    delay: Duration,
}

fn ok() -> Answer {
    Answer { status: 200, headers: "", body: "ok", delay: Duration::ZERO }
}

struct Seen {
    body: String,
    connection: usize,
    at: Instant,
}

#[derive(Clone)]
struct Server {
    url: String,
    script: Arc<Mutex<VecDeque<Answer>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/ingest", listener.local_addr().unwrap());
        let server = Server { url, script: Arc::default(), seen: Arc::default() };
        let s = server.clone();
        std::thread::spawn(move || {
            for (n, conn) in listener.incoming().enumerate() {
                let s = s.clone();
                std::thread::spawn(move || s.serve(conn.unwrap(), n));
            }
        });
        server
    }

    fn serve(&self, conn: TcpStream, n: usize) {
        let mut reader = BufReader::new(conn.try_clone().unwrap());
        let mut conn = conn;
        loop {
            let mut len = 0usize;
            let mut line = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                if line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            self.seen.lock().unwrap().push(Seen {
                body: String::from_utf8_lossy(&body).into(),
                connection: n,
                at: Instant::now(),
            });
            let a = self.script.lock().unwrap().pop_front().unwrap_or_else(ok);
            std::thread::sleep(a.delay);
            let resp = format!(
                "HTTP/1.1 {} X\r\nContent-Length: {}\r\n{}\r\n{}",
                a.status,
                a.body.len(),
                a.headers,
                a.body
            );
            if conn.write_all(resp.as_bytes()).is_err() {
                return;
            }
        }
    }

    fn bodies(&self) -> Vec<String> {
        self.seen.lock().unwrap().iter().map(|s| s.body.clone()).collect()
    }
}

fn settings(dir: &Path) -> Settings {
    let spool = dir.join("spool").display().to_string();
    let failed = dir.join("failed").display().to_string();
    Settings::resolve(
        |k| match k {
            "asyncbatch.spool_dir" => Some(spool.clone()),
            "asyncbatch.failure_dir" => Some(failed.clone()),
            _ => None,
        },
        None,
        dir,
        0,
    )
    .0
}

fn sink(url: &str, batch_size: i64) -> SinkConfig {
    SinkConfig::new(
        url.as_bytes(),
        [
            (ConfigKey::Str(b"batchSize"), OptionValue::Plain(ConfigValue::Int(batch_size))),
            (ConfigKey::Str(b"retryDelay"), OptionValue::Plain(ConfigValue::Int(0))),
            (ConfigKey::Str(b"timeout"), OptionValue::Plain(ConfigValue::Int(10))),
        ],
    )
    .unwrap()
}

fn start(dir: &Path, url: &str, batch_size: i64) -> HttpSender {
    let s = sink(url, batch_size);
    let config = JobConfig { call_period: Duration::from_secs(60), ..s.job.clone() };
    let sender = HttpSender::start(DiskConfig::from(&settings(dir))).unwrap();
    sender.set_job(0, b"logs", &config, &Arc::new(s), &Arc::new(HttpCounters::default()));
    sender
}

fn push(sender: &HttpSender, v: &str) {
    sender
        .push_with::<()>(0, clock::coarse_now(), |buf| {
            buf.extend_from_slice(&Value::str(v).encode());
            Ok(())
        })
        .unwrap();
}

#[test]
fn batches_go_in_order_by_batch_size_over_one_connection() {
    let t = tempfile::tempdir().unwrap();
    let server = Server::start();
    let sender = start(t.path(), &server.url, 2);
    for i in 0..5 {
        push(&sender, &format!("a{i}"));
    }
    // A full batch wakes the thread: it may post one before the flush starts, so
    // the flush itself delivers what is left, and the counters hold all five.
    let flushed = sender.flush(&[0]);
    assert!((1..=5).contains(&flushed), "{flushed}");
    assert_eq!(server.bodies(), vec![r#"["a0","a1"]"#, r#"["a2","a3"]"#, r#"["a4"]"#]);
    let connections: Vec<usize> = server.seen.lock().unwrap().iter().map(|s| s.connection).collect();
    assert!(connections.iter().all(|&c| c == connections[0]), "kept alive: {connections:?}");
    let (queued, stats) = sender.job_state(0).unwrap();
    assert_eq!((queued, stats.delivered, stats.batches), (0, 5, 3));
    assert!(sender.shutdown(Duration::from_secs(1)).is_empty());
}

#[test]
fn a_full_batch_goes_without_waiting_for_the_call_period() {
    let t = tempfile::tempdir().unwrap();
    let server = Server::start();
    let sender = start(t.path(), &server.url, 3);
    for i in 0..3 {
        push(&sender, &format!("b{i}"));
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.bodies().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(server.bodies(), vec![r#"["b0","b1","b2"]"#]);
    sender.shutdown(Duration::from_secs(1));
}

#[test]
fn retry_after_is_waited_for() {
    let t = tempfile::tempdir().unwrap();
    let server = Server::start();
    server.script.lock().unwrap().push_back(Answer {
        status: 503,
        headers: "Retry-After: 1\r\n",
        body: "busy",
        delay: Duration::ZERO,
    });
    let sender = start(t.path(), &server.url, 10);
    push(&sender, "x");
    assert_eq!(sender.flush(&[0]), 1);
    let seen = server.seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    let waited = seen[1].at - seen[0].at;
    assert!(waited >= Duration::from_millis(950), "{waited:?}");
    drop(seen);
    let (_, stats) = sender.job_state(0).unwrap();
    assert_eq!((stats.retries, stats.delivered), (1, 1));
    sender.shutdown(Duration::from_secs(1));
}

#[test]
fn a_4xx_is_stored_as_failed_at_once() {
    let t = tempfile::tempdir().unwrap();
    let server = Server::start();
    server.script.lock().unwrap().push_back(Answer {
        status: 400,
        headers: "",
        body: "missing field\nts",
        delay: Duration::ZERO,
    });
    let sender = start(t.path(), &server.url, 10);
    push(&sender, "bad");
    assert_eq!(sender.flush(&[0]), 0);
    assert_eq!(server.bodies().len(), 1, "no retries");
    let store = FailureStore::open(&t.path().join("failed"), 1 << 20).unwrap();
    let files = store.list(None).unwrap();
    let rec = store.claim(&files[0]).unwrap().unwrap().record.unwrap();
    assert_eq!(rec.last_error, "HTTP 400 Bad Request: missing field ts");
    assert_eq!(rec.attempts, 1);
    let logs = sender.shutdown(Duration::from_secs(1));
    assert!(logs.iter().any(|l| l.contains("stored in")), "{logs:?}");
}

#[test]
fn exit_is_bounded_while_the_server_stalls_and_nothing_is_lost() {
    let t = tempfile::tempdir().unwrap();
    let server = Server::start();
    server.script.lock().unwrap().push_back(Answer { delay: Duration::from_secs(5), ..ok() });
    let sender = start(t.path(), &server.url, 2);
    for i in 0..5 {
        push(&sender, &format!("s{i}"));
    }
    // The first batch is now stuck in a request.
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.bodies().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let t0 = Instant::now();
    sender.shutdown(Duration::from_millis(300));
    assert!(t0.elapsed() < Duration::from_millis(600), "{:?}", t0.elapsed());
    let mut spooled = Vec::new();
    for e in std::fs::read_dir(t.path().join("spool")).unwrap().flatten() {
        for f in frame::scan_segment(&std::fs::read(e.path()).unwrap()).frames {
            spooled.extend(f.items.iter().map(|b| match Value::decode(b).unwrap() {
                Value::Bytes(s) => String::from_utf8(s).unwrap(),
                _ => unreachable!(),
            }));
        }
    }
    spooled.sort();
    assert_eq!(spooled, vec!["s0", "s1", "s2", "s3", "s4"], "the batch in flight is spooled too");
}
