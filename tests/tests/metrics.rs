//! The metrics (README "Monitoring"), read by a real parser (prometheus_client's,
//! tests/metrics/check_exposition.py): the daemon's `--metrics` endpoint scraped
//! over loopback after real deliveries (a callable job and an HttpSink job), the
//! same text in `daemon.prom` and from `status --format prometheus`; and without a
//! daemon, `status --format prometheus` measuring the spool and the failure store
//! on both sides.

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use asyncbatch_e2e::{
    asyncbatch_cli, read_batches, repo_root, wait_until, write_segment, Daemon, HttpServer, Json, Php,
    Sandbox,
};

/// The metrics as check_exposition.py reads them: family → {type, samples}.
fn parse(text: &str) -> Json {
    let script = repo_root().join("tests/metrics/check_exposition.py");
    let mut child = Command::new("/usr/bin/python3")
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run /usr/bin/python3 {}: {e} (bash scripts/deps.sh)", script.display())
        });
    child.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("write the metrics");
    let out = child.wait_with_output().expect("check_exposition.py ends");
    assert!(
        out.status.success(),
        "the metrics do not parse: {}\n--- the text ---\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    Json::parse(&String::from_utf8_lossy(&out.stdout)).expect("check_exposition.py prints JSON")
}

/// The value of the sample `name` with `labels` among `metrics`, if there is one.
fn value(metrics: &Json, family: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let family = metrics.get(family);
    if family.is_null() {
        return None;
    }
    family.get("samples").items().iter().find_map(|s| {
        let matches = s.get("name").as_str() == Some(name)
            && labels.iter().all(|(k, v)| s.at(&["labels", k]).as_str() == Some(*v));
        matches.then(|| s.get("value").as_f64()).flatten()
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("its address").port()
}

/// `GET path` on 127.0.0.1:port: the status line and the body.
fn http_get(port: u16, path: &str) -> (String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap_or_else(|e| panic!("connect to :{port}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).expect("read the response");
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (head.lines().next().unwrap_or_default().to_string(), body.to_string())
}

/// The bootstrap: tests/php/daemon_jobs.php's job `e2e` and tests/php/http_sink_jobs.php's
/// HttpSink job `web`.
fn bootstrap(sandbox: &Sandbox) -> std::path::PathBuf {
    let path = sandbox.join("jobs.php");
    let php = repo_root().join("tests/php");
    fs::write(
        &path,
        format!(
            "<?php\nrequire '{}';\nrequire '{}';\n",
            php.join("daemon_jobs.php").display(),
            php.join("http_sink_jobs.php").display()
        ),
    )
    .unwrap();
    path
}

/// A PHP script under the daemon runner submitting `n` items to each job.
fn produce(sandbox: &Sandbox, jobs: &Path, n: usize, env: &[(&str, String)]) {
    let code = format!(
        "require '{}'; $r = new AsyncBatchRunner();
         for ($i = 0; $i < {n}; $i++) {{ $r->submitItem('e2e', 'm-' . $i); $r->submitItem('web', ['i' => $i]); }}",
        jobs.display()
    );
    let mut cmd =
        Php::Extension.cli().ini("asyncbatch.runner", "daemon").inis(sandbox.asyncbatch_ini()).code(&code);
    for (k, v) in env {
        cmd = cmd.env(k, v);
    }
    cmd.run().assert_success("the producer");
}

#[test]
fn the_daemon_serves_its_metrics_on_loopback_and_status_prints_them() {
    if let Err(problem) = Php::Extension.check() {
        panic!("the extension is not usable: {problem}");
    }
    let sandbox = Sandbox::new();
    let out = sandbox.join("batches.log");
    let server = HttpServer::start();
    let jobs = bootstrap(&sandbox);
    let port = free_port();
    let env = [
        ("AB_E2E_OUT", out.display().to_string()),
        ("AB_E2E_JOBS", "e2e".to_string()),
        ("AB_HTTP_URL", server.url("/ingest")),
        ("AB_HTTP_JOB", "web".to_string()),
    ];
    let mut builder = Daemon::builder(&sandbox, &jobs).workers(2).arg("--metrics", port);
    for (k, v) in &env {
        builder = builder.env(k, v);
    }
    let mut daemon = builder.start();

    produce(&sandbox, &jobs, 30, &env);
    let delivered = wait_until(Duration::from_secs(30), Duration::from_millis(100), || {
        let (_, body) = http_get(port, "/metrics");
        let m = parse(&body);
        value(&m, "asyncbatch_delivered_items_total", "asyncbatch_delivered_items_total", &[("job", "e2e")])
            == Some(30.0)
            && value(
                &m,
                "asyncbatch_delivered_items_total",
                "asyncbatch_delivered_items_total",
                &[("job", "web")],
            ) == Some(30.0)
    });
    assert!(
        delivered,
        "the metrics never counted 30 items delivered per job (batch log: {} batches; {} posts)\n{}",
        read_batches(&out).len(),
        server.requests().len(),
        daemon.output()
    );

    let (status_line, body) = http_get(port, "/metrics");
    assert_eq!(status_line, "HTTP/1.1 200 OK");
    let m = parse(&body);
    let one = |family: &str, labels: &[(&str, &str)]| value(&m, family, family, labels);
    assert_eq!(one("asyncbatch_daemon_up", &[]), Some(1.0));
    assert!(one("asyncbatch_daemon_uptime_seconds", &[]).is_some_and(|s| s >= 0.0));
    for w in ["1", "2"] {
        assert_eq!(one("asyncbatch_daemon_worker_up", &[("worker", w)]), Some(1.0), "worker {w}");
        assert_eq!(one("asyncbatch_daemon_worker_restarts_total", &[("worker", w)]), Some(0.0), "worker {w}");
    }
    assert_eq!(one("asyncbatch_received_items_total", &[("job", "e2e")]), Some(30.0));
    assert!(one("asyncbatch_batches_total", &[("job", "e2e")]).is_some_and(|n| n >= 1.0));
    assert_eq!(one("asyncbatch_failed_batches_total", &[("job", "e2e")]), Some(0.0));
    assert_eq!(one("asyncbatch_dropped_items_total", &[("job", "e2e")]), Some(0.0));
    let posts = server.requests().len() as f64;
    assert_eq!(one("asyncbatch_http_requests_total", &[("job", "web"), ("code", "200")]), Some(posts));
    assert!(one("asyncbatch_http_request_bytes_total", &[("job", "web")]).is_some_and(|b| b > 0.0));
    assert_eq!(m.at(&["asyncbatch_batch_duration_seconds", "type"]).as_str(), Some("histogram"));
    let calls = value(
        &m,
        "asyncbatch_batch_duration_seconds",
        "asyncbatch_batch_duration_seconds_count",
        &[("job", "e2e")],
    );
    let inf = value(
        &m,
        "asyncbatch_batch_duration_seconds",
        "asyncbatch_batch_duration_seconds_bucket",
        &[("job", "e2e"), ("le", "+Inf")],
    );
    assert!(
        calls.is_some_and(|n| n >= 1.0) && calls == inf,
        "histogram count {calls:?}, +Inf bucket {inf:?}"
    );
    assert_eq!(http_get(port, "/").0, "HTTP/1.1 404 Not Found");

    // The same rendering in daemon.prom, and from `status`.
    let prom = sandbox.spool_dir().join("daemon.prom");
    let from_file = parse(&fs::read_to_string(&prom).expect("daemon.prom"));
    assert_eq!(value(&from_file, "asyncbatch_daemon_up", "asyncbatch_daemon_up", &[]), Some(1.0));
    let status =
        asyncbatch_cli(&sandbox.asyncbatch_ini(), &["status", "--format", "prometheus"]).output().unwrap();
    assert!(
        status.status.success(),
        "status --format prometheus: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let from_status = parse(&String::from_utf8_lossy(&status.stdout));
    assert_eq!(
        value(&from_status, "asyncbatch_daemon_up", "asyncbatch_daemon_up", &[]),
        Some(1.0),
        "status prints the running daemon's metrics"
    );

    let (exit, _) = daemon.terminate(Duration::from_secs(20));
    assert!(exit.is_some_and(|s| s.success()), "the daemon stops: {}", daemon.output());
    assert!(!prom.exists(), "a stopped daemon leaves no daemon.prom behind");
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nothing listens on :{port} after the daemon stopped"
    );
}

#[test]
fn metrics_beyond_loopback_must_be_asked_for_and_a_port_in_use_is_a_clear_error() {
    if let Err(problem) = Php::Extension.check() {
        panic!("the extension is not usable: {problem}");
    }
    let sandbox = Sandbox::new();
    let jobs = bootstrap(&sandbox);
    let run = |args: &[&str]| {
        let mut all = vec!["daemon", "--bootstrap", jobs.to_str().unwrap()];
        all.extend_from_slice(args);
        let mut cmd = asyncbatch_cli(&sandbox.asyncbatch_ini(), &all);
        cmd.env("AB_E2E_OUT", sandbox.join("out.log")).env("AB_HTTP_URL", "http://127.0.0.1:9/");
        asyncbatch_e2e::run_with_timeout(&mut cmd, None, Duration::from_secs(60))
    };
    let out = run(&["--metrics", "0.0.0.0:9464"]);
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("add --metrics-public"), "{}", out.stderr);
    let out = run(&["--metrics", "nine"]);
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("'--metrics'"), "{}", out.stderr);

    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = run(&["--metrics", &port]);
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    assert!(out.stderr.contains("cannot serve the metrics on 127.0.0.1:"), "{}", out.stderr);
}

asyncbatch_e2e::on_both_sides!(without_a_daemon_status_measures_the_spool_and_the_failure_store);

fn without_a_daemon_status_measures_the_spool_and_the_failure_store(side: Php) {
    if let Err(problem) = side.check() {
        panic!("the {side} is not usable: {problem}");
    }
    let sandbox = Sandbox::new();
    fs::create_dir_all(sandbox.spool_dir()).unwrap();
    write_segment(&sandbox.spool_dir(), "logs", &[vec!["a".into(), "b".into()]]);
    write_segment(&sandbox.spool_dir(), "logs", &[vec!["c".into()]]);
    write_segment(&sandbox.spool_dir(), "events", &[vec!["d".into()]]);
    fs::create_dir_all(sandbox.failure_dir()).unwrap();
    fs::write(sandbox.failure_dir().join("logs.0001764000000000000.1.1.fail"), b"not read, only measured")
        .unwrap();

    let mut args = vec!["status", "--format", "prometheus"];
    if side == Php::Polyfill {
        args.push("--polyfill");
    }
    let out = side
        .cli()
        .inis(sandbox.asyncbatch_ini())
        .script(&repo_root().join("php/bin/asyncbatch"), &args)
        .timeout(Duration::from_secs(60))
        .run();
    assert_eq!(
        out.status.code(),
        Some(0),
        "status --format prometheus exits 0 without a daemon: {}",
        out.stderr
    );
    let m = parse(&out.stdout_str());
    let one = |family: &str, labels: &[(&str, &str)]| value(&m, family, family, labels);
    assert_eq!(one("asyncbatch_daemon_up", &[]), Some(0.0));
    assert_eq!(one("asyncbatch_spool_segments", &[("job", "logs")]), Some(2.0));
    assert_eq!(one("asyncbatch_spool_segments", &[("job", "events")]), Some(1.0));
    assert!(one("asyncbatch_spool_bytes", &[("job", "logs")]).is_some_and(|b| b > 0.0));
    assert!(one("asyncbatch_spool_oldest_age_seconds", &[("job", "logs")])
        .is_some_and(|a| (0.0..3600.0).contains(&a)));
    assert_eq!(one("asyncbatch_failure_store_files", &[("job", "logs")]), Some(1.0));
    assert_eq!(one("asyncbatch_failure_store_bytes", &[("job", "logs")]), Some(23.0));
    assert_eq!(one("asyncbatch_queue_messages", &[]), Some(0.0));
    assert!(one("asyncbatch_delivered_items_total", &[("job", "logs")]).is_none(), "no daemon, no counters");
}
