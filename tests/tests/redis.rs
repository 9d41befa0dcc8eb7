//! Many hosts over Redis Streams, with real processes on loopback: a real
//! redis-server (append-only file, `appendfsync always`), producer "hosts" whose
//! daemon forwards (`asyncbatch daemon --forward`), consumer "hosts" running
//! `asyncbatch consume`, each host a sandbox of its own (spool, failure store,
//! queue). The consumers' callables (`tests/php/daemon_jobs.php`) append one line
//! per batch to a file; every item must arrive, duplicates are counted.
//!
//! Run with `--nocapture` to see the measured figures.

use std::path::Path;
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use asyncbatch_e2e::{
    asyncbatch_cli, delivery_counts, fixture, read_batches, run_with_timeout, wait_until, Batch, Daemon,
    DaemonBuilder, Hosts, HttpServer, Json, Millis, Php, RedisServer, Sandbox,
};

/// The longest wait for every item to arrive.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(90);

/// One at a time: on 2 cores, two of these would measure each other.
static HEAVY: Mutex<()> = Mutex::new(());

fn heavy() -> std::sync::MutexGuard<'static, ()> {
    HEAVY.lock().unwrap_or_else(|e| e.into_inner())
}

/// A producer host's daemon, forwarding to Redis at `url`; what its callables would
/// deliver (nothing, when it forwards) goes to `out`.
fn forwarder(host: &Sandbox, url: &str, out: &Path) -> DaemonBuilder {
    Daemon::builder(host, &fixture("daemon_jobs.php"))
        .env("AB_E2E_OUT", out.display())
        .env("AB_E2E_BATCH", 500)
        .env("AB_E2E_PERIOD", 0.1)
        .log(&host.join("daemon.log"))
        .forward(url)
}

/// A consumer host, its batches going to `out`.
fn consumer(host: &Sandbox, url: &str, out: &Path) -> DaemonBuilder {
    Daemon::builder(host, &fixture("daemon_jobs.php"))
        .env("AB_E2E_OUT", out.display())
        .log(&host.join("consume.log"))
        .consume(url)
}

/// `count` records `p{p}-{s}` submitted on `host` through its daemon runner.
fn produce(host: &Sandbox, p: usize, count: usize) {
    let out = Php::Extension
        .cli()
        .ini("log_errors", "0")
        .inis(host.daemon_ini())
        .script(&fixture("daemon_producer.php"), &["e2e", &p.to_string(), &count.to_string(), "1000", "5"])
        .timeout(Duration::from_secs(120))
        .run();
    out.assert_success(&format!("producer {p}"));
}

fn expected(producers: std::ops::RangeInclusive<usize>, count: usize) -> Vec<String> {
    producers.flat_map(|p| (0..count).map(move |s| format!("p{p}-{s}"))).collect()
}

/// Waits until every item of `expected` is in `out`; panics with `diagnostics`
/// when not in time. Returns the batches and the duplicates.
fn wait_delivered(out: &Path, expected: &[String], diagnostics: impl Fn() -> String) -> (Vec<Batch>, usize) {
    let mut batches = Vec::new();
    let done = wait_until(DELIVERY_TIMEOUT, Duration::from_millis(50), || {
        batches = read_batches(out);
        let counts = delivery_counts(&batches);
        expected.iter().all(|i| counts.contains_key(i))
    });
    let counts = delivery_counts(&batches);
    if !done {
        let missing: Vec<&String> = expected.iter().filter(|i| !counts.contains_key(*i)).take(10).collect();
        panic!(
            "not delivered within {DELIVERY_TIMEOUT:?}: {} of {} missing, e.g. {missing:?}\n{}",
            expected.iter().filter(|i| !counts.contains_key(*i)).count(),
            expected.len(),
            diagnostics()
        );
    }
    let unexpected: Vec<&String> = counts.keys().filter(|k| !expected.contains(k)).take(5).collect();
    assert!(unexpected.is_empty(), "items nobody submitted: {unexpected:?}");
    (batches, counts.values().map(|n| n - 1).sum())
}

/// Entries in the job's stream and pending in the group.
fn stream(redis: &RedisServer) -> (i64, i64) {
    let len = redis.cli(&["XLEN", "asyncbatch:e2e"]).trim().parse().unwrap_or(-1);
    let pending = redis.cli(&["XPENDING", "asyncbatch:e2e", "asyncbatch"]);
    let pending = pending.lines().next().and_then(|l| l.trim().parse().ok()).unwrap_or(-1);
    (len, pending)
}

