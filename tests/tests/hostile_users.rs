//! Another local user against asyncbatch's files and queue, with PHP run as an
//! unprivileged user: root ignores file modes, so what these tests prove holds only
//! because the processes are not root.
//!
//! The tests create two system users once (they stay, and creation is idempotent):
//! `asyncbatch-e2e-a` runs PHP (the application's user), `asyncbatch-e2e-b` is the
//! other local user, who plants symbolic links and directories where A's would go,
//! makes the SysV queue first, and tries to read, take, inject or remove what A
//! queued. PHP runs as A with umask 000, so the modes seen are the ones asyncbatch
//! sets itself. B's probes are system calls made in a forked child that switched to
//! B's uid and gid.
//!
//! Each scenario runs against the extension and against the polyfill where the
//! polyfill has the behaviour (it has no daemon runner and no SysV queue), each side
//! a test of its own (`extension::…`, `polyfill::…`). Not run as root, every test
//! returns at once and prints `NOT RUN` (see [`require_root`]); with
//! `AB_REQUIRE_ROOT=1` (CI) it fails instead.
//!
//! Run with `--nocapture` to see what each scenario saw.

use std::ffi::CString;
use std::fmt::Display;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{lchown, symlink, MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use asyncbatch_e2e::{
    crc32, derived_queue_key, extension_so, fixture, polyfill_autoload, queue_stat, remove_queue, repo_root,
    require_root, run_with_timeout, wait_until, Background, Json, Output, Php, PhpCommand, Sandbox,
};

const USER_A: &str = "asyncbatch-e2e-a";
const USER_B: &str = "asyncbatch-e2e-b";

/// Exit code of a forked probe that could not switch to its user.
const SWITCH_FAILED: i32 = 255;

// ---------------------------------------------------------------------------
// Users
// ---------------------------------------------------------------------------

#[derive(Debug)]
struct User {
    name: &'static str,
    uid: u32,
    gid: u32,
}

/// The two users, and whether A can read the extension, the polyfill and the
/// fixtures where they are (else each scene copies them into its sandbox).
struct World {
    a: User,
    b: User,
    copy_code: bool,
}

static WORLD: OnceLock<Result<World, String>> = OnceLock::new();

/// The users, created on first use; `None`, after saying so, when not root.
///
/// # Panics
/// When not root under `AB_REQUIRE_ROOT=1`, or when the users cannot be made.
fn world() -> Option<&'static World> {
    if !require_root("creating users and running PHP as them") {
        return None;
    }
    match WORLD.get_or_init(World::set_up) {
        Ok(world) => Some(world),
        Err(problem) => panic!("{problem}"),
    }
}

impl World {
    fn set_up() -> Result<World, String> {
        let a = ensure_user(USER_A)?;
        let b = ensure_user(USER_B)?;
        let needed = [
            extension_so(),
            polyfill_autoload(),
            repo_root().join("php/src/AsyncBatchRunner.php"),
            repo_root().join("php/src/Internal/Runtime.php"),
            repo_root().join("php/bin/asyncbatch"),
            fixture("hostile_producer.php"),
            fixture("daemon_jobs.php"),
        ];
        let copy_code = needed.iter().any(|p| !readable_by(&a, p));
        if copy_code {
            eprintln!("{USER_A} cannot read the repository's files: each test copies them into its sandbox");
        }
        Ok(World { a, b, copy_code })
    }
}

/// The user `name`, created as a system user without a home or a shell if missing.
fn ensure_user(name: &'static str) -> Result<User, String> {
    if let Some(user) = lookup_user(name) {
        return Ok(user);
    }
    let args = ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name];
    let out = Command::new("useradd")
        .args(args)
        .output()
        .or_else(|_| Command::new("/usr/sbin/useradd").args(args).output())
        .map_err(|e| format!("cannot run useradd: {e}"))?;
    // Another test process may have created it meanwhile: look again either way.
    lookup_user(name).ok_or_else(|| {
        format!("cannot create the user {name}: {}{}", out.status, String::from_utf8_lossy(&out.stderr))
    })
}

fn lookup_user(name: &'static str) -> Option<User> {
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id").arg(flag).arg(name).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().parse().ok())?
    };
    Some(User { name, uid: id("-u")?, gid: id("-g")? })
}

// ---------------------------------------------------------------------------
// Probes as another user: a forked child that switches to the user and makes
// system calls only (it is the child of a multi-threaded process).
// ---------------------------------------------------------------------------

/// Runs `op` in a child switched to `user` (its uid and gid, no supplementary
/// groups) and returns its result: 0 for success, else the errno. `op` may make
/// system calls only: no allocation, no locks, no panics.
fn as_user(user: &User, op: impl FnOnce() -> i32) -> i32 {
    // SAFETY: the child makes system calls only and leaves with _exit(2).
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        unsafe {
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setgid(user.gid) != 0
                || libc::setuid(user.uid) != 0
            {
                libc::_exit(SWITCH_FAILED);
            }
            libc::_exit(op() & 0xff);
        }
    }
    assert!(pid > 0, "fork: {}", io::Error::last_os_error());
    let mut status = 0;
    loop {
        // SAFETY: waiting for the child just forked.
        if unsafe { libc::waitpid(pid, &mut status, 0) } == pid {
            break;
        }
        let e = io::Error::last_os_error();
        assert_eq!(e.kind(), io::ErrorKind::Interrupted, "waitpid: {e}");
    }
    assert!(libc::WIFEXITED(status), "the probe as {} died: status {status}", user.name);
    let code = libc::WEXITSTATUS(status);
    assert_ne!(code, SWITCH_FAILED, "the probe could not switch to {}", user.name);
    code
}

fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// 0 when a system call returned a non-negative value, else the errno.
fn sys(rc: i64) -> i32 {
    if rc < 0 {
        errno()
    } else {
        0
    }
}

fn cpath(path: &Path) -> CString {
    CString::new(path.as_os_str().as_bytes()).expect("a path without NUL")
}

/// "Permission denied (os error 13)" for 13, "success" for 0.
fn strerror(code: i32) -> String {
    if code == 0 {
        "success".into()
    } else {
        io::Error::from_raw_os_error(code).to_string()
    }
}

fn readable_by(user: &User, path: &Path) -> bool {
    let c = cpath(path);
    // SAFETY: access(2) with a valid C string.
    as_user(user, || sys(unsafe { libc::access(c.as_ptr(), libc::R_OK) } as i64)) == 0
}

/// `open(path, flags, 0644)` as `user`; closes what it opened.
fn open_as(user: &User, path: &Path, flags: i32) -> i32 {
    let c = cpath(path);
    as_user(user, || {
        // SAFETY: open(2)/close(2) with a valid C string.
        let fd = unsafe { libc::open(c.as_ptr(), flags, 0o644 as libc::c_uint) };
        if fd < 0 {
            return errno();
        }
        unsafe { libc::close(fd) };
        0
    })
}

/// `user` makes the directory `path` with `mode`; panics if it cannot.
fn mkdir_as(user: &User, path: &Path, mode: u32) {
    let c = cpath(path);
    let rc = as_user(user, || {
        // SAFETY: mkdir(2)/chmod(2) with a valid C string.
        if unsafe { libc::mkdir(c.as_ptr(), 0o700) } != 0 {
            return errno();
        }
        sys(unsafe { libc::chmod(c.as_ptr(), mode as libc::mode_t) } as i64)
    });
    assert_eq!(rc, 0, "{} cannot make {}: {}", user.name, path.display(), strerror(rc));
}

/// `user` makes the symbolic link `link` to `target`; panics if it cannot.
fn symlink_as(user: &User, target: &Path, link: &Path) {
    let (t, l) = (cpath(target), cpath(link));
    // SAFETY: symlink(2) with valid C strings.
    let rc = as_user(user, || sys(unsafe { libc::symlink(t.as_ptr(), l.as_ptr()) } as i64));
    assert_eq!(rc, 0, "{} cannot plant {}: {}", user.name, link.display(), strerror(rc));
}

