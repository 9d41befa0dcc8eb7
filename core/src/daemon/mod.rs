//! The daemon runner's processes: the [`supervisor`] (master), the [`receiver`]
//! that takes the queue into per-job spool segments, and the workers that deliver
//! ([`worker`]); plus the one-shot [`drain`].

pub mod consume;
pub mod forward;
pub mod lock;
pub mod metrics;
pub mod metrics_endpoint;
pub mod options;
pub mod receiver;
pub mod signals;
pub mod status;
pub mod supervisor;
pub mod worker;

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Duration;

use crate::delivery::{self, Host};
use crate::ledger::JobId;
use crate::naming::{self, MIXED_JOBKEY};
use crate::spool::Spool;
use crate::transport::sysv::Queue;

/// Delivers everything the queue and the spool hold for `jobs` (within `max_time`,
/// when given: see [`worker::Until::Drained`]), then returns. Log lines go to the
/// host, one for each job whose segments it had to leave because the bootstrap does
/// not register that job, and one when time ran out.
pub fn drain<H: Host>(
    host: &H,
    jobs: &[JobId],
    queue: Option<Queue>,
    spool: Spool,
    max_time: Option<Duration>,
) -> worker::Report {
    let dir = spool.dir().to_path_buf();
    for line in supervisor::ingest_all(queue, spool) {
        host.log(&line);
    }
    let report = worker::run(host, jobs, worker::Until::Drained(max_time), None);
    if report.out_of_time {
        let left = Spool::open(&dir).and_then(|s| s.ready(None)).map_or(0, |r| r.len());
        host.log(&format!(
            "asyncbatch drain: --max-time {} s reached; {left} segments wait for the next drain",
            max_time.unwrap_or_default().as_secs_f64()
        ));
    }
    let known: HashSet<String> =
        delivery::ledger(host, |l| jobs.iter().map(|&j| l.job(j).key.clone()).collect());
    for (key, n) in unknown_segments(&dir, &known) {
        host.log(&format!(
            "asyncbatch drain: {n} segments for job key '{key}' left in the spool: the bootstrap registers no such job"
        ));
    }
    report
}

/// Ready segments per jobkey that is not among `known` (mixed segments aside).
pub fn unknown_segments(spool_dir: &Path, known: &HashSet<String>) -> BTreeMap<String, u64> {
    let mut unknown = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(spool_dir) else { return unknown };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".seg") {
            continue;
        }
        let key = naming::jobkey_of(&name).unwrap_or_default();
        if key != MIXED_JOBKEY && !known.contains(key) {
            *unknown.entry(key.to_string()).or_insert(0) += 1;
        }
    }
    unknown
}