fn logs(hosts: &[(&str, &Sandbox)], redis: &RedisServer) -> String {
    let mut s = String::new();
    for (name, host) in hosts {
        for log in ["daemon.log", "consume.log"] {
            let text = host.read(log);
            if !text.is_empty() {
                s.push_str(&format!("--- {name} {log} ---\n{text}\n"));
            }
        }
    }
    s.push_str(&format!("--- stream: {:?} (length, pending) ---\n", stream(redis)));
    s
}

#[test]
fn batches_forwarded_by_two_hosts_are_delivered_once_by_consumers_on_a_third() {
    let _heavy = heavy();
    const ITEMS: usize = 20_000;
    let (a, b, c) = (Sandbox::new(), Sandbox::new(), Sandbox::new());
    let redis = RedisServer::start(&c.join("redis"), &[]);
    let (out_a, out_b, out_c) = (a.join("batches.log"), b.join("batches.log"), c.join("batches.log"));
    let _fa = forwarder(&a, &redis.url(), &out_a).start();
    let _fb = forwarder(&b, &redis.url(), &out_b).start();
    let consumers = consumer(&c, &redis.url(), &out_c).workers(2).start();
    let start = Instant::now();
    thread::scope(|s| {
        s.spawn(|| produce(&a, 1, ITEMS));
        s.spawn(|| produce(&b, 2, ITEMS));
    });
    let want = expected(1..=2, ITEMS);
    let (batches, duplicates) =
        wait_delivered(&out_c, &want, || logs(&[("a", &a), ("b", &b), ("c", &c)], &redis));
    let took = start.elapsed();
    eprintln!(
        "2 producer hosts x {ITEMS} records through Redis to 2 consumers: all delivered in {} ({} batches, {duplicates} duplicates)",
        Millis(took),
        batches.len()
    );
    assert_eq!(duplicates, 0, "no crash, no duplicate");
    assert!(read_batches(&out_a).is_empty() && read_batches(&out_b).is_empty(), "forwarders call nothing");
    // Delivered entries are acknowledged and deleted: the stream does not grow.
    let drained = wait_until(Duration::from_secs(10), Duration::from_millis(50), || stream(&redis) == (0, 0));
    assert!(drained, "the stream is empty once delivered: {:?}", stream(&redis));
    // What status shows of the streams.
    let mut status = asyncbatch_cli(&c.asyncbatch_ini(), &["status", "--json", "--redis", &redis.url()]);
    let out = run_with_timeout(&mut status, None, Duration::from_secs(30));
    let json = Json::parse(&out.stdout_str()).unwrap_or(Json::Null);
    let row = json.at(&["streams", "e2e"]);
    eprintln!("status --redis: {row}");
    assert_eq!(
        row.get("forwarded").as_i64(),
        Some(batches.len() as i64),
        "{}{}",
        out.stdout_str(),
        out.stderr
    );
    assert_eq!(row.get("length").as_i64(), Some(0));
    // On a host that only consumes, status shows the consumer.
    let out = run_with_timeout(
        &mut asyncbatch_cli(&c.asyncbatch_ini(), &["status"]),
        None,
        Duration::from_secs(30),
    );
    assert!(
        out.status.success() && out.stdout_str().starts_with("asyncbatch consume: running, pid "),
        "{}{}",
        out.stdout_str(),
        out.stderr
    );
    drop(consumers);
}

