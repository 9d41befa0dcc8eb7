//! The daemon runner with real processes: producers (PHP CLI scripts, php-fpm
//! workers) hand items to the extension's transport, the daemon
//! (`php/bin/asyncbatch daemon`) delivers them through the callables of its
//! bootstrap (`tests/php/daemon_jobs.php`), which append one line per batch to a
//! file. Every item must arrive; duplicates are counted and printed.
//!
//! Run with `--nocapture` to see the measured figures.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use asyncbatch_e2e::{
    asyncbatch_cli, create_queue, delivery_counts, fixture, not_run, percentile, pid_alive, queue_stat,
    read_batches, read_status, remove_queue, require_root, run_with_timeout, send_message, set_queue_owner,
    wait_until, write_mixed_segment, write_segment, Background, Batch, Daemon, DaemonBuilder, FpmPool, Json,
    Millis, Output, Php, PhpCommand, Sandbox, Tmpfs,
};

/// Producers of the load tests, and items each submits.
const PRODUCERS: usize = 4;
const ITEMS_PER_PRODUCER: usize = 50_000;
/// The longest wait for a delivery.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(60);
/// After a SIGKILL, a received segment the receiver was writing (`.part`) is taken
/// at once when its pid is gone, else once it is 5 s old (docs/internals.md,
/// "Spool"); a loaded machine gets a generous margin.
const DELIVERY_AFTER_KILL_TIMEOUT: Duration = Duration::from_secs(90);

/// The load tests (200,000 items each) run one at a time: on 2 cores, two of
/// them at once would measure each other.
static HEAVY: Mutex<()> = Mutex::new(());

fn heavy() -> std::sync::MutexGuard<'static, ()> {
    HEAVY.lock().unwrap_or_else(|e| e.into_inner())
}

fn check_extension() {
    if let Err(problem) = Php::Extension.check() {
        panic!("the extension is not usable: {problem}");
    }
    let out =
        Php::Extension.cli().code(r#"echo class_exists('AsyncBatch\Internal\Daemon') ? 'yes' : 'no';"#).run();
    assert_eq!(
        out.stdout_str(),
        "yes",
        "this build of the extension has no daemon runner (AsyncBatch\\Internal\\Daemon is missing)\n{}",
        out.stderr
    );
}

/// A daemon for `sandbox` running the test bootstrap, its batches going to `out`.
fn daemon(sandbox: &Sandbox, out: &Path) -> DaemonBuilder {
    check_extension();
    Daemon::builder(sandbox, &fixture("daemon_jobs.php"))
        .env("AB_E2E_OUT", out.display())
        .log(&sandbox.join("daemon.log"))
}

/// `tests/php/daemon_producer.php` with the extension and `ini`.
fn producer(ini: &[(String, String)], job: &str, id: usize, count: usize) -> ProducerRun {
    ProducerRun {
        ini: ini.to_vec(),
        job: job.into(),
        id,
        count,
        chunk: 0,
        pause_ms: 0,
        kind: "record",
        shutdown_out: None,
    }
}

struct ProducerRun {
    ini: Vec<(String, String)>,
    job: String,
    id: usize,
    count: usize,
    chunk: usize,
    pause_ms: u64,
    kind: &'static str,
    shutdown_out: Option<PathBuf>,
}

impl ProducerRun {
    fn paced(mut self, chunk: usize, pause_ms: u64) -> Self {
        self.chunk = chunk;
        self.pause_ms = pause_ms;
        self
    }

    fn strings(mut self) -> Self {
        self.kind = "string";
        self
    }

    fn shutdown_out(mut self, path: &Path) -> Self {
        self.shutdown_out = Some(path.to_path_buf());
        self
    }

    fn command(&self) -> PhpCommand {
        let chunk = if self.chunk == 0 { self.count } else { self.chunk };
        let shutdown_out =
            self.shutdown_out.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "/dev/null".into());
        Php::Extension
            .cli()
            // Warnings shown once, on stderr (not logged there a second time).
            .ini("log_errors", "0")
            .inis(self.ini.iter().cloned())
            .script(
                &fixture("daemon_producer.php"),
                &[
                    &self.job,
                    &self.id.to_string(),
                    &self.count.to_string(),
                    &chunk.to_string(),
                    &self.pause_ms.to_string(),
                    self.kind,
                    &shutdown_out,
                ],
            )
            .timeout(Duration::from_secs(120))
    }

    /// Runs it; panics unless it exits 0 and prints its report.
    fn run(&self) -> ProducerReport {
        let out = self.command().run();
        out.assert_success(&format!("producer {}", self.id));
        ProducerReport::parse(&out)
    }
}

/// What a producer printed: its pid, time spent submitting, its stats().
#[derive(Debug)]
struct ProducerReport {
    pid: i64,
    elapsed: f64,
    stats: Json,
    stderr: String,
}

impl ProducerReport {
    fn parse(out: &Output) -> Self {
        let stdout = out.stdout_str();
        let line = stdout.lines().last().unwrap_or_default();
        let json =
            Json::parse(line).unwrap_or_else(|e| panic!("producer report {line:?}: {e}\n{}", out.stderr));
        ProducerReport {
            pid: json.get("pid").as_i64().unwrap_or(0),
            elapsed: json.get("elapsed").as_f64().unwrap_or(0.0),
            stats: json.get("stats").clone(),
            stderr: out.stderr.clone(),
        }
    }

    fn stat(&self, key: &str) -> i64 {
        self.stats.get(key).as_i64().unwrap_or(-1)
    }
}

/// Runs `runs` at once, each in a thread; returns their reports in order.
fn run_all(runs: &[ProducerRun]) -> Vec<ProducerReport> {
    thread::scope(|s| {
        let handles: Vec<_> = runs.iter().map(|r| s.spawn(move || r.run())).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// The 4 load producers, `ITEMS_PER_PRODUCER` records each.
fn load_producers(sandbox: &Sandbox) -> Vec<ProducerRun> {
    (1..=PRODUCERS).map(|p| producer(&sandbox.daemon_ini(), "e2e", p, ITEMS_PER_PRODUCER)).collect()
}

/// The items producers `1..=producers` submit: `p{p}-{s}`.
fn expected_items(producers: usize, count: usize) -> Vec<String> {
    (1..=producers).flat_map(|p| (0..count).map(move |s| format!("p{p}-{s}"))).collect()
}

/// How a delivery went: items missing, delivered twice or more, not expected.
struct Tally {
    deliveries: usize,
    missing: Vec<String>,
    duplicates: usize,
    unexpected: Vec<String>,
    batches: usize,
}

fn tally(batches: &[Batch], expected: &[String]) -> Tally {
    let counts = delivery_counts(batches);
    let expected_set: std::collections::HashSet<&str> = expected.iter().map(String::as_str).collect();
    Tally {
        deliveries: counts.values().sum(),
        missing: expected.iter().filter(|i| !counts.contains_key(*i)).cloned().collect(),
        duplicates: counts.values().map(|&n| n - 1).sum(),
        unexpected: counts.keys().filter(|k| !expected_set.contains(k.as_str())).cloned().collect(),
        batches: batches.len(),
    }
}

fn preview(items: &[String]) -> String {
    let shown: Vec<&str> = items.iter().take(10).map(String::as_str).collect();
    format!("{} item(s): {}{}", items.len(), shown.join(","), if items.len() > 10 { ",..." } else { "" })
}

/// Waits until every item of `expected` is in the batch log `out`; returns the
/// batches and how long it took. Panics with the daemon's output and log when
/// `timeout` passes.
fn wait_delivered(
    out: &Path,
    expected: &[String],
    timeout: Duration,
    sandbox: &Sandbox,
    daemon: Option<&Daemon>,
) -> (Vec<Batch>, Duration) {
    let start = Instant::now();
    let mut batches = Vec::new();
    let done = wait_until(timeout, Duration::from_millis(50), || {
        batches = read_batches(out);
        tally(&batches, expected).missing.is_empty()
    });
    if !done {
        let t = tally(&batches, expected);
        panic!(
            "not delivered within {timeout:?}: {}\n{} batches, {} deliveries so far\nspool: {:?}\n{}",
            preview(&t.missing),
            t.batches,
            t.deliveries,
            spool_listing(sandbox),
            diagnostics(sandbox, daemon)
        );
    }
    (batches, start.elapsed())
}

/// The daemon's output, its log and its status, for failure messages.
fn diagnostics(sandbox: &Sandbox, daemon: Option<&Daemon>) -> String {
    format!(
        "--- daemon output ---\n{}\n--- daemon.log ---\n{}\n--- daemon.status ---\n{}",
        daemon.map(|d| d.output()).unwrap_or_default(),
        sandbox.read("daemon.log"),
        read_status(&sandbox.spool_dir()).map(|s| s.to_string()).unwrap_or_else(|| "(none)".into())
    )
}

/// Names in the spool directory, counted by suffix.
fn spool_listing(sandbox: &Sandbox) -> BTreeMap<String, usize> {
    let mut by_kind = BTreeMap::new();
    for entry in fs::read_dir(sandbox.spool_dir()).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let kind = name.rsplit('.').next().unwrap_or("").to_string();
        *by_kind.entry(kind).or_insert(0) += 1;
    }
    by_kind
}

fn files_with(dir: &Path, prefix: &str, suffix: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with(prefix) && name.ends_with(suffix)
        })
        .collect();
    found.sort();
    found
}