/// `user` writes a new file `path` holding `bytes`, with `mode`; panics if it cannot.
fn write_as(user: &User, path: &Path, bytes: &[u8], mode: u32) {
    let c = cpath(path);
    let rc = as_user(user, || {
        // SAFETY: open(2), write(2), fchmod(2), close(2) on a valid C string and buffer.
        let fd = unsafe {
            libc::open(c.as_ptr(), libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY, 0o600 as libc::c_uint)
        };
        if fd < 0 {
            return errno();
        }
        let mut done = 0;
        while done < bytes.len() {
            let n = unsafe { libc::write(fd, bytes[done..].as_ptr().cast(), bytes.len() - done) };
            if n <= 0 {
                return errno();
            }
            done += n as usize;
        }
        let rc = sys(unsafe { libc::fchmod(fd, mode as libc::mode_t) } as i64);
        unsafe { libc::close(fd) };
        rc
    });
    assert_eq!(rc, 0, "{} cannot write {}: {}", user.name, path.display(), strerror(rc));
}

fn chmod_as(user: &User, path: &Path, mode: u32) {
    let c = cpath(path);
    // SAFETY: chmod(2) with a valid C string.
    let rc = as_user(user, || sys(unsafe { libc::chmod(c.as_ptr(), mode as libc::mode_t) } as i64));
    assert_eq!(rc, 0, "{} cannot chmod {}: {}", user.name, path.display(), strerror(rc));
}

/// A SysV message queue operation, for [`msg_as`].
#[derive(Clone, Copy, Debug)]
enum MsgOp {
    /// `msgget(key, IPC_CREAT | IPC_EXCL | mode)`.
    Create(i32),
    /// `msgctl(IPC_STAT)`.
    Stat,
    /// `msgrcv(IPC_NOWAIT)`: takes the head message.
    Receive,
    /// `msgsnd(IPC_NOWAIT)` of `body` (mtype 1).
    Send,
    /// `msgctl(IPC_RMID)`.
    Remove,
}

/// Exit code of a probe that found no queue with its key.
const NO_QUEUE: i32 = 254;

/// `op` on the queue of `key` as `user`: 0 or the errno.
fn msg_as(user: &User, key: i32, op: MsgOp, body: &[u8]) -> i32 {
    let mut send = 1i64.to_ne_bytes().to_vec();
    send.extend_from_slice(body);
    let mut recv = vec![0u8; 8 + 65536];
    let recv_ptr = recv.as_mut_ptr();
    as_user(user, || {
        // SAFETY: SysV calls on integers and on buffers allocated before the fork.
        unsafe {
            if let MsgOp::Create(mode) = op {
                return sys(libc::msgget(key, libc::IPC_CREAT | libc::IPC_EXCL | mode) as i64);
            }
            let id = libc::msgget(key, 0);
            if id < 0 {
                return NO_QUEUE;
            }
            match op {
                MsgOp::Create(_) => 0,
                MsgOp::Stat => {
                    let mut ds: libc::msqid_ds = std::mem::zeroed();
                    sys(libc::msgctl(id, libc::IPC_STAT, &mut ds) as i64)
                }
                MsgOp::Receive => sys(libc::msgrcv(id, recv_ptr.cast(), 65536, 0, libc::IPC_NOWAIT) as i64),
                MsgOp::Send => {
                    sys(libc::msgsnd(id, send.as_ptr().cast(), send.len() - 8, libc::IPC_NOWAIT) as i64)
                }
                MsgOp::Remove => sys(libc::msgctl(id, libc::IPC_RMID, std::ptr::null_mut()) as i64),
            }
        }
    })
}

/// A queue key of this test, removed (with its queue) on drop.
struct QueueKey(i32);

impl QueueKey {
    fn new(scene: &Scene, name: &str) -> QueueKey {
        let key = derived_queue_key(&scene.sandbox.join(name).display().to_string());
        remove_queue(key);
        QueueKey(key)
    }

    /// As asyncbatch prints it: `0x75bcd15`.
    fn hex(&self) -> String {
        format!("0x{:x}", self.0)
    }

    fn messages(&self) -> Option<u64> {
        queue_stat(self.0).map(|q| q.messages)
    }
}

impl Drop for QueueKey {
    fn drop(&mut self) {
        remove_queue(self.0);
    }
}

// ---------------------------------------------------------------------------
// A scene: a sandbox with A's, B's and a shared (like /tmp) directory, and PHP
// runs as a user.
// ---------------------------------------------------------------------------

struct Scene {
    w: &'static World,
    sandbox: Sandbox,
    so: PathBuf,
    autoload: PathBuf,
    cli: PathBuf,
    producer: PathBuf,
    daemon_jobs: PathBuf,
    runs: AtomicUsize,
}

impl Scene {
    /// `None` (the test is skipped) when not root.
    fn new() -> Option<Scene> {
        let w = world()?;
        let sandbox = Sandbox::new();
        fs::set_permissions(sandbox.path(), fs::Permissions::from_mode(0o755)).unwrap();
        // a/: A's own private directory (outputs, logs, victims).
        let a = sandbox.join("a");
        fs::create_dir(&a).unwrap();
        std::os::unix::fs::chown(&a, Some(w.a.uid), Some(w.a.gid)).unwrap();
        fs::set_permissions(&a, fs::Permissions::from_mode(0o700)).unwrap();
        // b/: B's own directory, readable by all (B's forged files).
        let b = sandbox.join("b");
        fs::create_dir(&b).unwrap();
        std::os::unix::fs::chown(&b, Some(w.b.uid), Some(w.b.gid)).unwrap();
        fs::set_permissions(&b, fs::Permissions::from_mode(0o755)).unwrap();
        // shared/: sticky and writable by all, like /tmp: where both users can plant.
        let shared = sandbox.join("shared");
        fs::create_dir(&shared).unwrap();
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();

        let (so, php_dir, fixtures) = if w.copy_code {
            let code = sandbox.join("code");
            copy_tree(&repo_root().join("php"), &code.join("php"));
            copy_tree(&repo_root().join("tests/php"), &code.join("fixtures"));
            let so = code.join("asyncbatch.so");
            fs::copy(extension_so(), &so).unwrap();
            fs::set_permissions(&so, fs::Permissions::from_mode(0o755)).unwrap();
            (so, code.join("php"), code.join("fixtures"))
        } else {
            (extension_so(), repo_root().join("php"), repo_root().join("tests/php"))
        };
        let autoload = if w.copy_code { php_dir.join("autoload.php") } else { polyfill_autoload() };
        Some(Scene {
            w,
            cli: php_dir.join("bin/asyncbatch"),
            producer: fixtures.join("hostile_producer.php"),
            daemon_jobs: fixtures.join("daemon_jobs.php"),
            so,
            autoload,
            sandbox,
            runs: AtomicUsize::new(0),
        })
    }

    fn a(&self, name: &str) -> PathBuf {
        self.sandbox.join("a").join(name)
    }

    fn b(&self, name: &str) -> PathBuf {
        self.sandbox.join("b").join(name)
    }

    fn shared(&self, name: &str) -> PathBuf {
        self.sandbox.join("shared").join(name)
    }

    /// A PHP run as `user` with `side`.
    fn php<'s>(&'s self, user: &'s User, side: Php) -> Call<'s> {
        Call { scene: self, user, side, ini: Vec::new(), env: Vec::new() }
    }

    /// A file of A's, 0600, holding "precious": what a planted link points at.
    fn victim(&self) -> PathBuf {
        let victim = self.a("victim");
        if !victim.exists() {
            fs::write(&victim, "precious").unwrap();
            std::os::unix::fs::chown(&victim, Some(self.w.a.uid), Some(self.w.a.gid)).unwrap();
            fs::set_permissions(&victim, fs::Permissions::from_mode(0o600)).unwrap();
        }
        victim
    }

