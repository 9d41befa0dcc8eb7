//! A full disk under php-fpm, for the shutdown runner and the HttpSink, on both
//! sides: the spool and the failure store live on a small tmpfs
//! ([`Tmpfs`], root only: when it cannot be mounted the tests print `NOT RUN` and
//! pass, or fail under `AB_REQUIRE_ROOT=1`), which is filled. Requests whose items
//! must be written there go on: their responses are 200 and fast, the items that
//! could not be stored are counted in stats `dropped` with a warning in PHP's error
//! log; once space is freed, service is normal again (items spooled and delivered,
//! nothing more dropped).
//!
//! The page is `tests/php/disk_page.php`; it appends the job's stats() to a file
//! after each request (from a destructor, so after asyncbatch's delivery). The
//! extension's counters live as long as the worker, the polyfill's for one request
//! (PHP resets userland state between requests); for the same reason the polyfill
//! warns once per request, the extension once per process. Batches the failure
//! store refuses are logged one line each, on both sides (as for its size cap).
//!
//! Run with `--nocapture` to see the measured figures.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use asyncbatch_e2e::{
    delivery_counts, fixture, not_run, read_batches, wait_until, FcgiResponse, FpmBuilder, FpmPool,
    HttpServer, Json, Millis, Php, Reply, Request, Sandbox, Tmpfs,
};

/// A response leaves before any delivery work: in half the time of one batch of
/// the shutdown runner's callable ([`CALLABLE_MS`]); on time it takes a few ms.
const RESPONSE_LIMIT: Duration = Duration::from_millis(CALLABLE_MS / 2);
/// The work of the shutdown runner's callable per batch.
const CALLABLE_MS: u64 = 1000;
/// The longest wait for what a request does after its response.
const AFTER_RESPONSE_TIMEOUT: Duration = Duration::from_secs(15);

asyncbatch_e2e::on_both_sides!(
    shutdown_runner_with_a_full_spool_disk_drops_counts_warns_and_recovers,
    http_sink_with_a_full_failure_store_disk_drops_counts_warns_and_recovers,
);

/// The sandbox, a tmpfs in it holding the spool and the failure store (both
/// created, empty), or `None` (printed) when no tmpfs can be mounted here.
struct Disk {
    // Unmounted before the sandbox is removed (fields drop in order).
    tmpfs: Tmpfs,
    sandbox: Sandbox,
    spool: PathBuf,
    failed: PathBuf,
}

impl Disk {
    fn new(side: Php, size: &str) -> Option<Disk> {
        if let Err(problem) = side.check() {
            panic!("the {side} is not usable: {problem}");
        }
        let sandbox = Sandbox::new();
        let tmpfs = match Tmpfs::mount(&sandbox.join("small"), size) {
            Ok(t) => t,
            Err(why) => {
                not_run(&format!("cannot mount a tmpfs here ({why}); run as root to test a full disk"));
                return None;
            }
        };
        let spool = tmpfs.path().join("spool");
        let failed = tmpfs.path().join("failed");
        for dir in [&spool, &failed] {
            fs::DirBuilder::new().mode(0o700).create(dir).expect("create a directory on the tmpfs");
        }
        Some(Disk { tmpfs, sandbox, spool, failed })
    }

    /// A pool of one worker (so "once per process" is one line) using the tmpfs.
    fn pool(&self, side: Php) -> FpmBuilder {
        FpmPool::builder(side)
            .children(1)
            .ini("asyncbatch.runner", "shutdown")
            .ini("asyncbatch.spool_dir", self.spool.display())
            .ini("asyncbatch.failure_dir", self.failed.display())
    }

    fn stats_file(&self) -> PathBuf {
        self.sandbox.join("stats.jsonl")
    }

    /// The stats lines written so far, by request tag.
    fn stats(&self) -> BTreeMap<String, Json> {
        let text = fs::read_to_string(self.stats_file()).unwrap_or_default();
        text.lines()
            .filter_map(|l| Json::parse(l).ok())
            .map(|j| (j.get("req").as_str().unwrap_or("").to_string(), j.get("stats").clone()))
            .collect()
    }

