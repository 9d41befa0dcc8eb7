//! The daemon's metrics in Prometheus' text exposition format (version 0.0.4): its
//! merged status, and what waits on this host's disk, measured. The master renders
//! them once a second into `daemon.prom` and for `--metrics`
//! ([`super::metrics_endpoint`]); the README's
//! "Monitoring" table is the list of names.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::daemon::status::{DaemonStatus, JobCounters};
use crate::item::printable_id;
use crate::naming;
use crate::spool::holds_frames;

/// The rendering's file name in the spool directory, for the `daemon` (or `consume`)
/// command: `daemon.prom`.
pub fn file_name(command: &str) -> String {
    format!("{command}.prom")
}

/// The files of one job in a directory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Files {
    /// How many.
    pub files: u64,
    /// Their size.
    pub bytes: u64,
    /// The creation time (Unix seconds) of the oldest waiting segment, from its name.
    pub oldest: Option<f64>,
}

/// What waits on the host's disk, per job label (see [`job_label`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostGauges {
    /// Segments in the spool (`.seg`, and `.part` files that hold more than a header).
    pub spool: BTreeMap<String, Files>,
    /// Failed batches in the failure store (`.fail`).
    pub failed: BTreeMap<String, Files>,
}

impl HostGauges {
    /// Measures the spool and the failure directory; a missing or unreadable one
    /// counts as empty.
    pub fn measure(spool_dir: &Path, failure_dir: &Path) -> HostGauges {
        let mut g = HostGauges::default();
        for (name, len) in listing(spool_dir) {
            let seg = name.ends_with(".seg");
            // Not the journal files PHP processes keep between runs: they hold nothing.
            if !(seg || name.ends_with(".part") && holds_frames(len)) {
                continue;
            }
            let f = g.spool.entry(job_label(&name)).or_default();
            f.files += 1;
            f.bytes += len;
            if seg {
                if let Some(us) = naming::created_micros(&name) {
                    let t = us as f64 / 1e6;
                    f.oldest = Some(f.oldest.map_or(t, |o: f64| o.min(t)));
                }
            }
        }
        for (name, len) in listing(failure_dir) {
            if name.ends_with(".fail") {
                let f = g.failed.entry(job_label(&name)).or_default();
                f.files += 1;
                f.bytes += len;
            }
        }
        g
    }
}

fn listing(dir: &Path) -> Vec<(String, u64)> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| Some((e.file_name().into_string().ok()?, e.metadata().ok()?.len())))
        .collect()
}

/// The `job` label of a file: its name's jobkey with `%XX` decoded, as the job
/// identifier reads in the daemon's counters. A key cut short (with `~` and a
/// checksum) cannot be decoded and stays as it is; so does `~`, the mixed segments'.
pub fn job_label(file_name: &str) -> String {
    let key = naming::jobkey_of(file_name).unwrap_or(file_name);
    if key.contains('~') {
        return key.to_string();
    }
    let b = key.as_bytes();
    let mut id = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = (b[i] == b'%').then(|| b.get(i + 1..i + 3)).flatten();
        match hex.and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()) {
            Some(byte) => {
                id.push(byte);
                i += 3;
            }
            None => {
                id.push(b[i]);
                i += 1;
            }
        }
    }
    printable_id(&id)
}

