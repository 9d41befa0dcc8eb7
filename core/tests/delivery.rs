//! The delivery loop against a scripted host: a fake clock, callables that accept,
//! fail, take time, submit more items or end the script.

mod common;

use std::cell::Cell;
use std::path::Path;
use std::time::Duration;

use asyncbatch_core::batch::Batch;
use asyncbatch_core::config::JobConfig;
use asyncbatch_core::delivery::{self, Mode};
use asyncbatch_core::failure_store::{FailureRecord, FailureStore};
use asyncbatch_core::item::Value;
use asyncbatch_core::ledger::HasLedger;
use asyncbatch_core::outcome::{CallError, CallOutcome, RetryAction};
use asyncbatch_core::retry::Rng;
use asyncbatch_core::runtime::AfterPush;
use common::{settings, Mock};

fn accept(_: &Mock, _: &[Value]) -> CallOutcome {
    CallOutcome::Accepted
}

fn config(batch_size: usize) -> JobConfig {
    JobConfig { batch_size, retry_delay: Duration::from_millis(100), ..JobConfig::default() }
}

fn files(dir: &Path, ext: &str) -> usize {
    std::fs::read_dir(dir)
        .map(|d| d.flatten().filter(|e| e.file_name().to_string_lossy().ends_with(ext)).count())
        .unwrap_or(0)
}

#[test]
fn batches_split_at_batch_size_in_order() {
    let t = tempfile::tempdir().unwrap();
    let m = Mock::new(t.path());
    let j = m.register("logs", config(100), accept);
    for i in 0..250 {
        m.submit(j, i);
    }
    let r = delivery::deliver(&m, &[j], &[j], Mode::Shutdown);
    assert_eq!(r.delivered, 250);
    assert_eq!(m.batch_sizes(), vec![100, 100, 50]);
    assert_eq!(m.delivered_ints(), (0..250).collect::<Vec<_>>());
    let s = m.rt.borrow().job(j).stats.clone();
    assert_eq!((s.submitted, s.delivered, s.batches), (250, 250, 3));
}

#[test]
fn retries_wait_the_exact_backoff_when_the_jitter_is_fixed() {
    let t = tempfile::tempdir().unwrap();
    let m = Mock::new(t.path());
    let cfg = JobConfig { max_retries: 4, ..config(10) };
    let j = m.register("logs", cfg, |_, _| CallOutcome::failed("boom"));
    m.submit(j, 1);
    let ms = |m: &Mock| m.sleeps.borrow().iter().map(Duration::as_millis).collect::<Vec<_>>();
    m.rt.borrow_mut().ledger().set_rng(Rng::fixed(0.5));
    delivery::deliver(&m, &[j], &[j], Mode::Flush);
    assert_eq!(ms(&m), vec![100, 200, 400, 800], "retryDelay doubled, no jitter");

    m.sleeps.borrow_mut().clear();
    m.submit(j, 2);
    m.rt.borrow_mut().ledger().set_rng(Rng::fixed(0.0));
    delivery::deliver(&m, &[j], &[j], Mode::Flush);
    assert_eq!(ms(&m), vec![75, 150, 300, 600], "the low end of the jitter, -25%");
}

#[test]
fn a_retry_after_longer_than_the_backoff_is_waited_for() {
    let t = tempfile::tempdir().unwrap();
    let m = Mock::new(t.path());
    let j = m.register("logs", JobConfig { max_retries: 1, ..config(10) }, |_, _| {
        let mut e = CallError::new("HTTP 503");
        e.retry = RetryAction::NotBefore(Duration::from_secs(3));
        CallOutcome::Failed(e)
    });
    m.submit(j, 1);
    m.rt.borrow_mut().ledger().set_rng(Rng::fixed(0.5));
    delivery::deliver(&m, &[j], &[j], Mode::Flush);
    assert_eq!(*m.sleeps.borrow(), vec![Duration::from_secs(3)]);
}

#[test]
fn a_failure_that_retrying_cannot_help_is_stored_at_once() {
    let t = tempfile::tempdir().unwrap();
    let m = Mock::new(t.path());
    let j = m.register("logs", JobConfig { max_retries: 5, ..config(10) }, |_, _| {
        let mut e = CallError::new("HTTP 422");
        e.retry = RetryAction::Never;
        CallOutcome::Failed(e)
    });
    m.submit(j, 1);
    delivery::deliver(&m, &[j], &[j], Mode::Flush);
    assert_eq!(m.batch_sizes(), vec![1], "one call, no retry");
    let s = m.rt.borrow().job(j).stats.clone();
    assert_eq!((s.retries, s.failed_batches, s.persisted), (0, 1, 1));
}