    /// Waits until the stats line of request `req` is written; returns it.
    fn wait_stats(&self, req: &str, pool: &FpmPool) -> Json {
        let found =
            wait_until(AFTER_RESPONSE_TIMEOUT, Duration::from_millis(10), || self.stats().contains_key(req));
        assert!(found, "request {req} never wrote its stats\n{}", pool.logs());
        self.stats()[req].clone()
    }

    fn segments(&self) -> usize {
        Sandbox::files_holding_items(&self.spool).len()
    }
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn stat(stats: &Json, key: &str) -> i64 {
    stats.get(key).as_i64().unwrap_or(-1)
}

/// The asyncbatch lines of PHP's error log.
fn asyncbatch_lines(pool: &FpmPool) -> Vec<String> {
    pool.php_errors().lines().filter(|l| l.contains("asyncbatch: ")).map(str::to_owned).collect()
}

/// Sends a request, checks it is answered 200 within [`RESPONSE_LIMIT`].
fn get_fast(pool: &FpmPool, query: &str, what: &str) -> FcgiResponse {
    let response = pool.get_ok(&fixture("disk_page.php"), query);
    assert!(
        response.elapsed < RESPONSE_LIMIT,
        "{what}: answered in {}, limit {}",
        Millis(response.elapsed),
        Millis(RESPONSE_LIMIT)
    );
    response
}

fn items(req: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{req}-{i}")).collect()
}

/// The warnings (and log lines) of `lines` that report dropped items of job `e2e`
/// for want of space.
fn drop_lines(lines: &[String], what: &str) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l.contains(what) && l.contains("for job 'e2e'") && l.contains("No space left on device"))
        .cloned()
        .collect()
}

fn journal_lines(lines: &[String]) -> usize {
    lines.iter().filter(|l| l.contains("is delivered without its journal")).count()
}

/// Items of the delivery log, by how many times each was delivered.
fn delivered(out: &Path) -> BTreeMap<String, usize> {
    delivery_counts(&read_batches(out)).into_iter().collect()
}

// ---------------------------------------------------------------------------

