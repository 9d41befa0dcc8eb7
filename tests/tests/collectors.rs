//! `AsyncBatch\HttpSink` against collectors as companies run them: behind TLS with a
//! private CA (a real nginx in front of the test server, certificates made by
//! `openssl`: [`TestPki`], [`TlsFront`]), asking for a client certificate, and
//! reached through a real forward proxy (Debian's tinyproxy: [`Tinyproxy`]). A CLI
//! script (`tests/php/http_sink_cli.php`) submits and flushes; the tests check what
//! arrived, what went through the proxy, and what the failure store kept.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use asyncbatch_e2e::{
    fixture, repo_root, run_with_timeout, wait_until, HttpServer, Json, Output, Php, Sandbox, TestPki,
    Tinyproxy, TlsFront, TlsFrontOptions,
};

asyncbatch_e2e::on_both_sides!(
    https_trusts_ssl_cert_file_ssl_cert_dir_or_only_ca_file,
    https_trusts_the_system_store,
    an_untrusted_certificate_is_retried_then_stored_naming_why,
    mutual_tls_presents_the_client_certificate,
    proxies_from_the_environment_as_curl_reads_it_and_the_proxy_option,
);

/// The environment variables a test sets itself, cleared otherwise.
const CLEARED: [&str; 10] = [
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
];

/// `http_sink_cli.php` posting 3 items to `url` with `env` (`AB_HTTP_*` options,
/// `SSL_CERT_*`, proxies), flushed; retries short.
fn post(side: Php, sandbox: &Sandbox, url: &str, env: &[(&str, &str)]) -> Command {
    if let Err(problem) = side.check() {
        panic!("the {side} is not usable: {problem}");
    }
    let mut php = side
        .cli()
        .ini("log_errors", "0")
        .inis(sandbox.asyncbatch_ini())
        .ini("asyncbatch.runner", "shutdown")
        .env("AB_HTTP_URL", url)
        .env("AB_HTTP_RETRIES", "1")
        .env("AB_HTTP_DELAY", "0.05")
        .script(&fixture("http_sink_cli.php"), &["1", "3", "flush"]);
    for (k, v) in env {
        php = php.env(k, v);
    }
    let mut cmd = php.command();
    for name in CLEARED {
        if !env.iter().any(|(k, _)| *k == name) {
            cmd.env_remove(name);
        }
    }
    cmd
}

fn run(mut cmd: Command) -> Output {
    run_with_timeout(&mut cmd, None, Duration::from_secs(60))
}

/// Waits until the server has `n` requests, and returns how many it has.
fn arrived(server: &HttpServer, n: usize) -> usize {
    server.wait_for(Duration::from_secs(20), |r| r.len() >= n).len()
}

/// The failure store's batches, by `failed:list --json`.
fn stored(side: Php, sandbox: &Sandbox) -> Json {
    let mut args = vec!["failed:list", "--json"];
    if side == Php::Polyfill {
        args.push("--polyfill");
    }
    let out = side
        .cli()
        .ini("log_errors", "0")
        .inis(sandbox.asyncbatch_ini())
        .env("AB_HTTP_URL", "http://127.0.0.1:1/")
        .script(&repo_root().join("php/bin/asyncbatch"), &args)
        .timeout(Duration::from_secs(60))
        .run();
    Json::parse(&out.stdout_str()).unwrap_or(Json::Arr(Vec::new()))
}

/// A path as an environment value (kept for the test's life).
fn path(p: std::path::PathBuf) -> &'static str {
    Box::leak(p.into_os_string().into_string().expect("a UTF-8 path").into_boxed_str())
}

