//! The shutdown runner under real php-fpm, for the extension and the polyfill:
//! responses leave before delivery, every item is delivered exactly once after
//! them, failed batches land in the failure store, late items go through the
//! spool, concurrent workers claim spool segments without duplicates, the
//! shutdown budget spools what it cannot deliver, recycled workers lose nothing,
//! and a worker killed mid-batch loses nothing (the write-ahead journal).
//!
//! Run with `--nocapture` to see the measured figures.

use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use asyncbatch_e2e::{
    delivery_counts, fixture, percentile, read_batches, wait_until, write_segment, Batch, FcgiResponse,
    FpmPool, Millis, Php, Sandbox,
};

/// Items per batch of the test job.
const BATCH_SIZE: usize = 4;
/// Items each request submits: two batches, 4 + 2.
const ITEMS_PER_REQUEST: usize = 6;
/// Work the callable does per batch.
const CALLABLE_MS: u64 = 500;
/// A response must arrive before one batch's work could have been done: a
/// response held for delivery would take at least [`CALLABLE_MS`]; one on time
/// takes a few ms, and well under this on a loaded machine.
const RESPONSE_LIMIT: Duration = Duration::from_millis(CALLABLE_MS);
/// Requests sent together; never more than the pool's 2 workers, so that no
/// request waits for a worker still delivering the previous one's batches.
const WAVES: [usize; 12] = [1, 2, 1, 2, 2, 1, 2, 2, 1, 2, 2, 2];
/// Longest wait for a delivery that should take about a second.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(15);

asyncbatch_e2e::on_both_sides!(
    responses_leave_before_delivery_and_every_item_is_delivered_once,
    a_failing_callable_leaves_a_fail_file_and_the_worker_serves_on,
    items_submitted_from_a_destructor_are_delivered_by_a_later_request,
    spooled_segments_claimed_by_two_workers_at_once_are_delivered_once,
    the_shutdown_budget_spools_what_it_cannot_deliver_for_a_later_request,
    workers_recycled_after_every_request_lose_nothing,
    a_worker_killed_mid_batch_by_request_terminate_timeout_loses_nothing,
);

fn start_pool(side: Php, sandbox: &Sandbox, children: u32) -> FpmPool {
    pool_builder(side, sandbox).children(children).start(sandbox.path())
}

fn pool_builder(side: Php, sandbox: &Sandbox) -> asyncbatch_e2e::FpmBuilder {
    if let Err(problem) = side.check() {
        panic!("the {side} is not usable: {problem}");
    }
    FpmPool::builder(side).ini("asyncbatch.runner", "shutdown").inis(sandbox.asyncbatch_ini())
}

fn spool_segments(sandbox: &Sandbox) -> Vec<std::path::PathBuf> {
    Sandbox::files_ending(&sandbox.spool_dir(), ".seg")
}

/// The query string of `tests/php/fpm_job.php`: `items` items tagged `req`, a
/// callable working `sleep_ms` per batch, more parameters in `extra`.
fn job_query(out: &std::path::Path, req: &str, items: usize, sleep_ms: u64, extra: &str) -> String {
    format!(
        "out={}&req={req}&k={items}&batch={BATCH_SIZE}&sleep_ms={sleep_ms}{extra}",
        url_encode(&out.display().to_string())
    )
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

fn items_of(req: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{req}-{i}")).collect()
}

fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_secs_f64()
}

fn pid_of(response: &FcgiResponse) -> i32 {
    response
        .body_str()
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("body is not a pid: {:?}", response.body_str()))
}

