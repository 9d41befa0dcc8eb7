//! deploy/ as shipped: supervisord runs deploy/supervisord-asyncbatch.conf's
//! program (paths adapted to a temporary directory) with the example bootstrap
//! deploy/bootstrap.example.php, which POSTs log records to a collector (PHP's
//! built-in server here). The daemon comes up, delivers, and stops gracefully
//! when supervisord stops it.

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use asyncbatch_e2e::{
    asyncbatch_cli, extension_so, php_binary, repo_root, run_with_timeout, wait_until, Background, Php,
    Sandbox,
};

fn program(name: &str) -> String {
    for dir in ["/usr/bin", "/usr/local/bin", "/usr/sbin"] {
        let path = Path::new(dir).join(name);
        if path.is_file() {
            return path.display().to_string();
        }
    }
    panic!("{name} not found: install the Debian package supervisor (bash scripts/deps.sh)");
}

/// Replaces `from` by `to` in `text`, insisting that `from` is there.
fn adapt(text: &str, from: &str, to: &str) -> String {
    assert!(
        text.contains(from),
        "deploy/supervisord-asyncbatch.conf no longer contains {from:?}: update this test"
    );
    text.replace(from, to)
}

/// The number after `prefix` in `text` (`--stop-timeout 10`, `stopwaitsecs=15`).
fn number_after(text: &str, prefix: &str) -> f64 {
    let at = text.find(prefix).unwrap_or_else(|| panic!("no {prefix:?} in the program"));
    text[at + prefix.len()..]
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number after {prefix:?}"))
}