/// The shutdown runner with a budget of 50 ms and a callable taking a second per
/// batch of 2: each request of 6 items delivers one batch and must spool 4.
fn shutdown_runner_with_a_full_spool_disk_drops_counts_warns_and_recovers(side: Php) {
    let Some(disk) = Disk::new(side, "256k") else { return };
    let pool = disk.pool(side).ini("asyncbatch.shutdown_budget", "0.05").start(disk.sandbox.path());
    let out = disk.sandbox.join("batches.log");
    let page = fixture("disk_page.php");
    let query = |req: &str, extra: &str| {
        format!(
            "req={req}&k=6&batch=2&sleep_ms={CALLABLE_MS}&out={}&stats={}{extra}",
            url_encode(&out.display().to_string()),
            url_encode(&disk.stats_file().display().to_string())
        )
    };

    // With room on the disk: 2 delivered, 4 spooled; a flush delivers the spool.
    get_fast(&pool, &query("warm", ""), "warm-up");
    let warm = disk.wait_stats("warm", &pool);
    assert_eq!((stat(&warm, "delivered"), stat(&warm, "spooled")), (2, 4), "warm-up: {warm}");
    pool.get_ok(&page, &query("warmflush", "&flush=1"));
    disk.wait_stats("warmflush", &pool);
    assert_eq!(disk.segments(), 0, "the spool is empty before the disk fills");
    assert!(asyncbatch_lines(&pool).is_empty(), "no warning yet:\n{}", pool.php_errors());

    // The disk is full: 3 requests, 4 items of each cannot be spooled.
    let (filler, filled) = disk.tmpfs.fill("filler");
    let full = ["full0", "full1", "full2"];
    let mut times = Vec::new();
    for req in full {
        times.push(Millis(get_fast(&pool, &query(req, ""), req).elapsed).to_string());
        disk.wait_stats(req, &pool);
    }
    let stats = disk.stats();
    let lines = asyncbatch_lines(&pool);
    let dropped: Vec<i64> = full.iter().map(|r| stat(&stats[*r], "dropped")).collect();
    eprintln!(
        "[{side}] tmpfs filled ({filled} bytes, {} free): responses in {times:?}, `dropped` after each request \
         {dropped:?}; PHP error log:\n  {}",
        disk.tmpfs.free_bytes(),
        lines.join("\n  ")
    );
    match side {
        // Counters of the process: cumulative.
        Php::Extension => assert_eq!(dropped, [4, 8, 12], "{stats:?}"),
        // Counters of the request.
        Php::Polyfill => assert_eq!(dropped, [4, 4, 4], "{stats:?}"),
    }
    let before_free = lines.len();

    // Space again: items are spooled, nothing is dropped, a flush delivers the spool.
    fs::remove_file(&filler).expect("free the space");
    let free = ["free0", "free1"];
    for req in free {
        get_fast(&pool, &query(req, ""), req);
        let s = disk.wait_stats(req, &pool);
        let expect_dropped = if side == Php::Extension { 12 } else { 0 };
        assert_eq!(stat(&s, "dropped"), expect_dropped, "{req}: nothing more is dropped: {s}");
        assert!(stat(&s, "spooled") > 0, "{req}: items are spooled again: {s}");
    }
    pool.get_ok(&page, &query("final", "&flush=1"));
    disk.wait_stats("final", &pool);
    let counts = delivered(&out);
    let mut expected: Vec<String> =
        ["warm", "warmflush", "free0", "free1", "final"].iter().flat_map(|r| items(r, 6)).collect();
    for req in full {
        expected.extend(items(req, 2));
    }
    let wrong: Vec<String> = expected
        .iter()
        .filter(|i| counts.get(*i) != Some(&1))
        .map(|i| format!("{i} x{}", counts.get(i).unwrap_or(&0)))
        .chain(
            counts.keys().filter(|i| !expected.contains(i)).map(|i| format!("{i} (dropped, yet delivered)")),
        )
        .collect();
    eprintln!(
        "[{side}] after freeing the space: {} items delivered, spool files left: {}",
        counts.len(),
        disk.segments()
    );
    assert!(wrong.is_empty(), "delivered once each, the dropped ones never: {wrong:?}");
    assert_eq!(disk.segments(), 0, "the spool is empty after the flush");
    let lines = asyncbatch_lines(&pool);
    assert_eq!(lines.len(), before_free, "no new warning once there is space:\n{}", lines.join("\n"));
    pool.assert_no_worker_died();

    // One warning that says items were dropped: per process (extension), per
    // request (polyfill: no state survives a request); at most one more about the
    // journal that could not be written.
    let drops = drop_lines(&lines, "dropped");
    let (per, expected_warnings) = match side {
        Php::Extension => ("process", 1),
        Php::Polyfill => ("request", full.len()),
    };
    assert!(
        journal_lines(&lines) <= expected_warnings,
        "at most one journal warning per {per}:\n{}",
        lines.join("\n")
    );
    // The warning that the journal could not be written has its own once-per-
    // process slot: it must not silence the one saying that items were dropped.
    assert_eq!(
        drops.len(),
        expected_warnings,
        "one warning per {per} saying that items were dropped; the log:\n{}",
        lines.join("\n")
    );
    assert!(drops.iter().all(|l| l.contains("PHP Warning:")), "they are warnings: {drops:?}");
}

