//! The producer side with a scripted SAPI: the request set up at the first call,
//! the shutdown function's phases, the routes of a submit, flush and stats.

use std::cell::{Cell, RefCell};
use std::path::Path;

use asyncbatch_core::batch::Batch;
use asyncbatch_core::config::JobConfig;
use asyncbatch_core::delivery::Host;
use asyncbatch_core::item::Value;
use asyncbatch_core::ledger::JobId;
use asyncbatch_core::outcome::CallOutcome;
use asyncbatch_core::producer::{self, Producer, Refused, RunMode, Sapi};
use asyncbatch_core::runtime::{AfterPush, ShutdownPhase};
use asyncbatch_core::settings::Settings;

struct Php {
    producer: RefCell<Producer>,
    settings: Settings,
    cli: bool,
    registrations: Cell<u32>,
    refuse_registration: Cell<bool>,
    finished: Cell<u32>,
    calls: RefCell<Vec<Vec<Value>>>,
    warnings: RefCell<Vec<String>>,
}

impl Php {
    fn new(dir: &Path, runner: &str, cli: bool) -> Php {
        let spool = dir.join("spool").display().to_string();
        let failed = dir.join("failed").display().to_string();
        let runner = runner.to_string();
        let (settings, w) = Settings::resolve(
            |k| match k {
                "asyncbatch.spool_dir" => Some(spool.clone()),
                "asyncbatch.failure_dir" => Some(failed.clone()),
                "asyncbatch.runner" => Some(runner.clone()),
                "asyncbatch.transport" => Some("spool".into()),
                _ => None,
            },
            None,
            dir,
            0,
        );
        assert!(w.is_empty(), "{w:?}");
        Php {
            producer: RefCell::new(Producer::new()),
            settings,
            cli,
            registrations: Cell::new(0),
            refuse_registration: Cell::new(false),
            finished: Cell::new(0),
            calls: RefCell::new(Vec::new()),
            warnings: RefCell::new(Vec::new()),
        }
    }

    fn submit(&self, id: &str, v: i64) -> Result<(JobId, AfterPush), Refused<()>> {
        let item = Value::Int(v).encode();
        let r = self.producer.borrow_mut().try_submit(id.as_bytes(), Default::default(), |buf, _| {
            buf.extend_from_slice(&item);
            Ok(())
        });
        let s = match r {
            Err(Refused::NotReady) => {
                let (j, _) = producer::prepare_submit(self, id.as_bytes()).map_err(Refused::Unknown)?;
                self.producer.borrow_mut().push_encoded(j, &item, Default::default())
            }
            other => other?,
        };
        producer::after_submit(self, s);
        Ok((s.job, s.after))
    }

    fn phase(&self) -> ShutdownPhase {
        self.producer.borrow().jobs().phase()
    }

    fn delivered(&self) -> Vec<i64> {
        self.calls.borrow().iter().flatten().map(|v| if let Value::Int(i) = v { *i } else { -1 }).collect()
    }
}

impl Host for Php {
    type State = Producer;
    fn with<R>(&self, f: impl FnOnce(&mut Producer) -> R) -> R {
        f(&mut self.producer.borrow_mut())
    }
    fn call(&self, _job: JobId, items: &Batch, _id: &asyncbatch_core::batch_id::BatchId) -> CallOutcome {
        self.calls.borrow_mut().push(items.iter().map(|b| Value::decode(b).unwrap()).collect());
        CallOutcome::Accepted
    }
    fn log(&self, _msg: &str) {}
    fn warn(&self, msg: &str) {
        self.warnings.borrow_mut().push(msg.to_string());
    }
}

impl Sapi for Php {
    fn settings(&self) -> (Settings, Vec<String>) {
        (self.settings.clone(), Vec::new())
    }
    fn is_cli(&self) -> bool {
        self.cli
    }
    fn register_shutdown_function(&self) -> bool {
        self.registrations.set(self.registrations.get() + 1);
        !self.refuse_registration.get()
    }
    fn finish_request(&self) {
        self.finished.set(self.finished.get() + 1);
    }
}

fn batches(n: usize) -> JobConfig {
    JobConfig { batch_size: n, ..JobConfig::default() }
}

