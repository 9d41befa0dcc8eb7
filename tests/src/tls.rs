//! A real TLS endpoint for the tests: certificates made with the `openssl`
//! command-line tool, and an nginx that terminates TLS and proxies every request
//! to the plain [`HttpServer`](crate::HttpServer).
//!
//! ```no_run
//! use asyncbatch_e2e::{HttpServer, Sandbox, TestPki, TlsFront, TlsFrontOptions};
//!
//! let sandbox = Sandbox::new();
//! let pki = TestPki::generate(&sandbox.join("pki"));
//! let server = HttpServer::start();
//! let front = TlsFront::start(&pki, server.addr(), TlsFrontOptions::default());
//! // ... PHP posts to front.url("/ingest") with caFile = pki.ca() ...
//! ```
//!
//! Nothing is mocked: clients see nginx's TLS stack and its certificate checks,
//! the [`HttpServer`](crate::HttpServer) behind it sees what they sent.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tempfile::TempDir;

use crate::process::{run_with_timeout, wait_until};
use crate::skip::is_root;

/// Generous: the machine running the tests may be loaded.
const OPENSSL_TIMEOUT: Duration = Duration::from_secs(60);
const START_TIMEOUT: Duration = Duration::from_secs(15);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts at a free port: another process may take the one picked before
/// nginx binds it.
const PORT_ATTEMPTS: usize = 5;

/// Where the system's trusted roots are on Debian; copied into `bundle.pem`.
const SYSTEM_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// A CA, certificates it signed, and a second CA nobody trusts, in one directory.
///
/// Every key is EC P-256 in PKCS#8 PEM; every certificate is X.509 v3, valid for
/// 2 days. Files are 0644 and the directory 0755 so that PHP run as another user
/// can read them (the directories above `dir` must let that user through too).
#[derive(Clone, Debug)]
pub struct TestPki {
    dir: PathBuf,
}