    fn assert_victim_intact(&self, what: &str) {
        let victim = self.a("victim");
        let meta = fs::symlink_metadata(&victim).unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious", "{what}: the victim file was written");
        assert_eq!(meta.mode() & 0o7777, 0o600, "{what}: the victim's mode changed");
        assert_eq!(meta.uid(), self.w.a.uid, "{what}: the victim's owner changed");
    }
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    fs::set_permissions(to, fs::Permissions::from_mode(0o755)).unwrap();
    for entry in fs::read_dir(from).unwrap().flatten() {
        let path = entry.path();
        let dest = to.join(entry.file_name());
        if path.is_dir() {
            copy_tree(&path, &dest);
        } else if path.is_file() {
            fs::copy(&path, &dest).unwrap();
            fs::set_permissions(&dest, fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
}

/// One PHP process as a user, built step by step.
struct Call<'s> {
    scene: &'s Scene,
    user: &'s User,
    side: Php,
    ini: Vec<(String, String)>,
    env: Vec<(String, String)>,
}

impl Call<'_> {
    fn ini(mut self, key: &str, value: impl Display) -> Self {
        self.ini.push((key.into(), value.to_string()));
        self
    }

    fn dirs(self, spool: &Path, failed: &Path) -> Self {
        self.ini("asyncbatch.spool_dir", spool.display()).ini("asyncbatch.failure_dir", failed.display())
    }

    /// The daemon runner with queue `key` and `transport`.
    fn daemon_runner(self, key: &QueueKey, transport: &str) -> Self {
        self.ini("asyncbatch.runner", "daemon")
            .ini("asyncbatch.queue_key", key.0)
            .ini("asyncbatch.transport", transport)
    }

    fn env(mut self, key: &str, value: impl Display) -> Self {
        self.env.push((key.into(), value.to_string()));
        self
    }

    /// The command, and the file PHP logs to.
    fn command(&self, script: &Path, args: &[&str], cli: bool) -> (Command, PathBuf) {
        let n = self.scene.runs.fetch_add(1, Ordering::Relaxed);
        // The user's own directory: A's is a/, B's is b/.
        let home = if self.user.uid == self.scene.w.a.uid { self.scene.a("") } else { self.scene.b("") };
        let log = home.join(format!("php-{n}.log"));
        let mut php = PhpCommand::new(None)
            .ini("log_errors", "1")
            .ini("error_log", log.display())
            .inis(self.ini.iter().cloned());
        let mut args: Vec<&str> = args.to_vec();
        match (self.side, cli) {
            (Php::Extension, _) => php = php.ini("extension", self.scene.so.display()),
            (Php::Polyfill, false) => php = php.ini("auto_prepend_file", self.scene.autoload.display()),
            (Php::Polyfill, true) => args.push("--polyfill"),
        }
        let mut cmd = php.script(script, &args).command();
        cmd.uid(self.user.uid).gid(self.user.gid).current_dir(self.scene.sandbox.path());
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        // SAFETY: umask(2) is async-signal-safe. 000: the modes seen are asyncbatch's own.
        unsafe {
            cmd.pre_exec(|| {
                libc::umask(0);
                Ok(())
            });
        }
        (cmd, log)
    }

    fn run(self, script: &Path, args: &[&str], cli: bool, what: String) -> Ran {
        let (mut cmd, log) = self.command(script, args, cli);
        let out = run_with_timeout(&mut cmd, None, Duration::from_secs(30));
        assert!(!out.timed_out, "{what} timed out");
        Ran { what: format!("{what} [{} as {}]", self.side, self.user.name), out, log: read(&log) }
    }

    /// tests/php/hostile_producer.php: `count` items of `job` (named `{prefix}-{i}`,
    /// prefix `job` unless given) in `mode`, batches appended to `out`.
    fn producer(self, out: &Path, job: &str, count: usize, mode: &str) -> Ran {
        self.producer_named(out, job, count, mode, job)
    }

    fn producer_named(self, out: &Path, job: &str, count: usize, mode: &str, prefix: &str) -> Ran {
        let script = self.scene.producer.clone();
        let what = format!("producer {job} {count} {mode}");
        let (out, count) = (out.display().to_string(), count.to_string());
        self.run(&script, &[&out, job, &count, mode, prefix], false, what)
    }

    /// `php/bin/asyncbatch ARGS` (with `--polyfill` on that side).
    fn cli(self, args: &[&str]) -> Ran {
        let script = self.scene.cli.clone();
        let what = format!("asyncbatch {}", args.join(" "));
        self.run(&script, args, true, what)
    }

    /// The CLI in the background (the daemon), output in the sandbox.
    fn cli_background(self, args: &[&str], name: &str) -> Background {
        let (cmd, _) = self.command(&self.scene.cli, args, true);
        Background::spawn(cmd, self.scene.sandbox.path(), name)
    }
}

/// What a PHP run left: its output and what it logged.
struct Ran {
    what: String,
    out: Output,
    log: String,
}

impl Ran {
    /// The producer's report (its last line of stdout, JSON).
    fn report(&self) -> Json {
        let stdout = self.out.stdout_str();
        let line = stdout.lines().last().unwrap_or_default().to_string();
        Json::parse(&line).unwrap_or_else(|e| panic!("{}: no report ({e})\n{}", self.what, self.dump()))
    }

    fn stat(&self, key: &str) -> i64 {
        self.report().get("stats").get(key).as_i64().unwrap_or(-1)
    }

    fn error(&self) -> Option<String> {
        self.report().get("error").as_str().map(String::from)
    }

    /// Lines PHP displayed as warnings (on stderr) containing `needle`.
    fn warnings(&self, needle: &str) -> usize {
        self.out.stderr.lines().filter(|l| l.contains("Warning: ") && l.contains(needle)).count()
    }

    /// Whether the caller can see `needle`: on stderr or in the error log.
    fn mentions(&self, needle: &str) -> bool {
        self.out.stderr.contains(needle) || self.log.contains(needle)
    }

    fn code(&self) -> Option<i32> {
        self.out.status.code()
    }

