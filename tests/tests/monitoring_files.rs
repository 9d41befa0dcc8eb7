//! deploy/'s monitoring files as shipped: the alert rules pass `promtool check rules`
//! and their unit tests (tests/metrics/alerts.test.yml); the Grafana dashboard is JSON
//! for import whose queries parse as PromQL; every `asyncbatch_*` name either uses is
//! in the README's "Monitoring" table; and tests/metrics/check_exposition.py accepts
//! exposition text as the daemon renders it and refuses broken text.
//!
//! promtool (Debian's prometheus) and prometheus_client (python3-prometheus-client)
//! are needed: without them these tests fail, saying to run scripts/deps.sh.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use asyncbatch_e2e::{repo_root, run_with_timeout, Json, Output, Sandbox};

/// The alerts of deploy/prometheus-alerts.yml, each of which the unit tests exercise.
const ALERTS: [&str; 5] = [
    "AsyncbatchSpoolOldestItemOld",
    "AsyncbatchFailureStoreGrowing",
    "AsyncbatchItemsDropped",
    "AsyncbatchDaemonDown",
    "AsyncbatchWorkerRestarting",
];

fn promtool() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/bin", "/usr/local/bin"].map(PathBuf::from))
        .map(|dir| dir.join("promtool"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("promtool not found: install the Debian package prometheus (bash scripts/deps.sh)")
        })
}

/// Runs `promtool args` in the repository root.
fn run_promtool(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(promtool());
    cmd.args(args).current_dir(repo_root());
    run_with_timeout(&mut cmd, stdin, Duration::from_secs(60))
}

/// tests/metrics/check_exposition.py, once Debian's python3 can import prometheus_client.
fn check_exposition_script() -> PathBuf {
    let python = Path::new("/usr/bin/python3");
    let imports = python.is_file()
        && run_with_timeout(
            Command::new(python).args(["-c", "import prometheus_client.parser"]),
            None,
            Duration::from_secs(30),
        )
        .status
        .success();
    assert!(
        imports,
        "/usr/bin/python3 cannot import prometheus_client: install the Debian package \
         python3-prometheus-client (bash scripts/deps.sh)"
    );
    let script = repo_root().join("tests/metrics/check_exposition.py");
    let mode = fs::metadata(&script).unwrap_or_else(|e| panic!("{}: {e}", script.display())).permissions();
    assert!(mode.mode() & 0o111 != 0, "{} is not executable: chmod +x it", script.display());
    script
}

/// Pipes `text` through check_exposition.py (by its shebang, /usr/bin/python3).
fn check_exposition(text: &str) -> Output {
    let mut cmd = Command::new(check_exposition_script());
    run_with_timeout(&mut cmd, Some(text.as_bytes()), Duration::from_secs(30))
}

/// The metric names of the README's "Monitoring" table (backticked in its first
/// column, several to a row), each with its type.
fn readme_metrics() -> Vec<(String, String)> {
    let readme = fs::read_to_string(repo_root().join("README.md")).unwrap();
    let start = readme.find("\n## Monitoring\n").expect("README.md has a \"## Monitoring\" section");
    let section = &readme[start + 1..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |end| end + 3)];
    let mut metrics = Vec::new();
    for row in section.lines().filter(|l| l.starts_with("| `")) {
        let columns: Vec<&str> = row.split('|').map(str::trim).collect();
        let (names, kind) = (columns[1], columns[2]);
        for name in names.split('`').skip(1).step_by(2) {
            metrics.push((name.to_string(), kind.to_string()));
        }
    }
    assert!(
        metrics.iter().any(|(n, t)| n == "asyncbatch_batch_duration_seconds" && t == "histogram")
            && metrics.iter().any(|(n, _)| n == "asyncbatch_spool_bytes"),
        "the Monitoring table of README.md, as read: {metrics:?}"
    );
    metrics
}

/// Every name the README's table allows: its names, and a histogram's series.
fn allowed_names() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (name, kind) in readme_metrics() {
        if kind == "histogram" {
            for suffix in ["_bucket", "_sum", "_count"] {
                names.insert(format!("{name}{suffix}"));
            }
        }
        names.insert(name);
    }
    names
}

/// The `asyncbatch_*` identifiers in `text`.
fn metric_names(text: &str) -> BTreeSet<String> {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut names = BTreeSet::new();
    for (at, _) in text.match_indices("asyncbatch_") {
        if text[..at].chars().next_back().is_some_and(ident) {
            continue;
        }
        let end = text[at..].find(|c: char| !ident(c)).map_or(text.len(), |n| at + n);
        names.insert(text[at..end].to_string());
    }
    names
}