impl TestPki {
    /// Creates `dir` and writes the PKI into it with `openssl`.
    ///
    /// # Panics
    /// When `openssl` is missing or one of its commands fails, naming the
    /// command, with its stderr.
    pub fn generate(dir: &Path) -> TestPki {
        let openssl = find_program("openssl", "openssl");
        fs::create_dir_all(dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        let pki = TestPki { dir: dir.to_path_buf() };
        // CSRs and extension files, removed at the end. openssl runs in `dir`,
        // so every path below is relative to it.
        let work = tempfile::Builder::new().prefix("work-").tempdir_in(dir).expect("create a work directory");
        let w = work.path().file_name().expect("a name").to_string_lossy().into_owned();
        // A request config of our own, so that no system or $OPENSSL_CONF
        // setting adds extensions or prompts.
        let req_cnf = format!("{w}/req.cnf");
        fs::write(dir.join(&req_cnf), "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = unused\n")
            .expect("write req.cnf");

        let ca_ext = "basicConstraints = critical, CA:TRUE\n\
                      keyUsage = critical, keyCertSign, cRLSign\n\
                      subjectKeyIdentifier = hash\n";
        let leaf = |eku: &str, san: &str| {
            format!(
                "basicConstraints = critical, CA:FALSE\n\
                 keyUsage = critical, digitalSignature\n\
                 extendedKeyUsage = {eku}\n\
                 {san}\
                 subjectKeyIdentifier = hash\n\
                 authorityKeyIdentifier = keyid, issuer\n"
            )
        };
        let server_ext = leaf("serverAuth", "subjectAltName = DNS:localhost, IP:127.0.0.1\n");
        let client_ext = leaf("clientAuth", "");

        // `name.key` and `name.pem` for `/CN=cn`, signed by `issuer` (its name)
        // or by itself.
        let make = |name: &str, cn: &str, issuer: Option<&str>, ext: &str| {
            let (key, cert) = (format!("{name}.key"), format!("{name}.pem"));
            let (csr, ext_file) = (format!("{w}/{name}.csr"), format!("{w}/{name}.ext"));
            fs::write(dir.join(&ext_file), ext).expect("write an extensions file");
            let curve = "ec_paramgen_curve:P-256";
            openssl_run(&openssl, dir, &["genpkey", "-algorithm", "EC", "-pkeyopt", curve, "-out", &key]);
            let subject = format!("/CN={cn}");
            openssl_run(
                &openssl,
                dir,
                &["req", "-new", "-config", &req_cnf, "-key", &key, "-subj", &subject, "-out", &csr],
            );
            let serial = format!("0x{:016x}", next_serial());
            let (issuer_cert, issuer_key) = issuer.map(|i| (format!("{i}.pem"), format!("{i}.key"))).unzip();
            let mut args = vec!["x509", "-req", "-in", &csr];
            match (&issuer_cert, &issuer_key) {
                (Some(ca_cert), Some(ca_key)) => args.extend(["-CA", ca_cert, "-CAkey", ca_key]),
                _ => args.extend(["-signkey", &key]),
            }
            args.extend(["-days", "2", "-sha256", "-set_serial", &serial]);
            args.extend(["-extfile", &ext_file, "-out", &cert]);
            openssl_run(&openssl, dir, &args);
        };
        make("ca", "asyncbatch-e2e test CA", None, ca_ext);
        make("server", "localhost", Some("ca"), &server_ext);
        make("client", "asyncbatch-e2e client", Some("ca"), &client_ext);
        make("other-ca", "asyncbatch-e2e untrusted CA", None, ca_ext);
        make("untrusted-server", "localhost", Some("other-ca"), &server_ext);
        drop(work);

        // A stand-in for the system store (SSL_CERT_FILE): the real roots, and ours.
        let mut bundle = fs::read_to_string(SYSTEM_BUNDLE).unwrap_or_default();
        if !bundle.is_empty() && !bundle.ends_with('\n') {
            bundle.push('\n');
        }
        bundle.push_str(&fs::read_to_string(pki.ca()).expect("read ca.pem"));
        fs::write(pki.bundle(), bundle).expect("write bundle.pem");

        // SSL_CERT_DIR: OpenSSL looks a CA up by `<subject hash>.<n>`.
        let hash = openssl_run(&openssl, dir, &["x509", "-hash", "-noout", "-in", "ca.pem"]);
        let hash = hash.trim();
        assert!(!hash.is_empty(), "`openssl x509 -hash` printed nothing for {}", pki.ca().display());
        fs::create_dir_all(pki.certs_dir()).expect("create certs-dir");
        fs::copy(pki.ca(), pki.certs_dir().join(format!("{hash}.0"))).expect("copy ca.pem into certs-dir");

        make_readable(dir);
        pki
    }

    /// The directory holding everything.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The CA certificate (`ca.pem`): what clients trust.
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// The CA's key.
    pub fn ca_key(&self) -> PathBuf {
        self.dir.join("ca.key")
    }

    /// The server certificate for `localhost` and `127.0.0.1`, signed by [`TestPki::ca`].
    pub fn server_cert(&self) -> PathBuf {
        self.dir.join("server.pem")
    }

    /// The server certificate's key.
    pub fn server_key(&self) -> PathBuf {
        self.dir.join("server.key")
    }

    /// A client certificate (clientAuth) signed by [`TestPki::ca`].
    pub fn client_cert(&self) -> PathBuf {
        self.dir.join("client.pem")
    }

    /// The client certificate's key (PKCS#8 PEM).
    pub fn client_key(&self) -> PathBuf {
        self.dir.join("client.key")
    }

    /// A second CA, trusted by nobody.
    pub fn other_ca(&self) -> PathBuf {
        self.dir.join("other-ca.pem")
    }

    /// A server certificate for the same names as [`TestPki::server_cert`],
    /// signed by [`TestPki::other_ca`].
    pub fn untrusted_server_cert(&self) -> PathBuf {
        self.dir.join("untrusted-server.pem")
    }

    /// The untrusted server certificate's key.
    pub fn untrusted_server_key(&self) -> PathBuf {
        self.dir.join("untrusted-server.key")
    }

    /// The system's roots (when there are any) followed by [`TestPki::ca`]: a
    /// stand-in system store for `SSL_CERT_FILE`.
    pub fn bundle(&self) -> PathBuf {
        self.dir.join("bundle.pem")
    }

    /// A directory holding [`TestPki::ca`] as `<subject hash>.0`: for `SSL_CERT_DIR`.
    pub fn certs_dir(&self) -> PathBuf {
        self.dir.join("certs-dir")
    }
}

/// What a [`TlsFront`] demands and presents.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TlsFrontOptions {
    /// Require a client certificate signed by [`TestPki::ca`]; without one,
    /// nginx answers 400.
    pub client_auth: bool,
    /// Present [`TestPki::untrusted_server_cert`] instead of the server certificate.
    pub untrusted: bool,
}