/// Waits until the daemon's status satisfies `check`; returns it, or `None`
/// when `timeout` passed first.
#[must_use = "assert that the status came"]
fn wait_status(sandbox: &Sandbox, timeout: Duration, check: impl Fn(&Json) -> bool) -> Option<Json> {
    let mut last = None;
    let came = wait_until(timeout, Duration::from_millis(50), || {
        last = read_status(&sandbox.spool_dir());
        last.as_ref().is_some_and(&check)
    });
    last.filter(|_| came)
}

fn status_delivered(status: &Json, job: &str) -> i64 {
    status.at(&["jobs", job, "delivered"]).as_i64().unwrap_or(-1)
}

fn seconds(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn assert_no_survivors(daemon: &mut Daemon, within: Duration) {
    let gone = wait_until(within, Duration::from_millis(20), || daemon.survivors().is_empty());
    assert!(
        gone,
        "processes of the daemon still run {within:?} after it was stopped: {:?}",
        daemon.survivors()
    );
}

/// A tiny random generator for the kill times; the seed is printed
/// (`AB_E2E_SEED` replays a run).
struct Rng(u64);

impl Rng {
    fn from_env_or_clock() -> Self {
        let seed = std::env::var("AB_E2E_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(42)
        });
        eprintln!("random seed: {seed} (AB_E2E_SEED={seed} replays it)");
        Rng(seed | 1)
    }

    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [lo, hi) milliseconds.
    fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.next() % (hi - lo))
    }
}

// ---------------------------------------------------------------------------
// Load

#[test]
fn four_producers_while_the_daemon_runs_every_item_is_delivered_once() {
    let _heavy = heavy();
    let sandbox = Sandbox::new();
    let out = sandbox.join("batches.log");
    let mut daemon = daemon(&sandbox, &out).workers(2).start();

    let start = Instant::now();
    let reports = run_all(&load_producers(&sandbox));
    let submitted_in = start.elapsed();
    let expected = expected_items(PRODUCERS, ITEMS_PER_PRODUCER);
    let (batches, _) = wait_delivered(&out, &expected, DELIVERY_TIMEOUT, &sandbox, Some(&daemon));
    let all_in = start.elapsed();
    let t = tally(&batches, &expected);

    let spooled: i64 = reports.iter().map(|r| r.stat("spooled")).sum();
    eprintln!(
        "4 producers x {ITEMS_PER_PRODUCER} records, daemon with 2 workers: submitted in {} \
         (per producer {}), all delivered {} after the first submit: {:.0} items/s; \
         {} batches, {} deliveries, {} duplicates; {} items went through the spool",
        seconds(submitted_in),
        reports.iter().map(|r| format!("{:.2} s", r.elapsed)).collect::<Vec<_>>().join(", "),
        seconds(all_in),
        expected.len() as f64 / all_in.as_secs_f64(),
        t.batches,
        t.deliveries,
        t.duplicates,
        spooled
    );
    for r in &reports {
        assert_eq!(r.stat("submitted"), ITEMS_PER_PRODUCER as i64, "{:?}", r.stats);
        assert_eq!(r.stat("dropped"), 0, "{:?}", r.stats);
        assert_eq!(r.stat("queued"), 0, "{:?}", r.stats);
        assert!(!r.stderr.contains("asyncbatch"), "producer warned: {}", r.stderr);
    }
    assert!(t.unexpected.is_empty(), "unexpected items: {}", preview(&t.unexpected));
    assert_eq!(
        t.duplicates,
        0,
        "without a crash nothing is delivered twice\n{}",
        diagnostics(&sandbox, Some(&daemon))
    );

    // The status counts them, and the spool is left empty.
    let status = wait_status(&sandbox, Duration::from_secs(5), |s| {
        status_delivered(s, "e2e") == expected.len() as i64
    });
    assert!(
        status.is_some(),
        "status does not count {} delivered items\n{}",
        expected.len(),
        diagnostics(&sandbox, Some(&daemon))
    );
    let left = wait_until(Duration::from_secs(5), Duration::from_millis(50), || {
        let l = spool_listing(&sandbox);
        ["seg", "part", "done"].iter().all(|k| !l.contains_key(*k))
    });
    assert!(left, "segments left in the spool after delivery: {:?}", spool_listing(&sandbox));

    let (exit, took) = daemon.terminate(Duration::from_secs(15));
    assert!(
        exit.is_some_and(|s| s.success()),
        "SIGTERM: {exit:?} after {took:?}\n{}",
        diagnostics(&sandbox, Some(&daemon))
    );
    assert_no_survivors(&mut daemon, Duration::from_secs(3));
}

#[test]
fn the_daemon_killed_three_times_loses_nothing() {
    let _heavy = heavy();
    let sandbox = Sandbox::new();
    let out = sandbox.join("batches.log");
    let builder = daemon(&sandbox, &out).workers(2);
    let mut rng = Rng::from_env_or_clock();
    // About 3 s of submitting per producer: 100 chunks of 500, 25 ms apart.
    let runs: Vec<ProducerRun> = load_producers(&sandbox).into_iter().map(|r| r.paced(500, 25)).collect();
    let mut kills = [rng.millis(200, 3200), rng.millis(200, 3200), rng.millis(200, 3200)];
    kills.sort();

    let mut current = Some(builder.start());
    let mut log = Vec::new();
    let start = Instant::now();
    let reports = thread::scope(|s| {
        let producers = s.spawn(|| run_all(&runs));
        for at in kills {
            if let Some(wait) = at.checked_sub(start.elapsed()) {
                thread::sleep(wait);
            }
            let mut d = current.take().expect("a daemon runs");
            let killed_at = start.elapsed();
            let pids = d.tree();
            d.kill_all();
            drop(d);
            thread::sleep(rng.millis(0, 300));
            let restarted = builder.start();
            log.push(format!(
                "killed {:?} at {}, restarted as {} at {}",
                pids,
                seconds(killed_at),
                restarted.pid(),
                seconds(start.elapsed())
            ));
            current = Some(restarted);
        }
        producers.join().unwrap()
    });
    let submitted_in = start.elapsed();
    let daemon = current.take().expect("a daemon runs");
    let expected = expected_items(PRODUCERS, ITEMS_PER_PRODUCER);
    let (batches, waited) =
        wait_delivered(&out, &expected, DELIVERY_AFTER_KILL_TIMEOUT, &sandbox, Some(&daemon));
    let t = tally(&batches, &expected);
    eprintln!("SIGKILL of the whole daemon 3 times:\n  {}", log.join("\n  "));
    eprintln!(
        "  producers done after {}; everything delivered {} later; {} deliveries of {} items: \
         {} duplicates, 0 lost",
        seconds(submitted_in),
        seconds(waited),
        t.deliveries,
        expected.len(),
        t.duplicates
    );
    for r in &reports {
        assert_eq!(r.stat("dropped"), 0, "{:?}", r.stats);
    }
    assert!(t.unexpected.is_empty(), "unexpected items: {}", preview(&t.unexpected));
    // At most the batches in flight at each crash (2 workers) and a message or
    // two the receiver had written to a segment but not yet removed.
    let bound = 3 * (2 + 1) * 1000;
    assert!(
        t.duplicates <= bound,
        "{} duplicates, more than the batches in flight at 3 crashes ({bound})",
        t.duplicates
    );
}

