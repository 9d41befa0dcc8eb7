//! The harness itself, on plain PHP (no asyncbatch): php-fpm comes up and goes
//! down, cgi-fcgi talks to it, and a response ends at fastcgi_finish_request().

use std::fs;
use std::thread;
use std::time::{Duration, Instant};

use asyncbatch_e2e::{fixture, wait_until, FpmPool, Millis, PhpCommand, Sandbox};

#[test]
fn fpm_pool_answers_requests() {
    let sandbox = Sandbox::new();
    let pool = FpmPool::plain().children(2).start(sandbox.path());
    assert_eq!(pool.worker_pids().len(), 2, "{}", pool.logs());

    let response = pool.get_ok(&fixture("hello.php"), "name=world");
    assert_eq!(response.body_str(), "hello world");
    let pid: i32 = response.header("X-Worker-Pid").expect("pid header").parse().unwrap();
    assert!(pool.worker_pids().contains(&pid), "answered by a worker of the pool");
    eprintln!("plain request: {}", Millis(response.elapsed));
    pool.assert_no_worker_died();
}

#[test]
fn concurrent_requests_are_served_by_both_workers() {
    let sandbox = Sandbox::new();
    let pool = FpmPool::plain().children(2).start(sandbox.path());
    let out = sandbox.join("done.log");
    let query = format!("out={}&sleep_ms=300", out.display());
    let script = fixture("finish_then_sleep.php");
    // Two at once: each worker takes one, answers, then works 300 ms.
    let pids: Vec<i32> = thread::scope(|s| {
        let handles: Vec<_> = (0..2).map(|_| s.spawn(|| pool.get_ok(&script, &query))).collect();
        handles.into_iter().map(|h| h.join().unwrap().body_str().parse().unwrap()).collect()
    });
    assert_ne!(pids[0], pids[1], "two concurrent requests went to two workers");
    assert!(
        wait_until(Duration::from_secs(5), Duration::from_millis(10), || {
            fs::read_to_string(&out).unwrap_or_default().lines().count() == 2
        }),
        "both workers finish their work after the response within 5 s: {:?}",
        fs::read_to_string(&out).unwrap_or_default()
    );
}

#[test]
fn response_ends_at_fastcgi_finish_request() {
    let sandbox = Sandbox::new();
    let pool = FpmPool::plain().children(1).start(sandbox.path());
    let out = sandbox.join("done.log");
    let script = fixture("finish_then_sleep.php");
    // 2 s of work after the response: a response that waited for it is far over
    // the limit, one on time (a few ms) far under, on a loaded machine too.
    let query = format!("out={}&sleep_ms=2000", out.display());
    pool.get_ok(&fixture("hello.php"), ""); // warm up

    let start = Instant::now();
    let response = pool.get_ok(&script, &query);
    assert!(
        response.elapsed < Duration::from_millis(1000),
        "the response ends before the 2 s of work after fastcgi_finish_request(): {}",
        Millis(response.elapsed)
    );
    assert!(!out.exists(), "the work after the response is not done yet");
    assert!(
        wait_until(Duration::from_secs(10), Duration::from_millis(5), || out.exists()),
        "the work after the response is done within 10 s"
    );
    eprintln!(
        "plain fastcgi_finish_request: response {}, work done after {}",
        Millis(response.elapsed),
        Millis(start.elapsed())
    );
}

#[test]
fn master_ini_is_seen_by_get_cfg_var_in_workers() {
    let sandbox = Sandbox::new();
    let pool = FpmPool::plain().children(1).ini("asyncbatch.e2e_probe", "from-master").start(sandbox.path());
    let response = pool.get_ok(&fixture("cfg.php"), "name=asyncbatch.e2e_probe");
    assert_eq!(response.body_str(), r#"{"cfg":"from-master","ini":false}"#);
}

#[test]
fn pool_stops_on_drop_with_its_workers() {
    let sandbox = Sandbox::new();
    let pool = FpmPool::plain().children(2).start(sandbox.path());
    let mut pids = pool.worker_pids();
    pids.push(pool.master_pid());
    drop(pool);
    for pid in pids {
        // Gone, or a zombie waiting for its new parent to reap it.
        let state = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let zombie = state.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
        assert!(state.is_empty() || zombie, "process {pid} survived the pool: {state}");
    }
}

#[test]
fn cli_runs_a_script_with_ini() {
    let out = PhpCommand::new(None)
        .ini("asyncbatch.e2e_probe", "from-cli")
        .script(&fixture("cfg.php"), &["asyncbatch.e2e_probe"])
        .run();
    out.assert_success("php cfg.php");
    assert_eq!(out.stdout_str(), r#"{"cfg":"from-cli","ini":false}"#);
}

/// Why the harness gives `asyncbatch.*` settings to the master with `-d`: a
/// pool's `php_admin_value` for a setting PHP does not know (the polyfill
/// registers none) is refused by php-fpm and invisible to `get_cfg_var()`.
#[test]
fn pool_admin_value_of_an_unknown_setting_is_invisible_to_get_cfg_var() {
    let sandbox = Sandbox::new();
    let pool =
        FpmPool::plain().children(1).admin_value("asyncbatch.e2e_probe", "from-pool").start(sandbox.path());
    let response = pool.get_ok(&fixture("cfg.php"), "name=asyncbatch.e2e_probe");
    assert_eq!(response.body_str(), r#"{"cfg":false,"ini":false}"#);
    assert!(
        pool.fpm_log().contains("Unable to set php_admin_value 'asyncbatch.e2e_probe'"),
        "{}",
        pool.logs()
    );
}