#[test]
fn consumers_sigkilled_three_times_lose_nothing_and_their_entries_are_claimed() {
    let _heavy = heavy();
    const ITEMS: usize = 10_000;
    let (a, c) = (Sandbox::new(), Sandbox::new());
    let redis = RedisServer::start(&c.join("redis"), &[]);
    let (out_a, out_c) = (a.join("batches.log"), c.join("batches.log"));
    let _f = forwarder(&a, &redis.url(), &out_a).start();
    // Slow batches, so that one is in hand at each kill; a claim after 2 s pending.
    let builder =
        consumer(&c, &redis.url(), &out_c).workers(2).env("AB_E2E_SLEEP_MS", 200).arg("--claim-idle", 2);
    let started = c.join("batches.log.started");
    let in_hand = || std::fs::read_to_string(&started).map(|s| s.lines().count()).unwrap_or(0);
    let mut current = Some(builder.start());
    let producer = thread::spawn({
        let a_ini = a.daemon_ini();
        move || {
            let out = Php::Extension
                .cli()
                .ini("log_errors", "0")
                .inis(a_ini)
                .script(&fixture("daemon_producer.php"), &["e2e", "1", &ITEMS.to_string(), "500", "20"])
                .timeout(Duration::from_secs(120))
                .run();
            out.assert_success("producer");
        }
    });
    for k in 0..3 {
        // Killed with a batch in hand: one started since the last kill.
        let before = in_hand();
        let taken = wait_until(Duration::from_secs(30), Duration::from_millis(10), || in_hand() > before);
        assert!(taken, "a batch was taken:\n{}", logs(&[("a", &a), ("c", &c)], &redis));
        let mut d = current.take().expect("consumers run");
        d.kill_all();
        drop(d);
        eprintln!("consumers SIGKILLed with a batch in hand ({})", k + 1);
        current = Some(builder.start());
    }
    producer.join().expect("producer");
    let want = expected(1..=1, ITEMS);
    let (batches, duplicates) = wait_delivered(&out_c, &want, || logs(&[("a", &a), ("c", &c)], &redis));
    let claims = redis.cli(&["HGET", "asyncbatch:stats:e2e", "claims"]);
    eprintln!(
        "consumers SIGKILLed 3 times: {ITEMS} records delivered in {} batches, {duplicates} duplicates, {} entries claimed",
        batches.len(),
        claims.trim()
    );
    // At most the batches in hand at each kill: 2 workers x 500 items, 3 times.
    assert!(duplicates <= 3 * 2 * 500, "{duplicates} duplicates");
    assert!(claims.trim().parse::<u64>().unwrap_or(0) >= 3, "each kill left an entry to claim: {claims}");
    let drained = wait_until(Duration::from_secs(20), Duration::from_millis(50), || stream(&redis) == (0, 0));
    assert!(drained, "the stream is empty once delivered: {:?}", stream(&redis));
}

#[test]
fn while_redis_is_down_forwarders_keep_their_batches_and_catch_up_after_a_restart() {
    let _heavy = heavy();
    const ITEMS: usize = 5_000;
    let (a, c) = (Sandbox::new(), Sandbox::new());
    let mut redis = RedisServer::start(&c.join("redis"), &[]);
    let (out_a, out_c) = (a.join("batches.log"), c.join("batches.log"));
    let _f = forwarder(&a, &redis.url(), &out_a).start();
    let _consumers = consumer(&c, &redis.url(), &out_c).start();
    produce(&a, 1, ITEMS);
    let want1 = expected(1..=1, ITEMS);
    wait_delivered(&out_c, &want1, || logs(&[("a", &a), ("c", &c)], &redis));

    // Redis dies (SIGKILL: only the append-only file is left) while items arrive.
    redis.kill();
    let submitted = Instant::now();
    produce(&a, 2, ITEMS);
    thread::sleep(Duration::from_secs(3));
    redis.restart();
    let want: Vec<String> = expected(1..=2, ITEMS);
    let (_, duplicates) = wait_delivered(&out_c, &want, || logs(&[("a", &a), ("c", &c)], &redis));
    eprintln!(
        "redis SIGKILLed and restarted 3 s later: the {ITEMS} records submitted meanwhile delivered {} after they were submitted ({duplicates} duplicates)",
        Millis(submitted.elapsed())
    );
}

#[test]
fn redis_at_maxmemory_is_back_pressure_not_loss() {
    let _heavy = heavy();
    const ITEMS: usize = 20_000;
    let (a, c) = (Sandbox::new(), Sandbox::new());
    // About 1 MiB above what an empty Redis uses: far less than 20,000 records.
    let redis = RedisServer::start(&c.join("redis"), &["maxmemory", "3mb", "maxmemory-policy", "noeviction"]);
    let (out_a, out_c) = (a.join("batches.log"), c.join("batches.log"));
    let _f = forwarder(&a, &redis.url(), &out_a).start();
    produce(&a, 1, ITEMS);
    // No consumer yet: Redis fills up and refuses more; the rest waits on disk.
    let full = wait_until(Duration::from_secs(30), Duration::from_millis(100), || {
        a.read("daemon.log").contains("out of memory")
    });
    assert!(full, "the forwarder meets maxmemory:\n{}", logs(&[("a", &a)], &redis));
    let _consumers = consumer(&c, &redis.url(), &out_c).start();
    let want = expected(1..=1, ITEMS);
    let (_, duplicates) = wait_delivered(&out_c, &want, || logs(&[("a", &a), ("c", &c)], &redis));
    eprintln!("redis at maxmemory 3mb (noeviction): all {ITEMS} records delivered once consumers ran ({duplicates} duplicates)");
    assert_eq!(duplicates, 0);
}