fn describe(batches: &[Batch]) -> String {
    batches
        .iter()
        .map(|b| format!("  pid {} at {:.3}: {}", b.pid, b.at, b.items.join(",")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Waits until every item of `expected` is in the batch log; panics with the log
/// and php-fpm's logs if that takes longer than [`DELIVERY_TIMEOUT`].
fn wait_delivered(pool: &FpmPool, out: &std::path::Path, expected: &[String], what: &str) -> Vec<Batch> {
    let mut batches = Vec::new();
    let done = wait_until(DELIVERY_TIMEOUT, Duration::from_millis(10), || {
        batches = read_batches(out);
        let counts = delivery_counts(&batches);
        expected.iter().all(|item| counts.contains_key(item))
    });
    assert!(
        done,
        "{what}: not delivered within {DELIVERY_TIMEOUT:?}: {:?}\nbatches so far:\n{}\n{}",
        expected.iter().filter(|i| !delivery_counts(&batches).contains_key(*i)).collect::<Vec<_>>(),
        describe(&batches),
        pool.logs()
    );
    batches
}

fn responses_leave_before_delivery_and_every_item_is_delivered_once(side: Php) {
    let sandbox = Sandbox::new();
    let pool = start_pool(side, &sandbox, 2);
    let out = sandbox.join("batches.log");
    let script = fixture("fpm_job.php");
    // Warm up both workers (first compile of the scripts) with a request that
    // delivers at once.
    thread::scope(|s| {
        for w in 0..2 {
            let query = job_query(&out, &format!("warm{w}"), 1, 0, "");
            let (pool, script) = (&pool, &script);
            s.spawn(move || pool.get_ok(script, &query));
        }
    });
    wait_delivered(&pool, &out, &["warm0-0".into(), "warm1-0".into()], "warm-up");

    struct Sent {
        req: String,
        pid: i32,
        elapsed: Duration,
        answered_at: f64,
    }
    let mut sent: Vec<Sent> = Vec::new();
    let start = Instant::now();
    let mut next = 0;
    for wave in WAVES {
        let reqs: Vec<String> = (next..next + wave).map(|n| format!("r{n}")).collect();
        next += wave;
        let answers: Vec<Sent> = thread::scope(|s| {
            let handles: Vec<_> = reqs
                .iter()
                .map(|req| {
                    let query = job_query(&out, req, ITEMS_PER_REQUEST, CALLABLE_MS, "");
                    let (pool, script) = (&pool, &script);
                    s.spawn(move || {
                        let response = pool.get_ok(script, &query);
                        let answered_at = unix_now();
                        Sent {
                            req: req.clone(),
                            pid: pid_of(&response),
                            elapsed: response.elapsed,
                            answered_at,
                        }
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("request thread")).collect()
        });
        let expected: Vec<String> = reqs.iter().flat_map(|r| items_of(r, ITEMS_PER_REQUEST)).collect();
        wait_delivered(&pool, &out, &expected, &format!("items of {reqs:?}"));
        sent.extend(answers);
        // Let the workers finish their shutdown and get back to accept().
        thread::sleep(Duration::from_millis(50));
    }
    let total = start.elapsed();
    let batches: Vec<Batch> =
        read_batches(&out).into_iter().filter(|b| !b.items[0].starts_with("warm")).collect();

    // The figures first, so that they are there even when a check fails.
    let times: Vec<Duration> = sent.iter().map(|s| s.elapsed).collect();
    let mut delivery: Vec<Duration> = Vec::new();
    for s in &sent {
        let last = batches
            .iter()
            .filter(|b| b.items.iter().any(|i| i.starts_with(&format!("{}-", s.req))))
            .map(|b| b.at)
            .fold(f64::MIN, f64::max);
        delivery.push(Duration::from_secs_f64((last - s.answered_at).max(0.0)));
    }
    eprintln!(
        "[{side}] php-fpm, 2 workers, {} requests of {ITEMS_PER_REQUEST} items, batchSize {BATCH_SIZE}, callable {CALLABLE_MS} ms per batch",
        sent.len()
    );
    eprintln!(
        "[{side}] response time (cgi-fcgi start to end of response): p50 {}, p90 {}, max {}",
        Millis(percentile(&times, 50.0)),
        Millis(percentile(&times, 90.0)),
        Millis(percentile(&times, 100.0))
    );
    eprintln!(
        "[{side}] last batch of a request delivered after its response: p50 {}, max {} (2 batches x {CALLABLE_MS} ms of work)",
        Millis(percentile(&delivery, 50.0)),
        Millis(percentile(&delivery, 100.0))
    );
    eprintln!(
        "[{side}] {} items in {} batches, all delivered, {:.2} s for the whole run",
        sent.len() * ITEMS_PER_REQUEST,
        batches.len(),
        total.as_secs_f64()
    );

    for s in &sent {
        assert!(
            s.elapsed < RESPONSE_LIMIT,
            "[{side}] request {} took {} to answer: delivery ({CALLABLE_MS} ms per batch) must come after the response\n{}",
            s.req,
            Millis(s.elapsed),
            pool.logs()
        );
    }
    let counts = delivery_counts(&batches);
    for s in &sent {
        for item in items_of(&s.req, ITEMS_PER_REQUEST) {
            assert_eq!(counts.get(&item), Some(&1), "[{side}] {item} delivered once\n{}", describe(&batches));
        }
    }
    assert_eq!(
        counts.len(),
        sent.len() * ITEMS_PER_REQUEST,
        "[{side}] no stray items\n{}",
        describe(&batches)
    );
    for batch in &batches {
        assert!(batch.items.len() <= BATCH_SIZE, "[{side}] batch larger than batchSize: {batch:?}");
    }
    for s in &sent {
        // The worker that took the items delivers them, in order, after its response.
        let delivered: Vec<(&String, i32)> = batches
            .iter()
            .flat_map(|b| b.items.iter().map(move |i| (i, b.pid)))
            .filter(|(i, _)| i.starts_with(&format!("{}-", s.req)))
            .collect();
        let order: Vec<&String> = delivered.iter().map(|(i, _)| *i).collect();
        assert_eq!(
            order,
            items_of(&s.req, ITEMS_PER_REQUEST).iter().collect::<Vec<_>>(),
            "[{side}] order of {}",
            s.req
        );
        assert!(
            delivered.iter().all(|(_, pid)| *pid == s.pid),
            "[{side}] items of {} (served by pid {}) delivered by its worker:\n{}",
            s.req,
            s.pid,
            describe(&batches)
        );
    }
    pool.assert_no_worker_died();
    assert!(!pool.php_errors().contains("PHP Fatal error"), "{}", pool.logs());
}

fn a_failing_callable_leaves_a_fail_file_and_the_worker_serves_on(side: Php) {
    let sandbox = Sandbox::new();
    let pool = start_pool(side, &sandbox, 1);
    let out = sandbox.join("batches.log");
    let script = fixture("fpm_job.php");

    // Two attempts of CALLABLE_MS each before the callable gives up: a response
    // held for them would take twice RESPONSE_LIMIT.
    let start = Instant::now();
    let bad = pool.get_ok(&script, &job_query(&out, "bad", 3, CALLABLE_MS, "&mode=throw&retries=1"));
    let fail_files = || asyncbatch_e2e::Sandbox::files_ending(&sandbox.failure_dir(), ".fail");
    let stored = wait_until(DELIVERY_TIMEOUT, Duration::from_millis(10), || !fail_files().is_empty());
    let stored_after = start.elapsed();
    assert!(
        stored,
        "[{side}] no .fail file in {} after a batch failed every attempt\n{}",
        sandbox.failure_dir().display(),
        pool.logs()
    );
    eprintln!(
        "[{side}] throwing callable: response {}, batch in the failure store after {}",
        Millis(bad.elapsed),
        Millis(stored_after)
    );
    assert!(
        bad.elapsed < RESPONSE_LIMIT,
        "[{side}] response took {}: retries come after it",
        Millis(bad.elapsed)
    );

    let files = fail_files();
    assert_eq!(files.len(), 1, "[{side}] one failed batch, one file: {files:?}");
    let bytes = std::fs::read(&files[0]).expect("read the .fail file");
    assert!(
        bytes.starts_with(b"ABFAIL"),
        "[{side}] .fail file starts with the magic: {:?}",
        &bytes[..bytes.len().min(16)]
    );
    for needle in ["bad-0", "bad-1", "bad-2", "e2e: the sink refused the batch"] {
        assert!(contains(&bytes, needle.as_bytes()), "[{side}] the .fail file holds {needle:?}");
    }

    // The same (only) worker answers the next request and delivers its items.
    let good = pool.get_ok(&script, &job_query(&out, "good", 2, 0, ""));
    assert_eq!(pid_of(&good), pid_of(&bad), "[{side}] the worker that ran the throwing callable serves on");
    let batches = wait_delivered(&pool, &out, &items_of("good", 2), "items after a failure");
    assert!(
        batches.iter().all(|b| b.items.iter().all(|i| !i.starts_with("bad-"))),
        "[{side}] the failed batch is not delivered by a later request\n{}",
        describe(&batches)
    );
    assert_eq!(fail_files().len(), 1, "[{side}] the failed batch stays in the store");
    pool.assert_no_worker_died();
    assert!(
        pool.php_errors().contains("asyncbatch: "),
        "[{side}] the failure is logged with an `asyncbatch: ` line\n{}",
        pool.logs()
    );
}

fn items_submitted_from_a_destructor_are_delivered_by_a_later_request(side: Php) {
    let sandbox = Sandbox::new();
    let pool = start_pool(side, &sandbox, 2);
    let out = sandbox.join("batches.log");
    let script = fixture("fpm_job.php");

    let first = pool.get_ok(&script, &job_query(&out, "a", 2, 0, "&mode=late"));
    wait_delivered(&pool, &out, &items_of("a", 2), "items of the first request");
    thread::sleep(Duration::from_millis(300));
    let early = delivery_counts(&read_batches(&out)).contains_key("a-late");
    let segments = spool_segments(&sandbox);
    eprintln!(
        "[{side}] item submitted from a destructor: delivered by its own request: {early}, spool segments waiting: {}",
        segments.len()
    );

    let start = Instant::now();
    let second = pool.get_ok(&script, &job_query(&out, "b", 1, 0, ""));
    let expected = vec!["a-late".to_string(), "b-0".to_string()];
    let batches = wait_delivered(&pool, &out, &expected, "the late item, by a later request");
    eprintln!(
        "[{side}] late item delivered {} after the next request (pid {} then pid {})",
        Millis(start.elapsed()),
        pid_of(&first),
        pid_of(&second)
    );
    let counts = delivery_counts(&batches);
    for item in ["a-0", "a-1", "a-late", "b-0"] {
        assert_eq!(counts.get(item), Some(&1), "[{side}] {item} delivered once\n{}", describe(&batches));
    }
    let drained =
        wait_until(Duration::from_secs(5), Duration::from_millis(20), || spool_segments(&sandbox).is_empty());
    assert!(drained, "[{side}] a delivered segment is removed from the spool");
    pool.assert_no_worker_died();
}

fn spooled_segments_claimed_by_two_workers_at_once_are_delivered_once(side: Php) {
    let sandbox = Sandbox::new();
    let pool = start_pool(side, &sandbox, 2);
    let out = sandbox.join("batches.log");
    let script = fixture("fpm_job.php");

    // Eight segments of three items (one frame each) for the job, written by
    // the test in the documented format.
    let mut spooled = Vec::new();
    for n in 0..8 {
        let items: Vec<String> = items_of(&format!("seg{n}"), 3);
        write_segment(&sandbox.spool_dir(), "e2e", std::slice::from_ref(&items));
        spooled.extend(items);
    }
    let segments = spool_segments(&sandbox).len();
    assert_eq!(segments, 8);

    // Two requests at once: both workers claim segments; each must get its own.
    thread::scope(|s| {
        for n in 0..2 {
            let query = job_query(&out, &format!("c{n}"), 1, 100, "");
            let (pool, script) = (&pool, &script);
            s.spawn(move || pool.get_ok(script, &query));
        }
    });
    let mut expected = spooled.clone();
    expected.extend(["c0-0".to_string(), "c1-0".to_string()]);
    wait_delivered(&pool, &out, &expected, "spooled items after two concurrent requests");
    thread::sleep(Duration::from_millis(300));
    let batches = read_batches(&out);
    let counts = delivery_counts(&batches);
    let pids: std::collections::BTreeSet<i32> =
        batches.iter().filter(|b| b.items.iter().any(|i| i.starts_with("seg"))).map(|b| b.pid).collect();
    eprintln!(
        "[{side}] {segments} spool segments claimed by 2 concurrent requests: their items delivered by {} worker(s)",
        pids.len()
    );
    for item in &expected {
        assert_eq!(counts.get(item), Some(&1), "[{side}] {item} delivered once\n{}", describe(&batches));
    }
    assert!(
        spool_segments(&sandbox).is_empty(),
        "[{side}] the spool is empty: {:?}",
        spool_segments(&sandbox)
    );
    pool.assert_no_worker_died();
}

fn the_shutdown_budget_spools_what_it_cannot_deliver_for_a_later_request(side: Php) {
    let sandbox = Sandbox::new();
    let pool =
        pool_builder(side, &sandbox).ini("asyncbatch.shutdown_budget", 1).children(2).start(sandbox.path());
    let out = sandbox.join("batches.log");
    let script = fixture("fpm_job.php");

    // 5 batches of 500 ms against a budget of 1 s: the first batch always goes,
    // then delivery stops before the estimate says the budget is exceeded.
    let start = Instant::now();
    let first = pool.get_ok(&script, &job_query(&out, "big", 20, CALLABLE_MS, ""));
    assert!(first.elapsed < RESPONSE_LIMIT, "[{side}] response in {}", Millis(first.elapsed));
    let stopped =
        wait_until(DELIVERY_TIMEOUT, Duration::from_millis(10), || !spool_segments(&sandbox).is_empty());
    assert!(
        stopped,
        "[{side}] what the budget leaves is spooled\n{}\n{}",
        describe(&read_batches(&out)),
        pool.logs()
    );
    thread::sleep(Duration::from_millis(200));
    let within_budget = read_batches(&out);
    let spent = start.elapsed();
    eprintln!(
        "[{side}] shutdown budget 1 s, 5 batches of {CALLABLE_MS} ms: {} delivered at shutdown, the rest spooled after {}",
        within_budget.len(),
        Millis(spent)
    );
    assert!(
        (1..=3).contains(&within_budget.len()),
        "[{side}] the budget stops delivery after 1 to 3 batches of {CALLABLE_MS} ms\n{}",
        describe(&within_budget)
    );

    pool.get_ok(&script, &job_query(&out, "next", 1, 0, ""));
    let mut expected = items_of("big", 20);
    expected.push("next-0".into());
    let batches = wait_delivered(&pool, &out, &expected, "the spooled rest, by the next request");
    let counts = delivery_counts(&batches);
    for item in &expected {
        assert_eq!(counts.get(item), Some(&1), "[{side}] {item} delivered once\n{}", describe(&batches));
    }
    let order: Vec<&String> =
        batches.iter().flat_map(|b| &b.items).filter(|i| i.starts_with("big-")).collect();
    assert_eq!(
        order,
        items_of("big", 20).iter().collect::<Vec<_>>(),
        "[{side}] the spooled rest keeps its order"
    );
    pool.assert_no_worker_died();
}

fn workers_recycled_after_every_request_lose_nothing(side: Php) {
    let sandbox = Sandbox::new();
    let pool = pool_builder(side, &sandbox).children(2).max_requests(1).start(sandbox.path());
    let out = sandbox.join("batches.log");
    let script = fixture("fpm_job.php");

    let start = Instant::now();
    let mut pids = std::collections::BTreeSet::new();
    let mut expected = Vec::new();
    for wave in 0..4 {
        let reqs = [format!("w{wave}a"), format!("w{wave}b")];
        thread::scope(|s| {
            let handles: Vec<_> = reqs
                .iter()
                .map(|req| {
                    let query = job_query(&out, req, 5, 0, "");
                    let (pool, script) = (&pool, &script);
                    s.spawn(move || pid_of(&pool.get_ok(script, &query)))
                })
                .collect();
            pids.extend(handles.into_iter().map(|h| h.join().expect("request thread")));
        });
        let items: Vec<String> = reqs.iter().flat_map(|r| items_of(r, 5)).collect();
        wait_delivered(&pool, &out, &items, "items of recycled workers");
        expected.extend(items);
    }
    eprintln!(
        "[{side}] pm.max_requests=1: 8 requests served by {} worker processes, all delivered in {}",
        pids.len(),
        Millis(start.elapsed())
    );
    assert!(pids.len() >= 6, "[{side}] workers were recycled: pids {pids:?}");
    let batches = read_batches(&out);
    let counts = delivery_counts(&batches);
    for item in &expected {
        assert_eq!(counts.get(item), Some(&1), "[{side}] {item} delivered once\n{}", describe(&batches));
    }
    pool.assert_no_worker_died();
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// php-fpm kills a worker whose request (with `request_terminate_timeout_track_finished`,
/// delivery after the response included) outlives `request_terminate_timeout`: no RSHUTDOWN, no shutdown function. What
/// it was delivering was journaled before the callable ran, with its progress, so
/// the next request delivers the batch in flight and the rest, each item once.
fn a_worker_killed_mid_batch_by_request_terminate_timeout_loses_nothing(side: Php) {
    let sandbox = Sandbox::new();
    // The timeout covers the time after fastcgi_finish_request() only when told to.
    let pool = pool_builder(side, &sandbox)
        .pool_setting("request_terminate_timeout", "2s")
        .pool_setting("request_terminate_timeout_track_finished", "yes")
        .start(sandbox.path());
    let out = sandbox.join("batches.log");
    let script = fixture("fpm_job.php");

    // 10 items in batches of 4: the first is delivered, the second hangs.
    let first = pool.get_ok(&script, &job_query(&out, "big", 10, 0, "&hang_on=big-5"));
    assert!(first.elapsed < RESPONSE_LIMIT, "[{side}] response in {}", Millis(first.elapsed));
    let killed_pid = pid_of(&first);
    let killed = wait_until(Duration::from_secs(15), Duration::from_millis(50), || {
        !asyncbatch_e2e::pid_alive(killed_pid)
    });
    assert!(
        killed,
        "[{side}] php-fpm kills worker {killed_pid} after 2 s\n{}\n{}\n{}",
        describe(&read_batches(&out)),
        std::fs::read_to_string(pool.dir().join("php-fpm.conf")).unwrap_or_default(),
        pool.logs()
    );
    let before = read_batches(&out);
    assert_eq!(
        before.iter().flat_map(|b| b.items.clone()).collect::<Vec<_>>(),
        items_of("big", 4),
        "[{side}] the first batch was delivered before the kill\n{}",
        describe(&before)
    );
    let journals = Sandbox::files_ending(&sandbox.spool_dir(), ".part");
    let progress = Sandbox::files_ending(&sandbox.spool_dir(), ".done");
    eprintln!(
        "[{side}] worker {killed_pid} killed mid-batch; left in the spool: {} journal(s), {} progress file(s)",
        journals.len(),
        progress.len()
    );
    assert_eq!(journals.len(), 1, "[{side}] the journal is left behind\n{}", pool.logs());
    assert_eq!(progress.len(), 1, "[{side}] with its progress\n{}", pool.logs());

    pool.get_ok(&script, &job_query(&out, "next", 1, 0, ""));
    let mut expected = items_of("big", 10);
    expected.push("next-0".into());
    let batches = wait_delivered(&pool, &out, &expected, "the journal, by the next request");
    let counts = delivery_counts(&batches);
    for item in &expected {
        assert_eq!(counts.get(item), Some(&1), "[{side}] {item} delivered once\n{}", describe(&batches));
    }
    let settled = wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
        Sandbox::files_holding_items(&sandbox.spool_dir()).is_empty()
    });
    assert!(
        settled,
        "[{side}] nothing is left in the spool but the workers' emptied journal files: {:?}",
        Sandbox::files_holding_items(&sandbox.spool_dir())
    );
}
