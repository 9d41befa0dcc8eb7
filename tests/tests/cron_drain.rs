//! Hosts without a daemon, on both sides: pages under `asyncbatch.runner = spool`
//! only write the spool (no callable runs in php-fpm), and cron runs of
//! `asyncbatch drain` deliver it: two at once (the second exits 0 at once), one
//! SIGKILLed mid-batch (the next delivers everything), one under `--max-time`
//! (stops between batches; the next run finishes). Every item is delivered once.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use asyncbatch_e2e::{
    delivery_counts, fixture, read_batches, repo_root, spool_item_counts, wait_until, Background, FpmPool,
    Php, Sandbox,
};

asyncbatch_e2e::on_both_sides!(
    twenty_php_fpm_requests_only_spool_and_two_overlapping_drains_deliver_everything_once,
    a_drain_killed_mid_batch_loses_nothing_and_the_next_drain_delivers_everything,
    a_drain_with_max_time_stops_between_batches_and_the_next_drain_finishes,
);

/// The job of tests/php/fpm_job.php and tests/php/daemon_jobs.php.
const JOB: &str = "e2e";
/// Items a drain's callable takes at once.
const DRAIN_BATCH: usize = 10;
/// The longest any drain here may take.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);

fn check(side: Php) {
    if let Err(problem) = side.check() {
        panic!("the {side} is not usable: {problem}");
    }
}

/// `asyncbatch drain` for `side` (`--polyfill` for the polyfill), delivering with
/// tests/php/daemon_jobs.php into the batch log `out`, `sleep_ms` per batch.
fn drain(side: Php, sandbox: &Sandbox, out: &Path, sleep_ms: u64, extra: &[&str]) -> Command {
    let mut args = vec!["drain", "--bootstrap"];
    let bootstrap = repo_root().join("tests/php/daemon_jobs.php").display().to_string();
    args.push(&bootstrap);
    args.extend_from_slice(extra);
    if side == Php::Polyfill {
        args.push("--polyfill");
    }
    // The cron drain runs with the pages' php.ini: the spool runner's setting
    // must not stop it from delivering.
    side.cli()
        .ini("log_errors", "0")
        .ini("asyncbatch.runner", "spool")
        .inis(sandbox.asyncbatch_ini())
        .env("AB_E2E_OUT", &out.display().to_string())
        .env("AB_E2E_JOBS", JOB)
        .env("AB_E2E_BATCH", &DRAIN_BATCH.to_string())
        .env("AB_E2E_SLEEP_MS", &sleep_ms.to_string())
        .script(&repo_root().join("php/bin/asyncbatch"), &args)
        .command()
}

/// Runs `cmd` to its end; its exit code, stdout and stderr.
fn finish(mut cmd: Command) -> (i32, String, String) {
    let out = asyncbatch_e2e::run_with_timeout(&mut cmd, None, DRAIN_TIMEOUT);
    assert!(!out.timed_out, "the drain did not end within {DRAIN_TIMEOUT:?}: {}", out.stderr);
    (out.status.code().unwrap_or(-1), out.stdout_str(), out.stderr)
}

/// `n` items `{tag}-{i}` written to the spool by a CLI script under the spool
/// runner, whose callable must never run.
fn spool_items(side: Php, sandbox: &Sandbox, tag: &str, n: usize) -> Vec<String> {
    let called = sandbox.join("called-in-cli");
    let code = format!(
        "$r = new AsyncBatchRunner();
         $r->registerAsyncJob('{JOB}', function (array $items) {{ file_put_contents('{}', 'called'); }}, ['batchSize' => 7]);
         for ($i = 0; $i < {n}; $i++) {{ $r->submitItem('{JOB}', '{tag}-' . $i); }}",
        called.display()
    );
    side.cli()
        .ini("asyncbatch.runner", "spool")
        .inis(sandbox.asyncbatch_ini())
        .code(&code)
        .run()
        .assert_success("the spooling script");
    assert!(!called.exists(), "the spool runner called the callable in the CLI script");
    (0..n).map(|i| format!("{tag}-{i}")).collect()
}

/// Panics unless every item of `expected` (and nothing else) was delivered exactly once.
fn assert_each_once(out: &Path, expected: &[String], what: &str) {
    let counts = delivery_counts(&read_batches(out));
    let wrong: BTreeMap<&String, usize> =
        expected.iter().map(|i| (i, counts.get(i).copied().unwrap_or(0))).filter(|(_, n)| *n != 1).collect();
    assert!(wrong.is_empty(), "{what}: items not delivered exactly once (item: times): {wrong:?}");
    assert_eq!(counts.len(), expected.len(), "{what}: items delivered that were never submitted");
}