    fn dump(&self) -> String {
        format!(
            "--- {} ({}) ---\n--- stdout ---\n{}\n--- stderr ---\n{}\n--- error log ---\n{}",
            self.what,
            self.out.status,
            self.out.stdout_str(),
            self.out.stderr,
            self.log
        )
    }
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_default()
}

/// The items a batch log holds ("… items=a,b,c" per line), in order.
fn delivered(out: &Path) -> Vec<String> {
    read(out)
        .lines()
        .filter_map(|l| l.split_once(" items="))
        .flat_map(|(_, items)| {
            items.split(',').filter(|s| !s.is_empty()).map(String::from).collect::<Vec<_>>()
        })
        .collect()
}

fn items(prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|i| format!("{prefix}-{i}")).collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Names in `dir` (empty when it cannot be read).
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|it| it.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

fn files_ending(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    names(dir).into_iter().filter(|n| n.ends_with(suffix)).map(|n| dir.join(n)).collect()
}

/// A spool frame (docs/internals.md, "Spool") for `job` with short string items.
fn frame(job: &str, items: &[&str]) -> Vec<u8> {
    fn fixstr(out: &mut Vec<u8>, s: &str) {
        assert!(s.len() < 32);
        out.push(0xa0 | s.len() as u8);
        out.extend_from_slice(s.as_bytes());
    }
    assert!(items.len() < 16);
    let mut payload = vec![0x92];
    fixstr(&mut payload, job);
    payload.push(0x90 | items.len() as u8);
    for item in items {
        fixstr(&mut payload, item);
    }
    let mut bytes = (payload.len() as u32).to_le_bytes().to_vec();
    bytes.extend_from_slice(&crc32(&payload).to_le_bytes());
    bytes.extend_from_slice(&payload);
    bytes
}

/// Plants (as root, then given to B) a symbolic link `link` -> `target` inside one
/// of A's private directories. B itself cannot write there (that is what the
/// directory checks are for): this checks the second line of defence, that files
/// are created with O_EXCL and opened without following links, for a link that got
/// there anyway (left from before the directory was made private, say).
fn plant_link_in_private_dir(scene: &Scene, target: &Path, link: &Path) {
    symlink(target, link).unwrap();
    lchown(link, Some(scene.w.b.uid), Some(scene.w.b.gid)).unwrap();
}

/// Every directory under and including `root` is 0700 and every file 0600, all
/// owned by `user`, and none is a symbolic link. Returns the paths seen.
fn assert_private(root: &Path, user: &User, what: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(path) = stack.pop() {
        let meta = fs::symlink_metadata(&path).unwrap_or_else(|e| panic!("{what}: {}: {e}", path.display()));
        let mode = meta.mode() & 0o7777;
        let shown = path.strip_prefix(root).unwrap_or(&path).display().to_string();
        assert!(!meta.file_type().is_symlink(), "{what}: {} is a symbolic link", path.display());
        assert_eq!(
            meta.uid(),
            user.uid,
            "{what}: {} is owned by uid {}, not {}",
            path.display(),
            meta.uid(),
            user.name
        );
        if meta.is_dir() {
            assert_eq!(mode, 0o700, "{what}: directory {} is mode {mode:04o}", path.display());
            for entry in fs::read_dir(&path).unwrap().flatten() {
                stack.push(entry.path());
            }
        } else {
            assert_eq!(mode, 0o600, "{what}: file {} is mode {mode:04o}", path.display());
        }
        seen.push(format!("{shown} {mode:o}"));
    }
    seen.sort();
    seen
}

/// A dead pid (for the name of a `.part` whose writer is gone).
fn dead_pid() -> u32 {
    (4_000_000..4_100_000).find(|p| !Path::new(&format!("/proc/{p}")).exists()).unwrap()
}

// ---------------------------------------------------------------------------
// The scenarios
// ---------------------------------------------------------------------------

asyncbatch_e2e::on_both_sides!(
    symlinks_planted_at_the_spool_and_failure_directories_are_refused_and_nothing_goes_through_them,
    directories_of_another_user_or_open_to_others_are_refused,
    a_default_directory_base_planted_by_another_user_is_refused,
    symlinks_at_file_names_in_a_private_directory_are_never_followed,
    a_symlink_among_failed_batches_does_not_stop_retry_failed,
    files_and_directories_the_shutdown_runner_creates_are_private_to_its_user,
);

#[test]
fn php_runs_as_the_unprivileged_user() {
    let Some(s) = Scene::new() else { return };
    let code = s.sandbox.join("who.php");
    fs::write(&code, "<?php echo file_get_contents('/proc/self/status');").unwrap();
    fs::set_permissions(&code, fs::Permissions::from_mode(0o644)).unwrap();
    let ran = s.php(&s.w.a, Php::Extension).run(&code, &[], false, "who".into());
    let status = ran.out.stdout_str();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
    };
    let (a, b) = (&s.w.a, &s.w.b);
    assert_eq!(field("Uid:"), Some(format!("{0} {0} {0} {0}", a.uid)), "{}", ran.dump());
    assert_eq!(field("Gid:"), Some(format!("{0} {0} {0} {0}", a.gid)), "{}", ran.dump());
    assert_eq!(field("Groups:"), Some(String::new()), "no supplementary groups: {}", ran.dump());
    eprintln!("users: {} uid {} gid {}, {} uid {} gid {}", a.name, a.uid, a.gid, b.name, b.uid, b.gid);
}

fn symlinks_planted_at_the_spool_and_failure_directories_are_refused_and_nothing_goes_through_them(
    side: Php,
) {
    let Some(s) = Scene::new() else { return };
    let (a, b) = (&s.w.a, &s.w.b);
    // B's inbox, writable by all: whatever A wrote through a link, B would read.
    let inbox = s.shared("b-inbox");
    mkdir_as(b, &inbox, 0o777);
    let spool_link = s.shared("spool");
    let failed_link = s.shared("failed");
    symlink_as(b, &inbox, &spool_link);
    symlink_as(b, &inbox, &failed_link);
    let spool_refused =
        format!("refusing to use spool directory {}: it is a symbolic link", spool_link.display());
    let failed_refused =
        format!("refusing to use failure directory {}: it is a symbolic link", failed_link.display());

    let good_spool = s.a(&format!("{side}-spool"));
    let good_failed = s.a(&format!("{side}-failed"));

    // Items that need no spool are delivered; the refusal is visible.
    let out = s.a(&format!("{side}-deliver.out"));
    let ran = s.php(a, side).dirs(&spool_link, &good_failed).producer(&out, "h", 5, "deliver");
    assert_eq!(sorted(delivered(&out)), sorted(items("h", 5)), "{side}: delivered anyway\n{}", ran.dump());
    assert_eq!(ran.stat("delivered"), 5, "{}", ran.dump());
    assert!(ran.mentions(&spool_refused), "{side}: the caller sees why\n{}", ran.dump());

    // Items that must be spooled are counted dropped, with one warning naming why.
    let out = s.a(&format!("{side}-spill.out"));
    let ran = s.php(a, side).dirs(&spool_link, &good_failed).producer(&out, "h", 5, "spill");
    assert_eq!(ran.stat("dropped"), 5, "{side}: spill\n{}", ran.dump());
    assert_eq!(ran.stat("spooled"), 0, "{side}: spill\n{}", ran.dump());
    let warned = ran.warnings(&format!(
        "asyncbatch: cannot write to the spool: {spool_refused}; 1 items for job 'h' dropped"
    ));
    assert_eq!(warned, 1, "{side}: one warning per process and reason\n{}", ran.dump());
    assert!(delivered(&out).is_empty(), "{side}: spill\n{}", ran.dump());

    if side == Php::Extension {
        // The daemon runner's hand-off to the spool.
        let key = QueueKey::new(&s, "spool-link-queue");
        let out = s.a("daemon-runner.out");
        let ran = s
            .php(a, side)
            .dirs(&spool_link, &good_failed)
            .daemon_runner(&key, "spool")
            .producer(&out, "h", 5, "deliver");
        assert_eq!(ran.stat("dropped"), 5, "daemon runner\n{}", ran.dump());
        assert_eq!(
            ran.warnings(&format!("asyncbatch: cannot write to the spool: {spool_refused}")),
            1,
            "{}",
            ran.dump()
        );
    }

    // A failed batch is dropped with a line naming why; retryFailed() throws.
    let out = s.a(&format!("{side}-fail.out"));
    let ran = s.php(a, side).dirs(&good_spool, &failed_link).producer(&out, "h", 5, "fail");
    assert_eq!(ran.stat("dropped"), 5, "{side}: fail\n{}", ran.dump());
    assert_eq!(ran.stat("persisted"), 0, "{side}: fail\n{}", ran.dump());
    let line =
        format!("asyncbatch: cannot store a failed batch: {failed_refused}; dropped 5 items for job 'h'");
    assert!(ran.mentions(&line), "{side}: the caller sees why\n{}", ran.dump());
    let ran = s.php(a, side).dirs(&good_spool, &failed_link).producer(&out, "h", 0, "retry");
    assert_eq!(
        ran.error(),
        Some(format!("AsyncBatch\\StorageException: asyncbatch: {failed_refused}")),
        "{side}: retryFailed()\n{}",
        ran.dump()
    );

    assert_eq!(names(&inbox), Vec::<String>::new(), "{side}: nothing was written through the links");
    for link in [&spool_link, &failed_link] {
        assert_eq!(fs::read_link(link).unwrap(), inbox, "{side}: the link is left alone");
    }
    eprintln!("{side}: symlinked spool and failure directories refused, nothing written through them");
}