#[test]
fn an_entry_delivered_more_than_max_deliveries_times_is_a_dead_letter() {
    let _heavy = heavy();
    let (a, c) = (Sandbox::new(), Sandbox::new());
    let redis = RedisServer::start(&c.join("redis"), &[]);
    let (out_a, out_c) = (a.join("batches.log"), c.join("batches.log"));
    let _f = forwarder(&a, &redis.url(), &out_a).start();
    produce(&a, 1, 3);
    // A consumer whose callable never finishes: killed with the entry in hand.
    let mut stuck = consumer(&c, &redis.url(), &out_c).workers(1).env("AB_E2E_SLEEP_MS", 600_000).start();
    let started = c.join("batches.log.started");
    assert!(
        wait_until(Duration::from_secs(30), Duration::from_millis(50), || started.exists()),
        "the entry was taken:\n{}",
        logs(&[("a", &a), ("c", &c)], &redis)
    );
    stuck.kill_all();
    drop(stuck);
    // The next consumer claims it (pending 1 s) as its second delivery: over 1.
    let _next = consumer(&c, &redis.url(), &out_c)
        .workers(1)
        .arg("--claim-idle", 1)
        .arg("--max-deliveries", 1)
        .start();
    let stored = wait_until(Duration::from_secs(30), Duration::from_millis(100), || {
        Sandbox::files_ending(&c.failure_dir(), ".fail").len() == 1
    });
    assert!(stored, "a dead letter in the failure store:\n{}", logs(&[("a", &a), ("c", &c)], &redis));
    let list = run_with_timeout(
        &mut asyncbatch_cli(&c.asyncbatch_ini(), &["failed:list", "--json"]),
        None,
        Duration::from_secs(30),
    );
    let json = Json::parse(&list.stdout_str()).unwrap_or(Json::Null);
    let last_error = json.items().first().map(|f| f.get("lastError").as_str().unwrap_or("").to_string());
    eprintln!("dead letter: {last_error:?}");
    assert!(
        last_error.as_deref().is_some_and(|e| e.starts_with("delivered 2 times without being acknowledged")),
        "{}",
        list.stdout_str()
    );
    assert_eq!(stream(&redis), (0, 0), "the dead letter left the stream");
    assert!(read_batches(&out_c).is_empty(), "nothing was delivered");
}