#[test]
fn failed_calls_are_retried_with_backoff_then_stored() {
    let t = tempfile::tempdir().unwrap();
    let m = Mock::new(t.path());
    let cfg = JobConfig { max_retries: 2, ..config(10) };
    let j = m.register("logs", cfg, |_, _| CallOutcome::failed("RuntimeException: boom"));
    for i in 0..3 {
        m.submit(j, i);
    }
    let r = delivery::deliver(&m, &[j], &[j], Mode::Shutdown);
    assert_eq!(r.delivered, 0);
    assert_eq!(m.batch_sizes(), vec![3, 3, 3]);
    let sleeps = m.sleeps.borrow().clone();
    assert_eq!(sleeps.len(), 2);
    assert!((0.075..=0.125).contains(&sleeps[0].as_secs_f64()), "{sleeps:?}");
    assert!((0.15..=0.25).contains(&sleeps[1].as_secs_f64()), "{sleeps:?}");

    let s = m.rt.borrow().job(j).stats.clone();
    assert_eq!((s.failed_batches, s.retries, s.persisted, s.dropped), (1, 2, 3, 0));
    assert_eq!(s.last_error.as_deref(), Some("RuntimeException: boom"));
    let store = FailureStore::open(&t.path().join("failed"), 1 << 20).unwrap();
    let files = store.list(Some(b"logs")).unwrap();
    assert_eq!(files.len(), 1);
    let rec = store.claim(&files[0]).unwrap().unwrap().record.unwrap();
    assert_eq!(rec.attempts, 3);
    assert_eq!(rec.items.len(), 3);
    assert_eq!(rec.last_error, "RuntimeException: boom");
    let log = m.logs.borrow()[0].clone();
    assert!(
        log.starts_with(
            "asyncbatch: job 'logs': a batch of 3 items failed 3 times (RuntimeException: boom); stored in "
        ),
        "{log}"
    );
    assert!(log.ends_with(".fail"), "{log}");
}

#[test]
fn a_full_failure_store_refuses_counts_and_logs() {
    let t = tempfile::tempdir().unwrap();
    let m = Mock::new(t.path());
    m.rt.borrow_mut().begin_request(settings(t.path(), 10.0, 0), false);
    let cfg = JobConfig { max_retries: 0, ..config(10) };
    let j = m.register("logs", cfg, |_, _| CallOutcome::failed("callable returned false"));
    m.submit(j, 1);
    m.submit(j, 2);
    delivery::deliver(&m, &[j], &[j], Mode::Shutdown);
    let s = m.rt.borrow().job(j).stats.clone();
    assert_eq!((s.failed_batches, s.persisted, s.dropped), (1, 0, 2));
    let log = m.logs.borrow()[0].clone();
    assert!(log.starts_with("asyncbatch: failure store "), "{log}");
    assert!(
        log.ends_with("is full (0 of 0 bytes used); dropped a failed batch of 2 items for job 'logs'"),
        "{log}"
    );
    assert_eq!(s.last_error.as_deref(), Some(log.as_str()));
}

#[test]
fn the_budget_stops_new_batches_and_spools_the_rest() {
    let t = tempfile::tempdir().unwrap();
    let m = Mock::new(t.path());
    m.rt.borrow_mut().begin_request(settings(t.path(), 1.0, 1 << 20), false);
    m.call_cost.set(Duration::from_millis(400));
    let j = m.register("logs", config(10), accept);
    for i in 0..100 {
        m.submit(j, i);
    }
    let r = delivery::deliver(&m, &[j], &[j], Mode::Shutdown);
    // 0.4 s per batch in a 1 s budget: the second fits (0.4 + 0.4), a third would not.
    assert_eq!(m.batch_sizes(), vec![10, 10]);
    assert!(r.stopped);
    let s = m.rt.borrow().job(j).stats.clone();
    assert_eq!((s.delivered, s.spooled, s.dropped), (20, 80, 0));
    assert_eq!(files(&t.path().join("spool"), ".seg"), 1);

    // The next request that registers the job delivers them, oldest first.
    m.new_request(t.path(), 10.0);
    m.call_cost.set(Duration::from_millis(1));
    let j2 = m.register("logs", config(50), accept);
    assert_eq!(j2, j);
    m.submit(j, 1000);
    m.calls.borrow_mut().clear();
    let r = delivery::deliver(&m, &[j], &[j], Mode::Shutdown);
    assert_eq!(r.delivered, 81);
    let mut want: Vec<i64> = (20..100).collect();
    want.push(1000);
    assert_eq!(m.delivered_ints(), want);
    assert_eq!(files(&t.path().join("spool"), ".seg"), 0);
}