/// An nginx on `127.0.0.1:<port>` terminating TLS (1.2 and 1.3) and proxying
/// every request unchanged to a plain HTTP upstream. Dropping it stops nginx.
///
/// nginx listens on 127.0.0.1 only: a client resolving `localhost` to `::1`
/// first must fall back to 127.0.0.1 (every usual client does).
pub struct TlsFront {
    port: u16,
    child: Child,
    // After `child`: removed once nginx has stopped.
    dir: TempDir,
}

impl TlsFront {
    /// Starts nginx in front of `upstream` and waits until its port accepts
    /// connections.
    ///
    /// # Panics
    /// When nginx is missing or does not come up, with its error log.
    pub fn start(pki: &TestPki, upstream: SocketAddr, opts: TlsFrontOptions) -> TlsFront {
        let nginx = find_program("nginx", "nginx-light");
        let dir = tempfile::Builder::new().prefix("asyncbatch-nginx-").tempdir().expect("create a directory");
        for sub in ["temp", "logs"] {
            fs::create_dir_all(dir.path().join(sub)).expect("create an nginx directory");
        }
        let conf = dir.path().join("nginx.conf");
        let mut failure = String::new();
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port();
            fs::write(&conf, nginx_conf(dir.path(), pki, upstream, port, opts)).expect("write nginx.conf");
            let _ = fs::remove_file(error_log(dir.path()));
            let output = File::create(dir.path().join("logs/nginx.stdout")).expect("create nginx.stdout");
            let mut child = Command::new(&nginx)
                .arg("-p")
                .arg(dir.path())
                .arg("-c")
                .arg(&conf)
                // The log used before the configuration is read.
                .arg("-e")
                .arg(error_log(dir.path()))
                .stdin(Stdio::null())
                .stdout(output.try_clone().expect("dup"))
                .stderr(output)
                // Its own process group: on drop the workers are killed too,
                // whatever state the master is in.
                .process_group(0)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", nginx.display()));
            match wait_ready(&mut child, port) {
                Ok(()) => return TlsFront { port, child, dir },
                Err(why) => {
                    terminate(&mut child);
                    failure = format!("{why}\n{}", logs(dir.path()));
                    // Another process took the port in the meantime: take another.
                    if !failure.contains("Address already in use") {
                        break;
                    }
                }
            }
        }
        panic!("nginx (the TLS front of {upstream}) did not come up: {failure}");
    }

    /// The port nginx listens on (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `https://localhost:<port><path>`: by the name in the server certificate.
    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port)
    }

    /// `https://127.0.0.1:<port><path>`: by the IP address in the server certificate.
    pub fn url_ip(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }

    /// nginx's error log and output, for failure messages.
    pub fn logs(&self) -> String {
        logs(self.dir.path())
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        terminate(&mut self.child);
    }
}

fn error_log(dir: &Path) -> PathBuf {
    dir.join("logs/error.log")
}

fn logs(dir: &Path) -> String {
    format!(
        "--- nginx error log ---\n{}--- nginx output ---\n{}",
        fs::read_to_string(error_log(dir)).unwrap_or_default(),
        fs::read_to_string(dir.join("logs/nginx.stdout")).unwrap_or_default()
    )
}

/// Waits until 127.0.0.1:`port` accepts TCP connections; `Err` when nginx exits
/// first or the wait times out.
fn wait_ready(child: &mut Child, port: u16) -> Result<(), String> {
    let addr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port));
    let start = Instant::now();
    let mut exited = None;
    let ready = wait_until(START_TIMEOUT, Duration::from_millis(20), || {
        if let Ok(Some(status)) = child.try_wait() {
            exited = Some(status);
            return true;
        }
        TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
    });
    match exited {
        Some(status) => Err(format!("nginx exited at start ({status})")),
        None if !ready => {
            Err(format!("nginx did not accept connections on {addr} within {:?}", start.elapsed()))
        }
        None => Ok(()),
    }
}