#[test]
fn items_submitted_while_the_daemon_is_down_are_delivered_when_it_starts() {
    let _heavy = heavy();
    let sandbox = Sandbox::new();
    let out = sandbox.join("batches.log");

    let start = Instant::now();
    let reports = run_all(&load_producers(&sandbox));
    let submitted_in = start.elapsed();
    let spooled: i64 = reports.iter().map(|r| r.stat("spooled")).sum();
    let on_queue = queue_stat(sandbox.queue_key()).map(|q| q.messages).unwrap_or(0);
    let listing = spool_listing(&sandbox);
    for r in &reports {
        assert_eq!(r.stat("submitted"), ITEMS_PER_PRODUCER as i64, "{:?}", r.stats);
        assert_eq!(r.stat("dropped"), 0, "{:?}", r.stats);
    }
    assert!(
        spooled > 0 && listing.get("seg").copied().unwrap_or(0) > 0,
        "with no daemon the queue fills and the spool takes the rest: {spooled} spooled, spool {listing:?}"
    );

    let started = Instant::now();
    let daemon = daemon(&sandbox, &out).workers(2).start();
    let expected = expected_items(PRODUCERS, ITEMS_PER_PRODUCER);
    let (batches, _) = wait_delivered(&out, &expected, DELIVERY_TIMEOUT, &sandbox, Some(&daemon));
    let t = tally(&batches, &expected);
    eprintln!(
        "daemon down: 4 x {ITEMS_PER_PRODUCER} submitted in {}, {} messages waited on the queue, \
         {spooled} items in {} spool segments; the daemon delivered them all {} after its start \
         ({:.0} items/s), {} duplicates",
        seconds(submitted_in),
        on_queue,
        listing.get("seg").copied().unwrap_or(0),
        seconds(started.elapsed()),
        expected.len() as f64 / started.elapsed().as_secs_f64(),
        t.duplicates
    );
    assert!(t.unexpected.is_empty(), "unexpected items: {}", preview(&t.unexpected));
    assert_eq!(t.duplicates, 0, "without a crash nothing is delivered twice");
    assert_eq!(queue_stat(sandbox.queue_key()).map(|q| q.messages).unwrap_or(0), 0, "the queue is emptied");
}