#[test]
fn the_shutdown_function_runs_last_then_delivers_and_a_late_submit_registers_it_again() {
    let t = tempfile::tempdir().unwrap();
    let php = Php::new(t.path(), "shutdown", false);
    producer::register(&php, b"logs", batches(2), None);
    assert_eq!((php.phase(), php.registrations.get()), (ShutdownPhase::Armed, 1));
    for i in 0..3 {
        php.submit("logs", i).unwrap();
    }
    assert_eq!(php.registrations.get(), 1, "registered once for every submit");

    producer::run_shutdown_function(&php);
    assert_eq!((php.phase(), php.registrations.get()), (ShutdownPhase::Deferred, 2), "put itself last");
    assert!(php.calls.borrow().is_empty());

    producer::run_shutdown_function(&php);
    assert_eq!(php.phase(), ShutdownPhase::Done);
    assert_eq!(php.finished.get(), 1, "the client is released before delivery");
    assert_eq!(php.delivered(), vec![0, 1, 2]);

    // A destructor's submit after delivery: registered again, delivered by that run.
    php.submit("logs", 3).unwrap();
    assert_eq!((php.phase(), php.registrations.get()), (ShutdownPhase::Late, 3));
    producer::run_shutdown_function(&php);
    assert_eq!(php.delivered(), vec![0, 1, 2, 3]);
}

#[test]
fn a_refused_registration_leaves_the_items_for_the_end_of_the_request() {
    let t = tempfile::tempdir().unwrap();
    let php = Php::new(t.path(), "shutdown", false);
    php.refuse_registration.set(true);
    producer::register(&php, b"logs", batches(10), None);
    assert_eq!(php.phase(), ShutdownPhase::Idle);
    php.submit("logs", 1).unwrap();
    assert!(php.producer.borrow_mut().end_request().is_empty());
    let segments = std::fs::read_dir(t.path().join("spool")).unwrap().count();
    assert_eq!(segments, 1, "spooled at the end of the request");
}

#[test]
fn submits_before_a_registration_name_the_job() {
    let t = tempfile::tempdir().unwrap();
    let php = Php::new(t.path(), "shutdown", false);
    let e = php.submit("nope", 1).unwrap_err();
    assert_eq!(e, Refused::Unknown(asyncbatch_core::runtime::UnknownJob::new(b"nope")));
    let Refused::Unknown(e) = e else { unreachable!() };
    assert_eq!(e.to_string(), "Unknown job 'nope': register it with registerAsyncJob() first");
}

#[test]
fn in_the_cli_a_due_batch_is_delivered_at_the_submit_that_fills_it() {
    let t = tempfile::tempdir().unwrap();
    let php = Php::new(t.path(), "shutdown", true);
    producer::register(&php, b"logs", batches(2), None);
    php.submit("logs", 1).unwrap();
    assert!(php.calls.borrow().is_empty());
    let (_, after) = php.submit("logs", 2).unwrap();
    assert_eq!(after, AfterPush::Due);
    assert_eq!(php.delivered(), vec![1, 2]);
}

#[test]
fn the_daemon_runner_hands_items_to_the_outbox_and_flush_says_how_many() {
    let t = tempfile::tempdir().unwrap();
    let php = Php::new(t.path(), "daemon", false);
    producer::register(&php, b"logs", batches(10), None);
    assert_eq!(php.producer.borrow().mode(), RunMode::Daemon);
    assert_eq!(php.registrations.get(), 0, "the daemon runner needs no shutdown function");
    for i in 0..5 {
        php.submit("logs", i).unwrap();
    }
    assert_eq!(producer::flush(&php, None).unwrap(), 5);
    let stats = php.producer.borrow_mut().stats();
    assert_eq!((stats[0].stats.submitted, stats[0].stats.spooled, stats[0].queued), (5, 5, 0));
    assert!(php.calls.borrow().is_empty(), "the daemon calls the callables, not this process");
    let settings = php.settings.clone();
    assert!(php.producer.borrow_mut().end_process(&settings).is_empty());
}

#[test]
fn flush_of_an_unknown_job_names_it_and_delivers_nothing() {
    let t = tempfile::tempdir().unwrap();
    let php = Php::new(t.path(), "shutdown", false);
    producer::register(&php, b"logs", batches(10), None);
    php.submit("logs", 1).unwrap();
    assert!(producer::flush(&php, Some(b"other")).is_err());
    assert_eq!(producer::flush(&php, Some(b"logs")).unwrap(), 1);
}