fn directories_of_another_user_or_open_to_others_are_refused(side: Php) {
    let Some(s) = Scene::new() else { return };
    let (a, b) = (&s.w.a, &s.w.b);
    let not_ours = format!("owned by uid {}, not {}", b.uid, a.uid);
    // (name, who makes it, its mode, why it is refused)
    let kinds: [(&str, &User, u32, String); 4] = [
        ("b-private", b, 0o700, not_ours.clone()),
        ("b-open", b, 0o777, not_ours.clone()),
        ("a-group-writable", a, 0o770, "writable by group or others (mode 0770)".into()),
        ("a-world-writable", a, 0o757, "writable by group or others (mode 0757)".into()),
    ];
    let good_spool = s.a(&format!("{side}-spool"));
    let good_failed = s.a(&format!("{side}-failed"));
    for (name, owner, mode, why) in &kinds {
        let spool = s.shared(&format!("{side}-{name}-spool"));
        let failed = s.shared(&format!("{side}-{name}-failed"));
        mkdir_as(owner, &spool, *mode);
        mkdir_as(owner, &failed, *mode);
        let out = s.a(&format!("{side}-{name}.out"));

        let ran = s.php(a, side).dirs(&spool, &good_failed).producer(&out, "h", 4, "spill");
        let refused = format!("refusing to use spool directory {}: {why}", spool.display());
        assert_eq!(ran.stat("dropped"), 4, "{side} {name}\n{}", ran.dump());
        assert_eq!(
            ran.warnings(&format!("cannot write to the spool: {refused}; 1 items")),
            1,
            "{side} {name}\n{}",
            ran.dump()
        );

        let ran = s.php(a, side).dirs(&good_spool, &failed).producer(&out, "h", 4, "fail");
        let refused = format!("refusing to use failure directory {}: {why}", failed.display());
        assert_eq!(ran.stat("dropped"), 4, "{side} {name}\n{}", ran.dump());
        assert!(
            ran.mentions(&format!("cannot store a failed batch: {refused}; dropped 4 items")),
            "{}",
            ran.dump()
        );

        let ran = s.php(a, side).dirs(&good_spool, &failed).producer(&out, "h", 0, "retry");
        assert_eq!(
            ran.error(),
            Some(format!("AsyncBatch\\StorageException: asyncbatch: {refused}")),
            "{}",
            ran.dump()
        );

        for dir in [&spool, &failed] {
            assert_eq!(
                names(dir),
                Vec::<String>::new(),
                "{side} {name}: nothing written in {}",
                dir.display()
            );
            let meta = fs::metadata(dir).unwrap();
            assert_eq!(
                (meta.uid(), meta.mode() & 0o7777),
                (owner.uid, *mode),
                "{side} {name}: left as it was"
            );
        }
    }
    eprintln!("{side}: directories of {} and directories open to others refused", b.name);
}

fn a_default_directory_base_planted_by_another_user_is_refused(side: Php) {
    // With asyncbatch.spool_dir and failure_dir empty, the directories are
    // {tmp}/asyncbatch-{euid}/spool and /failed: in the shared temporary directory,
    // where B can make {tmp}/asyncbatch-{A's uid} first. A's directories inside it
    // would be A's and 0700, but B, owning their parent, could rename them away or
    // swap them for links at any moment.
    let Some(s) = Scene::new() else { return };
    let (a, b) = (&s.w.a, &s.w.b);
    let tmp = s.shared(&format!("{side}-tmp"));
    fs::create_dir(&tmp).unwrap();
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o1777)).unwrap();
    let base = tmp.join(format!("asyncbatch-{}", a.uid));
    mkdir_as(b, &base, 0o777);
    let refused =
        format!("refusing to use directory {}: owned by uid {}, not {}", base.display(), b.uid, a.uid);
    let out = s.a(&format!("{side}.out"));

    let ran = s.php(a, side).ini("sys_temp_dir", tmp.display()).producer(&out, "h", 4, "spill");
    assert_eq!(ran.stat("dropped"), 4, "{side}: spill\n{}", ran.dump());
    assert_eq!(
        ran.warnings(&format!("cannot write to the spool: {refused}; 1 items")),
        1,
        "{side}\n{}",
        ran.dump()
    );

    let ran = s.php(a, side).ini("sys_temp_dir", tmp.display()).producer(&out, "h", 4, "fail");
    assert_eq!(ran.stat("dropped"), 4, "{side}: fail\n{}", ran.dump());
    assert!(
        ran.mentions(&format!("cannot store a failed batch: {refused}; dropped 4 items")),
        "{}",
        ran.dump()
    );

    let ran = s.php(a, side).ini("sys_temp_dir", tmp.display()).producer(&out, "h", 4, "deliver");
    assert_eq!(
        ran.stat("delivered"),
        4,
        "{side}: items that need no directory are delivered\n{}",
        ran.dump()
    );

    assert_eq!(names(&base), Vec::<String>::new(), "{side}: nothing made inside B's directory");

    // Without B's directory, A's base is made 0700 and used.
    fs::remove_dir(&base).unwrap();
    let ran = s.php(a, side).ini("sys_temp_dir", tmp.display()).producer(&out, "h", 4, "stuck");
    assert_eq!(ran.stat("spooled"), 4, "{side}: stuck\n{}", ran.dump());
    let seen = assert_private(&base, a, &format!("{side}: the default base"));
    eprintln!("{side}: a default base of {} refused; A's own: {seen:?}", b.name);
}

fn symlinks_at_file_names_in_a_private_directory_are_never_followed(side: Php) {
    let Some(s) = Scene::new() else { return };
    let (a, b) = (&s.w.a, &s.w.b);
    let victim = s.victim();

    // B's forgeries, readable by A: a segment and a failure file of job h.
    let forged_seg = s.b("forged.seg");
    let mut seg = b"ABSPOOL\x01".to_vec();
    seg.extend(frame("h", &["B-forged-seg"]));
    write_as(b, &forged_seg, &seg, 0o644);
    let b_failed = s.b("failed");
    let ran = s.php(b, Php::Polyfill).dirs(&s.b("spool"), &b_failed).producer_named(
        &s.b("out"),
        "h",
        2,
        "fail",
        "B-forged-fail",
    );
    let forged_fail = files_ending(&b_failed, ".fail");
    assert_eq!(forged_fail.len(), 1, "B's failure file\n{}", ran.dump());
    chmod_as(b, &b_failed, 0o755);
    chmod_as(b, &forged_fail[0], 0o644);
    let forged_bytes = (fs::read(&forged_seg).unwrap(), fs::read(&forged_fail[0]).unwrap());

    let spool = s.shared(&format!("{side}-spool"));
    let failed = s.shared(&format!("{side}-failed"));
    mkdir_as(a, &spool, 0o700);
    mkdir_as(a, &failed, 0o700);
    // Names a reader takes: the oldest segments, a .part whose writer is dead,
    // the oldest failure files.
    plant_link_in_private_dir(&s, &forged_seg, &spool.join("h.0000000000000001.1.1.seg"));
    plant_link_in_private_dir(&s, &victim, &spool.join("h.0000000000000002.1.1.seg"));
    plant_link_in_private_dir(&s, &victim, &spool.join(format!("h.0000000000000003.{}.1.part", dead_pid())));
    plant_link_in_private_dir(&s, &forged_fail[0], &failed.join("h.0000000000000001.1.00000001.fail"));
    plant_link_in_private_dir(&s, &victim, &failed.join("h.0000000000000002.1.00000002.fail"));

    // The spool: the genuine items are delivered, the links' targets never read.
    let out = s.a(&format!("{side}-spill.out"));
    let ran = s.php(a, side).dirs(&spool, &failed).producer(&out, "h", 5, "spill");
    assert_eq!(sorted(delivered(&out)), sorted(items("h", 5)), "{side}: only A's own items\n{}", ran.dump());

    // The failure store: retryFailed() replays nothing through a link.
    let out = s.a(&format!("{side}-retry.out"));
    let ran = s.php(a, side).dirs(&spool, &failed).producer(&out, "h", 0, "retry");
    assert!(delivered(&out).is_empty(), "{side}: retryFailed() read a link\n{}", ran.dump());
    eprintln!("{side}: retryFailed() with links among the failed batches: {:?}", ran.report().get("error"));

    // failed:show refuses a link.
    let ran =
        s.php(a, side).dirs(&spool, &failed).cli(&["failed:show", "h.0000000000000001.1.00000001.fail"]);
    assert_ne!(ran.code(), Some(0), "{side}: failed:show of a link\n{}", ran.dump());
    assert!(
        !ran.out.stdout_str().contains("B-forged"),
        "{side}: failed:show followed the link\n{}",
        ran.dump()
    );

    s.assert_victim_intact(&format!("{side}: after reading the spool and the failure store"));
    assert_eq!((fs::read(&forged_seg).unwrap(), fs::read(&forged_fail[0]).unwrap()), forged_bytes.clone());
    for dir in [&spool, &failed] {
        let links = names(dir)
            .into_iter()
            .filter(|n| fs::symlink_metadata(dir.join(n)).unwrap().file_type().is_symlink());
        assert!(links.count() >= 2, "{side}: the links are left where they were: {:?}", names(dir));
    }
    eprintln!("{side}: links at segment, .part and failure file names: none followed, the victim intact");
}