#[test]
fn php_fpm_with_the_daemon_runner_hands_every_item_to_the_daemon() {
    let sandbox = Sandbox::new();
    let out = sandbox.join("batches.log");
    let web_out = sandbox.join("web-callable.log");
    let daemon = daemon(&sandbox, &out).workers(2).env("AB_E2E_BATCH", 100).start();
    let pool = FpmPool::builder(Php::Extension)
        .inis(sandbox.daemon_ini())
        .children(2)
        .max_requests(7) // workers exit, and hand off what they hold, now and then
        .start(sandbox.path());

    const REQUESTS: usize = 40;
    const ITEMS: usize = 50;
    let script = fixture("fpm_job.php");
    let times: Vec<Duration> = thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|t| {
                let (pool, script, web_out) = (&pool, &script, &web_out);
                s.spawn(move || {
                    (0..REQUESTS / 2)
                        .map(|i| {
                            let query =
                                format!("out={}&req=r{}&k={ITEMS}&batch=10", web_out.display(), t * 1000 + i);
                            pool.get_ok(script, &query).elapsed
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let expected: Vec<String> = (0..2)
        .flat_map(|t| (0..REQUESTS / 2).map(move |i| t * 1000 + i))
        .flat_map(|r| (0..ITEMS).map(move |k| format!("r{r}-{k}")))
        .collect();
    let (batches, waited) = wait_delivered(&out, &expected, Duration::from_secs(20), &sandbox, Some(&daemon));
    let t = tally(&batches, &expected);
    eprintln!(
        "php-fpm, daemon runner: {REQUESTS} requests x {ITEMS} items, response p50 {} p99 {}; \
         all delivered by the daemon {} after the last response; {} duplicates",
        Millis(percentile(&times, 50.0)),
        Millis(percentile(&times, 99.0)),
        seconds(waited),
        t.duplicates
    );
    assert!(t.unexpected.is_empty(), "unexpected items: {}", preview(&t.unexpected));
    assert_eq!(t.duplicates, 0);
    let daemon_pids: Vec<i32> = daemon.tree();
    assert!(
        batches.iter().all(|b| daemon_pids.contains(&b.pid)),
        "every batch was delivered by a process of the daemon"
    );
    assert_eq!(
        fs::read_to_string(&web_out).unwrap_or_default(),
        "",
        "the web callable is never called under the daemon runner"
    );
    pool.assert_no_worker_died();
    assert!(!pool.php_errors().contains("asyncbatch"), "php-fpm logged:\n{}", pool.logs());
}

// ---------------------------------------------------------------------------
// Faults

#[test]
fn messages_from_another_program_are_kept_aside_and_the_daemon_goes_on() {
    let sandbox = Sandbox::new();
    let out = sandbox.join("batches.log");
    let daemon = daemon(&sandbox, &out).workers(1).start();
    let key = sandbox.queue_key();

    let plain = b"hello from another program".to_vec();
    // Our magic, then a frame whose CRC does not match.
    let mut bad_frame = b"ABQ\x01".to_vec();
    bad_frame.extend_from_slice(&3u32.to_le_bytes());
    bad_frame.extend_from_slice(&0xdead_beefu32.to_le_bytes());
    bad_frame.extend_from_slice(b"\x92\xa1x");
    send_message(key, 1, &plain).expect("send a foreign message");
    send_message(key, 42, &bad_frame).expect("send a message with a bad frame");

    let spool = sandbox.spool_dir();
    let kept = wait_until(Duration::from_secs(10), Duration::from_millis(20), || {
        files_with(&spool, "foreign.", ".msg").len() == 2
    });
    assert!(
        kept,
        "two foreign.*.msg files expected, spool has {:?}\n{}",
        spool_listing(&sandbox),
        diagnostics(&sandbox, Some(&daemon))
    );
    let contents: Vec<Vec<u8>> =
        files_with(&spool, "foreign.", ".msg").iter().map(|p| fs::read(p).unwrap()).collect();
    for body in [&plain, &bad_frame] {
        assert!(
            contents.iter().any(|c| c.windows(body.len()).any(|w| w == body.as_slice())),
            "a foreign.*.msg file holds {:?}",
            String::from_utf8_lossy(body)
        );
    }
    assert_eq!(queue_stat(key).map(|q| q.messages), Some(0), "removed from the queue");

    // It goes on delivering.
    producer(&sandbox.daemon_ini(), "e2e", 1, 1000).run();
    wait_delivered(&out, &expected_items(1, 1000), Duration::from_secs(15), &sandbox, Some(&daemon));
    let status =
        wait_status(&sandbox, Duration::from_secs(5), |s| s.get("foreignMessages").as_i64() == Some(2));
    assert!(status.is_some(), "status counts 2 foreign messages\n{}", diagnostics(&sandbox, Some(&daemon)));
    let log = sandbox.read("daemon.log");
    assert!(
        log.lines().filter(|l| l.contains("foreign")).count() == 1,
        "one log line about foreign messages (once per process):\n{log}"
    );
}

#[test]
fn torn_corrupt_and_headerless_spool_segments_are_kept_and_their_good_frames_delivered() {
    let sandbox = Sandbox::new();
    let out = sandbox.join("batches.log");
    let spool = sandbox.spool_dir();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();

    // A torn tail: a frame header that promises more bytes than there are.
    let torn = write_segment(&spool, "e2e", &[s(&["t-0", "t-1"]), s(&["t-2"])]);
    let mut bytes = fs::read(&torn).unwrap();
    bytes.extend_from_slice(&200u32.to_le_bytes());
    bytes.extend_from_slice(&0u32.to_le_bytes());
    bytes.extend_from_slice(b"\x92\xa3e2e");
    fs::write(&torn, &bytes).unwrap();
    // A flipped byte in the middle frame.
    let flipped = write_segment(&spool, "e2e", &[s(&["c-0"]), s(&["c-bad"]), s(&["c-2"])]);
    let mut bytes = fs::read(&flipped).unwrap();
    let at = bytes.windows(5).position(|w| w == b"c-bad").unwrap();
    bytes[at + 2] ^= 0x20;
    fs::write(&flipped, &bytes).unwrap();
    // Not a segment at all.
    let junk = spool.join("e2e.0000000000000001.1.9.seg");
    fs::write(&junk, b"NOT A SPOOL SEGMENT").unwrap();

    let daemon = daemon(&sandbox, &out).workers(1).start();
    let expected = s(&["t-0", "t-1", "t-2", "c-0", "c-2"]);
    let (batches, _) = wait_delivered(&out, &expected, Duration::from_secs(15), &sandbox, Some(&daemon));
    let t = tally(&batches, &expected);
    assert!(t.unexpected.is_empty(), "delivered what no valid frame holds: {:?}", t.unexpected);
    assert_eq!(t.duplicates, 0);
    let corrupt = wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
        files_with(&spool, "e2e.", ".corrupt").len() == 3
    });
    assert!(
        corrupt,
        "the three damaged files are kept as .corrupt: {:?}\n{}",
        spool_listing(&sandbox),
        diagnostics(&sandbox, Some(&daemon))
    );
    assert!(files_with(&spool, "e2e.", ".seg").is_empty());
    let log = sandbox.read("daemon.log");
    let lines = log.lines().filter(|l| l.contains("asyncbatch: corrupt spool segment")).count();
    assert_eq!(lines, 3, "one log line per damaged file:\n{log}");
    assert!(log.contains("bad header"), "{log}");
}

#[test]
fn a_bootstrap_that_throws_ends_the_daemon_with_code_1_and_its_message() {
    let sandbox = Sandbox::new();
    let out = sandbox.join("batches.log");
    let mut daemon = daemon(&sandbox, &out).env("AB_E2E_MODE", "throw").spawn();
    let exit = daemon.wait_exit(Duration::from_secs(15));
    let text = format!("{}{}", daemon.output(), sandbox.read("daemon.log"));
    assert_eq!(exit.and_then(|s| s.code()), Some(1), "exit status {exit:?}\n{text}");
    assert!(
        text.contains("e2e: the bootstrap cannot reach its config"),
        "the bootstrap's exception is shown:\n{text}"
    );
    assert_no_survivors(&mut daemon, Duration::from_secs(3));
}

#[test]
fn a_bootstrap_that_registers_no_job_ends_the_daemon_with_code_1() {
    let sandbox = Sandbox::new();
    let out = sandbox.join("batches.log");
    let mut daemon = daemon(&sandbox, &out).env("AB_E2E_MODE", "none").spawn();
    let exit = daemon.wait_exit(Duration::from_secs(15));
    let text = format!("{}{}", daemon.output(), sandbox.read("daemon.log"));
    assert_eq!(exit.and_then(|s| s.code()), Some(1), "exit status {exit:?}\n{text}");
    assert!(
        text.contains("asyncbatch") && (text.contains("no job") || text.contains("registerAsyncJob")),
        "a clear message says no job was registered:\n{text}"
    );
    assert_no_survivors(&mut daemon, Duration::from_secs(3));
}

#[test]
fn a_bootstrap_that_exits_ends_the_daemon_with_code_1() {
    let sandbox = Sandbox::new();
    let out = sandbox.join("batches.log");
    let mut daemon = daemon(&sandbox, &out).env("AB_E2E_MODE", "exit").spawn();
    let exit = daemon.wait_exit(Duration::from_secs(15));
    let text = format!("{}{}", daemon.output(), sandbox.read("daemon.log"));
    assert_eq!(exit.and_then(|s| s.code()), Some(1), "exit status {exit:?}\n{text}");
    assert!(text.contains("asyncbatch"), "a message says why:\n{text}");
    assert_no_survivors(&mut daemon, Duration::from_secs(3));
}

#[test]
fn a_segment_of_several_jobs_is_split_known_jobs_delivered_unknown_kept() {
    check_extension();
    let sandbox = Sandbox::new();
    let out = sandbox.join("batches.log");
    let spool = sandbox.spool_dir();
    // As a producer of several jobs may write it: jobkey ~, frames of both jobs.
    let items = |prefix: &str, range: std::ops::Range<usize>| -> Vec<String> {
        range.map(|i| format!("{prefix}-{i}")).collect()
    };
    write_mixed_segment(
        &spool,
        &[("e2e", items("mixed", 0..50)), ("stray", items("lost", 0..50)), ("e2e", items("mixed", 50..100))],
    );
    // And a producer submitting to both jobs, which writes what it writes.
    let mut ini = sandbox.daemon_ini();
    ini.push(("asyncbatch.transport".into(), "spool".into()));
    let code = r#"
        $r = new AsyncBatchRunner();
        $r->registerAsyncJob('e2e', fn () => true);
        $r->registerAsyncJob('stray', fn () => true);
        for ($i = 100; $i < 200; $i++) {
            $r->submitItem('e2e', "mixed-$i");
            $r->submitItem('stray', "lost-$i");
        }
        echo $r->flush();
    "#;
    let run = Php::Extension.cli().ini("log_errors", "0").inis(ini).code(code).run();
    run.assert_success("a producer of two jobs");
    eprintln!("before the daemon: {:?}", spool_listing(&sandbox));

    let d = daemon(&sandbox, &out).workers(1).start();
    let expected = items("mixed", 0..200);
    let (batches, _) = wait_delivered(&out, &expected, Duration::from_secs(15), &sandbox, Some(&d));
    let t = tally(&batches, &expected);
    assert!(t.unexpected.is_empty(), "only e2e's items: {:?}", preview(&t.unexpected));
    assert_eq!(t.duplicates, 0);
    let split = wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
        files_with(&spool, "~.", ".seg").is_empty() && !files_with(&spool, "stray.", ".seg").is_empty()
    });
    assert!(
        split,
        "the ~ segment is split, stray's part kept: {:?}\n{}",
        spool_listing(&sandbox),
        diagnostics(&sandbox, Some(&d))
    );
}

#[test]
fn a_queue_owned_by_another_user_is_refused_by_producers_and_the_daemon() {
    if !require_root("giving a queue to another user") {
        return;
    }
    let sandbox = Sandbox::new();
    let out = sandbox.join("batches.log");
    let key = sandbox.queue_key();
    remove_queue(key);
    create_queue(key, 0o600).expect("create the queue");
    set_queue_owner(key, 65534).expect("give the queue to nobody");

    let report = producer(&sandbox.daemon_ini(), "e2e", 1, 500).strings().run();
    let warnings = report.stderr.matches("asyncbatch: refusing to use message queue 0x").count();
    assert_eq!(warnings, 1, "one warning per process:\n{}", report.stderr);
    assert_eq!(report.stat("spooled"), 500, "{:?}", report.stats);
    assert_eq!(report.stat("dropped"), 0, "{:?}", report.stats);
    assert_eq!(queue_stat(key).map(|q| q.messages), Some(0), "nothing sent to it");

    let mut refused = daemon(&sandbox, &out).spawn();
    let exit = refused.wait_exit(Duration::from_secs(15));
    let text = format!("{}{}", refused.output(), sandbox.read("daemon.log"));
    assert_eq!(exit.and_then(|s| s.code()), Some(1), "the daemon refuses it: {exit:?}\n{text}");
    assert!(text.contains("refusing to use message queue"), "the daemon says why:\n{text}");
    assert_no_survivors(&mut refused, Duration::from_secs(3));

    // The spooled items wait for a daemon that can start.
    remove_queue(key);
    let daemon = daemon(&sandbox, &out).workers(1).start();
    let expected: Vec<String> = (0..500).map(|s| format!("p1-{s}")).collect();
    wait_delivered(&out, &expected, Duration::from_secs(15), &sandbox, Some(&daemon));
}

#[test]
fn segments_of_a_job_no_worker_registers_are_kept_reported_and_drained_later() {
    let sandbox = Sandbox::new();
    let out = sandbox.join("batches.log");
    let mut daemon = daemon(&sandbox, &out).workers(2).start();
    producer(&sandbox.daemon_ini(), "stray", 7, 300).strings().run();
    producer(&sandbox.daemon_ini(), "e2e", 1, 100).strings().run();
    wait_delivered(&out, &expected_items(1, 100), Duration::from_secs(15), &sandbox, Some(&daemon));

    let status = wait_status(&sandbox, Duration::from_secs(10), |s| {
        s.at(&["unknownJobs", "stray", "segments"]).as_i64().unwrap_or(0) >= 1
    });
    assert!(status.is_some(), "status reports the unknown job\n{}", diagnostics(&sandbox, Some(&daemon)));
    assert!(
        !files_with(&sandbox.spool_dir(), "stray.", ".seg").is_empty(),
        "its segments stay in the spool: {:?}",
        spool_listing(&sandbox)
    );
    let log = sandbox.read("daemon.log");
    assert_eq!(log.lines().filter(|l| l.contains("'stray'")).count(), 1, "one log line for the job:\n{log}");
    let batches = read_batches(&out);
    assert!(
        batches.iter().all(|b| b.items.iter().all(|i| i.starts_with("p1-"))),
        "nothing of the unknown job was delivered to another job"
    );

    let (exit, _) = daemon.terminate(Duration::from_secs(15));
    assert!(exit.is_some(), "the daemon stops");

    // A drain that does not register it leaves them too, and says so.
    let mut drain = drain_command(&sandbox, &out);
    let result = run_with_timeout(&mut drain, None, Duration::from_secs(30));
    result.assert_success("asyncbatch drain without the job");
    let said = format!("{}{}", result.stdout_str(), result.stderr);
    assert!(said.contains("stray"), "the drain reports the unknown job:\n{said}");
    assert!(
        !files_with(&sandbox.spool_dir(), "stray.", ".seg").is_empty(),
        "a drain leaves them: {:?}",
        spool_listing(&sandbox)
    );

    // A drain whose bootstrap registers it delivers them.
    let mut drain = asyncbatch_cli(
        &sandbox.daemon_ini(),
        &["drain", "--bootstrap", &fixture("daemon_jobs.php").display().to_string()],
    );
    drain.env("AB_E2E_OUT", &out).env("AB_E2E_JOBS", "e2e,stray");
    let result = run_with_timeout(&mut drain, None, Duration::from_secs(30));
    result.assert_success("asyncbatch drain");
    let expected: Vec<String> = (0..300).map(|s| format!("p7-{s}")).collect();
    let t = tally(&read_batches(&out), &expected);
    assert!(t.missing.is_empty(), "drain delivered the kept items: missing {}", preview(&t.missing));
    assert!(files_with(&sandbox.spool_dir(), "stray.", ".seg").is_empty());
}

/// `asyncbatch drain` with the test bootstrap, its batches going to `out`.
fn drain_command(sandbox: &Sandbox, out: &Path) -> std::process::Command {
    let mut cmd = asyncbatch_cli(
        &sandbox.daemon_ini(),
        &["drain", "--bootstrap", &fixture("daemon_jobs.php").display().to_string()],
    );
    cmd.env("AB_E2E_OUT", out);
    cmd
}

#[test]
fn a_drain_whose_batches_fail_stores_them_and_exits_1() {
    check_extension();
    let sandbox = Sandbox::new();
    let out = sandbox.join("batches.log");
    producer(&sandbox.daemon_ini(), "e2e", 1, 25).strings().run();
    let mut drain = drain_command(&sandbox, &out);
    drain.env("AB_E2E_MODE", "fail").env("AB_E2E_BATCH", "10");
    let result = run_with_timeout(&mut drain, None, Duration::from_secs(30));
    assert_eq!(result.status.code(), Some(1), "{}{}", result.stdout_str(), result.stderr);
    let stored = Sandbox::files_ending(&sandbox.failure_dir(), ".fail");
    assert_eq!(stored.len(), 3, "25 items in batches of 10: 3 failure files");
    assert_eq!(queue_stat(sandbox.queue_key()).map(|q| q.messages).unwrap_or(0), 0);
    assert!(files_with(&sandbox.spool_dir(), "e2e.", ".seg").is_empty());
}

#[test]
fn queues_and_files_the_runner_and_the_daemon_create_are_private() {
    let sandbox = Sandbox::new();
    let out = sandbox.join("batches.log");
    let d = daemon(&sandbox, &out).workers(1).start();
    let key = sandbox.queue_key();
    assert_eq!(queue_stat(key).map(|q| q.mode), Some(0o600), "asyncbatch.queue_mode defaults to 0600");
    producer(&sandbox.daemon_ini(), "e2e", 1, 3000).run();
    send_message(key, 1, b"foreign").unwrap();
    producer(&sandbox.daemon_ini(), "stray", 2, 10).strings().run();
    wait_delivered(&out, &expected_items(1, 3000), Duration::from_secs(15), &sandbox, Some(&d));
    let kept = wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
        !files_with(&sandbox.spool_dir(), "foreign.", ".msg").is_empty()
    });
    assert!(
        kept,
        "the foreign message is kept aside as foreign.*.msg within 5 s: {:?}\n{}",
        spool_listing(&sandbox),
        diagnostics(&sandbox, Some(&d))
    );
    for dir in [sandbox.spool_dir(), sandbox.failure_dir()] {
        let mode = fs::metadata(&dir).map(|m| m.permissions().mode() & 0o777).unwrap_or(0o700);
        assert_eq!(mode, 0o700, "{}", dir.display());
    }
    let mut seen = Vec::new();
    for entry in fs::read_dir(sandbox.spool_dir()).unwrap().flatten() {
        let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
        let name = entry.file_name().to_string_lossy().into_owned();
        assert_eq!(mode & 0o077, 0, "{name} is mode {mode:o}");
        seen.push(name);
    }
    eprintln!("spool files checked: {seen:?}");
    drop(d);

    // A queue created with asyncbatch.queue_mode.
    let other = Sandbox::new();
    let mut ini = other.daemon_ini();
    ini.push(("asyncbatch.queue_mode".into(), "0640".into()));
    producer(&ini, "e2e", 1, 10).strings().run();
    assert_eq!(queue_stat(other.queue_key()).map(|q| q.mode), Some(0o640));
}

