//! `AsyncBatch\HttpSink` with real processes and a real HTTP server on loopback
//! ([`HttpServer`]): php-fpm pages (`tests/php/http_sink_page.php`), CLI scripts
//! (`tests/php/http_sink_cli.php`), the daemon and `asyncbatch failed:retry` (both
//! loading `tests/php/http_sink_jobs.php`) post batches to it; the tests check
//! what arrived, in which order, on which connection, and when.
//!
//! Run with `--nocapture` to see the measured figures.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use asyncbatch_e2e::{
    fixture, not_run, percentile, read_status, repo_root, wait_until, Daemon, FcgiResponse, FpmBuilder,
    FpmPool, HttpServer, Json, Millis, Output, Php, PhpCommand, Reply, Request, Sandbox,
};

/// The longest wait for items to arrive at the server.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);

asyncbatch_e2e::on_both_sides!(
    batches_arrive_complete_and_in_order_per_worker,
    retries_wait_at_least_retry_after,
    batches_refused_with_a_4xx_are_stored_and_failed_retry_resends_them,
    gzip_bodies_decode_to_the_same_bytes,
    recycled_workers_lose_no_items,
    a_cli_script_does_not_wait_for_a_stalled_server_and_its_items_arrive_later,
    batches_reuse_one_connection,
    bodies_are_byte_for_byte_what_json_encode_gives,
);

/// Panics unless `side` works and has `AsyncBatch\HttpSink`.
fn check(side: Php) {
    if let Err(problem) = side.check() {
        panic!("the {side} is not usable: {problem}");
    }
    let out = side.cli().code(r#"echo class_exists('AsyncBatch\HttpSink') ? 'yes' : 'no';"#).run();
    assert_eq!(out.stdout_str(), "yes", "the {side} has no AsyncBatch\\HttpSink\n{}", out.stderr);
}

fn pool(side: Php, sandbox: &Sandbox) -> FpmBuilder {
    check(side);
    FpmPool::builder(side).ini("asyncbatch.runner", "shutdown").inis(sandbox.asyncbatch_ini())
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

/// The query of `http_sink_page.php`: `k` items tagged `tag`, more in `extra`
/// (`&batch=10&period=0.2`...).
fn page_query(server: &HttpServer, tag: &str, k: usize, extra: &str) -> String {
    format!("url={}&tag={tag}&k={k}{extra}", url_encode(&server.url("/ingest")))
}

/// `http_sink_cli.php` with `side`, the sandbox's directories and the sink's
/// settings in `env` (`AB_HTTP_*`).
fn cli(side: Php, sandbox: &Sandbox, server: &HttpServer, env: &[(&str, &str)], args: &[&str]) -> PhpCommand {
    check(side);
    let mut cmd = side
        .cli()
        .ini("log_errors", "0")
        .inis(sandbox.asyncbatch_ini())
        .ini("asyncbatch.runner", "shutdown")
        .env("AB_HTTP_URL", &server.url("/ingest"))
        .script(&fixture("http_sink_cli.php"), args)
        .timeout(Duration::from_secs(60));
    for (key, value) in env {
        cmd = cmd.env(key, value);
    }
    cmd
}

/// The name of an item: `{tag}-{s}` for the page's items, `p{p}-{s}` for the CLI's.
fn key(item: &Json) -> String {
    match item.get("tag").as_str() {
        Some(tag) => format!("{tag}-{}", item.get("s").as_i64().unwrap_or(-1)),
        None => format!("p{}-{}", item.get("p").as_i64().unwrap_or(-1), item.get("s").as_i64().unwrap_or(-1)),
    }
}

/// The Idempotency-Key of a request; panics unless it is a lowercase UUIDv7.
fn idempotency_key(r: &Request) -> String {
    let key = r.header("Idempotency-Key").unwrap_or_else(|| panic!("no Idempotency-Key: {:?}", r.headers));
    let ok = key.len() == 36
        && key.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            14 => c == '7',
            19 => matches!(c, '8' | '9' | 'a' | 'b'),
            _ => c.is_ascii_digit() || ('a'..='f').contains(&c),
        });
    assert!(ok, "not a UUIDv7: {key}");
    key.to_string()
}