#[test]
fn the_first_batch_starts_even_when_the_estimate_exceeds_the_budget() {
    let t = tempfile::tempdir().unwrap();
    let m = Mock::new(t.path());
    m.rt.borrow_mut().begin_request(settings(t.path(), 0.1, 1 << 20), false);
    m.call_cost.set(Duration::from_millis(500));
    let j = m.register("logs", config(5), accept);
    for i in 0..10 {
        m.submit(j, i);
    }
    delivery::deliver(&m, &[j], &[j], Mode::Shutdown);
    assert_eq!(m.batch_sizes(), vec![5]);
}

#[test]
fn items_left_at_the_end_of_a_request_are_spooled() {
    let t = tempfile::tempdir().unwrap();
    let m = Mock::new(t.path());
    let j = m.register("logs", config(10), accept);
    m.submit(j, 7);
    let w = m.rt.borrow_mut().end_request();
    assert!(w.is_empty());
    assert_eq!(m.rt.borrow().job(j).stats.spooled, 1);
    assert_eq!(files(&t.path().join("spool"), ".seg"), 1);
}

/// Makes the `.part` journals in `dir` look abandoned long ago, as a reader in
/// another process would find them once their writer is gone.
fn age_journals(dir: &Path) {
    let old = std::time::SystemTime::now() - Duration::from_secs(60);
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.file_name().to_string_lossy().ends_with(".part") {
            std::fs::File::options().write(true).open(e.path()).unwrap().set_modified(old).unwrap();
        }
    }
}

fn progress_of(dir: &Path) -> Vec<u64> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".done"))
        .map(|e| u64::from_le_bytes(std::fs::read(e.path()).unwrap().try_into().unwrap()))
        .collect()
}

#[test]
fn a_run_cut_short_by_a_bailout_leaves_its_journal_with_its_progress() {
    let t = tempfile::tempdir().unwrap();
    let spool = t.path().join("spool");
    let m = Mock::new(t.path());
    // A fatal error in the callable skips the Rust frames: the run stops where
    // it was, its items journaled, the first batch done, the second in flight.
    let j = m.register("logs", config(2), accept);
    for i in 0..5 {
        m.submit(j, i);
    }
    {
        let mut rt = m.rt.borrow_mut();
        let run = rt.start_run();
        assert!(rt.journal_queue(j, 5, Duration::ZERO, run));
        rt.journal_done(j, 2);
    }
    assert_eq!(files(&spool, ".part"), 1, "on disk before any callable runs");
    assert_eq!(progress_of(&spool), vec![2]);
    m.rt.borrow_mut().end_request();
    assert_eq!(files(&spool, ".part"), 1, "kept by the end of the request");
    assert_eq!(files(&spool, ".seg"), 0, "and not spooled a second time");

    age_journals(&spool);
    m.rt.borrow_mut().begin_request(settings(t.path(), 10.0, 1 << 20), false);
    m.register("logs", config(10), accept);
    delivery::deliver(&m, &[j], &[j], Mode::Shutdown);
    assert_eq!(m.delivered_ints(), vec![2, 3, 4], "the batch in flight and the rest, once");
    assert_eq!(std::fs::read_dir(&spool).unwrap().count(), 0);
}