#[test]
fn items_submitted_before_pcntl_fork_are_delivered_once() {
    let sandbox = Sandbox::new();
    let out = sandbox.join("batches.log");
    let d = daemon(&sandbox, &out).workers(1).start();
    let code = r#"
        $r = new AsyncBatchRunner();
        $r->registerAsyncJob('e2e', fn () => true);
        for ($i = 0; $i < 200; $i++) { $r->submitItem('e2e', "parent-$i"); }
        $pid = pcntl_fork();
        if ($pid === 0) {
            for ($i = 0; $i < 50; $i++) { $r->submitItem('e2e', "child-$i"); }
            exit(0);
        }
        pcntl_waitpid($pid, $status);
        echo pcntl_wexitstatus($status);
    "#;
    let run = Php::Extension.cli().ini("log_errors", "0").inis(sandbox.daemon_ini()).code(code).run();
    run.assert_success("parent and forked child");
    assert_eq!(run.stdout_str(), "0", "{}", run.stderr);
    let mut expected: Vec<String> = (0..200).map(|i| format!("parent-{i}")).collect();
    expected.extend((0..50).map(|i| format!("child-{i}")));
    let (batches, _) = wait_delivered(&out, &expected, Duration::from_secs(15), &sandbox, Some(&d));
    thread::sleep(Duration::from_millis(500)); // any copy the child should have dropped
    let t = tally(&read_batches(&out), &expected);
    assert!(t.unexpected.is_empty(), "{:?}", t.unexpected);
    assert_eq!(t.duplicates, 0, "the child drops what it inherited: {} batches", batches.len());
}