/// SIGTERM (nginx's fast shutdown), then SIGKILL to the whole group after
/// [`STOP_TIMEOUT`]; reaps the master.
fn terminate(child: &mut Child) {
    let pid = child.id() as libc::pid_t;
    if matches!(child.try_wait(), Ok(None)) {
        // SAFETY: a signal to a child we spawned and have not reaped.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let _ =
            wait_until(STOP_TIMEOUT, Duration::from_millis(20), || matches!(child.try_wait(), Ok(Some(_))));
    }
    // SAFETY: the group id is the master's pid (process_group(0)); the group
    // outlives a reaped master while workers remain, and its id is not reused
    // meanwhile: stray workers die too.
    unsafe { libc::kill(-pid, libc::SIGKILL) };
    let _ = child.wait();
}

/// The configuration: one server, everything inside `dir`.
fn nginx_conf(dir: &Path, pki: &TestPki, upstream: SocketAddr, port: u16, opts: TlsFrontOptions) -> String {
    let (cert, key) = if opts.untrusted {
        (pki.untrusted_server_cert(), pki.untrusted_server_key())
    } else {
        (pki.server_cert(), pki.server_key())
    };
    let d = dir.display();
    let mut c = String::new();
    if is_root() {
        // Workers would run as `nobody`, which may not reach the files; as
        // non-root the directive is ignored (with a warning), so only then.
        let _ = writeln!(c, "user root;");
    }
    let _ = writeln!(c, "daemon off;");
    let _ = writeln!(c, "worker_processes 1;");
    let _ = writeln!(c, "pid {d}/nginx.pid;");
    let _ = writeln!(c, "lock_file {d}/nginx.lock;");
    let _ = writeln!(c, "error_log {d}/logs/error.log info;");
    let _ = writeln!(c, "events {{ worker_connections 512; }}");
    let _ = writeln!(c, "http {{");
    let _ = writeln!(c, "    access_log {d}/logs/access.log;");
    // Every temp path, or nginx uses (and needs to create) the compiled-in ones.
    for kind in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"] {
        let _ = writeln!(c, "    {kind}_temp_path {d}/temp/{kind};");
    }
    let _ = writeln!(c, "    client_max_body_size 64m;");
    // Headers reach the upstream as sent, `X_Custom` ones too.
    let _ = writeln!(c, "    underscores_in_headers on;");
    let _ = writeln!(c, "    server_tokens off;");
    let _ = writeln!(c, "    upstream backend {{ server {upstream}; keepalive 8; }}");
    let _ = writeln!(c, "    server {{");
    let _ = writeln!(c, "        listen 127.0.0.1:{port} ssl;");
    let _ = writeln!(c, "        server_name localhost;");
    let _ = writeln!(c, "        ssl_certificate {};", cert.display());
    let _ = writeln!(c, "        ssl_certificate_key {};", key.display());
    let _ = writeln!(c, "        ssl_protocols TLSv1.2 TLSv1.3;");
    if opts.client_auth {
        let _ = writeln!(c, "        ssl_verify_client on;");
        let _ = writeln!(c, "        ssl_client_certificate {};", pki.ca().display());
    }
    let _ = writeln!(c, "        location / {{");
    // No URI part: the request target goes upstream unchanged.
    let _ = writeln!(c, "            proxy_pass http://backend;");
    let _ = writeln!(c, "            proxy_http_version 1.1;");
    // Kept alive upstream; the client's Connection header is hop-by-hop anyway.
    let _ = writeln!(c, "            proxy_set_header Connection \"\";");
    let _ = writeln!(c, "            proxy_set_header Host $http_host;");
    let _ = writeln!(c, "            proxy_request_buffering off;");
    let _ = writeln!(c, "            proxy_buffering off;");
    // One upstream request per client request, as without the front: no retry.
    let _ = writeln!(c, "            proxy_next_upstream off;");
    // Tests stall the upstream on purpose; the client's timeout is what counts.
    let _ = writeln!(c, "            proxy_read_timeout 300s;");
    let _ = writeln!(c, "            proxy_send_timeout 300s;");
    let _ = writeln!(c, "        }}");
    let _ = writeln!(c, "    }}");
    let _ = writeln!(c, "}}");
    c
}