#[test]
fn an_exiting_callable_leaves_its_batch_and_the_rest_in_the_journal() {
    let t = tempfile::tempdir().unwrap();
    let spool = t.path().join("spool");
    let m = Mock::new(t.path());
    let j = m.register("logs", config(2), |_, _| CallOutcome::Abort);
    let k = m.register("other", config(2), accept);
    for i in 0..5 {
        m.submit(j, i);
        m.submit(k, i);
    }
    let r = delivery::deliver(&m, &[j, k], &[j, k], Mode::Shutdown);
    assert!(r.aborted);
    assert_eq!(m.batch_sizes(), vec![2]);
    assert_eq!(m.rt.borrow().queued(j), 0);
    assert_eq!(files(&spool, ".part"), 2, "both jobs were journaled before the first call");

    // PHP runs the shutdown functions after exit(): the same items are not offered again.
    delivery::deliver(&m, &[j], &[j], Mode::Shutdown);
    assert_eq!(m.batch_sizes(), vec![2]);
    m.rt.borrow_mut().end_request();
    assert_eq!(files(&spool, ".part"), 2);
    assert_eq!(files(&spool, ".seg"), 0);
}

#[test]
fn flush_leaves_items_submitted_by_the_callable() {
    let t = tempfile::tempdir().unwrap();
    let m = Mock::new(t.path());
    let j = m.register("logs", config(2), move |m, _| {
        let j = m.rt.borrow().registered(b"logs").unwrap();
        m.submit(j, 99);
        CallOutcome::Accepted
    });
    for i in 0..4 {
        m.submit(j, i);
    }
    let r = delivery::deliver(&m, &[j], &[j], Mode::Flush);
    assert_eq!(r.delivered, 4);
    assert_eq!(m.rt.borrow().queued(j), 2);
}

#[test]
fn at_shutdown_what_a_callable_submits_goes_to_later_jobs_turns_or_waits() {
    let t = tempfile::tempdir().unwrap();
    let m = Mock::new(t.path());
    // "first" submits to itself and to "second", whose turn comes after; a
    // callable that always submits to its own job cannot keep the run going.
    let j = m.register("first", config(10), move |m, _| {
        let (j, k) = {
            let rt = m.rt.borrow();
            (rt.registered(b"first").unwrap(), rt.registered(b"second").unwrap())
        };
        m.submit(j, 100);
        m.submit(k, 200);
        CallOutcome::Accepted
    });
    let k = m.register("second", config(10), accept);
    m.submit(j, 1);
    let r = delivery::deliver(&m, &[j, k], &[j, k], Mode::Shutdown);
    assert_eq!(m.delivered_ints(), vec![1, 200]);
    assert_eq!(r.delivered, 2);
    assert_eq!(m.rt.borrow().queued(j), 1, "waits for the end of the request");
    m.rt.borrow_mut().end_request();
    assert_eq!(files(&t.path().join("spool"), ".seg"), 1);
}

#[test]
fn in_the_cli_a_full_batch_is_due_at_submit() {
    let t = tempfile::tempdir().unwrap();
    let m = Mock::new_cli(t.path());
    let cfg = JobConfig { call_period: Duration::from_secs(2), ..config(3) };
    let j = m.register("logs", cfg, accept);
    assert_eq!(m.submit(j, 0), AfterPush::Queued);
    assert_eq!(m.submit(j, 1), AfterPush::Queued);
    assert_eq!(m.submit(j, 2), AfterPush::Due);
    m.submit(j, 3);
    let r = delivery::deliver(&m, &[j], &[j], Mode::Due);
    assert_eq!(r.delivered, 3, "only full batches before the period passes");
    assert_eq!(m.rt.borrow().queued(j), 1);
}

#[test]
fn in_the_cli_the_call_period_makes_a_partial_batch_due() {
    let t = tempfile::tempdir().unwrap();
    let m = Mock::new_cli(t.path());
    let cfg = JobConfig { call_period: Duration::from_millis(200), ..config(100) };
    let j = m.register("logs", cfg, accept);
    assert_eq!(m.submit(j, 0), AfterPush::Queued);
    m.clock.set(m.clock.get() + Duration::from_millis(150));
    assert_eq!(m.submit(j, 1), AfterPush::Queued);
    m.clock.set(m.clock.get() + Duration::from_millis(60));
    assert_eq!(m.submit(j, 2), AfterPush::Due);
    delivery::deliver(&m, &[j], &[j], Mode::Due);
    assert_eq!(m.batch_sizes(), vec![3]);
}