/// How many times each item arrived in a request answered 2xx.
fn delivered(requests: &[Request]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for r in requests.iter().filter(|r| r.delivered()) {
        for item in r.items() {
            *counts.entry(key(&item)).or_insert(0) += 1;
        }
    }
    counts
}

fn keys(prefix: &str, requests: usize, k: usize) -> Vec<String> {
    (0..requests).flat_map(|r| (0..k).map(move |s| format!("{prefix}{r}-{s}"))).collect()
}

fn describe(requests: &[Request]) -> String {
    requests
        .iter()
        .map(|r| {
            let body = r.body_str();
            let body = if body.len() > 300 { format!("{}...", &body[..300]) } else { body };
            format!("  conn {} {:?}: {body}", r.connection, r.status())
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Waits until every item of `expected` arrived in a 2xx-answered request; panics
/// with what did arrive (and `logs`) otherwise. Returns the requests.
fn wait_delivered(server: &HttpServer, expected: &[String], logs: impl Fn() -> String) -> Vec<Request> {
    let requests = server.wait_for(DELIVERY_TIMEOUT, |r| {
        let got = delivered(r);
        expected.iter().all(|k| got.contains_key(k))
    });
    let got = delivered(&requests);
    let missing: Vec<&String> = expected.iter().filter(|k| !got.contains_key(*k)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} items did not arrive within {DELIVERY_TIMEOUT:?}: {:?}...\nrequests:\n{}\n{}",
        missing.len(),
        expected.len(),
        &missing[..missing.len().min(10)],
        describe(&requests),
        logs()
    );
    requests
}

/// Sends the requests `queries` to `pool`, `parallel` at a time; returns the responses in order.
fn send(pool: &FpmPool, script: &Path, queries: &[String], parallel: usize) -> Vec<FcgiResponse> {
    let mut out = Vec::new();
    for wave in queries.chunks(parallel) {
        let answers: Vec<FcgiResponse> = thread::scope(|s| {
            let handles: Vec<_> = wave.iter().map(|q| s.spawn(move || pool.get_ok(script, q))).collect();
            handles.into_iter().map(|h| h.join().expect("request thread")).collect()
        });
        out.extend(answers);
    }
    out
}

fn times(responses: &[FcgiResponse]) -> Vec<Duration> {
    responses.iter().map(|r| r.elapsed).collect()
}

fn batches_arrive_complete_and_in_order_per_worker(side: Php) {
    const REQUESTS: usize = 40;
    const K: usize = 7;
    const BATCH: usize = 10;
    let sandbox = Sandbox::new();
    let server = HttpServer::start();
    let counters = sandbox.join("counters");
    std::fs::create_dir_all(&counters).expect("create the counters directory");
    let pool = pool(side, &sandbox).children(2).start(sandbox.path());
    let script = fixture("http_sink_page.php");
    let extra = format!("&batch={BATCH}&period=0.2&counters={}", url_encode(&counters.display().to_string()));
    let queries: Vec<String> =
        (0..REQUESTS).map(|r| page_query(&server, &format!("r{r}"), K, &extra)).collect();

    let start = Instant::now();
    let responses = send(&pool, &script, &queries, 2);
    let sent_in = start.elapsed();
    let expected = keys("r", REQUESTS, K);
    let requests = wait_delivered(&server, &expected, || pool.logs());
    let all_in = start.elapsed();

    let batches: Vec<&Request> = requests.iter().filter(|r| r.delivered()).collect();
    let spanning = batches
        .iter()
        .filter(|r| {
            r.items()
                .iter()
                .map(|i| i.get("tag").as_str().unwrap_or("").to_string())
                .collect::<BTreeSet<_>>()
                .len()
                > 1
        })
        .count();
    let connections: BTreeSet<u64> = requests.iter().map(|r| r.connection).collect();
    let t = times(&responses);
    eprintln!(
        "[{side}] php-fpm, 2 workers, {REQUESTS} requests of {K} items, batchSize {BATCH}: {} POSTs \
         ({:.1} items each, {spanning} spanning requests) on {} connections; responses p50 {} p99 {}; \
         sent in {}, all items in {}",
        batches.len(),
        (REQUESTS * K) as f64 / batches.len() as f64,
        connections.len(),
        Millis(percentile(&t, 50.0)),
        Millis(percentile(&t, 99.0)),
        Millis(sent_in),
        Millis(all_in),
    );

    // Complete: every item once, every batch a whole JSON document of at most BATCH items.
    let counts = delivered(&requests);
    let twice: Vec<_> = counts.iter().filter(|(_, &n)| n > 1).collect();
    assert!(twice.is_empty(), "items delivered more than once: {twice:?}\n{}", describe(&requests));
    assert_eq!(counts.len(), REQUESTS * K, "unexpected items arrived:\n{}", describe(&requests));
    for r in &batches {
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/ingest");
        assert_eq!(r.header("Content-Type"), Some("application/json"));
        let n = r.items().len();
        assert!((1..=BATCH).contains(&n), "a batch of {n} items, batchSize {BATCH}: {}", r.body_str());
    }
    if side == Php::Extension {
        // Keep-alive: a worker's sender posts batch after batch on its connection.
        assert!(
            connections.len() <= 4,
            "{} connections for 2 workers:\n{}",
            connections.len(),
            describe(&requests)
        );
    }
    // In order per worker: (request number, sequence) only grows, batch after batch.
    let mut last: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for r in &batches {
        for item in r.items() {
            let (pid, n, s) = (
                item.get("pid").as_i64().unwrap(),
                item.get("n").as_i64().unwrap(),
                item.get("s").as_i64().unwrap(),
            );
            if let Some(&prev) = last.get(&pid) {
                assert!(
                    (n, s) > prev,
                    "worker {pid}: item n={n} s={s} arrived after n={} s={}\n{}",
                    prev.0,
                    prev.1,
                    describe(&requests)
                );
            }
            last.insert(pid, (n, s));
        }
    }
    pool.assert_no_worker_died();
}

fn retries_wait_at_least_retry_after(side: Php) {
    let sandbox = Sandbox::new();
    let server = HttpServer::start();
    server.push(Reply::retry_after(503, 1));
    server.push(Reply::retry_after(429, 2));
    let out = cli(
        side,
        &sandbox,
        &server,
        &[("AB_HTTP_DELAY", "0.01"), ("AB_HTTP_RETRIES", "5")],
        &["1", "3", "flush"],
    )
    .run();
    out.assert_success("http_sink_cli.php");
    let requests = server.requests();
    assert_eq!(requests.len(), 3, "503, 429, then 200:\n{}", describe(&requests));
    let statuses: Vec<Option<u16>> = requests.iter().map(Request::status).collect();
    assert_eq!(statuses, [Some(503), Some(429), Some(200)]);
    assert!(
        requests.iter().all(|r| r.body == requests[0].body),
        "the same batch each time:\n{}",
        describe(&requests)
    );
    let key = idempotency_key(&requests[0]);
    assert!(
        requests.iter().all(|r| idempotency_key(r) == key),
        "the same Idempotency-Key each time:\n{}",
        describe(&requests)
    );
    let first = requests[1].at - requests[0].at;
    let second = requests[2].at - requests[1].at;
    eprintln!(
        "[{side}] Retry-After 1 then 2 (retryDelay 0.01): waited {} then {}",
        Millis(first),
        Millis(second)
    );
    // Lower bounds exact; upper bounds with room for a loaded machine.
    assert!(
        first >= Duration::from_secs(1) && first < Duration::from_millis(2500),
        "waited {first:?} for Retry-After: 1"
    );
    assert!(
        second >= Duration::from_secs(2) && second < Duration::from_millis(3500),
        "waited {second:?} for Retry-After: 2"
    );
}

fn a_stalled_server_does_not_delay_php_fpm_responses() {
    const REQUESTS: usize = 60;
    const K: usize = 5;
    let side = Php::Extension;
    let sandbox = Sandbox::new();
    let server = HttpServer::start();
    let pool = pool(side, &sandbox).children(2).start(sandbox.path());
    let script = fixture("http_sink_page.php");
    let extra = "&batch=20&period=0.1&timeout=1&retries=100&delay=0.05";

    // Healthy server first: warm-up, and the response times to compare with.
    let warm: Vec<String> = (0..20).map(|r| page_query(&server, &format!("w{r}"), K, extra)).collect();
    let healthy = send(&pool, &script, &warm, 1);
    wait_delivered(&server, &keys("w", 20, K), || pool.logs());

    server.set_default(Reply::Hold);
    let stalled_at = Instant::now();
    let queries: Vec<String> =
        (0..REQUESTS).map(|r| page_query(&server, &format!("r{r}"), K, extra)).collect();
    let stalled = send(&pool, &script, &queries, 1);
    let sent_in = stalled_at.elapsed();
    // Keep it stalled for a while, longer than the sink's timeout.
    thread::sleep(Duration::from_millis(3000).saturating_sub(sent_in));
    let held = server.requests().iter().filter(|r| r.status().is_none()).count();
    server.set_default(Reply::ok());
    let recovered_at = Instant::now();
    let requests = wait_delivered(&server, &keys("r", REQUESTS, K), || pool.logs());
    let caught_up = recovered_at.elapsed();

    let (h, s) = (times(&healthy), times(&stalled));
    eprintln!(
        "[{side}] php-fpm responses while the server answers: p50 {} p99 {} max {}; while it stalls: p50 {} p99 {} max {} \
         ({REQUESTS} requests in {}, {held} POSTs held); all {} items in {} after it recovered ({} POSTs in all)",
        Millis(percentile(&h, 50.0)),
        Millis(percentile(&h, 99.0)),
        Millis(percentile(&h, 100.0)),
        Millis(percentile(&s, 50.0)),
        Millis(percentile(&s, 99.0)),
        Millis(percentile(&s, 100.0)),
        Millis(sent_in),
        REQUESTS * K,
        Millis(caught_up),
        requests.len(),
    );
    assert!(held >= 1, "no POST reached the stalled server:\n{}", describe(&requests));
    // A few ms each: cgi-fcgi's own start-up dominates. The median is as with a
    // healthy server (it does not move when another process takes a CPU now and
    // then, a p99 of 60 requests does); no response comes near the sink's 1 s
    // timeout, which a response waiting for the sender would take.
    let typical = percentile(&h, 50.0) * 3 + Duration::from_millis(50);
    assert!(
        percentile(&s, 50.0) < typical,
        "responses slowed down while the server stalled: p50 {} (limit {}: 3 x p50 with a healthy server + 50 ms)",
        Millis(percentile(&s, 50.0)),
        Millis(typical)
    );
    let timeout = Duration::from_secs(1);
    assert!(
        percentile(&s, 99.0) < timeout / 2,
        "a response waited for the stalled sender: p99 {}, max {} (the sink's timeout: {})",
        Millis(percentile(&s, 99.0)),
        Millis(percentile(&s, 100.0)),
        Millis(timeout)
    );
    pool.assert_no_worker_died();
}

#[test]
fn extension_a_stalled_server_does_not_delay_php_fpm_responses() {
    a_stalled_server_does_not_delay_php_fpm_responses();
}

/// `php/bin/asyncbatch ARGS` with `side` (`--polyfill` added for the polyfill),
/// the sandbox's directories and the sink's URL for the bootstrap.
fn asyncbatch(side: Php, sandbox: &Sandbox, server: &HttpServer, args: &[&str]) -> Output {
    let mut args: Vec<&str> = args.to_vec();
    if side == Php::Polyfill {
        args.push("--polyfill");
    }
    side.cli()
        .ini("log_errors", "0")
        .inis(sandbox.asyncbatch_ini())
        .env("AB_HTTP_URL", &server.url("/ingest"))
        .script(&repo_root().join("php/bin/asyncbatch"), &args)
        .timeout(Duration::from_secs(60))
        .run()
}

/// Items in the failure store, by `failed:list --json`.
fn stored_items(side: Php, sandbox: &Sandbox, server: &HttpServer) -> (i64, Json) {
    let out = asyncbatch(side, sandbox, server, &["failed:list", "--json"]);
    let list = Json::parse(&out.stdout_str()).unwrap_or(Json::Arr(Vec::new()));
    (list.items().iter().map(|f| f.get("items").as_i64().unwrap_or(0)).sum(), list)
}

fn batches_refused_with_a_4xx_are_stored_and_failed_retry_resends_them(side: Php) {
    const REQUESTS: usize = 6;
    const K: usize = 3;
    let sandbox = Sandbox::new();
    let server = HttpServer::start();
    server.set_default(Reply::status(400, "{\"error\":\"invalid token\"}"));
    let pool = pool(side, &sandbox).children(2).start(sandbox.path());
    let script = fixture("http_sink_page.php");
    let queries: Vec<String> =
        (0..REQUESTS).map(|r| page_query(&server, &format!("f{r}"), K, "&period=0.1&retries=3")).collect();
    send(&pool, &script, &queries, 2);

    let mut list = Json::Null;
    let stored = wait_until(DELIVERY_TIMEOUT, Duration::from_millis(100), || {
        let (n, l) = stored_items(side, &sandbox, &server);
        list = l;
        n == (REQUESTS * K) as i64
    });
    let requests = server.requests();
    assert!(
        stored,
        "the refused items did not all reach the failure store: {list}\n{}\n{}",
        describe(&requests),
        pool.logs()
    );
    // Permanent: one POST per batch, no retry.
    let posted: usize = requests.iter().map(|r| r.items().len()).sum();
    assert_eq!(posted, REQUESTS * K, "each refused batch is posted once:\n{}", describe(&requests));
    for file in list.items() {
        assert_eq!(file.get("attempts").as_i64(), Some(1), "stored at once: {file}");
        assert_eq!(
            file.get("lastError").as_str(),
            Some("HTTP 400 Bad Request: {\"error\":\"invalid token\"}"),
            "{file}"
        );
    }
    let refused = requests.len();
    let refused_keys: BTreeSet<String> = requests.iter().map(idempotency_key).collect();
    assert_eq!(refused_keys.len(), refused, "a key per batch:\n{}", describe(&requests));

    server.set_default(Reply::ok());
    let bootstrap = fixture("http_sink_jobs.php");
    let out = asyncbatch(
        side,
        &sandbox,
        &server,
        &["failed:retry", "--bootstrap", &bootstrap.display().to_string()],
    );
    out.assert_success("asyncbatch failed:retry");
    let expected_line = format!("Delivered {} items; 0 failed batches still stored", REQUESTS * K);
    assert!(
        out.stdout_str().contains(&expected_line),
        "failed:retry said:\n{}{}",
        out.stdout_str(),
        out.stderr
    );
    let requests = wait_delivered(&server, &keys("f", REQUESTS, K), || pool.logs());
    assert_eq!(stored_items(side, &sandbox, &server).0, 0, "the failure store is empty after the replay");
    // Each stored batch is sent again under the key it was refused with.
    let resent: BTreeSet<String> = requests[refused..].iter().map(idempotency_key).collect();
    assert_eq!(resent, refused_keys, "failed:retry sends the stored batches' keys:\n{}", describe(&requests));
    eprintln!(
        "[{side}] {} items refused with 400 in {refused} POSTs, stored in {} files; failed:retry resent them in {} POSTs",
        REQUESTS * K,
        list.items().len(),
        requests.len() - refused
    );
}

fn gzip_bodies_decode_to_the_same_bytes(side: Php) {
    let sandbox = Sandbox::new();
    let server = HttpServer::start();
    for (format, gzip) in [("json", "0"), ("json", "1"), ("ndjson", "0"), ("ndjson", "1")] {
        cli(
            side,
            &sandbox,
            &server,
            &[("AB_HTTP_FORMAT", format), ("AB_HTTP_GZIP", gzip)],
            &["1", "50", "flush"],
        )
        .run()
        .assert_success("http_sink_cli.php");
    }
    let r = server.requests();
    assert_eq!(r.len(), 4, "one POST per run:\n{}", describe(&r));
    for (plain, gz) in [(&r[0], &r[1]), (&r[2], &r[3])] {
        assert_eq!(plain.header("Content-Encoding"), None);
        assert_eq!(gz.header("Content-Encoding"), Some("gzip"));
        assert_eq!(gz.header_count("Content-Encoding"), 1);
        assert_eq!(gz.header("Content-Length"), Some(gz.wire_len.to_string().as_str()));
        assert_eq!(gz.body_str(), plain.body_str(), "the gunzipped body is the plain one");
        assert!(gz.wire_len < plain.wire_len, "gzip made it smaller: {} vs {}", gz.wire_len, plain.wire_len);
        assert_eq!(gz.items().len(), 50);
        eprintln!(
            "[{side}] {}: 50 items, {} bytes, {} gzipped",
            plain.header("Content-Type").unwrap_or("?"),
            plain.wire_len,
            gz.wire_len
        );
    }
}

fn recycled_workers_lose_no_items(side: Php) {
    const REQUESTS: usize = 16;
    const K: usize = 5;
    let sandbox = Sandbox::new();
    let server = HttpServer::start();
    let pool = pool(side, &sandbox).children(2).max_requests(1).start(sandbox.path());
    let script = fixture("http_sink_page.php");
    // Batches far from full and a long period: the items are still pending when
    // the worker exits after its request.
    let queries: Vec<String> =
        (0..REQUESTS).map(|r| page_query(&server, &format!("r{r}"), K, "&batch=1000&period=5")).collect();
    let start = Instant::now();
    let responses = send(&pool, &script, &queries, 2);
    let sent_in = start.elapsed();
    let requests = wait_delivered(&server, &keys("r", REQUESTS, K), || pool.logs());
    let pids: BTreeSet<String> = responses.iter().map(|r| r.body_str()).collect();
    let t = times(&responses);
    eprintln!(
        "[{side}] pm.max_requests=1: {REQUESTS} requests of {K} items by {} worker processes in {} (p50 {} p99 {}); \
         every item in {} POSTs, {} after the start",
        pids.len(),
        Millis(sent_in),
        Millis(percentile(&t, 50.0)),
        Millis(percentile(&t, 99.0)),
        requests.len(),
        Millis(start.elapsed()),
    );
    assert!(pids.len() >= REQUESTS / 2, "workers were recycled: {} distinct workers", pids.len());
    let twice: Vec<_> = delivered(&requests).into_iter().filter(|(_, n)| *n > 1).collect();
    assert!(twice.is_empty(), "items delivered more than once: {twice:?}");
    pool.assert_no_worker_died();
}

fn a_cli_script_does_not_wait_for_a_stalled_server_and_its_items_arrive_later(side: Php) {
    let sandbox = Sandbox::new();
    let server = HttpServer::start();
    server.set_default(Reply::Hold);
    // The extension waits asyncbatch.exit_timeout for its sender; the polyfill posts
    // at shutdown, where a request may take up to twice the sink's timeout and
    // asyncbatch.shutdown_budget stops it from starting another.
    let (limit, env) = match side {
        Php::Extension => (Duration::from_millis(2500), vec![("AB_HTTP_TIMEOUT", "5")]),
        Php::Polyfill => (Duration::from_millis(3500), vec![("AB_HTTP_TIMEOUT", "1")]),
    };
    let out = cli(side, &sandbox, &server, &env, &["1", "20"])
        .ini("asyncbatch.exit_timeout", "1")
        .ini("asyncbatch.shutdown_budget", "1")
        .run();
    out.assert_success("http_sink_cli.php");
    let segments = Sandbox::files_ending(&sandbox.spool_dir(), ".seg");
    let held_requests = server.requests();
    let held = held_requests.len();
    eprintln!(
        "[{side}] a CLI script with 20 items, the server stalling: exited after {} ({held} POSTs held), {} spool segment(s) left",
        Millis(out.elapsed),
        segments.len()
    );
    assert!(out.elapsed < limit, "the script took {} to exit, limit {}", Millis(out.elapsed), Millis(limit));
    assert!(!segments.is_empty(), "the undelivered items are in the spool:\n{}", out.stderr);

    server.set_default(Reply::ok());
    cli(side, &sandbox, &server, &[], &["2", "1"]).run().assert_success("the second run");
    let mut expected: Vec<String> = (0..20).map(|s| format!("p1-{s}")).collect();
    expected.push("p2-0".into());
    let requests = wait_delivered(&server, &expected, || {
        format!("spool: {:?}", Sandbox::files_ending(&sandbox.spool_dir(), ""))
    });
    assert!(
        wait_until(Duration::from_secs(5), Duration::from_millis(20), || Sandbox::files_ending(
            &sandbox.spool_dir(),
            ".seg"
        )
        .is_empty()),
        "the spool is empty once delivered"
    );
    eprintln!("[{side}] the next run delivered the spooled items ({} POSTs in all)", requests.len());
    // A batch that was posted (and held) is spooled with its id: the next run posts
    // it under the same Idempotency-Key.
    let later: BTreeSet<String> =
        requests[held..].iter().filter(|r| r.delivered()).map(idempotency_key).collect();
    for r in &held_requests {
        let key = idempotency_key(r);
        assert!(
            later.contains(&key),
            "the held batch {key} was posted again under another key:\n{}",
            describe(&requests)
        );
    }
}

fn bodies_are_byte_for_byte_what_json_encode_gives(side: Php) {
    check(side);
    let server = HttpServer::start();
    let mut posts = 0;
    for seed in 1..=4 {
        let out = side
            .cli()
            .script(&fixture("http_sink_json.php"), &[&server.url("/ingest"), &seed.to_string(), "50"])
            .timeout(Duration::from_secs(60))
            .run();
        out.assert_success("http_sink_json.php");
        let requests = server.requests();
        let stdout = out.stdout_str();
        let expected: Vec<&str> = stdout.lines().collect();
        let got = &requests[posts..];
        assert_eq!(got.len(), expected.len(), "one POST per batch (seed {seed})");
        for (i, (r, want)) in got.iter().zip(&expected).enumerate() {
            let hex: String = r.body.iter().map(|b| format!("{b:02x}")).collect();
            assert!(
                hex == **want,
                "seed {seed}, batch {i}: the body differs from json_encode()'s:\n got  {}\n want {}",
                r.body_str(),
                String::from_utf8_lossy(&unhex(want))
            );
        }
        posts = requests.len();
    }
    eprintln!("[{side}] {posts} bodies of random items, each byte for byte json_encode()'s");
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap_or(b'?')).collect()
}

fn batches_reuse_one_connection(side: Php) {
    if side == Php::Polyfill {
        let curl = Php::Polyfill.cli().code("echo extension_loaded('curl') ? 'yes' : 'no';").run();
        if curl.stdout_str() != "yes" {
            not_run(
                "the curl extension is not loaded: without it the polyfill opens a connection per request",
            );
            return;
        }
    }
    let sandbox = Sandbox::new();
    let server = HttpServer::start();
    cli(side, &sandbox, &server, &[("AB_HTTP_BATCH", "2")], &["1", "10", "flush"])
        .run()
        .assert_success("http_sink_cli.php");
    let requests = server.requests();
    assert_eq!(requests.len(), 5, "5 batches of 2:\n{}", describe(&requests));
    let connections: BTreeSet<u64> = requests.iter().map(|r| r.connection).collect();
    eprintln!("[{side}] 5 batches from one process on {} connection(s)", connections.len());
    assert_eq!(connections.len(), 1, "keep-alive: one connection for every batch:\n{}", describe(&requests));
    assert_eq!(requests[4].on_connection, 5);
}

#[test]
fn extension_the_daemon_delivers_http_sink_jobs() {
    const PRODUCERS: usize = 2;
    const ITEMS: usize = 2000;
    check(Php::Extension);
    let sandbox = Sandbox::new();
    let server = HttpServer::start();
    let url = server.url("/ingest");
    let mut daemon = Daemon::builder(&sandbox, &fixture("http_sink_jobs.php"))
        .env("AB_HTTP_URL", &url)
        .env("AB_HTTP_BATCH", 500)
        .env("AB_HTTP_PERIOD", 0.1)
        .env("AB_HTTP_FORMAT", "ndjson")
        .log(&sandbox.join("daemon.log"))
        .start();
    let start = Instant::now();
    let outputs: Vec<Output> = thread::scope(|s| {
        let handles: Vec<_> = (1..=PRODUCERS)
            .map(|p| {
                let (sandbox, url) = (&sandbox, &url);
                s.spawn(move || {
                    Php::Extension
                        .cli()
                        .ini("log_errors", "0")
                        .inis(sandbox.daemon_ini())
                        .env("AB_HTTP_URL", url)
                        .script(&fixture("http_sink_cli.php"), &[&p.to_string(), &ITEMS.to_string(), "flush"])
                        .timeout(Duration::from_secs(60))
                        .run()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("producer thread")).collect()
    });
    for out in &outputs {
        out.assert_success("producer");
    }
    let expected: Vec<String> =
        (1..=PRODUCERS).flat_map(|p| (0..ITEMS).map(move |s| format!("p{p}-{s}"))).collect();
    let log = sandbox.join("daemon.log");
    let requests = wait_delivered(&server, &expected, || {
        format!("--- daemon output ---\n{}\n--- daemon log ---\n{}", daemon.output(), read(&log))
    });
    let took = start.elapsed();
    let duplicates: usize = delivered(&requests).values().map(|n| n - 1).sum();
    // The daemon counts the http requests in its status, rewritten every second.
    let mut status = Json::Null;
    let counted = wait_until(Duration::from_secs(5), Duration::from_millis(100), || {
        status = read_status(&sandbox.spool_dir()).unwrap_or(Json::Null);
        status.at(&["jobs", "e2e", "http", "requests"]).as_i64().unwrap_or(0) >= requests.len() as i64
    });
    eprintln!(
        "[extension] daemon, {PRODUCERS} producers x {ITEMS} items: all in {} POSTs in {} ({} duplicates); status http: {}",
        requests.len(),
        Millis(took),
        duplicates,
        status.at(&["jobs", "e2e", "http"])
    );
    assert!(
        counted,
        "daemon.status counts the job's HTTP requests ({} sent): {}",
        requests.len(),
        status.at(&["jobs", "e2e"])
    );
    assert!(requests.iter().all(|r| r.header("Content-Type") == Some("application/x-ndjson")));
    let (exit, took) = daemon.terminate(Duration::from_secs(15));
    assert!(exit.is_some(), "the daemon exits on SIGTERM: still running after {}", Millis(took));
}

fn read(path: &PathBuf) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn extension_a_daemon_killed_mid_post_posts_the_batch_again_under_the_same_key() {
    check(Php::Extension);
    let sandbox = Sandbox::new();
    let server = HttpServer::start();
    server.set_default(Reply::Hold);
    let url = server.url("/ingest");
    let daemon = |sandbox: &Sandbox| {
        Daemon::builder(sandbox, &fixture("http_sink_jobs.php"))
            .env("AB_HTTP_URL", &url)
            .env("AB_HTTP_BATCH", 10)
            .env("AB_HTTP_PERIOD", 0.1)
            .env("AB_HTTP_TIMEOUT", 60)
            .log(&sandbox.join("daemon.log"))
            .start()
    };
    let mut first = daemon(&sandbox);
    Php::Extension
        .cli()
        .ini("log_errors", "0")
        .inis(sandbox.daemon_ini())
        .env("AB_HTTP_URL", &url)
        .script(&fixture("http_sink_cli.php"), &["1", "10", "flush"])
        .timeout(Duration::from_secs(60))
        .run()
        .assert_success("producer");
    let held = server.wait_for(DELIVERY_TIMEOUT, |r| !r.is_empty());
    assert_eq!(held.len(), 1, "one batch of 10 is posted and held:\n{}", describe(&held));
    let key = idempotency_key(&held[0]);

    // SIGKILL mid-post: the worker recorded no progress, so the next one cuts the
    // same items from the same segment again, and derives the same id.
    first.kill_all();
    server.set_default(Reply::ok());
    let mut second = daemon(&sandbox);
    let expected: Vec<String> = (0..10).map(|s| format!("p1-{s}")).collect();
    let requests = wait_delivered(&server, &expected, || second.output());
    let again: Vec<String> = requests[1..].iter().map(idempotency_key).collect();
    eprintln!("[extension] held under {key}; after SIGKILL of the daemon posted again under {again:?}");
    assert_eq!(again, [key], "posted again once, under the same key:\n{}", describe(&requests));
    let (exit, took) = second.terminate(Duration::from_secs(15));
    assert!(exit.is_some(), "the daemon exits on SIGTERM: still running after {}", Millis(took));
}