/// An HttpSink whose endpoint refuses every batch (400: no retry, the failure
/// store at once), the failure store on the full tmpfs.
fn http_sink_with_a_full_failure_store_disk_drops_counts_warns_and_recovers(side: Php) {
    let Some(disk) = Disk::new(side, "256k") else { return };
    let server = HttpServer::start();
    server.set_default(Reply::status(400, "no"));
    let pool = disk.pool(side).start(disk.sandbox.path());
    let query = |req: &str, k: usize| {
        format!(
            "mode=sink&req={req}&k={k}&batch=2&url={}&stats={}",
            url_encode(&server.url("/ingest")),
            url_encode(&disk.stats_file().display().to_string())
        )
    };
    let fail_files = || Sandbox::files_ending(&disk.failed, ".fail").len();

    // With room: 3 batches refused, stored.
    get_fast(&pool, &query("warm", 6), "warm-up");
    disk.wait_stats("warm", &pool);
    assert!(
        wait_until(AFTER_RESPONSE_TIMEOUT, Duration::from_millis(10), || fail_files() == 3),
        "3 batches stored: {}\n{}",
        fail_files(),
        pool.logs()
    );

    // The disk is full: 2 requests, their 6 batches refused and not storable.
    let (filler, filled) = disk.tmpfs.fill("filler");
    let full = ["full0", "full1"];
    let mut times = Vec::new();
    for req in full {
        times.push(Millis(get_fast(&pool, &query(req, 6), req).elapsed).to_string());
        disk.wait_stats(req, &pool);
    }
    let dropped_lines = || drop_lines(&asyncbatch_lines(&pool), "dropped 2 items").len();
    let logged = wait_until(AFTER_RESPONSE_TIMEOUT, Duration::from_millis(10), || {
        server.requests().len() >= 9 && dropped_lines() >= 1
    });
    // The extension's sender may still be storing; the counters say when it is done.
    let dropped_of = |label: &str| -> i64 {
        match side {
            Php::Extension => {
                get_fast(&pool, &query(label, 0), label);
                stat(&disk.wait_stats(label, &pool), "dropped")
            }
            Php::Polyfill => full.iter().map(|r| stat(&disk.stats()[*r], "dropped")).sum(),
        }
    };
    let mut n = 0;
    let all_dropped = wait_until(AFTER_RESPONSE_TIMEOUT, Duration::from_millis(50), || {
        n += 1;
        dropped_of(&format!("check{n}")) == 12
    });
    let lines = asyncbatch_lines(&pool);
    eprintln!(
        "[{side}] tmpfs filled ({filled} bytes): responses in {times:?}, {} POSTs, stats {:?}; PHP error log:\n  {}",
        server.requests().len(),
        disk.stats().get(&format!("check{n}")).or(disk.stats().get("full1")),
        lines.join("\n  ")
    );
    assert!(logged && all_dropped, "the 12 items of the full requests are counted dropped");
    assert_eq!(fail_files(), 3, "nothing more was stored");
    let drops = drop_lines(&lines, "dropped 2 items");
    // Failed batches the store refuses are logged each (as for its size cap);
    // once would do, one per batch at most.
    assert!((1..=6).contains(&drops.len()), "1 to 6 lines saying items were dropped:\n{}", lines.join("\n"));
    let per_request = if side == Php::Polyfill { full.len() } else { 1 };
    assert!(journal_lines(&lines) <= per_request, "at most one journal warning per request or process");

    // Space again: delivered when the endpoint takes them, stored when it refuses.
    fs::remove_file(&filler).expect("free the space");
    server.set_default(Reply::ok());
    get_fast(&pool, &query("ok", 6), "after freeing, accepted");
    disk.wait_stats("ok", &pool);
    let requests = server.wait_for(AFTER_RESPONSE_TIMEOUT, |r| {
        let got = received(r);
        items("ok", 6).iter().all(|i| got.contains_key(i))
    });
    let got = received(&requests);
    assert!(items("ok", 6).iter().all(|i| got.get(i) == Some(&1)), "posted once each: {got:?}");
    server.set_default(Reply::status(400, "no"));
    get_fast(&pool, &query("refused", 6), "after freeing, refused");
    disk.wait_stats("refused", &pool);
    assert!(
        wait_until(AFTER_RESPONSE_TIMEOUT, Duration::from_millis(10), || fail_files() == 6),
        "3 more batches stored: {}\n{}",
        fail_files(),
        pool.logs()
    );
    let after = match side {
        Php::Extension => dropped_of("last"),
        Php::Polyfill => {
            ["ok", "refused"].iter().map(|r| stat(&disk.stats()[*r], "dropped")).sum::<i64>() + 12
        }
    };
    eprintln!("[{side}] after freeing the space: 6 items posted, 3 batches stored, dropped {after} in all");
    assert_eq!(after, 12, "nothing more is dropped");
    let lines = asyncbatch_lines(&pool);
    assert_eq!(
        drop_lines(&lines, "dropped").len(),
        drops.len(),
        "no new drop once there is space:\n{}",
        lines.join("\n")
    );
    pool.assert_no_worker_died();
}

/// How many times each item (a JSON string) arrived in a request answered 2xx.
fn received(requests: &[Request]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for r in requests.iter().filter(|r| r.delivered()) {
        for item in r.items() {
            *counts.entry(item.as_str().unwrap_or("?").to_string()).or_insert(0) += 1;
        }
    }
    counts
}
