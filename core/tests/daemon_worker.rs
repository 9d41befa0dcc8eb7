//! The daemon worker loop and the drain against a scripted host and a real spool
//! directory (and, for the drain, a real SysV queue).

mod common;

use std::path::Path;

use asyncbatch_core::batch::Batch;
use asyncbatch_core::config::JobConfig;
use asyncbatch_core::daemon::{self, worker};
use asyncbatch_core::item::Value;
use asyncbatch_core::naming::MIXED_JOBKEY;
use asyncbatch_core::outcome::CallOutcome;
use asyncbatch_core::spool::{progress_path, Spool};
use asyncbatch_core::transport::message::Packer;
use asyncbatch_core::transport::sysv::Queue;
use common::Mock;

fn items(from: i64, n: i64) -> Batch {
    let mut b = Batch::new();
    for i in from..from + n {
        b.push(&Value::Int(i).encode());
    }
    b
}

fn files(dir: &Path, suffix: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().into_string().unwrap())
                .filter(|n| n.ends_with(suffix))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn config(batch_size: usize) -> JobConfig {
    JobConfig { batch_size, max_retries: 0, ..JobConfig::default() }
}

#[test]
fn batches_span_segments_and_finished_segments_go() {
    let t = tempfile::tempdir().unwrap();
    let m = Mock::new(t.path());
    let j = m.register("logs", config(50), |_, _| CallOutcome::Accepted);
    let mut spool = Spool::open(&t.path().join("spool")).unwrap();
    for s in 0..3 {
        spool.write("logs", &[(b"logs", &items(s * 40, 40))]).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let report = worker::run(&m, &m.jobs(), worker::Until::Drained(None), None);
    assert_eq!(report.delivered, 120);
    assert_eq!(m.batch_sizes(), vec![50, 50, 20]);
    assert_eq!(m.delivered_ints(), (0..120).collect::<Vec<_>>());
    assert!(files(&t.path().join("spool"), "").is_empty(), "{:?}", files(&t.path().join("spool"), ""));
    assert_eq!(m.rt.borrow().job(j).stats.delivered, 120);
}

#[test]
fn a_worker_that_stops_records_how_far_it_got_and_the_next_skips_that() {
    let t = tempfile::tempdir().unwrap();
    let m = Mock::new(t.path());
    m.register("logs", config(10), |m, _| {
        m.stop.set(true); // the process is told to stop during its first batch
        CallOutcome::Accepted
    });
    let mut spool = Spool::open(&t.path().join("spool")).unwrap();
    let seg = spool.write("logs", &[(b"logs", &items(0, 25))]).unwrap();
    worker::run(&m, &m.jobs(), worker::Until::Drained(None), None);
    assert_eq!(m.delivered_ints(), (0..10).collect::<Vec<_>>());
    assert!(seg.exists());
    assert_eq!(std::fs::read(progress_path(&seg)).unwrap(), 10u64.to_le_bytes());

    let m2 = Mock::new(t.path());
    m2.register("logs", config(10), |_, _| CallOutcome::Accepted);
    worker::run(&m2, &m2.jobs(), worker::Until::Drained(None), None);
    assert_eq!(m2.delivered_ints(), (10..25).collect::<Vec<_>>(), "nothing delivered twice");
    assert!(!seg.exists() && !progress_path(&seg).exists());
}

#[test]
fn a_batch_that_fails_every_attempt_is_stored_and_its_items_are_done() {
    let t = tempfile::tempdir().unwrap();
    let m = Mock::new(t.path());
    m.register("logs", config(5), |_, _| CallOutcome::failed("collector down"));
    let mut spool = Spool::open(&t.path().join("spool")).unwrap();
    spool.write("logs", &[(b"logs", &items(0, 7))]).unwrap();
    let report = worker::run(&m, &m.jobs(), worker::Until::Drained(None), None);
    assert_eq!(report.failed_batches, 2);
    assert_eq!(files(&t.path().join("failed"), ".fail").len(), 2);
    assert!(files(&t.path().join("spool"), ".seg").is_empty());
}

#[test]
fn segments_of_jobs_the_worker_does_not_have_are_left() {
    let t = tempfile::tempdir().unwrap();
    let m = Mock::new(t.path());
    m.register("logs", config(5), |_, _| CallOutcome::Accepted);
    let mut spool = Spool::open(&t.path().join("spool")).unwrap();
    spool.write("old-job", &[(b"old-job", &items(0, 3))]).unwrap();
    spool.write("logs", &[(b"logs", &items(0, 3))]).unwrap();
    worker::run(&m, &m.jobs(), worker::Until::Drained(None), None);
    assert_eq!(m.delivered_ints(), vec![0, 1, 2]);
    let left = files(&t.path().join("spool"), ".seg");
    assert_eq!(left.len(), 1);
    assert!(left[0].starts_with("old-job."));
}

#[test]
fn a_drain_takes_the_queue_and_mixed_segments_and_delivers_everything() {
    let t = tempfile::tempdir().unwrap();
    let m = Mock::new(t.path());
    m.register("a", config(100), |_, _| CallOutcome::Accepted);
    m.register("b", config(100), |_, _| CallOutcome::Accepted);
    let key = 0x5d00_0000 | (std::process::id() as i32 & 0xffff) << 4;
    let q = Queue::open(key, 0o600).unwrap();
    let mut p = Packer::new(8192);
    p.add(b"a", &items(0, 5));
    p.add(b"b", &items(100, 2));
    let mut scratch = Vec::new();
    for msg in p.finish() {
        q.send(&msg, &mut scratch).unwrap();
    }
    let mut spool = Spool::open(&t.path().join("spool")).unwrap();
    spool.write(MIXED_JOBKEY, &[(b"a", &items(5, 2)), (b"b", &items(102, 1))]).unwrap();
    let report = daemon::drain(&m, &m.jobs(), Some(q), Spool::open(&t.path().join("spool")).unwrap(), None);
    q.remove();
    assert_eq!(report.delivered, 10);
    let mut got = m.delivered_ints();
    got.sort();
    assert_eq!(got, vec![0, 1, 2, 3, 4, 5, 6, 100, 101, 102]);
    assert!(files(&t.path().join("spool"), ".seg").is_empty());
}

#[test]
fn a_drain_with_a_time_limit_starts_no_batch_that_would_end_past_it_and_the_next_drain_finishes() {
    let t = tempfile::tempdir().unwrap();
    let m = Mock::new(t.path());
    m.call_cost.set(std::time::Duration::from_millis(400));
    m.register("logs", config(10), |_, _| CallOutcome::Accepted);
    let mut spool = Spool::open(&t.path().join("spool")).unwrap();
    spool.write("logs", &[(b"logs", &items(0, 60))]).unwrap();
    // 0.4 s per batch in 1 s: the first starts at 0, the second at 0.4 (ends at
    // 0.8), a third would end at 1.2.
    let limit = Some(std::time::Duration::from_secs(1));
    let report = daemon::drain(&m, &m.jobs(), None, Spool::open(&t.path().join("spool")).unwrap(), limit);
    assert_eq!((report.delivered, report.out_of_time), (20, true));
    assert!(
        m.logs.borrow().iter().any(|l| l.contains("--max-time 1 s reached; 1 segments wait")),
        "{:?}",
        m.logs
    );

    let m2 = Mock::new(t.path());
    m2.register("logs", config(10), |_, _| CallOutcome::Accepted);
    let report = daemon::drain(&m2, &m2.jobs(), None, Spool::open(&t.path().join("spool")).unwrap(), None);
    assert_eq!((report.delivered, report.out_of_time), (40, false));
    assert_eq!(m2.delivered_ints(), (20..60).collect::<Vec<_>>(), "nothing delivered twice");

    // However long the first batch is, it starts.
    let m3 = Mock::new(t.path());
    m3.call_cost.set(std::time::Duration::from_secs(5));
    m3.register("logs", config(10), |_, _| CallOutcome::Accepted);
    Spool::open(&t.path().join("spool")).unwrap().write("logs", &[(b"logs", &items(0, 20))]).unwrap();
    let report = daemon::drain(&m3, &m3.jobs(), None, Spool::open(&t.path().join("spool")).unwrap(), limit);
    assert_eq!(report.delivered, 10);
}