fn assert_spool_refusal(report: &ProducerReport, submitted: i64, what: &str) {
    let warnings: Vec<&str> =
        report.stderr.lines().filter(|l| l.contains("asyncbatch: cannot write to the spool: ")).collect();
    assert_eq!(warnings.len(), 1, "{what}: one warning per process:\n{}", report.stderr);
    assert!(
        warnings[0].contains("for job 'e2e' dropped"),
        "{what}: the warning names the job: {}",
        warnings[0]
    );
    assert!(report.stat("dropped") > 0, "{what}: {:?}", report.stats);
    assert_eq!(
        report.stat("spooled") + report.stat("dropped"),
        submitted,
        "{what}: every item is spooled or counted dropped: {:?}",
        report.stats
    );
}

#[test]
fn a_full_or_refused_spool_warns_once_counts_drops_and_the_script_goes_on() {
    let sandbox = Sandbox::new();
    let spool_only = |spool: &Path| {
        let mut ini = sandbox.daemon_ini();
        ini.retain(|(k, _)| k != "asyncbatch.spool_dir");
        ini.push(("asyncbatch.spool_dir".into(), spool.display().to_string()));
        ini.push(("asyncbatch.transport".into(), "spool".into()));
        ini
    };

    // A directory the spool must refuse: writable by others.
    let open = sandbox.join("open-spool");
    fs::create_dir(&open).unwrap();
    fs::set_permissions(&open, fs::Permissions::from_mode(0o777)).unwrap();
    let report = producer(&spool_only(&open), "e2e", 1, 2000).run();
    assert_spool_refusal(&report, 2000, "refused directory");
    assert_eq!(report.stat("dropped"), 2000, "{:?}", report.stats);
    assert!(report.stderr.contains("writable by group or others"), "says why: {}", report.stderr);

    // A full disk: a 64 KiB tmpfs, 2000 records of ~150 bytes.
    match Tmpfs::mount(&sandbox.join("small"), "64k") {
        Ok(tmpfs) => {
            let report = producer(&spool_only(&tmpfs.path().join("spool")), "e2e", 1, 2000).run();
            assert_spool_refusal(&report, 2000, "full disk");
            eprintln!(
                "full disk: {} items spooled, {} dropped, warning: {}",
                report.stat("spooled"),
                report.stat("dropped"),
                report.stderr.trim()
            );
        }
        Err(why) => not_run(&format!("its full-disk half: cannot mount a tmpfs here ({why})")),
    }
}

#[test]
fn sigterm_lets_the_batches_in_hand_finish_and_exits_within_the_stop_timeout() {
    let sandbox = Sandbox::new();
    let out = sandbox.join("batches.log");
    // 50 batches of 100 items, 300 ms each: far more than the stop timeout.
    producer(&sandbox.daemon_ini(), "e2e", 1, 5000).strings().run();
    let slow = daemon(&sandbox, &out)
        .workers(2)
        .stop_timeout(2.0)
        .env("AB_E2E_BATCH", 100)
        .env("AB_E2E_SLEEP_MS", 300);
    let mut d = slow.start();
    let delivering =
        wait_until(Duration::from_secs(10), Duration::from_millis(10), || !read_batches(&out).is_empty());
    assert!(delivering, "a first batch is delivered within 10 s\n{}", diagnostics(&sandbox, Some(&d)));
    thread::sleep(Duration::from_millis(150)); // mid-batch
    let (exit, took) = d.terminate(Duration::from_secs(6));
    let delivered_before = tally(&read_batches(&out), &[]).deliveries;
    eprintln!(
        "SIGTERM with 300 ms batches, --stop-timeout 2: exited in {} ({exit:?}), {delivered_before} of 5000 delivered",
        Millis(took)
    );
    assert!(
        exit.is_some() && took <= Duration::from_millis(3000),
        "exits within the stop timeout (+1 s): {exit:?} after {took:?}\n{}",
        diagnostics(&sandbox, Some(&d))
    );
    assert_eq!(exit.and_then(|s| s.code()), Some(0), "{}", diagnostics(&sandbox, Some(&d)));
    assert_no_survivors(&mut d, Duration::from_secs(2));
    drop(d);
    let started = fs::read_to_string(sandbox.join("batches.log.started")).unwrap_or_default();
    assert_eq!(
        started.lines().count(),
        read_batches(&out).len(),
        "every batch the workers had started was finished"
    );

    // What it did not deliver is still there, and nothing it finished comes again.
    let d = daemon(&sandbox, &out).workers(2).env("AB_E2E_BATCH", 100).start();
    let expected = expected_items(1, 5000);
    let (batches, _) = wait_delivered(&out, &expected, Duration::from_secs(20), &sandbox, Some(&d));
    let t = tally(&batches, &expected);
    assert_eq!(
        t.duplicates,
        0,
        "the batches in hand were finished, not redelivered\n{}",
        diagnostics(&sandbox, Some(&d))
    );
}