#[test]
fn supervisord_runs_the_shipped_program_which_delivers_and_stops_gracefully() {
    if let Err(problem) = Php::Extension.check() {
        panic!("the extension is not usable: {problem}");
    }
    let supervisord = program("supervisord");
    let supervisorctl = program("supervisorctl");
    let sandbox = Sandbox::new();
    let dir = sandbox.path();
    let logs = sandbox.join("log");
    fs::create_dir(&logs).unwrap();
    let root = repo_root();
    let shipped = fs::read_to_string(root.join("deploy/supervisord-asyncbatch.conf")).unwrap();
    let section = &shipped[shipped.find("[program:asyncbatch]").expect("the program section")..];

    let stop_timeout = number_after(section, "--stop-timeout ");
    let stopwaitsecs = number_after(section, "stopwaitsecs=");
    assert!(
        stopwaitsecs > stop_timeout,
        "supervisord must wait longer ({stopwaitsecs} s) than the daemon's stop timeout ({stop_timeout} s)"
    );
    assert!(section.contains("stopsignal=TERM"));

    // The collector the example bootstrap posts to.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let received = sandbox.join("collector.ndjson");
    let mut collector_cmd = Command::new(php_binary());
    collector_cmd
        .arg("-S")
        .arg(format!("127.0.0.1:{port}"))
        .arg(root.join("tests/php/collector.php"))
        .env("COLLECTOR_OUT", &received);
    let _collector = Background::spawn(collector_cmd, dir, "collector");
    assert!(
        wait_until(Duration::from_secs(10), Duration::from_millis(20), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        }),
        "the collector did not start"
    );

    // The shipped program, pointed at this sandbox.
    let ini: String = sandbox.daemon_ini().iter().map(|(k, v)| format!(" -d {k}={v}")).collect();
    let mut program_section = section.to_string();
    program_section = adapt(
        &program_section,
        "command=/usr/bin/php ",
        &format!("command={} -d extension={}{ini} ", php_binary().display(), extension_so().display()),
    );
    program_section = adapt(
        &program_section,
        "/var/www/app/vendor/bin/asyncbatch",
        &root.join("php/bin/asyncbatch").display().to_string(),
    );
    program_section = adapt(
        &program_section,
        "/var/www/app/config/asyncbatch-jobs.php",
        &root.join("deploy/bootstrap.example.php").display().to_string(),
    );
    program_section = adapt(&program_section, "/var/log/asyncbatch", &logs.display().to_string());
    program_section =
        adapt(&program_section, "directory=/var/www/app", &format!("directory={}", dir.display()));
    // supervisord runs as the test's user: it cannot switch to another.
    program_section = adapt(&program_section, "user=www-data\n", "");
    program_section.push_str(&format!("environment=LOG_COLLECTOR_URL=\"http://127.0.0.1:{port}/v1/logs\"\n"));

    let conf = sandbox.join("supervisord.conf");
    fs::write(
        &conf,
        format!(
            "[unix_http_server]\nfile={d}/supervisor.sock\nchmod=0700\n\n\
             [supervisord]\nlogfile={d}/supervisord.log\npidfile={d}/supervisord.pid\n\
             childlogdir={d}/log\nnodaemon=true\nloglevel=info\n\n\
             [rpcinterface:supervisor]\n\
             supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n\
             [supervisorctl]\nserverurl=unix://{d}/supervisor.sock\n\n{program_section}",
            d = dir.display()
        ),
    )
    .unwrap();

    let mut cmd = Command::new(&supervisord);
    cmd.arg("-n").arg("-c").arg(&conf);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("ASYNCBATCH_") {
            cmd.env_remove(key);
        }
    }
    let mut supervisor = Background::spawn(cmd, dir, "supervisord");
    let supervisor_log = || {
        format!(
            "--- supervisord.log ---\n{}\n--- daemon.log ---\n{}\n--- program stderr ---\n{}",
            fs::read_to_string(sandbox.join("supervisord.log")).unwrap_or_default(),
            fs::read_to_string(logs.join("daemon.log")).unwrap_or_default(),
            fs::read_to_string(logs.join("supervisor.err.log")).unwrap_or_default(),
        )
    };
    let status = |args: &[&str]| {
        run_with_timeout(&mut asyncbatch_cli(&sandbox.daemon_ini(), args), None, Duration::from_secs(10))
    };
    let up = wait_until(Duration::from_secs(20), Duration::from_millis(100), || {
        status(&["status"]).status.code() == Some(0)
    });
    assert!(up, "the daemon did not come up under supervisord\n{}", supervisor_log());
    // The job appears once a worker has loaded the bootstrap and reported.
    let mut shown = String::new();
    let reported = wait_until(Duration::from_secs(10), Duration::from_millis(100), || {
        shown = status(&["status"]).stdout_str();
        shown.contains("\n  logs ")
    });
    eprintln!("under supervisord:\n{shown}");
    assert!(reported, "`asyncbatch status` shows the example's job `logs` within 10 s: {shown}");
    assert!(shown.contains("bootstrap.example.php"), "{shown}");

    // The web code's side: the same bootstrap, the daemon runner.
    const RECORDS: usize = 1200;
    let code = format!(
        "require {:?}; $r = new AsyncBatchRunner(); \
         for ($i = 0; $i < {RECORDS}; $i++) {{ \
             $r->submitItem('logs', ['ts' => microtime(true), 'level' => 'info', 'msg' => \"record $i\"]); \
         }} echo 'ok';",
        root.join("deploy/bootstrap.example.php").display().to_string()
    );
    let producer = Php::Extension
        .cli()
        .inis(sandbox.daemon_ini())
        .env("LOG_COLLECTOR_URL", "http://127.0.0.1:9/never-called")
        .code(&code)
        .run();
    producer.assert_success("the producer");
    let delivered = wait_until(Duration::from_secs(15), Duration::from_millis(50), || {
        fs::read_to_string(&received).unwrap_or_default().lines().count() >= RECORDS
    });
    let body = fs::read_to_string(&received).unwrap_or_default();
    assert!(
        delivered,
        "the collector received {} of {RECORDS} records\n{}",
        body.lines().count(),
        supervisor_log()
    );
    for i in 0..RECORDS {
        assert!(body.contains(&format!("\"msg\":\"record {i}\"")), "record {i} missing");
    }

    // A graceful stop: SIGTERM, the daemon exits 0 well before stopwaitsecs.
    let stop = run_with_timeout(
        Command::new(&supervisorctl).arg("-c").arg(&conf).arg("stop").arg("asyncbatch"),
        None,
        Duration::from_secs(stopwaitsecs as u64 + 10),
    );
    eprintln!("supervisorctl stop: {} in {:.2} s", stop.stdout_str().trim(), stop.elapsed.as_secs_f64());
    assert!(
        stop.stdout_str().contains("asyncbatch: stopped"),
        "{}{}\n{}",
        stop.stdout_str(),
        stop.stderr,
        supervisor_log()
    );
    assert!(stop.elapsed.as_secs_f64() < stop_timeout, "stopped within its stop timeout");
    let log = fs::read_to_string(sandbox.join("supervisord.log")).unwrap_or_default();
    assert!(
        log.contains("stopped: asyncbatch (exit status 0)"),
        "a clean exit, not a SIGKILL:\n{}",
        supervisor_log()
    );
    let after = status(&["status"]);
    assert_eq!(after.status.code(), Some(1), "{}", after.stdout_str());

    let _ = run_with_timeout(
        Command::new(&supervisorctl).arg("-c").arg(&conf).arg("shutdown"),
        None,
        Duration::from_secs(20),
    );
    let exit = supervisor.wait_exit(Duration::from_secs(20));
    assert!(exit.is_some(), "supervisord exits after `supervisorctl shutdown`\n{}", supervisor_log());
}