/// Asserts that every `asyncbatch_*` name in `text` (of `file`) is in the README's
/// table, and returns them.
fn assert_names_documented(file: &str, text: &str) -> BTreeSet<String> {
    let allowed = allowed_names();
    let used = metric_names(text);
    let unknown: Vec<&String> = used.difference(&allowed).collect();
    assert!(
        unknown.is_empty(),
        "{file} uses metric names that README.md's Monitoring table does not have: {unknown:?}"
    );
    used
}

/// Every `expr` of the panels' targets, in order.
fn dashboard_exprs(value: &Json, out: &mut Vec<String>) {
    match value {
        Json::Obj(_) => {
            for (key, member) in value.members() {
                match (key, member) {
                    ("expr", Json::Str(expr)) => out.push(expr.clone()),
                    _ => dashboard_exprs(member, out),
                }
            }
        }
        Json::Arr(items) => items.iter().for_each(|v| dashboard_exprs(v, out)),
        _ => {}
    }
}

/// Every `datasource` object's `uid`.
fn datasource_uids(value: &Json, out: &mut Vec<String>) {
    for (key, member) in value.members() {
        if key == "datasource" {
            out.push(member.get("uid").as_str().unwrap_or("(none)").to_string());
        } else {
            datasource_uids(member, out);
        }
    }
    value.items().iter().for_each(|v| datasource_uids(v, out));
}

/// A dashboard query as Prometheus gets it: Grafana's variables replaced.
fn as_prometheus_gets_it(expr: &str) -> String {
    let expr = [("$__rate_interval", "5m"), ("$__range", "6h"), ("$__interval", "1m")]
        .iter()
        .fold(expr.to_string(), |e, (var, value)| e.replace(var, value))
        .replace("\"$job\"", "\".*\"")
        .replace("\"$instance\"", "\".*\"");
    assert!(!expr.contains('$'), "a Grafana variable this test does not know in {expr}");
    expr
}

#[test]
fn the_alert_rules_pass_promtool_check_rules() {
    let out = run_promtool(&["check", "rules", "deploy/prometheus-alerts.yml"], None);
    out.assert_success("promtool check rules deploy/prometheus-alerts.yml");
    let stdout = out.stdout_str();
    assert!(stdout.contains(&format!("SUCCESS: {} rules found", ALERTS.len())), "{stdout}");

    let rules = fs::read_to_string(repo_root().join("deploy/prometheus-alerts.yml")).unwrap();
    assert!(rules.contains("  - name: asyncbatch\n"), "the group is named asyncbatch");
    for alert in ALERTS {
        assert!(rules.contains(&format!("- alert: {alert}\n")), "deploy/prometheus-alerts.yml has {alert}");
    }
}

#[test]
fn the_alert_rules_pass_their_unit_tests() {
    let tests = fs::read_to_string(repo_root().join("tests/metrics/alerts.test.yml")).unwrap();
    for alert in ALERTS {
        assert!(
            tests.contains(&format!("alertname: {alert}\n")),
            "tests/metrics/alerts.test.yml does not test {alert}"
        );
    }
    let out = run_promtool(&["test", "rules", "tests/metrics/alerts.test.yml"], None);
    out.assert_success("promtool test rules tests/metrics/alerts.test.yml");
    eprintln!("{}", out.stdout_str());
}