#[test]
fn symlinks_at_the_daemons_lock_and_status_file_names_are_never_followed() {
    let Some(s) = Scene::new() else { return };
    let a = &s.w.a;
    let victim = s.victim();

    // The daemon's fixed names: drain.lock and daemon.lock.
    let spool = s.shared("locks-spool");
    let failed = s.shared("locks-failed");
    mkdir_as(a, &spool, 0o700);
    plant_link_in_private_dir(&s, &victim, &spool.join("drain.lock"));
    plant_link_in_private_dir(&s, &victim, &spool.join("daemon.lock"));
    let key = QueueKey::new(&s, "locks-queue");
    let bootstrap = s.daemon_jobs.display().to_string();
    let call = || {
        s.php(a, Php::Extension)
            .dirs(&spool, &failed)
            .ini("asyncbatch.queue_key", key.0)
            .env("AB_E2E_OUT", s.a("locks.out").display())
    };
    let ran = call().cli(&["drain", "--bootstrap", &bootstrap]);
    assert_eq!(ran.code(), Some(1), "drain with a linked lock file\n{}", ran.dump());
    assert!(ran.mentions(&format!("{}/drain.lock", spool.display())), "says which file\n{}", ran.dump());
    let ran = call().cli(&["daemon", "--bootstrap", &bootstrap, "--workers", "1"]);
    assert_eq!(ran.code(), Some(1), "daemon with a linked lock file\n{}", ran.dump());
    assert!(ran.mentions(&format!("{}/daemon.lock", spool.display())), "says which file\n{}", ran.dump());
    s.assert_victim_intact("after drain and daemon");

    // The daemon's status files (written as a temporary file, then renamed): a
    // running daemon replaces the links, never writes through them.
    let spool = s.shared("status-spool");
    mkdir_as(a, &spool, 0o700);
    let status_files = ["daemon.status", "daemon.receiver.json", "daemon.w1.json"];
    for name in status_files {
        plant_link_in_private_dir(&s, &victim, &spool.join(name));
    }
    let mut daemon = s
        .php(a, Php::Extension)
        .dirs(&spool, &failed)
        .ini("asyncbatch.queue_key", key.0)
        .env("AB_E2E_OUT", s.a("status.out").display())
        .cli_background(&["daemon", "--bootstrap", &bootstrap, "--workers", "1"], "status-daemon");
    let replaced = wait_until(Duration::from_secs(10), Duration::from_millis(20), || {
        status_files.iter().all(|n| fs::symlink_metadata(spool.join(n)).is_ok_and(|m| m.is_file()))
    });
    // SAFETY: SIGTERM to the daemon this test started.
    unsafe { libc::kill(daemon.pid(), libc::SIGTERM) };
    let stopped = daemon.wait_exit(Duration::from_secs(15));
    assert!(replaced, "the daemon writes its status files: {:?}\n{}", names(&spool), daemon.stderr());
    assert!(stopped.is_some(), "the daemon stops\n{}", daemon.stderr());
    s.assert_victim_intact("after the daemon wrote its status files");
    assert_private(&spool, a, "the daemon's spool");
    eprintln!("links at lock and status file names: none followed, the victim intact");
}

fn a_symlink_among_failed_batches_does_not_stop_retry_failed(side: Php) {
    // A symbolic link in the failure directory is skipped (with a warning), never
    // followed, and the genuine batches after it are replayed: files retryFailed()
    // cannot use are left alone. Only the user itself (or root) can put a link in
    // its 0700 directory.
    let Some(s) = Scene::new() else { return };
    let a = &s.w.a;
    let victim = s.victim();
    let spool = s.shared(&format!("{side}-spool"));
    let failed = s.shared(&format!("{side}-failed"));
    let out = s.a(&format!("{side}.out"));
    let ran = s.php(a, side).dirs(&spool, &failed).producer(&out, "h", 3, "fail");
    assert_eq!(ran.stat("persisted"), 3, "{side}: a genuine failed batch\n{}", ran.dump());
    plant_link_in_private_dir(&s, &victim, &failed.join("h.0000000000000001.1.00000000.fail"));

    let ran = s.php(a, side).dirs(&spool, &failed).producer(&out, "h", 0, "retry");
    let replayed = ran.error().is_none() && ran.report().get("retried").as_i64() == Some(3);
    s.assert_victim_intact(&format!("{side}: retryFailed()"));
    assert!(replayed, "{side}: retryFailed() did not replay the genuine batch:\n{}", ran.dump());
    assert_eq!(sorted(delivered(&out)), sorted(items("h", 3)), "{side}\n{}", ran.dump());
}

#[test]
fn a_queue_of_another_user_or_open_to_others_is_refused_and_items_are_spooled_with_one_warning() {
    // The extension's daemon runner (the polyfill has no SysV queue).
    let Some(s) = Scene::new() else { return };
    let (a, b) = (&s.w.a, &s.w.b);
    let bootstrap = s.daemon_jobs.display().to_string();
    // B's queue open to all: A could use it, and B would read what A sends. (B's
    // 0600 queue: a_queue_of_another_user_closed_to_us_is_refused_in_plain_words.)
    {
        let (name, mode) = ("b-0666", 0o666);
        let key = QueueKey::new(&s, name);
        let rc = msg_as(b, key.0, MsgOp::Create(mode), b"");
        assert_eq!(rc, 0, "{} makes the queue: {}", b.name, strerror(rc));
        assert_eq!(queue_stat(key.0).map(|q| (q.uid, q.mode)), Some((b.uid, mode as u32)));
        let spool = s.shared(&format!("{name}-spool"));
        let failed = s.shared(&format!("{name}-failed"));
        let out = s.a(&format!("{name}.out"));

        let ran = s
            .php(a, Php::Extension)
            .dirs(&spool, &failed)
            .daemon_runner(&key, "sysv")
            .producer(&out, "h", 20, "deliver");
        let refused = format!(
            "asyncbatch: refusing to use message queue {}: owned by uid {}, not {}",
            key.hex(),
            b.uid,
            a.uid
        );
        assert_eq!(ran.warnings(&refused), 1, "{name}: one warning\n{}", ran.dump());
        assert_eq!(
            (ran.stat("spooled"), ran.stat("dropped")),
            (20, 0),
            "{name}: spooled instead\n{}",
            ran.dump()
        );
        assert_eq!(key.messages(), Some(0), "{name}: nothing sent to B's queue");
        assert!(
            !files_ending(&spool, ".seg").is_empty(),
            "{name}: segments in A's spool: {:?}",
            names(&spool)
        );

        let ran = s.php(a, Php::Extension).dirs(&spool, &failed).ini("asyncbatch.queue_key", key.0).cli(&[
            "daemon",
            "--bootstrap",
            &bootstrap,
            "--workers",
            "1",
        ]);
        assert_eq!(ran.code(), Some(1), "{name}: the daemon refuses B's queue\n{}", ran.dump());
        assert!(ran.mentions("refusing to use message queue"), "{name}: the daemon says why\n{}", ran.dump());

        // Not lost: once B's queue is gone, a drain delivers them.
        remove_queue(key.0);
        let drained = s.a(&format!("{name}.drained"));
        let ran = s
            .php(a, Php::Extension)
            .dirs(&spool, &failed)
            .ini("asyncbatch.queue_key", key.0)
            .env("AB_E2E_OUT", drained.display())
            .env("AB_E2E_JOBS", "h")
            .cli(&["drain", "--bootstrap", &bootstrap]);
        assert_eq!(ran.code(), Some(0), "{name}: drain\n{}", ran.dump());
        assert_eq!(sorted(delivered(&drained)), sorted(items("h", 20)), "{name}: every item\n{}", ran.dump());
        eprintln!("{name}: a queue of {} refused with one warning, 20 items spooled, then drained", b.name);
    }

    // A's own queue, but open to others: refused by a producer with the default
    // asyncbatch.queue_mode (0600).
    let key = QueueKey::new(&s, "a-0666");
    let (spool, failed) = (s.shared("a-0666-spool"), s.shared("a-0666-failed"));
    let out = s.a("a-0666.out");
    let call = || s.php(a, Php::Extension).dirs(&spool, &failed).daemon_runner(&key, "sysv");
    let ran = call().ini("asyncbatch.queue_mode", "0666").producer(&out, "h", 5, "deliver");
    assert_eq!(queue_stat(key.0).map(|q| (q.uid, q.mode)), Some((a.uid, 0o666)), "{}", ran.dump());
    let ran = call().producer(&out, "h", 20, "deliver");
    let refused = format!(
        "asyncbatch: refusing to use message queue {}: its mode 0666 allows more than 0600",
        key.hex()
    );
    assert_eq!(ran.warnings(&refused), 1, "one warning\n{}", ran.dump());
    assert_eq!((ran.stat("spooled"), ran.stat("dropped")), (20, 0), "{}", ran.dump());
    eprintln!("a queue of A's own open to others (0666) refused with the default queue_mode");
}