#[test]
fn sigterm_takes_what_waits_on_the_queue_into_the_spool_before_the_daemon_exits() {
    // In a container the queue goes away with the daemon (its IPC namespace): what
    // waits on it at a stop must be in the spool by the time the daemon has exited.
    let sandbox = Sandbox::new();
    let out = sandbox.join("batches.log");
    let mut d = daemon(&sandbox, &out).workers(2).start();
    let workers = d.worker_pids();
    let receiver: Vec<i32> = d.tree()[1..].iter().copied().filter(|p| !workers.contains(p)).collect();
    assert_eq!(receiver.len(), 1, "one receiver besides the workers: {:?}", d.tree());
    // A receiver that cannot run: what producers send stays on the queue.
    unsafe { libc::kill(receiver[0], libc::SIGSTOP) };
    producer(&sandbox.daemon_ini(), "e2e", 1, 2000).strings().run();
    let waiting = queue_stat(sandbox.queue_key()).map(|q| q.messages).unwrap_or(0);
    assert!(waiting > 0, "messages wait on the queue\n{}", diagnostics(&sandbox, Some(&d)));

    d.signal(libc::SIGTERM);
    thread::sleep(Duration::from_millis(200));
    unsafe { libc::kill(receiver[0], libc::SIGCONT) };
    let exit = d.wait_exit(Duration::from_secs(15));
    let left = queue_stat(sandbox.queue_key()).map(|q| q.messages).unwrap_or(0);
    eprintln!("SIGTERM with {waiting} messages on the queue: {left} left there when the daemon had exited");
    assert_eq!(exit.and_then(|s| s.code()), Some(0), "{}", diagnostics(&sandbox, Some(&d)));
    assert_eq!(
        left,
        0,
        "the queue was taken into the spool before the exit\n{}",
        diagnostics(&sandbox, Some(&d))
    );
    assert_no_survivors(&mut d, Duration::from_secs(2));
    drop(d);

    // The queue gone, as with the container: the spool has every item.
    remove_queue(sandbox.queue_key());
    let d = daemon(&sandbox, &out).workers(2).start();
    let expected = expected_items(1, 2000);
    let (batches, _) = wait_delivered(&out, &expected, Duration::from_secs(20), &sandbox, Some(&d));
    assert_eq!(tally(&batches, &expected).duplicates, 0, "{}", diagnostics(&sandbox, Some(&d)));
}

#[test]
fn sigterm_with_a_hung_callable_kills_it_at_the_stop_timeout_and_loses_nothing() {
    let sandbox = Sandbox::new();
    let out = sandbox.join("batches.log");
    producer(&sandbox.daemon_ini(), "e2e", 1, 300).strings().run();
    let stop_timeout = Duration::from_secs(1);
    let mut hung = daemon(&sandbox, &out)
        .workers(1)
        .stop_timeout(stop_timeout.as_secs_f64())
        .env("AB_E2E_BATCH", 100)
        .env("AB_E2E_SLEEP_MS", 60_000)
        .start();
    // The callable writes a line to {out}.started as it starts its 60 s batch.
    let started = sandbox.join("batches.log.started");
    let in_callable = wait_until(Duration::from_secs(15), Duration::from_millis(10), || {
        fs::read_to_string(&started).is_ok_and(|s| !s.is_empty())
    });
    assert!(
        in_callable,
        "the worker starts the hung batch (a line in {}) within 15 s\n{}",
        started.display(),
        diagnostics(&sandbox, Some(&hung))
    );
    let (exit, took) = hung.terminate(Duration::from_secs(15));
    eprintln!("SIGTERM with a hung callable, --stop-timeout 1: exited in {} ({exit:?})", Millis(took));
    // The callable would take 60 s: an exit a few seconds after the stop timeout
    // shows it was killed there, on a loaded machine too.
    let limit = stop_timeout + Duration::from_secs(3);
    assert!(
        exit.is_some() && took >= stop_timeout && took <= limit,
        "exits at the stop timeout ({}, at most {}): {exit:?} after {}\n{}",
        Millis(stop_timeout),
        Millis(limit),
        Millis(took),
        diagnostics(&sandbox, Some(&hung))
    );
    assert_no_survivors(&mut hung, Duration::from_secs(2));
    drop(hung);

    let d = daemon(&sandbox, &out).workers(1).env("AB_E2E_BATCH", 100).start();
    wait_delivered(&out, &expected_items(1, 300), Duration::from_secs(15), &sandbox, Some(&d));
}

#[test]
fn a_second_daemon_on_the_same_spool_exits_1_naming_the_first() {
    let sandbox = Sandbox::new();
    let out = sandbox.join("batches.log");
    let first = daemon(&sandbox, &out).workers(1).start();
    let mut second = daemon(&sandbox, &out).workers(1).spawn();
    let exit = second.wait_exit(Duration::from_secs(10));
    let text = format!("{}{}", second.output(), sandbox.read("daemon.log"));
    assert_eq!(exit.and_then(|s| s.code()), Some(1), "{exit:?}\n{text}");
    assert!(text.contains(&first.pid().to_string()), "the message names pid {}:\n{text}", first.pid());
    assert_no_survivors(&mut second, Duration::from_secs(2));
    // The first runs on.
    thread::sleep(Duration::from_millis(1200));
    let status = read_status(&sandbox.spool_dir()).expect("status");
    assert_eq!(status.get("pid").as_i64(), Some(first.pid() as i64));
    assert!(pid_alive(first.pid()));
}

#[test]
fn a_second_drain_while_one_runs_exits_at_once_with_a_message() {
    check_extension();
    let sandbox = Sandbox::new();
    let out = sandbox.join("batches.log");
    // Some on the queue, the rest in the spool.
    producer(&sandbox.daemon_ini(), "e2e", 1, 3000).strings().run();
    let drain_cmd = |sleep_ms: u32| {
        let mut cmd = asyncbatch_cli(
            &sandbox.daemon_ini(),
            &["drain", "--bootstrap", &fixture("daemon_jobs.php").display().to_string()],
        );
        cmd.env("AB_E2E_OUT", &out).env("AB_E2E_BATCH", "300").env("AB_E2E_SLEEP_MS", sleep_ms.to_string());
        cmd
    };
    let mut first = Background::spawn(drain_cmd(300), sandbox.path(), "drain-1");
    let busy =
        wait_until(Duration::from_secs(10), Duration::from_millis(10), || !read_batches(&out).is_empty());
    assert!(busy, "the first drain delivers: {}{}", first.stdout(), first.stderr());

    let second = run_with_timeout(&mut drain_cmd(0), None, Duration::from_secs(10));
    eprintln!("second drain: exit {} in {}", second.status, Millis(second.elapsed));
    assert_eq!(second.status.code(), Some(0), "{}", second.stderr);
    assert_eq!(second.stderr, format!("asyncbatch: another drain is running (pid {})\n", first.pid()));
    assert!(second.elapsed < Duration::from_secs(2), "at once: {:?}", second.elapsed);
    assert!(first.try_exit().is_none(), "the first is still draining");

    let exit = first.wait_exit(Duration::from_secs(30));
    assert_eq!(exit.and_then(|s| s.code()), Some(0), "{}{}", first.stdout(), first.stderr());
    let t = tally(&read_batches(&out), &expected_items(1, 3000));
    assert!(t.missing.is_empty(), "drain delivered all: missing {}", preview(&t.missing));
    assert_eq!(t.duplicates, 0);
    assert_eq!(queue_stat(sandbox.queue_key()).map(|q| q.messages).unwrap_or(0), 0);
    assert!(files_with(&sandbox.spool_dir(), "e2e.", ".seg").is_empty());
}