#[test]
fn the_dashboard_and_the_alerts_use_only_the_documented_metrics() {
    let root = repo_root();
    let text = fs::read_to_string(root.join("deploy/grafana-dashboard.json")).unwrap();
    let dashboard = Json::parse(&text).unwrap_or_else(|e| panic!("deploy/grafana-dashboard.json: {e}"));

    // Importable: a Prometheus data source asked for at import, and used everywhere.
    let inputs = dashboard.get("__inputs").items();
    assert!(
        inputs.iter().any(|i| i.get("name").as_str() == Some("DS_PROMETHEUS")
            && i.get("pluginId").as_str() == Some("prometheus")),
        "__inputs asks for DS_PROMETHEUS: {}",
        dashboard.get("__inputs")
    );
    let mut uids = Vec::new();
    datasource_uids(&dashboard, &mut uids);
    assert!(!uids.is_empty());
    assert!(
        uids.iter().all(|u| u == "${DS_PROMETHEUS}" || u == "-- Grafana --"),
        "every data source is ${{DS_PROMETHEUS}}: {uids:?}"
    );
    assert!(dashboard.get("schemaVersion").as_i64().is_some_and(|v| v >= 36), "schemaVersion");
    let variables = dashboard.at(&["templating", "list"]).items();
    let job = variables.iter().find(|v| v.get("name").as_str() == Some("job")).expect("a `job` variable");
    assert_eq!(job.get("query").as_str(), Some("label_values(asyncbatch_delivered_items_total, job)"));

    // Every query parses as PromQL: promtool checks them as recording rules.
    let mut exprs = Vec::new();
    dashboard_exprs(&dashboard, &mut exprs);
    assert!(exprs.len() >= 15, "the panels' queries: {exprs:?}");
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, expr) in exprs.iter().enumerate() {
        assert!(!metric_names(expr).is_empty(), "a query of no asyncbatch metric: {expr}");
        let quoted = as_prometheus_gets_it(expr).replace('\\', "\\\\").replace('"', "\\\"");
        rules.push_str(&format!("      - record: dashboard:query_{i}\n        expr: \"{quoted}\"\n"));
    }
    let sandbox = Sandbox::new();
    let file = sandbox.join("dashboard-queries.yml");
    fs::write(&file, &rules).unwrap();
    run_promtool(&["check", "rules", &file.display().to_string()], None)
        .assert_success(&format!("promtool check rules of the dashboard's queries\n{rules}"));

    // The names: those of the queries, variables and descriptions, and the alerts'.
    let used = assert_names_documented("deploy/grafana-dashboard.json", &text);
    for name in [
        "asyncbatch_daemon_up",
        "asyncbatch_daemon_uptime_seconds",
        "asyncbatch_daemon_worker_restarts_total",
        "asyncbatch_delivered_items_total",
        "asyncbatch_batches_total",
        "asyncbatch_failed_batches_total",
        "asyncbatch_retries_total",
        "asyncbatch_dropped_items_total",
        "asyncbatch_batch_duration_seconds_bucket",
        "asyncbatch_spool_segments",
        "asyncbatch_spool_bytes",
        "asyncbatch_spool_oldest_age_seconds",
        "asyncbatch_failure_store_files",
        "asyncbatch_failure_store_bytes",
        "asyncbatch_queue_messages",
        "asyncbatch_http_requests_total",
    ] {
        assert!(used.contains(name), "the dashboard shows {name}");
    }
    assert!(
        exprs.iter().filter(|e| e.contains("histogram_quantile(")).count() >= 3,
        "p50, p95 and p99 of the batch duration"
    );
    let alerts = fs::read_to_string(root.join("deploy/prometheus-alerts.yml")).unwrap();
    assert!(!assert_names_documented("deploy/prometheus-alerts.yml", &alerts).is_empty());

    // Both assume the `job` label kept by honor_labels: the scrape config says so.
    let deploy_readme = fs::read_to_string(root.join("deploy/README.md")).unwrap();
    assert!(deploy_readme.contains("honor_labels: true"), "deploy/README.md's scrape config");
}

/// Exposition text as core/src/daemon/metrics.rs renders it: a gauge, a counter of a
/// job whose identifier has a quote and a backslash, a histogram, an empty family.
const GOOD: &str = r#"# HELP asyncbatch_daemon_up Whether the asyncbatch daemon runs.
# TYPE asyncbatch_daemon_up gauge
asyncbatch_daemon_up 1
# HELP asyncbatch_delivered_items_total Items in batches the callable accepted.
# TYPE asyncbatch_delivered_items_total counter
asyncbatch_delivered_items_total{job="we\"ird\\job"} 7
asyncbatch_delivered_items_total{job="logs"} 120
# HELP asyncbatch_batch_duration_seconds How long the calls of the callable took, retries included.
# TYPE asyncbatch_batch_duration_seconds histogram
asyncbatch_batch_duration_seconds_bucket{job="we\"ird\\job",le="0.0025"} 0
asyncbatch_batch_duration_seconds_bucket{job="we\"ird\\job",le="0.005"} 1
asyncbatch_batch_duration_seconds_bucket{job="we\"ird\\job",le="+Inf"} 1
asyncbatch_batch_duration_seconds_sum{job="we\"ird\\job"} 0.003
asyncbatch_batch_duration_seconds_count{job="we\"ird\\job"} 1
# HELP asyncbatch_http_requests_total An HttpSink job's responses, by status code.
# TYPE asyncbatch_http_requests_total counter
asyncbatch_http_requests_total{job="logs",code="503"} 1
# HELP asyncbatch_spool_segments Segments waiting in the spool.
# TYPE asyncbatch_spool_segments gauge
"#;