/// The exposition text: the daemon's status when one runs (`None`: there is none,
/// `asyncbatch_daemon_up 0`), then the host's gauges, at Unix time `now`.
pub fn render(status: Option<&DaemonStatus>, host: &HostGauges, now: f64) -> String {
    let mut out = Exposition::default();
    out.family("asyncbatch_daemon_up", "gauge", "Whether the asyncbatch daemon runs.");
    out.sample("", &[], status.is_some() as u8 as f64);
    if let Some(st) = status {
        daemon_families(&mut out, st, now);
    }
    let by_job = |map: &BTreeMap<String, Files>, f: fn(&Files) -> Option<f64>| -> Vec<(String, f64)> {
        map.iter().filter_map(|(job, files)| Some((job.clone(), f(files)?))).collect()
    };
    out.per_job(
        "asyncbatch_spool_segments",
        "gauge",
        "Segments waiting in the spool.",
        by_job(&host.spool, |f| Some(f.files as f64)),
    );
    out.per_job(
        "asyncbatch_spool_bytes",
        "gauge",
        "Bytes of the segments waiting in the spool.",
        by_job(&host.spool, |f| Some(f.bytes as f64)),
    );
    let age = host.spool.iter().filter_map(|(j, f)| Some((j.clone(), (now - f.oldest?).max(0.0)))).collect();
    out.per_job(
        "asyncbatch_spool_oldest_age_seconds",
        "gauge",
        "Age of the oldest segment waiting in the spool.",
        age,
    );
    out.per_job(
        "asyncbatch_failure_store_files",
        "gauge",
        "Failed batches kept in the failure store.",
        by_job(&host.failed, |f| Some(f.files as f64)),
    );
    out.per_job(
        "asyncbatch_failure_store_bytes",
        "gauge",
        "Bytes of the failed batches kept in the failure store.",
        by_job(&host.failed, |f| Some(f.bytes as f64)),
    );
    out.text
}

/// One of a job's counters.
type Count = fn(&JobCounters) -> u64;

fn daemon_families(out: &mut Exposition, st: &DaemonStatus, now: f64) {
    out.family("asyncbatch_daemon_start_time_seconds", "gauge", "When the daemon started, in Unix time.");
    out.sample("", &[], st.started_at);
    out.family("asyncbatch_daemon_uptime_seconds", "gauge", "Seconds since the daemon started.");
    out.sample("", &[], (now - st.started_at).max(0.0));
    out.family(
        "asyncbatch_daemon_worker_up",
        "gauge",
        "Whether the daemon worker runs (0 while it is restarted).",
    );
    for w in &st.workers {
        out.sample("", &[("worker", &w.index.to_string())], (w.pid > 0) as u8 as f64);
    }
    out.family("asyncbatch_daemon_worker_restarts_total", "counter", "Restarts of the daemon worker.");
    for w in &st.workers {
        out.sample("", &[("worker", &w.index.to_string())], w.restarts as f64);
    }
    let q = st.queue.clone().unwrap_or_default();
    out.family("asyncbatch_queue_messages", "gauge", "Messages waiting on the SysV queue.");
    out.sample("", &[], q.messages as f64);
    out.family("asyncbatch_queue_bytes", "gauge", "Bytes waiting on the SysV queue.");
    out.sample("", &[], q.bytes as f64);
    let received = st.received.clone().unwrap_or_default();
    out.family(
        "asyncbatch_received_messages_total",
        "counter",
        "Messages the daemon's receiver took off the queue.",
    );
    out.sample("", &[], received.messages as f64);
    out.per_job(
        "asyncbatch_received_items_total",
        "counter",
        "Items in the messages the daemon's receiver took off the queue.",
        received.items.iter().map(|(j, n)| (j.clone(), *n as f64)).collect(),
    );
    out.family(
        "asyncbatch_foreign_messages_total",
        "counter",
        "Messages on the queue that were not asyncbatch's.",
    );
    out.sample("", &[], st.foreign_messages as f64);

    let jobs = &st.jobs;
    let counter =
        |f: Count| -> Vec<(String, f64)> { jobs.iter().map(|(j, c)| (j.clone(), f(c) as f64)).collect() };
    let families: [(&str, &str, Count); 6] = [
        ("asyncbatch_delivered_items_total", "Items in batches the callable accepted.", |c| c.delivered),
        ("asyncbatch_batches_total", "Successful calls of the callable.", |c| c.batches),
        ("asyncbatch_failed_batches_total", "Batches that failed every attempt.", |c| c.failed_batches),
        ("asyncbatch_retries_total", "Retry calls of the callable.", |c| c.retries),
        ("asyncbatch_persisted_items_total", "Items written to the failure store.", |c| c.persisted),
        ("asyncbatch_dropped_items_total", "Items lost to a refusing spool or failure store.", |c| c.dropped),
    ];
    for (name, help, f) in families {
        out.per_job(name, "counter", help, counter(f));
    }
    out.per_job(
        "asyncbatch_last_flush_timestamp_seconds",
        "gauge",
        "When the callable was last called, in Unix time.",
        jobs.iter().filter_map(|(j, c)| Some((j.clone(), c.last_flush_at?))).collect(),
    );

    let name = "asyncbatch_batch_duration_seconds";
    out.family(name, "histogram", "How long the calls of the callable took, retries included.");
    for (job, c) in jobs {
        for (le, n) in c.durations.cumulative() {
            let le = if le.is_infinite() { "+Inf".to_string() } else { number(le) };
            out.sample("_bucket", &[("job", job), ("le", &le)], n as f64);
        }
        out.sample("_sum", &[("job", job)], c.durations.sum);
        out.sample("_count", &[("job", job)], c.durations.count() as f64);
    }

    out.family("asyncbatch_http_requests_total", "counter", "An HttpSink job's responses, by status code.");
    for (job, c) in jobs {
        for (code, n) in c.http.iter().flat_map(|h| &h.statuses) {
            out.sample("", &[("job", job), ("code", &code.to_string())], *n as f64);
        }
    }
    out.per_job(
        "asyncbatch_http_request_bytes_total",
        "counter",
        "An HttpSink job's request bodies, in bytes as sent.",
        jobs.iter().filter_map(|(j, c)| Some((j.clone(), c.http.as_ref()?.bytes as f64))).collect(),
    );
    out.per_job(
        "asyncbatch_unknown_job_segments",
        "gauge",
        "Segments in the spool whose job no daemon worker registers.",
        st.unknown_jobs.iter().map(|(k, u)| (job_label(k), u.segments as f64)).collect(),
    );
}