#[test]
fn status_shows_the_running_daemon_and_says_when_it_is_gone() {
    let sandbox = Sandbox::new();
    let out = sandbox.join("batches.log");
    let mut daemon = daemon(&sandbox, &out).workers(2).start();
    producer(&sandbox.daemon_ini(), "e2e", 1, 1000).run();
    wait_delivered(&out, &expected_items(1, 1000), Duration::from_secs(15), &sandbox, Some(&daemon));
    let counted = wait_status(&sandbox, Duration::from_secs(5), |s| status_delivered(s, "e2e") == 1000);
    assert!(
        counted.is_some(),
        "the status counts 1000 delivered within 5 s\n{}",
        diagnostics(&sandbox, Some(&daemon))
    );

    let run = |args: &[&str]| {
        run_with_timeout(&mut asyncbatch_cli(&sandbox.daemon_ini(), args), None, Duration::from_secs(10))
    };
    let human = run(&["status"]);
    let text = human.stdout_str();
    eprintln!("asyncbatch status:\n{text}");
    assert_eq!(human.status.code(), Some(0), "{text}{}", human.stderr);
    assert!(text.contains(&format!("running, pid {}", daemon.pid())), "{text}");
    assert!(text.contains(&format!("0x{:08x}", sandbox.queue_key())), "{text}");
    let row = text.lines().find(|l| l.trim_start().starts_with("e2e ")).unwrap_or_default();
    assert!(row.contains(" 1000 "), "the job's row counts 1000 delivered: {text}");

    let json = run(&["status", "--json"]);
    assert_eq!(json.status.code(), Some(0), "{}", json.stderr);
    let s = Json::parse(&json.stdout_str()).expect("status --json is JSON");
    assert_eq!(s.get("running"), &Json::Bool(true));
    assert_eq!(s.get("pid").as_i64(), Some(daemon.pid() as i64));
    assert_eq!(status_delivered(&s, "e2e"), 1000);
    assert_eq!(s.at(&["jobs", "e2e", "dropped"]).as_i64(), Some(0));
    assert_eq!(s.get("workers").items().len(), 2);
    let key = s.at(&["queue", "key"]).as_str().unwrap_or_default();
    assert_eq!(
        i64::from_str_radix(key.trim_start_matches("0x"), 16).ok(),
        Some(sandbox.queue_key() as i64),
        "queue key {key:?}"
    );
    assert!(s.get("startedAt").as_f64().is_some());
    assert!(s.get("foreignMessages").as_i64() == Some(0));

    let (exit, _) = daemon.terminate(Duration::from_secs(15));
    assert!(exit.is_some());
    let gone = run(&["status"]);
    assert_eq!(gone.status.code(), Some(1), "{}", gone.stdout_str());
    assert!(gone.stdout_str().contains("not running"), "{}", gone.stdout_str());
}

#[test]
fn a_killed_worker_is_restarted_and_a_killed_master_takes_its_processes_along() {
    let sandbox = Sandbox::new();
    let out = sandbox.join("batches.log");
    let daemon = daemon(&sandbox, &out).workers(2).start();
    let before = daemon.worker_pids();
    let victim = before[0];
    unsafe { libc::kill(victim, libc::SIGKILL) };
    let status = wait_status(&sandbox, Duration::from_secs(10), |s| {
        let w = s.get("workers").items();
        w.len() == 2
            && w.iter().all(|w| {
                w.get("pid").as_i64().is_some_and(|p| p > 0 && p != victim as i64 && pid_alive(p as i32))
            })
            && w.iter().map(|w| w.get("restarts").as_i64().unwrap_or(0)).sum::<i64>() == 1
    });
    assert!(
        status.is_some(),
        "worker {victim} is replaced and the restart counted\n{}",
        diagnostics(&sandbox, Some(&daemon))
    );
    producer(&sandbox.daemon_ini(), "e2e", 1, 2000).run();
    wait_delivered(&out, &expected_items(1, 2000), Duration::from_secs(15), &sandbox, Some(&daemon));

    // SIGKILL to the master alone: the receiver and the workers exit by themselves.
    let below = daemon.tree()[1..].to_vec();
    assert!(!below.is_empty(), "the master has processes");
    unsafe { libc::kill(daemon.pid(), libc::SIGKILL) };
    let orphans_gone = wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
        below.iter().all(|&p| !pid_alive(p))
    });
    assert!(
        orphans_gone,
        "processes of a dead master still run: {:?}",
        below.iter().filter(|&&p| pid_alive(p)).collect::<Vec<_>>()
    );
}

#[test]
fn failed_batches_are_stored_logged_and_sighup_reopens_the_log() {
    let sandbox = Sandbox::new();
    let out = sandbox.join("batches.log");
    let log = sandbox.join("daemon.log");
    let mut daemon =
        daemon(&sandbox, &out).workers(1).env("AB_E2E_MODE", "fail").env("AB_E2E_BATCH", 10).start();
    let stored = |path: &Path| {
        fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("asyncbatch: job 'e2e': a batch of 10 items failed 1 times"))
            .count()
    };
    producer(&sandbox.daemon_ini(), "e2e", 1, 10).strings().run();
    assert!(
        wait_until(Duration::from_secs(10), Duration::from_millis(20), || stored(&log) == 1),
        "a failed batch is logged to --log\n{}",
        diagnostics(&sandbox, Some(&daemon))
    );
    fs::rename(&log, sandbox.join("daemon.log.1")).unwrap();
    daemon.signal(libc::SIGHUP);
    thread::sleep(Duration::from_millis(300));
    producer(&sandbox.daemon_ini(), "e2e", 2, 10).strings().run();
    assert!(
        wait_until(Duration::from_secs(10), Duration::from_millis(20), || stored(&log) == 1),
        "after SIGHUP the daemon logs to a new file at --log\n{}",
        diagnostics(&sandbox, Some(&daemon))
    );
    assert_eq!(stored(&sandbox.join("daemon.log.1")), 1);
    assert_eq!(
        Sandbox::files_ending(&sandbox.failure_dir(), ".fail").len(),
        2,
        "both batches are in the failure store"
    );
    let status = wait_status(&sandbox, Duration::from_secs(5), |s| {
        s.at(&["jobs", "e2e", "failedBatches"]).as_i64() == Some(2)
            && s.at(&["jobs", "e2e", "persisted"]).as_i64() == Some(20)
    });
    assert!(status.is_some(), "status counts them\n{}", diagnostics(&sandbox, Some(&daemon)));
    assert!(pid_alive(daemon.pid()));
}

// ---------------------------------------------------------------------------
// Choosing the runner

#[test]
fn the_auto_runner_uses_the_daemon_only_while_it_is_alive() {
    let sandbox = Sandbox::new();
    let out = sandbox.join("batches.log");
    let shutdown_out = sandbox.join("shutdown.log");
    let mut ini = sandbox.daemon_ini();
    ini.retain(|(k, _)| k != "asyncbatch.runner");
    ini.push(("asyncbatch.runner".into(), "auto".into()));
    let run = |id: usize| producer(&ini, "e2e", id, 500).strings().shutdown_out(&shutdown_out).run();

    // No daemon: the shutdown runner, in the producer itself.
    let first = run(1);
    let local = read_batches(&shutdown_out);
    assert_eq!(tally(&local, &expected_items(1, 500)).missing.len(), 0);
    assert!(local.iter().all(|b| b.pid as i64 == first.pid));

    // A live daemon: it delivers.
    let mut daemon = daemon(&sandbox, &out).workers(1).start();
    let second = run(2);
    let expected: Vec<String> = (0..500).map(|s| format!("p2-{s}")).collect();
    wait_delivered(&out, &expected, Duration::from_secs(15), &sandbox, Some(&daemon));
    assert_eq!(read_batches(&shutdown_out).len(), local.len(), "not delivered locally");
    assert_eq!(second.stat("delivered"), 0, "{:?}", second.stats);

    // Stopped: the shutdown runner again.
    let (exit, _) = daemon.terminate(Duration::from_secs(15));
    assert!(exit.is_some());
    run(3);
    let expected: Vec<String> = (0..500).map(|s| format!("p3-{s}")).collect();
    let t = tally(&read_batches(&shutdown_out), &expected);
    assert!(t.missing.is_empty(), "delivered by the producer: missing {}", preview(&t.missing));
    assert!(
        !read_batches(&out).iter().any(|b| b.items.iter().any(|i| i.starts_with("p3-"))),
        "nothing for the stopped daemon"
    );
}