#[test]
fn once_a_worker_ends_its_requests_nothing_is_due_at_submit_and_the_queue_still_spills() {
    let t = tempfile::tempdir().unwrap();
    let m = Mock::new_cli(t.path());
    let cfg = JobConfig { call_period: Duration::from_millis(200), max_queue_size: 4, ..config(2) };
    let j = m.register("logs", cfg, accept);
    m.rt.borrow_mut().end_worker_request();
    m.clock.set(m.clock.get() + Duration::from_secs(1));
    for i in 0..3 {
        assert_eq!(m.submit(j, i), AfterPush::Queued, "full and past the period, not due at submit");
    }
    assert_eq!(m.submit(j, 3), AfterPush::Queued);
    assert_eq!(m.rt.borrow().queued(j), 0, "at max_queue_size the queue went to the spool");
    assert_eq!(m.rt.borrow().job(j).stats.submitted, 4);
}

#[test]
fn outside_the_cli_the_queue_spills_at_max_queue_size() {
    let t = tempfile::tempdir().unwrap();
    let m = Mock::new(t.path());
    let cfg = JobConfig { max_queue_size: 4, ..config(100) };
    let j = m.register("logs", cfg, accept);
    for i in 0..10 {
        assert_eq!(m.submit(j, i), AfterPush::Queued);
    }
    let s = m.rt.borrow().job(j).stats.clone();
    assert_eq!(s.spooled, 8);
    assert_eq!(m.rt.borrow().queued(j), 2);
    delivery::deliver(&m, &[j], &[j], Mode::Shutdown);
    assert_eq!(m.delivered_ints(), (0..10).collect::<Vec<_>>());
}

#[test]
fn retry_failed_delivers_stored_batches_once_and_removes_them() {
    let t = tempfile::tempdir().unwrap();
    let m = Mock::new(t.path());
    let fails = std::rc::Rc::new(Cell::new(true));
    let f = fails.clone();
    let cfg = JobConfig { max_retries: 0, ..config(2) };
    let j =
        m.register(
            "logs",
            cfg,
            move |_, _| {
                if f.get() {
                    CallOutcome::failed("down")
                } else {
                    CallOutcome::Accepted
                }
            },
        );
    for i in 0..4 {
        m.submit(j, i);
    }
    delivery::deliver(&m, &[j], &[j], Mode::Shutdown);
    assert_eq!(files(&t.path().join("failed"), ".fail"), 2);

    // Still failing: the files stay, with one more attempt recorded.
    assert_eq!(delivery::retry_failed(&m, &[j]).unwrap(), 0);
    let store = FailureStore::open(&t.path().join("failed"), 1 << 20).unwrap();
    let first = store.list(None).unwrap()[0].clone();
    assert_eq!(store.claim(&first).unwrap().unwrap().record.unwrap().attempts, 2);

    fails.set(false);
    m.calls.borrow_mut().clear();
    assert_eq!(delivery::retry_failed(&m, &[j]).unwrap(), 4);
    assert_eq!(m.delivered_ints(), vec![0, 1, 2, 3]);
    assert_eq!(files(&t.path().join("failed"), ".fail"), 0);
    assert_eq!(delivery::retry_failed(&m, &[j]).unwrap(), 0);
}

#[test]
fn corrupt_failure_files_are_skipped_with_one_warning() {
    let t = tempfile::tempdir().unwrap();
    let m = Mock::new(t.path());
    let j = m.register("logs", config(2), accept);
    let dir = t.path().join("failed");
    FailureStore::open(&dir, 1 << 20).unwrap();
    let bad = dir.join("logs.0000000000000001.1.deadbeef.fail");
    std::fs::write(&bad, b"ABFAIL\x01\x00garbage-garbage").unwrap();
    assert_eq!(delivery::retry_failed(&m, &[j]).unwrap(), 0);
    assert_eq!(delivery::retry_failed(&m, &[j]).unwrap(), 0);
    assert!(bad.exists());
    let w = m.warnings.borrow().clone();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("skipping corrupt failure file"), "{w:?}");
}

