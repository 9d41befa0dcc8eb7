//! A scripted host for the delivery loop and the daemon worker: a fake clock,
//! callables that accept, fail, take time, submit more or end the script.
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use asyncbatch_core::batch::Batch;
use asyncbatch_core::batch_id::BatchId;
use asyncbatch_core::config::JobConfig;
use asyncbatch_core::delivery::Host;
use asyncbatch_core::item::Value;
use asyncbatch_core::ledger::JobId;
use asyncbatch_core::outcome::CallOutcome;
use asyncbatch_core::runtime::{AfterPush, Runtime};
use asyncbatch_core::settings::Settings;

pub type Callable = Box<dyn FnMut(&Mock, &[Value]) -> CallOutcome>;

pub struct Mock {
    pub rt: RefCell<Runtime>,
    pub t0: Instant,
    pub clock: Cell<Duration>,
    pub call_cost: Cell<Duration>,
    pub callables: RefCell<HashMap<JobId, Callable>>,
    pub calls: RefCell<Vec<(JobId, Vec<Value>)>>,
    /// The batch id of each call.
    pub ids: RefCell<Vec<BatchId>>,
    pub sleeps: RefCell<Vec<Duration>>,
    pub logs: RefCell<Vec<String>>,
    pub warnings: RefCell<Vec<String>>,
    pub stop: Cell<bool>,
}

impl Host for Mock {
    type State = Runtime;
    fn with<R>(&self, f: impl FnOnce(&mut Runtime) -> R) -> R {
        f(&mut self.rt.borrow_mut())
    }
    fn call(&self, job: JobId, items: &Batch, id: &BatchId) -> CallOutcome {
        self.ids.borrow_mut().push(*id);
        let values: Vec<Value> = items.iter().map(|b| Value::decode(b).unwrap()).collect();
        self.calls.borrow_mut().push((job, values.clone()));
        self.clock.set(self.clock.get() + self.call_cost.get());
        let mut f = self.callables.borrow_mut().remove(&job).expect("a callable");
        let out = f(self, &values);
        self.callables.borrow_mut().insert(job, f);
        out
    }
    fn now(&self) -> Instant {
        self.t0 + self.clock.get()
    }
    fn tick(&self) -> Duration {
        self.clock.get()
    }
    fn sleep(&self, d: Duration) {
        self.sleeps.borrow_mut().push(d);
        self.clock.set(self.clock.get() + d);
    }
    fn log(&self, msg: &str) {
        self.logs.borrow_mut().push(msg.to_string());
    }
    fn warn(&self, msg: &str) {
        self.warnings.borrow_mut().push(msg.to_string());
    }
    fn should_stop(&self) -> bool {
        self.stop.get()
    }
}

pub fn settings(dir: &Path, budget_secs: f64, cap_bytes: u64) -> Settings {
    let spool = dir.join("spool").display().to_string();
    let failed = dir.join("failed").display().to_string();
    let budget = budget_secs.to_string();
    let cap_mb = (cap_bytes as f64 / 1048576.0).to_string();
    let (s, w) = Settings::resolve(
        |k| match k {
            "asyncbatch.spool_dir" => Some(spool.clone()),
            "asyncbatch.failure_dir" => Some(failed.clone()),
            "asyncbatch.shutdown_budget" => Some(budget.clone()),
            "asyncbatch.failure_dir_max_mb" => Some(cap_mb.clone()),
            _ => None,
        },
        None,
        dir,
        0,
    );
    assert!(w.is_empty(), "{w:?}");
    s
}

impl Mock {
    pub fn new(dir: &Path) -> Mock {
        Self::in_sapi(dir, false)
    }

    /// A mock of the CLI SAPI: due batches are delivered at submit.
    pub fn new_cli(dir: &Path) -> Mock {
        Self::in_sapi(dir, true)
    }

    fn in_sapi(dir: &Path, cli: bool) -> Mock {
        let mut rt = Runtime::new();
        rt.begin_request(settings(dir, 10.0, 64 << 20), cli);
        Mock {
            rt: RefCell::new(rt),
            t0: Instant::now(),
            clock: Cell::new(Duration::ZERO),
            call_cost: Cell::new(Duration::from_millis(1)),
            callables: RefCell::new(HashMap::new()),
            calls: RefCell::new(Vec::new()),
            ids: RefCell::new(Vec::new()),
            sleeps: RefCell::new(Vec::new()),
            logs: RefCell::new(Vec::new()),
            warnings: RefCell::new(Vec::new()),
            stop: Cell::new(false),
        }
    }

    pub fn register(
        &self,
        id: &str,
        config: JobConfig,
        f: impl FnMut(&Mock, &[Value]) -> CallOutcome + 'static,
    ) -> JobId {
        let j = self.rt.borrow_mut().register(id.as_bytes(), config);
        self.callables.borrow_mut().insert(j, Box::new(f));
        j
    }

    pub fn submit(&self, j: JobId, v: i64) -> AfterPush {
        let now = self.tick();
        self.rt.borrow_mut().push(j, &Value::Int(v).encode(), now)
    }

    /// The jobs registered in this request.
    pub fn jobs(&self) -> Vec<JobId> {
        self.rt.borrow().registered_jobs().to_vec()
    }

    pub fn batch_sizes(&self) -> Vec<usize> {
        self.calls.borrow().iter().map(|(_, items)| items.len()).collect()
    }

    pub fn delivered_ints(&self) -> Vec<i64> {
        self.calls
            .borrow()
            .iter()
            .flat_map(|(_, items)| {
                items.iter().map(|v| match v {
                    Value::Int(i) => *i,
                    _ => panic!(),
                })
            })
            .collect()
    }

    pub fn new_request(&self, dir: &Path, budget: f64) {
        let w = self.rt.borrow_mut().end_request();
        assert!(w.is_empty(), "{w:?}");
        self.callables.borrow_mut().clear();
        self.rt.borrow_mut().begin_request(settings(dir, budget, 64 << 20), false);
    }
}