/// A port free on 127.0.0.1 a moment ago.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// Distinct serial numbers for the certificates of one issuer (and of all runs,
/// likely): the time, the pid and a counter.
fn next_serial() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
    // Positive as a DER integer: the top bit clear.
    (nanos ^ (u64::from(std::process::id()) << 40)).wrapping_add(COUNTER.fetch_add(1, Ordering::SeqCst))
        & (u64::MAX >> 1)
}

/// Runs `openssl args...` in `dir`; returns its stdout.
fn openssl_run(openssl: &Path, dir: &Path, args: &[&str]) -> String {
    let output = run_with_timeout(Command::new(openssl).args(args).current_dir(dir), None, OPENSSL_TIMEOUT);
    let shown = args.join(" ");
    assert!(
        output.status.success() && !output.timed_out,
        "`openssl {shown}` (in {}) failed ({}{})\n--- stderr ---\n{}",
        dir.display(),
        output.status,
        if output.timed_out { ", killed by the timeout" } else { "" },
        output.stderr
    );
    output.stdout_str()
}

/// Directories 0755 and files 0644, recursively: test keys, read by PHP as
/// whatever user it runs as.
fn make_readable(path: &Path) {
    let mode = if path.is_dir() { 0o755 } else { 0o644 };
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("cannot chmod {}: {e}", path.display()));
    if path.is_dir() {
        for entry in fs::read_dir(path).expect("read a PKI directory").filter_map(|e| e.ok()) {
            make_readable(&entry.path());
        }
    }
}