#[test]
fn segments_holding_other_jobs_give_those_items_back_to_the_spool() {
    let t = tempfile::tempdir().unwrap();
    let m = Mock::new(t.path());
    let j = m.register("logs", config(10), accept);
    let mut mine = Batch::new();
    mine.push(&Value::Int(1).encode());
    let mut theirs = Batch::new();
    theirs.push(&Value::Int(2).encode());
    // A mixed segment named for "logs" (as a jobkey collision would be).
    m.rt.borrow_mut()
        .ledger()
        .spool()
        .unwrap()
        .write("logs", &[(b"logs", &mine), (b"metrics", &theirs)])
        .unwrap();
    delivery::deliver(&m, &[j], &[j], Mode::Shutdown);
    assert_eq!(m.delivered_ints(), vec![1]);
    let left = m.rt.borrow_mut().ledger().spool().unwrap().ready(None).unwrap();
    assert_eq!(left.len(), 1);
    assert!(left[0].file_name().unwrap().to_string_lossy().starts_with("metrics."));
}

#[test]
fn an_unusable_spool_directory_warns_once_and_counts_drops() {
    let t = tempfile::tempdir().unwrap();
    let m = Mock::new(t.path());
    std::fs::write(t.path().join("spool"), b"not a dir").unwrap();
    let cfg = JobConfig { max_queue_size: 1, ..config(10) };
    let j = m.register("logs", cfg, accept);
    m.submit(j, 1);
    m.submit(j, 2);
    let s = m.rt.borrow().job(j).stats.clone();
    assert_eq!(s.dropped, 2);
    assert!(s.last_error.unwrap().contains("not a directory"));
    let w = m.rt.borrow_mut().ledger().notices().take();
    assert_eq!(w.len(), 1, "one warning per reason: {w:?}");
    assert!(
        w[0].starts_with("asyncbatch: cannot write to the spool: refusing to use spool directory"),
        "{w:?}"
    );
}

#[test]
fn failure_records_keep_binary_items_exactly() {
    let t = tempfile::tempdir().unwrap();
    let mut store = FailureStore::open(t.path(), 1 << 20).unwrap();
    let mut items = Batch::new();
    let v = Value::Bytes(vec![0, 0xff, b'\n']);
    items.push(&v.encode());
    let rec = FailureRecord {
        job: b"j".to_vec(),
        attempts: 1,
        last_error: String::new(),
        first_attempt_at: 0.0,
        failed_at: 0.0,
        pid: 1,
        host: String::new(),
        batch_id: Some(asyncbatch_core::batch_id::BatchId::new()),
        items,
    };
    let p = store.store(&rec).unwrap();
    let back = store.claim(&p).unwrap().unwrap().record.unwrap();
    assert_eq!(Value::decode(back.items.iter().next().unwrap()).unwrap(), v);
}

#[test]
fn a_batch_keeps_its_id_over_retries_and_through_the_failure_store() {
    let t = tempfile::tempdir().unwrap();
    let m = Mock::new(t.path());
    let fails = std::rc::Rc::new(Cell::new(true));
    let f = fails.clone();
    let cfg = JobConfig { max_retries: 2, ..config(2) };
    let j =
        m.register(
            "logs",
            cfg,
            move |_, _| if f.get() { CallOutcome::failed("down") } else { CallOutcome::Accepted },
        );
    for i in 0..4 {
        m.submit(j, i);
    }
    delivery::deliver(&m, &[j], &[j], Mode::Shutdown);
    let ids = m.ids.borrow().clone();
    assert_eq!(ids.len(), 6, "two batches, three calls each");
    assert!(ids[..3].iter().all(|id| *id == ids[0]) && ids[3..].iter().all(|id| *id == ids[3]));
    assert_ne!(ids[0], ids[3]);

    // Stored with it, and sent with it again by each retry of the file.
    let store = FailureStore::open(&t.path().join("failed"), 1 << 20).unwrap();
    let stored: Vec<_> = store
        .list(None)
        .unwrap()
        .iter()
        .map(|p| store.claim(p).unwrap().unwrap().record.unwrap().batch_id.unwrap())
        .collect();
    assert_eq!(stored.len(), 2);
    assert!(stored.contains(&ids[0]) && stored.contains(&ids[3]));
    m.ids.borrow_mut().clear();
    delivery::retry_failed(&m, &[j]).unwrap();
    fails.set(false);
    delivery::retry_failed(&m, &[j]).unwrap();
    let again = m.ids.borrow().clone();
    assert_eq!(again.len(), 4);
    for id in &again {
        assert!(stored.contains(id));
    }
    assert_eq!(files(&t.path().join("failed"), ".fail"), 0);
}