#[test]
fn check_exposition_accepts_the_daemons_format_and_refuses_broken_text() {
    // The sample is valid for Prometheus' own parser too.
    run_promtool(&["check", "metrics"], Some(GOOD.as_bytes())).assert_success("promtool check metrics");

    let out = check_exposition(GOOD);
    out.assert_success("check_exposition.py of a good text");
    let parsed = Json::parse(&out.stdout_str()).unwrap_or_else(|e| panic!("{e}: {}", out.stdout_str()));
    let families: Vec<&str> = parsed.members().iter().map(|(name, _)| *name).collect();
    assert_eq!(
        families,
        [
            "asyncbatch_batch_duration_seconds",
            "asyncbatch_daemon_up",
            "asyncbatch_delivered_items_total",
            "asyncbatch_http_requests_total",
            "asyncbatch_spool_segments",
        ]
    );
    let histogram = parsed.get("asyncbatch_batch_duration_seconds");
    assert_eq!(histogram.get("type").as_str(), Some("histogram"));
    let samples = histogram.get("samples").items();
    assert_eq!(samples.len(), 5, "{histogram}");
    assert_eq!(samples[2].get("name").as_str(), Some("asyncbatch_batch_duration_seconds_bucket"));
    assert_eq!(samples[2].at(&["labels", "le"]).as_str(), Some("+Inf"));
    assert_eq!(samples[2].at(&["labels", "job"]).as_str(), Some("we\"ird\\job"), "the escapes decoded");
    assert_eq!(samples[3].get("value").as_f64(), Some(0.003));
    let delivered = parsed.at(&["asyncbatch_delivered_items_total", "samples"]).items();
    assert_eq!(delivered[0].get("value").as_f64(), Some(7.0));
    assert_eq!(parsed.at(&["asyncbatch_delivered_items_total", "type"]).as_str(), Some("counter"));
    let http = parsed.at(&["asyncbatch_http_requests_total", "samples"]).items();
    assert_eq!(http[0].at(&["labels", "code"]).as_str(), Some("503"));
    assert!(parsed.at(&["asyncbatch_spool_segments", "samples"]).items().is_empty());

    let gauge = "# HELP asyncbatch_queue_messages Messages.\n# TYPE asyncbatch_queue_messages gauge\n";
    // The daemon_up family of GOOD, between the two of a family given twice.
    let between = &GOOD[..GOOD.find("# HELP asyncbatch_delivered").unwrap()];
    let broken: [(&str, String, &str); 8] = [
        (
            "an unterminated label value",
            format!("{gauge}asyncbatch_queue_messages{{job=\"x}} 1\n"),
            "cannot parse",
        ),
        ("a value that is no number", format!("{gauge}asyncbatch_queue_messages one\n"), "cannot parse"),
        (
            "an escape the format does not have",
            format!("{gauge}asyncbatch_queue_messages{{job=\"a\\q\"}} 1\n"),
            "invalid escape",
        ),
        (
            "no HELP",
            "# TYPE asyncbatch_queue_messages gauge\nasyncbatch_queue_messages 1\n".to_string(),
            "has no HELP",
        ),
        (
            "no TYPE",
            "# HELP asyncbatch_queue_messages Messages.\nasyncbatch_queue_messages 1\n".to_string(),
            "has no TYPE",
        ),
        (
            "a family twice",
            format!("{gauge}asyncbatch_queue_messages 1\n{between}{gauge}asyncbatch_queue_messages 2\n"),
            "appears twice",
        ),
        (
            "a sample of no family",
            format!("{gauge}asyncbatch_queue_messages 1\nasyncbatch_queue_bytes 9\n"),
            "belongs to no",
        ),
        (
            "a name of another program",
            "# HELP queue_messages Messages.\n# TYPE queue_messages gauge\nqueue_messages 1\n".to_string(),
            "does not start with asyncbatch_",
        ),
    ];
    for (what, text, says) in broken {
        let out = check_exposition(&text);
        assert_eq!(out.status.code(), Some(1), "{what}: exit 1\n{text}\n{}{}", out.stdout_str(), out.stderr);
        assert!(out.stderr.contains(says), "{what}: the message says {says:?}: {}", out.stderr);
    }
}
