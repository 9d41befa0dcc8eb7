//! Exit is bounded: a CLI script whose items cannot be handed off — its HTTP
//! endpoint accepts connections but never answers, or the daemon is not there and
//! its queue fills up — exits within `asyncbatch.exit_timeout` (plus 100 ms) of its
//! last statement, and loses nothing: what was not sent is in the spool (counted
//! frame by frame), and a later process delivers every item exactly once.
//!
//! The time measured is from the script's last statement (it prints
//! `microtime(true)`: `tests/php/exit_producer.php`, `tests/php/fork_producer.php`)
//! to the moment its process was seen to exit, so PHP's start-up does not count.
//!
//! The polyfill has no background thread: its HttpSink posts at the end of the
//! script, within `asyncbatch.shutdown_budget`, where a request started before the
//! budget is used up may run its full curl timeout (twice the sink's `timeout`). Its
//! case checks that bound instead.
//!
//! Run with `--nocapture` to see the measured figures.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use asyncbatch_e2e::{
    asyncbatch_cli, fixture, queue_bytes, queue_message, queue_stat, read_batches, run_with_timeout,
    send_message, spool_item_counts, HttpServer, Json, Millis, Output, Php, PhpCommand, Reply, Request,
    Sandbox,
};

/// What a process may take beyond its configured drain time.
const MARGIN: Duration = Duration::from_millis(100);
/// The longest wait for a later process's deliveries.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(15);

fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_secs_f64()
}

fn check(side: Php) {
    if let Err(problem) = side.check() {
        panic!("the {side} is not usable: {problem}");
    }
}

/// A finished producer: its report line and when its process exited.
struct Run {
    out: Output,
    /// The JSON lines it printed, in order.
    lines: Vec<Json>,
    /// Unix time at which the process was seen to exit.
    exited_at: f64,
}

impl Run {
    /// Runs `cmd` to completion.
    fn of(cmd: &PhpCommand, what: &str) -> Run {
        let out = cmd.run();
        let exited_at = unix_now();
        out.assert_success(what);
        let lines = out
            .stdout_str()
            .lines()
            .map(|l| {
                Json::parse(l).unwrap_or_else(|e| panic!("{what}: bad line {l:?} ({e})\n{}", out.stderr))
            })
            .collect();
        Run { out, lines, exited_at }
    }

    /// The last line (`exit_producer.php`'s report).
    fn report(&self) -> &Json {
        self.lines.last().expect("the producer printed its report")
    }

    /// From the script's last statement to the process's exit.
    fn after_end(&self) -> Duration {
        let end = self.report().get("end").as_f64().expect("the report has `end`");
        Duration::from_secs_f64((self.exited_at - end).max(0.0))
    }