/// `name` from `PATH` or the sbin directories (a non-root `PATH` often lacks
/// them, and nginx is in /usr/sbin).
fn find_program(name: &str, debian_package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{name}` not found in PATH or /usr/sbin: install the Debian package {debian_package} \
                 (bash scripts/deps.sh)"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http_server::{HttpServer, Reply};
    use crate::process::Output;

    const CURL_TIMEOUT: Duration = Duration::from_secs(60);

    /// `curl -sS <args> -w '\n%{http_code}'`: its output, and the status code it
    /// printed last.
    fn curl(args: &[&str]) -> (Output, String) {
        let curl = find_program("curl", "curl");
        let output = run_with_timeout(
            Command::new(curl).arg("-sS").args(args).args(["-w", "\n%{http_code}"]),
            None,
            CURL_TIMEOUT,
        );
        let stdout = output.stdout_str();
        let status = stdout.rsplit('\n').next().unwrap_or_default().to_string();
        (output, status)
    }

    fn path(p: &Path) -> String {
        p.display().to_string()
    }

    #[test]
    fn generates_the_files_readable_by_anyone() {
        let tmp = tempfile::tempdir().unwrap();
        let pki = TestPki::generate(&tmp.path().join("pki"));
        for file in [
            pki.ca(),
            pki.ca_key(),
            pki.server_cert(),
            pki.server_key(),
            pki.client_cert(),
            pki.client_key(),
            pki.other_ca(),
            pki.untrusted_server_cert(),
            pki.untrusted_server_key(),
            pki.bundle(),
        ] {
            let mode = fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o644, "{}", file.display());
        }
        assert!(fs::read_to_string(pki.client_key()).unwrap().starts_with("-----BEGIN PRIVATE KEY-----"));
        let ca = fs::read_to_string(pki.ca()).unwrap();
        assert!(fs::read_to_string(pki.bundle()).unwrap().ends_with(&ca));
        let hashed: Vec<_> = fs::read_dir(pki.certs_dir()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(hashed.len(), 1);
        assert!(hashed[0].to_string_lossy().ends_with(".0"), "{hashed:?}");
        assert_eq!(fs::read_to_string(pki.certs_dir().join(&hashed[0])).unwrap(), ca);
        // Only what the PKI is made of: no CSRs or serial files left.
        let mut names: Vec<_> =
            fs::read_dir(pki.dir()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "bundle.pem",
                "ca.key",
                "ca.pem",
                "certs-dir",
                "client.key",
                "client.pem",
                "other-ca.key",
                "other-ca.pem",
                "server.key",
                "server.pem",
                "untrusted-server.key",
                "untrusted-server.pem"
            ]
        );
    }

    #[test]
    fn proxies_a_post_with_its_headers_and_body_and_the_answer_back() {
        let tmp = tempfile::tempdir().unwrap();
        let pki = TestPki::generate(&tmp.path().join("pki"));
        let server = HttpServer::start();
        let front = TlsFront::start(&pki, server.addr(), TlsFrontOptions::default());
        let body = r#"[{"event":"signup","n":1}]"#;
        let (out, status) = curl(&[
            "--cacert",
            &path(&pki.ca()),
            "-H",
            "Idempotency-Key: k1",
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            body,
            &front.url("/ingest"),
        ]);
        out.assert_success("curl through the TLS front");
        assert_eq!(status, "200", "{}", front.logs());
        assert!(out.stdout_str().starts_with("ok\n"), "{:?}", out.stdout_str());

        let requests = server.wait_for(Duration::from_secs(10), |r| !r.is_empty());
        assert_eq!(requests.len(), 1, "{requests:?}");
        let r = &requests[0];
        assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/ingest"));
        assert_eq!(r.header("Idempotency-Key"), Some("k1"));
        assert_eq!(r.header("Content-Type"), Some("application/json"));
        assert_eq!(r.header("Host"), Some(format!("localhost:{}", front.port()).as_str()));
        assert_eq!(r.body_str(), body);

        // The upstream's status and headers come back, by IP address too.
        server.push(Reply::retry_after(503, 7));
        let (out, status) =
            curl(&["--cacert", &path(&pki.ca()), "-i", "--data-binary", "[]", &front.url_ip("/ingest")]);
        out.assert_success("curl through the TLS front by IP");
        assert_eq!(status, "503");
        assert!(out.stdout_str().to_ascii_lowercase().contains("retry-after: 7\r\n"), "{}", out.stdout_str());
    }

    #[test]
    fn an_untrusted_certificate_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let pki = TestPki::generate(&tmp.path().join("pki"));
        let server = HttpServer::start();
        let opts = TlsFrontOptions { untrusted: true, ..Default::default() };
        let front = TlsFront::start(&pki, server.addr(), opts);
        // curl exits 60: "SSL certificate problem", with the system's roots and
        // with our CA alike.
        for extra in [vec![], vec!["--cacert".to_string(), path(&pki.ca())]] {
            let mut args: Vec<&str> = extra.iter().map(String::as_str).collect();
            let url = front.url("/ingest");
            args.extend(["--data-binary", "[]", &url]);
            let (out, _) = curl(&args);
            assert_eq!(out.status.code(), Some(60), "curl {args:?}: {}", out.stderr);
            assert!(out.stderr.contains("certificate"), "{}", out.stderr);
        }
        assert!(server.requests().is_empty());
        // The CA that did sign it is accepted: the refusals were about trust.
        let (out, status) = curl(&["--cacert", &path(&pki.other_ca()), &front.url("/ok")]);
        out.assert_success("curl trusting the other CA");
        assert_eq!(status, "200");
    }

    #[test]
    fn client_auth_wants_a_certificate_from_the_ca() {
        let tmp = tempfile::tempdir().unwrap();
        let pki = TestPki::generate(&tmp.path().join("pki"));
        let server = HttpServer::start();
        let opts = TlsFrontOptions { client_auth: true, ..Default::default() };
        let front = TlsFront::start(&pki, server.addr(), opts);
        let ca = path(&pki.ca());
        let url = front.url("/ingest");

        let (out, status) = curl(&["--cacert", &ca, "--data-binary", "[]", &url]);
        out.assert_success("curl without a client certificate");
        assert_eq!(status, "400", "{}", out.stdout_str());
        assert!(server.requests().is_empty());

        let (cert, key) = (path(&pki.client_cert()), path(&pki.client_key()));
        let (out, status) =
            curl(&["--cacert", &ca, "--cert", &cert, "--key", &key, "--data-binary", "[1]", &url]);
        out.assert_success("curl with the client certificate");
        assert_eq!(status, "200", "{}\n{}", out.stdout_str(), front.logs());
        let requests = server.wait_for(Duration::from_secs(10), |r| !r.is_empty());
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].body_str(), "[1]");
    }
}