#[test]
fn a_queue_of_another_user_closed_to_us_is_refused_in_plain_words() {
    // B makes the queue first with mode 0600: msgctl(IPC_STAT) fails with EACCES
    // before any owner could be compared. A's producers spool, and the warning is
    // still the documented `refusing to use message queue 0x…: owned by uid …`
    // that the README's Troubleshooting explains (the owner read from
    // /proc/sysvipc/msg).
    let Some(s) = Scene::new() else { return };
    let (a, b) = (&s.w.a, &s.w.b);
    let key = QueueKey::new(&s, "b-0600");
    let rc = msg_as(b, key.0, MsgOp::Create(0o600), b"");
    assert_eq!(rc, 0, "{} makes the queue: {}", b.name, strerror(rc));
    let (spool, failed) = (s.shared("spool"), s.shared("failed"));
    let bootstrap = s.daemon_jobs.display().to_string();
    let mut problems = Vec::new();

    let ran = s.php(a, Php::Extension).dirs(&spool, &failed).daemon_runner(&key, "sysv").producer(
        &s.a("out"),
        "h",
        20,
        "deliver",
    );
    // What holds: one warning naming the queue, every item spooled, nothing sent.
    let warning = ran
        .out
        .stderr
        .lines()
        .find(|l| l.contains("Warning: ") && l.contains(&key.hex()))
        .unwrap_or_default();
    assert_eq!(ran.warnings(&key.hex()), 1, "one warning naming the queue\n{}", ran.dump());
    assert!(warning.contains("items go to the spool"), "{}", ran.dump());
    assert_eq!((ran.stat("spooled"), ran.stat("dropped")), (20, 0), "spooled instead\n{}", ran.dump());
    assert_eq!(key.messages(), Some(0), "nothing sent to B's queue");
    let ran_daemon = s
        .php(a, Php::Extension)
        .dirs(&spool, &failed)
        .ini("asyncbatch.queue_key", key.0)
        .cli(&["daemon", "--bootstrap", &bootstrap, "--workers", "1"]);
    assert_eq!(ran_daemon.code(), Some(1), "the daemon does not start on B's queue\n{}", ran_daemon.dump());
    eprintln!("B's 0600 queue: producer: {warning}\ndaemon: {}", ran_daemon.out.stderr.trim());

    // What the README documents.
    let refused =
        format!("refusing to use message queue {}: owned by uid {}, not {}", key.hex(), b.uid, a.uid);
    if !warning.contains(&refused) {
        problems.push(format!("producer warning {warning:?} instead of {refused:?}"));
    }
    if !ran_daemon.mentions(&refused) {
        problems.push(format!("daemon says {:?} instead of {refused:?}", ran_daemon.out.stderr.trim()));
    }
    assert!(problems.is_empty(), "unclear message:\n{}", problems.join("\n"));
}

#[test]
fn drain_refuses_a_queue_of_another_user_and_takes_nothing_from_it() {
    // Producers and the daemon refuse a queue owned by another user; so does
    // `asyncbatch drain`, or another local user who makes the queue first (mode
    // 0666) could inject items into A's callable.
    let Some(s) = Scene::new() else { return };
    let (a, b) = (&s.w.a, &s.w.b);
    let key = QueueKey::new(&s, "b-queue");
    assert_eq!(msg_as(b, key.0, MsgOp::Create(0o666), b""), 0);
    let mut body = b"ABQ\x01".to_vec();
    body.extend(frame("h", &["B-forged"]));
    let rc = msg_as(b, key.0, MsgOp::Send, &body);
    assert_eq!(rc, 0, "{} sends to its queue: {}", b.name, strerror(rc));

    let out = s.a("drained");
    let ran = s
        .php(a, Php::Extension)
        .dirs(&s.shared("spool"), &s.shared("failed"))
        .ini("asyncbatch.queue_key", key.0)
        .env("AB_E2E_OUT", out.display())
        .env("AB_E2E_JOBS", "h")
        .cli(&["drain", "--bootstrap", &s.daemon_jobs.display().to_string()]);
    let taken = delivered(&out);
    let left = key.messages();
    eprintln!("drain as {} with {}'s queue: delivered {taken:?}, {left:?} messages left", a.name, b.name);
    assert!(
        !taken.iter().any(|i| i == "B-forged")
            && left == Some(1)
            && ran.mentions("refusing to use message queue"),
        "drain used a queue owned by uid {} (mode 0666): delivered {taken:?}, messages left {left:?}\n{}",
        b.uid,
        ran.dump()
    );
}