    fn stat(&self, key: &str) -> i64 {
        self.report().at(&["stats", key]).as_i64().unwrap_or(-1)
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn tags(tag: &str, n: usize) -> Vec<String> {
    (0..n).map(|s| format!("{tag}-{s}")).collect()
}

/// `exit_producer.php sink` posting to `server`, with `side` and the sandbox's directories.
fn sink_producer(side: Php, sandbox: &Sandbox, server: &HttpServer, tag: &str, count: usize) -> PhpCommand {
    side.cli()
        .ini("log_errors", "0")
        .inis(sandbox.asyncbatch_ini())
        .ini("asyncbatch.runner", "shutdown")
        .env("AB_HTTP_URL", &server.url("/ingest"))
        .script(&fixture("exit_producer.php"), &["sink", tag, &count.to_string()])
        .timeout(Duration::from_secs(60))
}

/// How many times each item arrived in a request answered 2xx (items are strings).
fn received(requests: &[Request]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for r in requests.iter().filter(|r| r.delivered()) {
        for item in r.items() {
            let key = item.as_str().map(str::to_owned).unwrap_or_else(|| format!("{item:?}"));
            *counts.entry(key).or_insert(0) += 1;
        }
    }
    counts
}

/// Panics unless every item of `expected` arrived exactly once and nothing else did.
fn assert_exactly_once(counts: &BTreeMap<String, usize>, expected: &[String], what: &str) {
    let missing: Vec<&String> = expected.iter().filter(|k| !counts.contains_key(*k)).collect();
    let twice: Vec<(&String, &usize)> = counts.iter().filter(|(_, &n)| n > 1).collect();
    let unexpected: Vec<&String> = counts.keys().filter(|k| !expected.contains(k)).collect();
    assert!(
        missing.is_empty() && twice.is_empty() && unexpected.is_empty(),
        "{what}: {} of {} items missing (first: {:?}), {} more than once (first: {:?}), {} not submitted ({:?})",
        missing.len(),
        expected.len(),
        missing.iter().take(5).collect::<Vec<_>>(),
        twice.len(),
        twice.iter().take(5).collect::<Vec<_>>(),
        unexpected.len(),
        unexpected.iter().take(5).collect::<Vec<_>>()
    );
}

/// Waits until the server received every item of `expected` in a 2xx-answered request.
fn wait_received(server: &HttpServer, expected: &[String]) -> BTreeMap<String, usize> {
    let requests = server.wait_for(DELIVERY_TIMEOUT, |r| {
        let got = received(r);
        expected.iter().all(|k| got.contains_key(k))
    });
    received(&requests)
}

// ---------------------------------------------------------------------------
// (a) An HTTP endpoint that accepts connections and never answers

/// The extension's sender thread is stuck in its first POST; 2000 items wait
/// behind it. At exit it gets `exit_timeout`, then everything is spooled.
#[test]
fn extension_a_stalled_http_endpoint_holds_a_cli_script_at_most_exit_timeout() {
    check(Php::Extension);
    for (tag, exit_timeout) in [("a", 1.0), ("b", 0.5)] {
        let sandbox = Sandbox::new();
        let server = HttpServer::start();
        server.set_default(Reply::Hold);
        let run = Run::of(
            &sink_producer(Php::Extension, &sandbox, &server, tag, 2000)
                .ini("asyncbatch.exit_timeout", exit_timeout)
                .env("AB_HTTP_BATCH", "100")
                .env("AB_HTTP_PERIOD", "0.05")
                .env("AB_HTTP_TIMEOUT", "5"),
            "a producer posting to a stalled endpoint",
        );
        let spooled = spool_item_counts(&sandbox.spool_dir());
        eprintln!(
            "[extension] stalled endpoint, exit_timeout {exit_timeout} s: exited {} after its last statement \
             ({} from spawn), {} POST(s) held, spool holds {:?}",
            Millis(run.after_end()),
            Millis(run.out.elapsed),
            server.requests().len(),
            spooled
        );
        let limit = secs(exit_timeout) + MARGIN;
        assert!(
            run.after_end() <= limit,
            "exit_timeout {exit_timeout}: the process exited {} after its last statement, limit {}\n{}",
            Millis(run.after_end()),
            Millis(limit),
            run.out.stderr
        );
        assert!(!server.requests().is_empty(), "the sender did reach the endpoint");
        assert_eq!(
            spooled.get("e2e").copied().unwrap_or(0),
            2000,
            "every item is in the spool, the one in flight included: {spooled:?}\n{}",
            run.out.stderr
        );

        // The endpoint answers again: the next process posts the spool, once.
        server.set_default(Reply::ok());
        Run::of(
            &sink_producer(Php::Extension, &sandbox, &server, &format!("{tag}next"), 1),
            "the next producer",
        );
        let mut expected = tags(tag, 2000);
        expected.push(format!("{tag}next-0"));
        let counts = wait_received(&server, &expected);
        assert_exactly_once(&counts, &expected, &format!("exit_timeout {exit_timeout}"));
        assert!(spool_item_counts(&sandbox.spool_dir()).is_empty(), "the spool is empty once posted");
    }
}

/// The polyfill posts at the end of the script. Its bound: the first POST starts
/// at once and may run curl's whole timeout (2 × the sink's `timeout`); no retry
/// starts once `shutdown_budget` would be overrun. Nothing is delivered inside
/// the script (batchSize above the item count, a long callPeriod).
#[test]
fn polyfill_a_stalled_http_endpoint_holds_a_cli_script_at_most_its_shutdown_budget_and_one_request() {
    check(Php::Polyfill);
    let (budget, timeout) = (1.0, 0.5);
    let sandbox = Sandbox::new();
    let server = HttpServer::start();
    server.set_default(Reply::Hold);
    let run = Run::of(
        &sink_producer(Php::Polyfill, &sandbox, &server, "a", 200)
            .ini("asyncbatch.shutdown_budget", budget)
            .env("AB_HTTP_BATCH", "1000")
            .env("AB_HTTP_PERIOD", "60")
            .env("AB_HTTP_DELAY", "0.05")
            .env("AB_HTTP_TIMEOUT", &timeout.to_string()),
        "a polyfill producer posting to a stalled endpoint",
    );
    let spooled = spool_item_counts(&sandbox.spool_dir());
    let limit = secs(budget + 2.0 * timeout) + MARGIN;
    eprintln!(
        "[polyfill] stalled endpoint, shutdown_budget {budget} s, timeout {timeout} s: exited {} after its last \
         statement ({} from spawn; bound {}), {} POST(s) held, spool holds {:?}",
        Millis(run.after_end()),
        Millis(run.out.elapsed),
        Millis(limit),
        server.requests().len(),
        spooled
    );
    assert!(
        run.after_end() <= limit,
        "the process exited {} after its last statement, limit {}\n{}",
        Millis(run.after_end()),
        Millis(limit),
        run.out.stderr
    );
    assert_eq!(spooled.get("e2e").copied().unwrap_or(0), 200, "every item is in the spool: {spooled:?}");

    server.set_default(Reply::ok());
    Run::of(&sink_producer(Php::Polyfill, &sandbox, &server, "next", 1), "the next producer");
    let mut expected = tags("a", 200);
    expected.push("next-0".into());
    assert_exactly_once(&wait_received(&server, &expected), &expected, "after the endpoint came back");
    assert!(spool_item_counts(&sandbox.spool_dir()).is_empty(), "the spool is empty once posted");
}

// ---------------------------------------------------------------------------
// (b) The daemon runner without a daemon

/// `exit_producer.php plain` with the daemon runner (SysV transport) and `exit_timeout`.
fn daemon_producer(sandbox: &Sandbox, tag: &str, count: usize, exit_timeout: f64) -> PhpCommand {
    Php::Extension
        .cli()
        .ini("log_errors", "0")
        .inis(sandbox.daemon_ini())
        .ini("asyncbatch.transport", "sysv")
        .ini("asyncbatch.exit_timeout", exit_timeout)
        .env("AB_E2E_OUT", &sandbox.join("unused.log").display().to_string())
        .script(&fixture("exit_producer.php"), &["plain", tag, &count.to_string()])
        .timeout(Duration::from_secs(60))
}

/// Items on the queue (bytes used / capacity) and in the spool, for the messages.
fn where_items_are(sandbox: &Sandbox) -> String {
    format!(
        "queue: {:?} messages, bytes {:?}; spool: {:?}",
        queue_stat(sandbox.queue_key()).map(|q| q.messages),
        queue_bytes(sandbox.queue_key()),
        spool_item_counts(&sandbox.spool_dir())
    )
}

/// `asyncbatch drain` with the test bootstrap: takes the queue and the spool and
/// delivers them; returns what was delivered, per item.
fn drain(sandbox: &Sandbox) -> BTreeMap<String, usize> {
    let out = sandbox.join("drained.log");
    let mut cmd = asyncbatch_cli(
        &sandbox.daemon_ini(),
        &["drain", "--bootstrap", &fixture("daemon_jobs.php").display().to_string()],
    );
    cmd.env("AB_E2E_OUT", &out);
    run_with_timeout(&mut cmd, None, Duration::from_secs(60)).assert_success("asyncbatch drain");
    let mut counts = BTreeMap::new();
    for batch in read_batches(&out) {
        for item in batch.items {
            *counts.entry(item).or_insert(0) += 1;
        }
    }
    counts
}

fn assert_daemon_run_bounded(run: &Run, exit_timeout: f64, what: &str) {
    let limit = secs(exit_timeout) + MARGIN;
    assert!(
        run.after_end() <= limit,
        "{what}: the process exited {} after its last statement, limit {}\n{}",
        Millis(run.after_end()),
        Millis(limit),
        run.out.stderr
    );
    assert_eq!(run.stat("dropped"), 0, "{what}: nothing dropped: {}", run.report());
}

/// No daemon was ever started: the sender thread fills the queue, then spools.
#[test]
fn with_no_daemon_a_cli_script_exits_within_exit_timeout_and_its_items_wait_for_a_drain() {
    check(Php::Extension);
    for exit_timeout in [1.0, 0.5] {
        let sandbox = Sandbox::new();
        let run =
            Run::of(&daemon_producer(&sandbox, "a", 20_000, exit_timeout), "a producer without a daemon");
        eprintln!(
            "[extension] no daemon, exit_timeout {exit_timeout} s: exited {} after its last statement ({} from \
             spawn); {}",
            Millis(run.after_end()),
            Millis(run.out.elapsed),
            where_items_are(&sandbox)
        );
        assert_daemon_run_bounded(&run, exit_timeout, &format!("exit_timeout {exit_timeout}"));
        assert!(
            spool_item_counts(&sandbox.spool_dir()).get("e2e").copied().unwrap_or(0) > 0,
            "what the queue could not take is in the spool: {}",
            where_items_are(&sandbox)
        );
        assert_exactly_once(&drain(&sandbox), &tags("a", 20_000), "drained");
    }
}

/// The queue is full before the script starts (messages of the job that no daemon
/// reads): every send fails at once, the items go to the spool.
#[test]
fn with_a_full_queue_a_cli_script_exits_within_exit_timeout_and_its_items_are_spooled() {
    check(Php::Extension);
    let sandbox = Sandbox::new();
    // Messages of 10 items, then of 1, until the queue takes no more.
    let mut filled = Vec::new();
    for per_message in [10, 1] {
        loop {
            let items: Vec<String> =
                (filled.len()..filled.len() + per_message).map(|n| format!("fill-{n}")).collect();
            if send_message(sandbox.queue_key(), 1, &queue_message(&[("e2e", items.clone())])).is_err() {
                break;
            }
            filled.extend(items);
        }
    }
    let (used, capacity) = queue_bytes(sandbox.queue_key()).expect("the queue exists");
    assert!(!filled.is_empty() && used > capacity - 64, "the queue is full: {used} of {capacity} bytes");

    let exit_timeout = 0.5;
    let run =
        Run::of(&daemon_producer(&sandbox, "a", 20_000, exit_timeout), "a producer facing a full queue");
    let spooled = spool_item_counts(&sandbox.spool_dir()).get("e2e").copied().unwrap_or(0);
    eprintln!(
        "[extension] full queue ({} items, {used} of {capacity} bytes), exit_timeout {exit_timeout} s: exited {} \
         after its last statement ({} from spawn); {}",
        filled.len(),
        Millis(run.after_end()),
        Millis(run.out.elapsed),
        where_items_are(&sandbox)
    );
    assert_daemon_run_bounded(&run, exit_timeout, "full queue");
    assert_eq!(
        spooled,
        20_000,
        "the queue took none: every item is in the spool; {}",
        where_items_are(&sandbox)
    );
    let mut expected = filled;
    expected.extend(tags("a", 20_000));
    assert_exactly_once(&drain(&sandbox), &expected, "drained");
}

// ---------------------------------------------------------------------------
// pcntl_fork() under the daemon runner

/// A parent forks 5 children while its sender thread hands off its items (no
/// daemon: queue, then spool); each child submits its own and exits. Neither
/// side waits at exit beyond `exit_timeout`, and every item is delivered once.
#[test]
fn forked_children_and_their_parent_exit_within_exit_timeout_under_the_daemon_runner() {
    check(Php::Extension);
    let sandbox = Sandbox::new();
    let (children, count, exit_timeout) = (5, 2000, 0.5);
    let run = Run::of(
        &Php::Extension
            .cli()
            .ini("log_errors", "0")
            .inis(sandbox.daemon_ini())
            .ini("asyncbatch.exit_timeout", exit_timeout)
            .env("AB_E2E_OUT", &sandbox.join("unused.log").display().to_string())
            .script(&fixture("fork_producer.php"), &[&children.to_string(), &count.to_string()])
            .timeout(Duration::from_secs(60)),
        "fork_producer.php",
    );
    let mut child_end = BTreeMap::new();
    let mut child_exit = Vec::new();
    for line in &run.lines {
        if let (Some(k), Some(end)) = (line.get("child").as_i64(), line.get("end").as_f64()) {
            child_end.insert(k, end);
        }
        if let (Some(k), Some(at)) = (line.get("reaped").as_i64(), line.get("at").as_f64()) {
            assert_eq!(line.get("status").as_i64(), Some(0), "child {k} exited 0");
            let end = child_end.get(&k).copied().unwrap_or_else(|| panic!("child {k} printed its end"));
            child_exit.push(Duration::from_secs_f64((at - end).max(0.0)));
        }
    }
    eprintln!(
        "[extension] daemon runner, no daemon, {children} forks, exit_timeout {exit_timeout} s: children exited \
         {:?} after their last statement (as their parent saw it), the parent {}; {}",
        child_exit.iter().map(|d| Millis(*d).to_string()).collect::<Vec<_>>(),
        Millis(run.after_end()),
        where_items_are(&sandbox)
    );
    assert_eq!(child_exit.len(), children, "every child was reaped:\n{}", run.out.stdout_str());
    let limit = secs(exit_timeout) + MARGIN;
    for (k, d) in child_exit.iter().enumerate() {
        assert!(
            *d <= limit,
            "child {k} exited {} after its last statement, limit {}",
            Millis(*d),
            Millis(limit)
        );
    }
    assert!(
        run.after_end() <= limit,
        "the parent exited {} after its last statement, limit {}\n{}",
        Millis(run.after_end()),
        Millis(limit),
        run.out.stderr
    );

    let mut expected = Vec::new();
    for k in 0..children {
        expected.extend(tags(&format!("parent{k}"), count));
        expected.extend(tags(&format!("child{k}"), count));
    }
    assert_exactly_once(&drain(&sandbox), &expected, "drained after the forks");
}