fn https_trusts_ssl_cert_file_ssl_cert_dir_or_only_ca_file(side: Php) {
    let sandbox = Sandbox::new();
    let pki = TestPki::generate(&sandbox.join("pki"));
    let server = HttpServer::start();
    let front = TlsFront::start(&pki, server.addr(), TlsFrontOptions::default());
    let url = front.url_ip("/ingest");
    let cases: [(&str, Vec<(&str, &str)>); 3] = [
        ("SSL_CERT_FILE", vec![("SSL_CERT_FILE", path(pki.bundle()))]),
        ("SSL_CERT_DIR", vec![("SSL_CERT_DIR", path(pki.certs_dir()))]),
        // caFile alone is trusted: SSL_CERT_FILE names a CA that did not sign the server.
        (
            "caFile over SSL_CERT_FILE",
            vec![("AB_HTTP_CA_FILE", path(pki.ca())), ("SSL_CERT_FILE", path(pki.other_ca()))],
        ),
    ];
    for (n, (what, env)) in cases.iter().enumerate() {
        run(post(side, &sandbox, &url, env)).assert_success(what);
        assert_eq!(
            arrived(&server, n + 1),
            n + 1,
            "[{side}] {what}: the batch arrived through TLS\n{}",
            front.logs()
        );
    }
    for r in server.requests() {
        assert_eq!(r.items().len(), 3);
    }
    assert_eq!(stored(side, &sandbox).items().len(), 0, "nothing was stored as failed");
    // caFile is all that is trusted: a CA that did not sign the server, with
    // SSL_CERT_FILE naming one that did, is refused.
    let env = [("AB_HTTP_CA_FILE", path(pki.other_ca())), ("SSL_CERT_FILE", path(pki.bundle()))];
    run(post(side, &sandbox, &url, &env)).assert_success("caFile alone");
    assert_eq!(stored(side, &sandbox).items().len(), 1, "[{side}] refused with only caFile trusted");
    assert_eq!(server.requests().len(), cases.len());
}