#[test]
fn a_refusal_met_at_process_exit_is_still_reported() {
    // With the daemon runner, a process that submits and exits without flush() (a
    // CLI script, a short request) hands its items off at exit: what the sender
    // thread meets then (a queue of another user, a refused spool) is still logged,
    // so items are never dropped in silence.
    let Some(s) = Scene::new() else { return };
    let (a, b) = (&s.w.a, &s.w.b);
    let mut problems = Vec::new();

    let key = QueueKey::new(&s, "b-queue");
    assert_eq!(msg_as(b, key.0, MsgOp::Create(0o600), b""), 0);
    let spool = s.shared("spool");
    let ran = s
        .php(a, Php::Extension)
        .dirs(&spool, &s.shared("failed"))
        .daemon_runner(&key, "sysv")
        .producer(&s.a("1.out"), "h", 20, "handoff");
    let refused = format!("refusing to use message queue {}", key.hex());
    eprintln!("B's queue, items handed off at exit: segments {:?}", names(&spool));
    if !ran.mentions(&refused) {
        problems.push(format!("a queue of another user refused at exit with no warning:\n{}", ran.dump()));
    }

    let inbox = s.shared("b-inbox");
    mkdir_as(b, &inbox, 0o777);
    let link = s.shared("spool-link");
    symlink_as(b, &inbox, &link);
    let key2 = QueueKey::new(&s, "spool-queue");
    let ran = s
        .php(a, Php::Extension)
        .dirs(&link, &s.shared("failed"))
        .daemon_runner(&key2, "spool")
        .producer(&s.a("2.out"), "h", 20, "handoff");
    let refused = format!("refusing to use spool directory {}: it is a symbolic link", link.display());
    assert!(names(&inbox).is_empty(), "nothing written through the link");
    if !ran.mentions(&refused) {
        problems.push(format!(
            "20 items dropped at exit (refused spool) with no warning and no log line:\n{}",
            ran.dump()
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn another_user_cannot_list_read_take_inject_or_remove_queued_items() {
    let Some(s) = Scene::new() else { return };
    let (a, b) = (&s.w.a, &s.w.b);
    // A's directories in the shared sticky directory (like /tmp), made by asyncbatch.
    let spool = s.shared("a-spool");
    let failed = s.shared("a-failed");
    let key = QueueKey::new(&s, "a-queue");
    let out = s.a("out");
    let php = |side| s.php(a, side).dirs(&spool, &failed);
    // Items waiting on A's queue (no daemon runs) ...
    let ran = php(Php::Extension).daemon_runner(&key, "sysv").producer(&out, "ext-queued", 10, "deliver");
    assert_eq!(ran.stat("dropped"), 0, "{}", ran.dump());
    // ... in A's spool, from both sides ...
    php(Php::Extension).daemon_runner(&key, "spool").producer(&out, "ext-spooled", 5, "deliver");
    php(Php::Polyfill).producer(&out, "poly-spooled", 3, "stuck");
    // ... and failed batches.
    php(Php::Extension).producer(&out, "ext-failed", 2, "fail");
    php(Php::Polyfill).producer(&out, "poly-failed", 2, "fail");

    let queued = key.messages().unwrap_or(0);
    assert!(queued >= 1, "items wait on A's queue");
    let segments = files_ending(&spool, ".seg");
    let stored = files_ending(&failed, ".fail");
    assert!(segments.len() >= 2, "segments of both sides: {:?}", names(&spool));
    assert_eq!(stored.len(), 2, "failed batches of both sides: {:?}", names(&failed));
    let before = (names(&spool), names(&failed));

    let mut seen = Vec::new();
    let mut expect = |what: String, got: i32, want: i32| {
        assert_eq!(got, want, "{} {what}: {} (expected {})", b.name, strerror(got), strerror(want));
        seen.push(format!("{what}: {}", strerror(got)));
    };
    for dir in [&spool, &failed] {
        expect(
            format!("list {}", dir.display()),
            open_as(b, dir, libc::O_RDONLY | libc::O_DIRECTORY),
            libc::EACCES,
        );
        let planted = dir.join("h.0000000000000001.1.1.seg");
        let flags = libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY;
        expect(format!("create {}", planted.display()), open_as(b, &planted, flags), libc::EACCES);
        let moved = s.shared("moved-by-b");
        let (from, to) = (cpath(dir), cpath(&moved));
        // SAFETY: rename(2) with valid C strings.
        let rc = as_user(b, || sys(unsafe { libc::rename(from.as_ptr(), to.as_ptr()) } as i64));
        expect(format!("rename {} (sticky parent)", dir.display()), rc, libc::EPERM);
    }
    for file in segments.iter().chain(&stored) {
        expect(format!("read {}", file.display()), open_as(b, file, libc::O_RDONLY), libc::EACCES);
        let mode = fs::metadata(file).unwrap().mode() & 0o777;
        assert_eq!(
            mode,
            0o600,
            "{} is mode {mode:o}: unreadable even where the directory could be entered",
            file.display()
        );
    }
    expect(format!("msgctl(IPC_STAT) on {}", key.hex()), msg_as(b, key.0, MsgOp::Stat, b""), libc::EACCES);
    expect(format!("msgrcv from {}", key.hex()), msg_as(b, key.0, MsgOp::Receive, b""), libc::EACCES);
    let mut body = b"ABQ\x01".to_vec();
    body.extend(frame("ext-queued", &["B-forged"]));
    expect(format!("msgsnd to {}", key.hex()), msg_as(b, key.0, MsgOp::Send, &body), libc::EACCES);
    expect(format!("msgctl(IPC_RMID) on {}", key.hex()), msg_as(b, key.0, MsgOp::Remove, b""), libc::EPERM);

    assert_eq!(key.messages(), Some(queued), "the queue is as A left it");
    assert_eq!((names(&spool), names(&failed)), before, "the directories are as A left them");
    for line in &seen {
        eprintln!("{}: {line}", b.name);
    }
}

fn files_and_directories_the_shutdown_runner_creates_are_private_to_its_user(side: Php) {
    let Some(s) = Scene::new() else { return };
    let a = &s.w.a;
    // The shutdown runner, umask 000, every missing component made.
    let root = s.shared(&format!("{side}-deep"));
    let (spool, failed) = (root.join("x/spool"), root.join("y/failed"));
    let out = s.a(&format!("{side}.out"));
    let ran = s.php(a, side).dirs(&spool, &failed).producer(&out, "h", 3, "fail");
    assert_eq!(ran.stat("persisted"), 3, "{}", ran.dump());
    let ran = s.php(a, side).dirs(&spool, &failed).producer(&out, "h", 4, "stuck");
    assert_eq!(ran.stat("spooled"), 4, "{}", ran.dump());
    assert!(!files_ending(&spool, ".seg").is_empty() && !files_ending(&failed, ".fail").is_empty());
    let seen = assert_private(&root, a, &format!("{side}: shutdown runner"));
    eprintln!("{side}: {seen:?}");
}

#[test]
fn files_and_directories_the_daemon_runner_the_daemon_and_a_drain_create_are_private_to_their_user() {
    let Some(s) = Scene::new() else { return };
    let a = &s.w.a;
    // The extension's daemon runner, the daemon (looked at while a slow batch is in
    // hand, so that its journal and progress files are there) and a drain whose
    // batches fail, all as A.
    let (spool, failed) = (s.shared("daemon-spool"), s.shared("daemon-failed"));
    let key = QueueKey::new(&s, "daemon-queue");
    let out = s.a("daemon.out");
    let call = |mode: &str| {
        s.php(a, Php::Extension)
            .dirs(&spool, &failed)
            .ini("asyncbatch.queue_key", key.0)
            .env("AB_E2E_OUT", out.display())
            .env("AB_E2E_JOBS", "h")
            .env("AB_E2E_MODE", mode)
            .env("AB_E2E_BATCH", 10)
            .env("AB_E2E_PERIOD", 0.05)
            .env("AB_E2E_SLEEP_MS", 700)
    };
    let bootstrap = s.daemon_jobs.display().to_string();
    let mut daemon =
        call("deliver").cli_background(&["daemon", "--bootstrap", &bootstrap, "--workers", "1"], "daemon");
    let started = wait_until(Duration::from_secs(10), Duration::from_millis(20), || {
        spool.join("daemon.status").exists()
    });
    assert!(started, "the daemon starts as {}\n{}", a.name, daemon.stderr());
    let ran = call("deliver").ini("asyncbatch.runner", "daemon").producer(&s.a("p.out"), "h", 20, "deliver");
    assert_eq!((ran.stat("spooled"), ran.stat("dropped")), (0, 0), "through A's queue\n{}", ran.dump());
    let ran = call("deliver")
        .ini("asyncbatch.runner", "daemon")
        .ini("asyncbatch.transport", "spool")
        .producer(&s.a("p.out"), "h", 5, "deliver");
    assert_eq!(ran.stat("spooled"), 5, "{}", ran.dump());
    // The first batch done, the second in hand.
    let t = Instant::now();
    let busy = wait_until(Duration::from_secs(10), Duration::from_millis(10), || {
        !delivered(&out).is_empty() && read(&s.a("daemon.out.started")).lines().count() >= 2
    });
    assert!(busy, "the daemon delivers: {:?}\n{}", names(&spool), daemon.stderr());
    let running = assert_private(&spool, a, "spool while the daemon runs");
    assert_eq!(queue_stat(key.0).map(|q| (q.uid, q.mode)), Some((a.uid, 0o600)), "the queue is A's, 0600");
    // SAFETY: SIGTERM to the daemon this test started.
    unsafe { libc::kill(daemon.pid(), libc::SIGTERM) };
    assert!(daemon.wait_exit(Duration::from_secs(15)).is_some(), "the daemon stops\n{}", daemon.stderr());
    let ran = call("fail").env("AB_E2E_SLEEP_MS", 0).cli(&["drain", "--bootstrap", &bootstrap]);
    assert_eq!(ran.code(), Some(1), "the drain stores the rest as failed\n{}", ran.dump());
    assert!(!files_ending(&failed, ".fail").is_empty(), "{}", ran.dump());
    let after = assert_private(&spool, a, "spool after the daemon and a drain");
    let stored = assert_private(&failed, a, "failure store of the drain");
    eprintln!("daemon runner: while a batch is in hand ({:?}): {running:?}", t.elapsed());
    eprintln!("daemon runner: after the daemon and a drain: {after:?}; failure store: {stored:?}");
}