fn twenty_php_fpm_requests_only_spool_and_two_overlapping_drains_deliver_everything_once(side: Php) {
    check(side);
    let sandbox = Sandbox::new();
    let pages_log = sandbox.join("pages.log");
    let out = sandbox.join("drained.log");
    let mut pool = FpmPool::builder(side)
        .ini("asyncbatch.runner", "spool")
        .inis(sandbox.asyncbatch_ini())
        .children(2)
        .start(sandbox.path());
    let mut expected = Vec::new();
    for r in 0..20 {
        let req = format!("r{r}");
        let query = format!("out={}&req={req}&k=5&batch=4", pages_log.display());
        pool.get_ok(&fixture("fpm_job.php"), &query);
        expected.extend((0..5).map(|i| format!("{req}-{i}")));
    }
    // The extension's pages write the spool from a background thread: give it a moment.
    let spooled = wait_until(Duration::from_secs(15), Duration::from_millis(50), || {
        spool_item_counts(&sandbox.spool_dir()).get(JOB) == Some(&100)
    });
    assert!(
        spooled,
        "the spool holds {:?} items, not the 100 the pages submitted",
        spool_item_counts(&sandbox.spool_dir())
    );
    assert!(pool.stop(), "php-fpm did not stop");
    pool.assert_no_worker_died();
    assert!(read_batches(&pages_log).is_empty(), "a page under the spool runner called the callable");

    // Ten batches of 300 ms: the second drain starts while the first works.
    let mut first = Background::spawn(drain(side, &sandbox, &out, 300, &[]), sandbox.path(), "drain-1");
    let started = sandbox.join("drained.log.started");
    assert!(
        wait_until(DRAIN_TIMEOUT, Duration::from_millis(20), || started.exists()),
        "the first drain did not start a batch: {}",
        first.stderr()
    );
    let (code, _, stderr) = finish(drain(side, &sandbox, &out, 0, &[]));
    assert_eq!(code, 0, "a drain while another runs exits 0: {stderr}");
    assert!(
        stderr.contains(&format!("asyncbatch: another drain is running (pid {})", first.pid())),
        "the second drain names the first: {stderr}"
    );
    let status = first.wait_exit(DRAIN_TIMEOUT).expect("the first drain ends");
    assert_eq!(status.code(), Some(0), "the first drain: {}", first.stderr());
    assert_each_once(&out, &expected, "two overlapping drains");
    assert_eq!(spool_item_counts(&sandbox.spool_dir()).get(JOB), None, "the spool is empty after the drain");
}

fn a_drain_killed_mid_batch_loses_nothing_and_the_next_drain_delivers_everything(side: Php) {
    check(side);
    let sandbox = Sandbox::new();
    let out = sandbox.join("drained.log");
    let expected = spool_items(side, &sandbox, "k", 35);
    // A batch of 10 s: killed in its first second.
    let mut killed =
        Background::spawn(drain(side, &sandbox, &out, 10_000, &[]), sandbox.path(), "drain-killed");
    let started = sandbox.join("drained.log.started");
    assert!(
        wait_until(DRAIN_TIMEOUT, Duration::from_millis(20), || started.exists()),
        "the drain did not start a batch: {}",
        killed.stderr()
    );
    // SAFETY: our child's process group.
    unsafe { libc::kill(-killed.pid(), libc::SIGKILL) };
    assert!(killed.wait_exit(Duration::from_secs(10)).is_some(), "the killed drain is gone");
    assert!(read_batches(&out).is_empty(), "the killed batch was never accepted");

    let (code, _, stderr) = finish(drain(side, &sandbox, &out, 0, &[]));
    assert_eq!(code, 0, "the next drain: {stderr}");
    // The killed batch's callable never returned: delivered once, by the next drain.
    assert_each_once(&out, &expected, "a drain after one killed mid-batch");
}

fn a_drain_with_max_time_stops_between_batches_and_the_next_drain_finishes(side: Php) {
    check(side);
    let sandbox = Sandbox::new();
    let out = sandbox.join("drained.log");
    let expected = spool_items(side, &sandbox, "t", 60);
    // Six batches of 400 ms do not fit in one second: after the first (it always
    // starts) and the second (the estimate says it ends at 0.8 s), no more start.
    let (code, _, stderr) = finish(drain(side, &sandbox, &out, 400, &["--max-time", "1"]));
    assert_eq!(code, 0, "a drain out of time exits 0: {stderr}");
    let first = read_batches(&out);
    assert!(!first.is_empty(), "the first batch always starts: {stderr}");
    assert!(first.len() < 6, "a drain under --max-time 1 delivered all {} batches of 400 ms", first.len());
    assert!(
        stderr.contains("asyncbatch drain: --max-time 1 s reached; "),
        "the drain says it ran out of time: {stderr}"
    );

    let (code, _, stderr) = finish(drain(side, &sandbox, &out, 0, &[]));
    assert_eq!(code, 0, "the next drain: {stderr}");
    assert_each_once(&out, &expected, "a drain under --max-time, then one without");

    let (code, _, stderr) = finish(drain(side, &sandbox, &out, 0, &["--max-time", "0"]));
    assert_eq!(code, 2, "--max-time 0 is a usage error: {stderr}");
    assert!(stderr.contains("--max-time"), "{stderr}");
}