#[test]
fn a_batch_stopped_by_the_budget_between_retries_is_spooled_with_its_id() {
    let t = tempfile::tempdir().unwrap();
    let m = Mock::new(t.path());
    m.rt.borrow_mut().begin_request(settings(t.path(), 1.0, 1 << 20), false);
    // The retry's wait (5 s) does not fit the 1 s budget.
    let retry = RetryAction::NotBefore(Duration::from_secs(5));
    let j = m.register("logs", config(3), move |_, _| {
        CallOutcome::Failed(CallError { message: "HTTP 503".into(), retry, http: None })
    });
    for i in 0..5 {
        m.submit(j, i);
    }
    let r = delivery::deliver(&m, &[j], &[j], Mode::Shutdown);
    assert!(r.stopped);
    let first = m.ids.borrow()[0];

    // The next request sends that batch whole, under the same id, then the rest.
    m.new_request(t.path(), 10.0);
    m.register("logs", config(2), accept);
    m.calls.borrow_mut().clear();
    m.ids.borrow_mut().clear();
    let r = delivery::deliver(&m, &[j], &[j], Mode::Shutdown);
    assert_eq!(r.delivered, 5);
    assert_eq!(m.batch_sizes(), vec![3, 2]);
    assert_eq!(m.delivered_ints(), vec![0, 1, 2, 3, 4]);
    let ids = m.ids.borrow().clone();
    assert_eq!(ids[0], first);
    assert_ne!(ids[1], first);
}

/// A host whose job takes at most `cap` items per call.
struct Capped<'a> {
    mock: &'a Mock,
    cap: usize,
}

impl asyncbatch_core::delivery::Host for Capped<'_> {
    type State = asyncbatch_core::runtime::Runtime;
    fn with<R>(&self, f: impl FnOnce(&mut Self::State) -> R) -> R {
        self.mock.with(f)
    }
    fn call(&self, job: usize, items: &Batch, id: &asyncbatch_core::batch_id::BatchId) -> CallOutcome {
        self.mock.call(job, items, id)
    }
    fn split(&self, _job: usize, items: &Batch) -> Option<delivery::Pieces> {
        if items.len() <= self.cap {
            return None;
        }
        let mut rest = items.clone();
        let mut pieces = delivery::Pieces::default();
        while !rest.is_empty() {
            let piece = rest.split_front(self.cap);
            // An item whose value is over 1000 is "too big".
            if piece.len() == 1 && Value::decode(piece.iter().next().unwrap()).unwrap() == Value::Int(9999) {
                pieces
                    .too_big
                    .push((piece, "item of 9999 bytes is larger than maxBatchBytes (1000); not sent".into()));
            } else {
                pieces.sends.push(piece);
            }
        }
        Some(pieces)
    }
    fn log(&self, msg: &str) {
        self.mock.log(msg)
    }
    fn warn(&self, msg: &str) {
        self.mock.warn(msg)
    }
}

#[test]
fn pieces_go_under_piece_ids_and_what_no_call_takes_is_stored_uncalled() {
    let t = tempfile::tempdir().unwrap();
    let m = Mock::new(t.path());
    let j = m.register("logs", config(10), accept);
    for i in [1, 2, 3, 4, 9999] {
        m.submit(j, i);
    }
    let host = Capped { mock: &m, cap: 2 };
    delivery::deliver(&host, &[j], &[j], Mode::Shutdown);
    assert_eq!(m.batch_sizes(), vec![2, 2]);
    let ids = m.ids.borrow().clone();
    assert_ne!(ids[0], ids[1]);
    let store = FailureStore::open(&t.path().join("failed"), 1 << 20).unwrap();
    let files = store.list(None).unwrap();
    assert_eq!(files.len(), 1);
    let rec = store.claim(&files[0]).unwrap().unwrap().record.unwrap();
    assert_eq!((rec.attempts, rec.items.len()), (0, 1));
    assert_eq!(rec.last_error, "item of 9999 bytes is larger than maxBatchBytes (1000); not sent");
    // The pieces' ids and the stored item's follow from the batch's (a piece id
    // taken again as a piece 0 gives back the batch's).
    let batch = ids[0].piece(0);
    assert_eq!(ids[1], batch.piece(1));
    assert_eq!(rec.batch_id, Some(batch.piece(2)));
}