/// With no SSL_CERT_* variable, the system's bundle: the test's CA added to a copy
/// of it, bind-mounted over /etc/ssl/certs/ca-certificates.crt in a mount
/// namespace of the PHP process alone (needs root).
fn https_trusts_the_system_store(side: Php) {
    if !asyncbatch_e2e::require_root("bind-mounting a trust store over the system's") {
        return;
    }
    let system = Path::new("/etc/ssl/certs/ca-certificates.crt");
    assert!(system.exists(), "{} is missing: install ca-certificates", system.display());
    let sandbox = Sandbox::new();
    let pki = TestPki::generate(&sandbox.join("pki"));
    let server = HttpServer::start();
    let front = TlsFront::start(&pki, server.addr(), TlsFrontOptions::default());
    let php = post(side, &sandbox, &front.url_ip("/ingest"), &[]);
    let mut cmd = Command::new("unshare");
    // Private mounts, so the bind mount stays in the namespace; in a chroot (the
    // trixie root) / is no mount point, and scripts/trixie.sh made them private.
    cmd.args(["--mount", "--propagation", "unchanged", "--", "sh", "-c"])
        .arg(r#"mount --make-rprivate / 2>/dev/null; mount --bind "$0" /etc/ssl/certs/ca-certificates.crt && exec "$@""#)
        .arg(pki.bundle())
        .arg(php.get_program())
        .args(php.get_args());
    for (k, v) in php.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    run(cmd).assert_success("the sink trusting the system's store");
    assert_eq!(arrived(&server, 1), 1, "[{side}] the batch arrived\n{}", front.logs());
    // Without the CA in the store, the same post is refused.
    run(post(side, &sandbox, &front.url_ip("/ingest"), &[])).assert_success("the sink with the real store");
    assert_eq!(stored(side, &sandbox).items().len(), 1, "the real store does not trust the test CA");
}

fn an_untrusted_certificate_is_retried_then_stored_naming_why(side: Php) {
    let sandbox = Sandbox::new();
    let pki = TestPki::generate(&sandbox.join("pki"));
    let server = HttpServer::start();
    let front =
        TlsFront::start(&pki, server.addr(), TlsFrontOptions { untrusted: true, ..Default::default() });
    let out = run(post(side, &sandbox, &front.url_ip("/ingest"), &[("SSL_CERT_FILE", path(pki.bundle()))]));
    out.assert_success("the sink posting to an untrusted server");
    let list = stored(side, &sandbox);
    assert_eq!(list.items().len(), 1, "[{side}] the batch was stored: {list:?}");
    let error = list.items()[0].get("lastError").as_str().unwrap_or("").to_string();
    assert!(
        error.to_lowercase().contains("certificate"),
        "[{side}] lastError names the certificate: {error}"
    );
    assert_eq!(list.items()[0].get("items").as_i64(), Some(3));
    assert_eq!(server.requests().len(), 0, "nothing reached the server");
    eprintln!("[{side}] untrusted: {error}");
}

fn mutual_tls_presents_the_client_certificate(side: Php) {
    let sandbox = Sandbox::new();
    let pki = TestPki::generate(&sandbox.join("pki"));
    let server = HttpServer::start();
    let front =
        TlsFront::start(&pki, server.addr(), TlsFrontOptions { client_auth: true, ..Default::default() });
    let url = front.url_ip("/ingest");
    let ca = ("AB_HTTP_CA_FILE", path(pki.ca()));
    run(post(side, &sandbox, &url, &[ca])).assert_success("the sink without a client certificate");
    let list = stored(side, &sandbox);
    assert_eq!(list.items().len(), 1, "[{side}] refused without a client certificate, stored: {list:?}");
    let error = list.items()[0].get("lastError").as_str().unwrap_or("").to_string();
    assert!(error.starts_with("HTTP 400"), "[{side}] nginx's 400: {error}");

    let env = [
        ca,
        ("AB_HTTP_CLIENT_CERT", path(pki.client_cert())),
        ("AB_HTTP_CLIENT_KEY", path(pki.client_key())),
    ];
    run(post(side, &sandbox, &url, &env)).assert_success("the sink with a client certificate");
    assert_eq!(arrived(&server, 1), 1, "[{side}] delivered with the client certificate\n{}", front.logs());
}

fn proxies_from_the_environment_as_curl_reads_it_and_the_proxy_option(side: Php) {
    let sandbox = Sandbox::new();
    let pki = TestPki::generate(&sandbox.join("pki"));
    let server = HttpServer::start();
    let front = TlsFront::start(&pki, server.addr(), TlsFrontOptions::default());
    let proxy = Tinyproxy::start();
    let plain = server.url("/ingest");
    let tls = front.url_ip("/ingest");
    let ca = ("AB_HTTP_CA_FILE", path(pki.ca()));
    let via = proxy.url();
    let dead = "http://127.0.0.1:1";
    // (what, URL, environment, whether the proxy saw it)
    type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, bool);
    let cases: Vec<Case> = vec![
        ("http_proxy, an http URL", &plain, vec![("http_proxy", &via)], true),
        ("https_proxy, an https URL (CONNECT)", &tls, vec![ca, ("https_proxy", &via)], true),
        ("HTTPS_PROXY", &tls, vec![ca, ("HTTPS_PROXY", &via)], true),
        ("all_proxy", &plain, vec![("all_proxy", &via)], true),
        // Under CGI, HTTP_PROXY comes from the request's Proxy: header.
        ("HTTP_PROXY is not read", &plain, vec![("HTTP_PROXY", dead)], false),
        ("no_proxy", &plain, vec![("http_proxy", dead), ("no_proxy", "localhost,127.0.0.1")], false),
        ("the proxy option wins", &plain, vec![("http_proxy", dead), ("AB_HTTP_PROXY", &via)], true),
    ];
    for (n, (what, url, env, proxied)) in cases.iter().enumerate() {
        let before = proxy.requests().len();
        run(post(side, &sandbox, url, env)).assert_success(what);
        assert_eq!(
            arrived(&server, n + 1),
            n + 1,
            "[{side}] {what}: delivered\nproxy log:\n{}\nfailed: {:?}",
            proxy.log_text(),
            stored(side, &sandbox)
        );
        // tinyproxy logs a request once it has read it: wait for the line.
        let seen =
            wait_until(Duration::from_secs(5), Duration::from_millis(20), || proxy.requests().len() > before);
        assert_eq!(seen, *proxied, "[{side}] {what}: through the proxy: {:?}", &proxy.requests()[before..]);
        if *proxied && url.starts_with("https") {
            assert!(proxy.requests()[before].starts_with("CONNECT "), "{:?}", &proxy.requests()[before..]);
        }
    }
    assert_eq!(stored(side, &sandbox).items().len(), 0, "nothing was stored as failed");
}