#[test]
fn three_hosts_lose_nothing_through_kills_a_redis_restart_and_a_cut_link() {
    let _heavy = heavy();
    if !asyncbatch_e2e::require_root("making hosts of network namespaces") {
        return;
    }
    if let Err(why) = Hosts::available() {
        asyncbatch_e2e::not_run(&format!("network namespaces cannot be made here: {why}"));
        return;
    }
    const ITEMS: usize = 20_000;
    let hosts = Hosts::new(&format!("ab{}", std::process::id() % 10_000), 3).expect("the hosts");
    let (s1, s2, s3) = (Sandbox::new(), Sandbox::new(), Sandbox::new());
    let mut redis = RedisServer::start_in(&hosts.hub(), &s3.join("redis"), &[]);
    let url = |i: usize| format!("redis://{}:6379/0", hosts.hub_addr_for(i));
    let forwarder_on =
        |i: usize, s: &Sandbox| forwarder(s, &url(i), &s.join("batches.log")).netns(&hosts.host(i));
    let (b1, b2) = (forwarder_on(1, &s1), forwarder_on(2, &s2));
    let out = s3.join("batches.log");
    let b3 = consumer(&s3, &url(3), &out)
        .netns(&hosts.host(3))
        .workers(2)
        .env("AB_E2E_SLEEP_MS", 20)
        .arg("--claim-idle", 2);
    let (mut f1, mut f2, mut c) = (b1.start(), b2.start(), b3.start());
    let producer = |i: usize, s: &Sandbox| {
        let cmd = Php::Extension
            .cli()
            .ini("log_errors", "0")
            .inis(s.daemon_ini())
            .script(
                &fixture("daemon_producer.php"),
                &["e2e", &i.to_string(), &ITEMS.to_string(), "500", "100"],
            )
            .command();
        let mut cmd = Hosts::wrap(&hosts.host(i), &cmd);
        let out = run_with_timeout(&mut cmd, None, Duration::from_secs(120));
        out.assert_success(&format!("producer on host {i}"));
    };
    let start = Instant::now();
    let mut log = Vec::new();
    thread::scope(|scope| {
        scope.spawn(|| producer(1, &s1));
        scope.spawn(|| producer(2, &s2));
        let at = |secs: f64| {
            if let Some(wait) = Duration::from_secs_f64(secs).checked_sub(start.elapsed()) {
                thread::sleep(wait);
            }
        };
        let mut step = |what: &str| log.push(format!("{:>6} {what}", Millis(start.elapsed()).to_string()));
        at(0.5);
        c.kill_all();
        c = b3.start();
        step("consumers SIGKILLed, restarted");
        at(1.0);
        f1.kill_all();
        f1 = b1.start();
        step("forwarder of host 1 SIGKILLed, restarted");
        at(1.5);
        hosts.link(2, false).expect("cut host 2");
        step("host 2's link cut");
        at(2.0);
        c.kill_all();
        c = b3.start();
        step("consumers SIGKILLed, restarted");
        at(2.5);
        f2.kill_all();
        f2 = b2.start();
        step("forwarder of host 2 SIGKILLed (its link down), restarted");
        at(3.0);
        redis.kill();
        redis.restart();
        step("redis-server SIGKILLed, restarted from its append-only file");
        at(3.5);
        c.kill_all();
        c = b3.start();
        f1.kill_all();
        f1 = b1.start();
        step("consumers and forwarder of host 1 SIGKILLed, restarted");
        at(11.5);
        hosts.link(2, true).expect("restore host 2");
        step("host 2's link restored after 10 s");
    });
    let want = expected(1..=2, ITEMS);
    let (batches, duplicates) = wait_delivered(&out, &want, || {
        format!("{}\n{}", log.join("\n"), logs(&[("h1", &s1), ("h2", &s2), ("h3", &s3)], &redis))
    });
    eprintln!(
        "3 hosts (2 producing {ITEMS} records each, 1 consuming) over Redis in network namespaces:\n  {}\n  \
         submitted {}, delivered {} in {} batches, lost 0, duplicates {duplicates}, all in {}",
        log.join("\n  "),
        want.len(),
        want.len(),
        batches.len(),
        Millis(start.elapsed())
    );
    // At most the batches in hand at each crash: consumers 3 x 2 x 500, forwarders 3 x 2 x 500.
    assert!(duplicates <= 6 * 2 * 500, "{duplicates} duplicates");
    drop((f1, f2, c));
}

#[test]
fn an_http_sink_job_is_consumed_from_redis_and_posted_under_the_batch_ids() {
    let _heavy = heavy();
    const ITEMS: usize = 2_000;
    let (a, c) = (Sandbox::new(), Sandbox::new());
    let redis = RedisServer::start(&c.join("redis"), &[]);
    let server = HttpServer::start();
    let _f = forwarder(&a, &redis.url(), &a.join("batches.log")).start();
    let _consumer = Daemon::builder(&c, &fixture("http_sink_jobs.php"))
        .env("AB_HTTP_URL", server.url("/ingest"))
        .log(&c.join("consume.log"))
        .consume(&redis.url())
        .start();
    produce(&a, 1, ITEMS);
    let requests =
        server.wait_for(DELIVERY_TIMEOUT, |r| r.iter().map(|q| q.items().len()).sum::<usize>() >= ITEMS);
    let posted: usize = requests.iter().map(|q| q.items().len()).sum();
    let keys: std::collections::BTreeSet<&str> =
        requests.iter().filter_map(|q| q.header("Idempotency-Key")).collect();
    eprintln!(
        "an HttpSink job through Redis: {posted} records in {} POSTs, {} distinct keys",
        requests.len(),
        keys.len()
    );
    assert_eq!(posted, ITEMS, "each record posted once:\n{}", logs(&[("a", &a), ("c", &c)], &redis));
    // A key per entry (a batch cut on the producer host), sent as its batch id.
    assert_eq!(keys.len(), requests.len());
    assert!(keys.iter().all(|k| k.len() == 36 && &k[14..15] == "7"), "{keys:?}");
    let ids = redis.cli(&["HGET", "asyncbatch:stats:e2e", "forwarded"]);
    assert_eq!(ids.trim().parse::<usize>().ok(), Some(requests.len()), "one POST per forwarded batch");
}