/// Text being built: each family once, with its HELP and TYPE lines.
#[derive(Default)]
struct Exposition {
    text: String,
    family: String,
}

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {help}\n# TYPE {name} {kind}");
        self.family = name.to_string();
    }

    fn sample(&mut self, suffix: &str, labels: &[(&str, &str)], value: f64) {
        let _ = write!(self.text, "{}{suffix}", self.family);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                let _ = write!(self.text, "{k}=\"{}\"", escape(v));
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {}", number(value));
    }

    fn per_job(&mut self, name: &str, kind: &str, help: &str, samples: Vec<(String, f64)>) {
        self.family(name, kind, help);
        for (job, v) in samples {
            self.sample("", &[("job", &job)], v);
        }
    }
}

/// A label value as the format wants it: `\`, `"` and newlines escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// A sample value: whole numbers without a fraction, others as Rust's shortest.
fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::status::{HttpEntry, WorkerEntry};
    use std::time::Duration;

    #[test]
    fn job_labels_decode_the_jobkey_of_a_name() {
        assert_eq!(job_label("logs.0001763900001234567.42.1.seg"), "logs");
        assert_eq!(
            job_label(&format!("{}.1.2.3.fail", naming::jobkey(b"app.events/\"v2\""))),
            "app.events/\"v2\""
        );
        assert_eq!(job_label("~.1.2.3.seg"), "~");
        let long = naming::jobkey(&[b'a'; 120]);
        assert_eq!(job_label(&format!("{long}.1.2.3.seg")), long);
        assert_eq!(job_label("bad%zz.1.seg"), "bad%zz");
    }

    #[test]
    fn host_gauges_count_segments_and_failures_per_job() {
        let spool = tempfile::tempdir().unwrap();
        let failed = tempfile::tempdir().unwrap();
        let w = |dir: &Path, name: &str, len: usize| std::fs::write(dir.join(name), vec![0u8; len]).unwrap();
        w(spool.path(), "logs.0000001000000000.1.1.seg", 100);
        w(spool.path(), "logs.0000001001000000.1.2.seg", 50);
        w(spool.path(), "logs.0001000002000000.1.3.part", 1); // a journal with only its header
        w(spool.path(), "logs.0001000002000000.1.4.part", 300);
        w(spool.path(), "logs.0001000000000000.1.1.seg.done", 8);
        w(spool.path(), "daemon.status", 10);
        w(failed.path(), "a%2Fb.1.2.3.fail", 70);
        let g = HostGauges::measure(spool.path(), failed.path());
        assert_eq!(g.spool["logs"], Files { files: 3, bytes: 450, oldest: Some(1000.0) });
        assert_eq!(g.failed["a/b"], Files { files: 1, bytes: 70, oldest: None });
        assert_eq!(
            HostGauges::measure(Path::new("/nonexistent"), Path::new("/nonexistent")),
            HostGauges::default()
        );
    }

    #[test]
    fn the_rendering_has_each_family_once_with_escaped_labels() {
        let mut c = JobCounters { delivered: 7, batches: 2, last_flush_at: Some(1.5), ..Default::default() };
        c.durations.observe(Duration::from_millis(3));
        c.http = Some(HttpEntry { bytes: 99, statuses: [(200, 2), (503, 1)].into(), ..Default::default() });
        let mut st = DaemonStatus { started_at: 100.0, ..Default::default() };
        st.jobs.insert("we\"ird\\job".into(), c);
        st.workers.push(WorkerEntry { index: 1, pid: 0, restarts: 3 });
        let mut host = HostGauges::default();
        host.spool.insert("logs".into(), Files { files: 2, bytes: 10, oldest: Some(90.0) });
        let text = render(Some(&st), &host, 110.0);
        for line in [
            "asyncbatch_daemon_up 1",
            "asyncbatch_daemon_uptime_seconds 10",
            "asyncbatch_daemon_worker_up{worker=\"1\"} 0",
            "asyncbatch_daemon_worker_restarts_total{worker=\"1\"} 3",
            "asyncbatch_delivered_items_total{job=\"we\\\"ird\\\\job\"} 7",
            "asyncbatch_last_flush_timestamp_seconds{job=\"we\\\"ird\\\\job\"} 1.5",
            "asyncbatch_batch_duration_seconds_bucket{job=\"we\\\"ird\\\\job\",le=\"0.0025\"} 0",
            "asyncbatch_batch_duration_seconds_bucket{job=\"we\\\"ird\\\\job\",le=\"0.005\"} 1",
            "asyncbatch_batch_duration_seconds_bucket{job=\"we\\\"ird\\\\job\",le=\"+Inf\"} 1",
            "asyncbatch_batch_duration_seconds_count{job=\"we\\\"ird\\\\job\"} 1",
            "asyncbatch_http_requests_total{job=\"we\\\"ird\\\\job\",code=\"503\"} 1",
            "asyncbatch_http_request_bytes_total{job=\"we\\\"ird\\\\job\"} 99",
            "asyncbatch_spool_oldest_age_seconds{job=\"logs\"} 20",
            "# TYPE asyncbatch_batch_duration_seconds histogram",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
        let types = text.lines().filter(|l| l.starts_with("# TYPE ")).count();
        let helps = text.lines().filter(|l| l.starts_with("# HELP ")).count();
        assert_eq!((types, helps), (26, 26));
        let down = render(None, &HostGauges::default(), 0.0);
        assert!(down.starts_with("# HELP asyncbatch_daemon_up "));
        assert!(down.lines().any(|l| l == "asyncbatch_daemon_up 0"));
        assert!(!down.contains("asyncbatch_delivered_items_total"));
    }
}
