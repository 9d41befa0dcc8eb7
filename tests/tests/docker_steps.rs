//! The Dockerfile, checked by reading it and by running its steps on the host
//! (Docker itself does not run here).
//!
//! - What it copies is in the repository and in the build context
//!   (`.dockerignore`), in time for the steps that use it; the scripts it runs
//!   exist, are executable and parse.
//! - `deploy/docker/install.sh`, the work of the runtime stage, installs into a
//!   temporary root with the built extension, with the arguments the Dockerfile
//!   gives it. supervisord starts as the image's `CMD` starts it, with the
//!   installed configuration: php-fpm and the daemon. Requests to the example
//!   page — FastCGI, and HTTP through nginx with `deploy/docker/nginx.conf` —
//!   submit log records that the daemon delivers to a collector. The
//!   `HEALTHCHECK` passes, fails while the daemon is stopped, and SIGTERM
//!   (`docker stop`) stops the rest cleanly, leaving nothing running.
//! - The compose example, the stop timeouts and deploy/'s supervisord program agree.

use std::collections::BTreeSet;
use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use asyncbatch_e2e::{
    derived_queue_key, descendants, extension_so, fcgi_request, pid_alive, remove_queue, repo_root,
    run_with_timeout, wait_until, Background, HttpServer, Json, Output, Sandbox,
};

// ---------------------------------------------------------------- the Dockerfile

/// One instruction of the Dockerfile, continuation lines joined.
#[derive(Clone, Debug)]
struct Instruction {
    /// The line it starts on (1-based), for messages.
    line: usize,
    /// Its stage: 0 for the first `FROM`, 1 for the next, ...
    stage: usize,
    /// `FROM`, `COPY`, `RUN`, ... (upper case).
    keyword: String,
    args: String,
    /// The `WORKDIR` in effect.
    workdir: String,
}

/// A `COPY` or `ADD`.
#[derive(Clone, Debug)]
struct Copy {
    line: usize,
    stage: usize,
    /// `--from=`: a stage name or an image.
    from: Option<String>,
    sources: Vec<String>,
    /// Absolute; a trailing `/` kept.
    dest: String,
}

fn dockerfile() -> Vec<Instruction> {
    let text = fs::read_to_string(repo_root().join("Dockerfile")).expect("read the Dockerfile");
    parse_dockerfile(&text)
}

fn parse_dockerfile(text: &str) -> Vec<Instruction> {
    let mut out = Vec::new();
    let mut stage = None::<usize>;
    let mut workdir = "/".to_string();
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('#') || (line.is_empty() && pending.is_none()) {
            continue;
        }
        let (start, mut joined) = pending.take().unwrap_or((i + 1, String::new()));
        if let Some(body) = line.strip_suffix('\\') {
            joined.push_str(body);
            joined.push(' ');
            pending = Some((start, joined));
            continue;
        }
        joined.push_str(line);
        let (keyword, args) = match joined.split_once(char::is_whitespace) {
            Some((k, a)) => (k.to_uppercase(), a.trim().to_string()),
            None => (joined.to_uppercase(), String::new()),
        };
        if keyword == "FROM" {
            stage = Some(stage.map_or(0, |s| s + 1));
            workdir = "/".into();
        }
        if keyword == "WORKDIR" {
            workdir = absolute(&workdir, &args);
        }
        let stage = stage.unwrap_or_else(|| panic!("Dockerfile line {start}: {keyword} before FROM"));
        out.push(Instruction { line: start, stage, keyword, args, workdir: workdir.clone() });
    }
    assert!(pending.is_none(), "the Dockerfile ends in a continuation line");
    out
}

/// `path` made absolute against `workdir`, `./` dropped; a trailing `/` kept.
fn absolute(workdir: &str, path: &str) -> String {
    let path = path.strip_prefix("./").unwrap_or(path);
    if path.starts_with('/') {
        path.to_string()
    } else if path.is_empty() || path == "." {
        format!("{}/", workdir.trim_end_matches('/'))
    } else {
        format!("{}/{}", workdir.trim_end_matches('/'), path)
    }
}

/// The words of an exec-form (`["a", "b"]`) or shell-form argument list.
fn words(args: &str) -> Vec<String> {
    if args.trim_start().starts_with('[') {
        match Json::parse(args.trim()) {
            Ok(Json::Arr(items)) => items
                .iter()
                .map(|j| j.as_str().unwrap_or_else(|| panic!("not a string in {args}")).to_string())
                .collect(),
            _ => panic!("not a JSON list of strings: {args}"),
        }
    } else {
        args.split_whitespace().map(str::to_string).collect()
    }
}

fn copies(instructions: &[Instruction]) -> Vec<Copy> {
    instructions
        .iter()
        .filter(|i| i.keyword == "COPY" || i.keyword == "ADD")
        .map(|i| {
            let mut from = None;
            let mut rest = Vec::new();
            for word in words(&i.args) {
                if let Some(stage) = word.strip_prefix("--from=") {
                    from = Some(stage.to_string());
                } else if !word.starts_with("--") {
                    rest.push(word);
                }
            }
            let dest = rest
                .pop()
                .unwrap_or_else(|| panic!("Dockerfile line {}: COPY without a destination", i.line));
            assert!(!rest.is_empty(), "Dockerfile line {}: COPY without a source", i.line);
            Copy { line: i.line, stage: i.stage, from, sources: rest, dest: absolute(&i.workdir, &dest) }
        })
        .collect()
}

/// The repository file that is at `path` in `stage` of the image once the
/// instructions before `line` have run, by the `COPY`s from the build context.
fn copied_from(copies: &[Copy], stage: usize, line: usize, path: &str) -> Option<PathBuf> {
    let root = repo_root();
    copies
        .iter()
        .filter(|c| c.stage == stage && c.from.is_none() && c.line < line)
        .flat_map(|c| c.sources.iter().map(move |s| (c, s)))
        .filter_map(|(c, source)| {
            let repo_path = root.join(source.trim_start_matches("./").trim_end_matches('/'));
            if repo_path.is_dir() {
                let dest = c.dest.trim_end_matches('/');
                if path == dest {
                    return Some(repo_path);
                }
                let rest = path.strip_prefix(&format!("{dest}/"))?;
                Some(repo_path.join(rest))
            } else {
                let name = repo_path.file_name()?.to_string_lossy().into_owned();
                let target = if c.dest.ends_with('/') { format!("{}{name}", c.dest) } else { c.dest.clone() };
                (target == path).then_some(repo_path)
            }
        })
        .next_back()
}

/// The stage index of a `FROM ... AS name`.
fn stage_named(instructions: &[Instruction], name: &str) -> usize {
    instructions
        .iter()
        .filter(|i| i.keyword == "FROM")
        .find(|i| {
            let w: Vec<&str> = i.args.split_whitespace().collect();
            w.len() == 3 && w[1].eq_ignore_ascii_case("as") && w[2] == name
        })
        .map(|i| i.stage)
        .unwrap_or_else(|| panic!("no stage named {name}"))
}

/// The stage of the image: the last one.
fn last_stage(instructions: &[Instruction]) -> usize {
    instructions.last().expect("an empty Dockerfile").stage
}

/// The instruction `keyword` of `stage`, which must have exactly one.
fn the_one<'a>(instructions: &'a [Instruction], keyword: &str, stage: usize) -> &'a Instruction {
    let found: Vec<&Instruction> =
        instructions.iter().filter(|i| i.keyword == keyword && i.stage == stage).collect();
    assert_eq!(found.len(), 1, "stage {stage} of the Dockerfile has one {keyword}");
    found[0]
}

/// The commands of a `RUN` (split at `&&`, `||` and `;`), as words.
fn commands(args: &str) -> Vec<Vec<String>> {
    let mut out = vec![Vec::new()];
    for word in args.split_whitespace() {
        if ["&&", "||", ";"].contains(&word) {
            out.push(Vec::new());
        } else {
            out.last_mut().expect("one").push(word.to_string());
        }
    }
    out.retain(|c| !c.is_empty());
    out
}

/// The `RUN` of the final stage that runs install.sh with `--extension`, and
/// its arguments.
fn install_run(instructions: &[Instruction]) -> (&Instruction, String, Vec<String>) {
    let last = last_stage(instructions);
    let found: Vec<(&Instruction, String, Vec<String>)> = instructions
        .iter()
        .filter(|i| i.keyword == "RUN" && i.stage == last)
        .flat_map(|i| commands(&i.args).into_iter().map(move |c| (i, c)))
        .filter(|(_, c)| c[0].ends_with("/install.sh") && c.iter().any(|w| w == "--extension"))
        .map(|(i, c)| (i, absolute(&i.workdir, &c[0]), c[1..].to_vec()))
        .collect();
    assert_eq!(found.len(), 1, "the final stage runs install.sh --extension once");
    found.into_iter().next().expect("one")
}

/// The command of `HEALTHCHECK [options] CMD [...]`.
fn healthcheck_command(instructions: &[Instruction]) -> Vec<String> {
    let h = the_one(instructions, "HEALTHCHECK", last_stage(instructions));
    let at = h.args.find("CMD ").expect("HEALTHCHECK ... CMD");
    words(&h.args[at + 4..])
}

// ---------------------------------------------------------------- .dockerignore

/// The rules of a `.dockerignore`, matched as Docker does: each pattern against
/// the path and each of its parent directories, the last match deciding.
struct DockerIgnore {
    rules: Vec<(bool, Vec<String>)>,
}

impl DockerIgnore {
    fn read() -> DockerIgnore {
        let text = fs::read_to_string(repo_root().join(".dockerignore")).expect("read .dockerignore");
        let rules = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| {
                let (negated, pattern) = match l.strip_prefix('!') {
                    Some(p) => (true, p.trim()),
                    None => (false, l),
                };
                let segments = pattern
                    .trim_matches('/')
                    .split('/')
                    .filter(|s| !s.is_empty() && *s != ".")
                    .map(str::to_string)
                    .collect();
                (negated, segments)
            })
            .collect();
        DockerIgnore { rules }
    }

    /// Whether `path` (relative to the repository, `/`-separated) is in the context.
    fn includes(&self, path: &str) -> bool {
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut excluded = false;
        for (negated, pattern) in &self.rules {
            let hit = (1..=parts.len()).any(|n| glob_path(pattern, &parts[..n]));
            if hit {
                excluded = !negated;
            }
        }
        !excluded
    }
}

fn glob_path(pattern: &[String], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((first, rest)) if first == "**" => (0..=path.len()).any(|skip| glob_path(rest, &path[skip..])),
        Some((first, rest)) => {
            !path.is_empty()
                && glob_segment(first.as_bytes(), path[0].as_bytes())
                && glob_path(rest, &path[1..])
        }
    }
}

fn glob_segment(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|skip| glob_segment(rest, &name[skip..])),
        Some((b'?', rest)) => !name.is_empty() && glob_segment(rest, &name[1..]),
        Some((c, rest)) => name.first() == Some(c) && glob_segment(rest, &name[1..]),
    }
}

/// The files under `path` (a file or a directory of the repository): those git
/// tracks, or, outside a git checkout, those on disk outside `target/`.
fn files_under(path: &str) -> Vec<String> {
    let root = repo_root();
    let git = Command::new("git").arg("-C").arg(&root).args(["ls-files", "-z", "--", path]).output();
    if let Ok(out) = git {
        if out.status.success() && !out.stdout.is_empty() {
            return out
                .stdout
                .split(|&b| b == 0)
                .filter(|f| !f.is_empty())
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect();
        }
    }
    fn walk(dir: &Path, rel: &str, out: &mut Vec<String>) {
        if dir.is_file() {
            out.push(rel.to_string());
            return;
        }
        for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name != "target" {
                walk(&entry.path(), &format!("{rel}/{name}"), out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root.join(path), path.trim_end_matches('/'), &mut out);
    out
}

// ---------------------------------------------------------------- helpers

fn program(name: &str) -> PathBuf {
    for dir in ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"] {
        let path = Path::new(dir).join(name);
        if path.is_file() {
            return path;
        }
    }
    panic!("{name} not found: install what scripts/deps.sh installs (bash scripts/deps.sh)");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind loopback").local_addr().expect("address").port()
}

/// A command without the `ASYNCBATCH_*` variables of the test's environment.
fn clean(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new(program);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("ASYNCBATCH_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// The user php-fpm's pool and the daemon run as: www-data as in the image when
/// the test runs as root; otherwise the current user (nobody else can be).
fn pool_user() -> String {
    if unsafe { libc::geteuid() } == 0 {
        let known = Command::new("id").args(["-u", "www-data"]).output().is_ok_and(|o| o.status.success());
        assert!(known, "the user www-data does not exist (it does in Debian and in the image)");
        "www-data".into()
    } else {
        let out = Command::new("id").arg("-un").output().expect("run id");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

/// Replaces `from` by `to` in `text`, insisting that `from` is there.
fn adapt(text: &str, from: &str, to: &str, file: &str) -> String {
    assert!(text.contains(from), "{file} no longer contains {from:?}: update this test");
    text.replace(from, to)
}

/// A GET over HTTP/1.0 to loopback: status and body.
fn http_get(port: u16, target: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to nginx");
    stream.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    write!(stream, "GET {target} HTTP/1.0\r\nHost: localhost\r\n\r\n").expect("send the request");
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, body.to_string())
}

/// Absolute paths in the settings of an installed file (comments left out) that
/// are neither under `root` nor one of `system`: a path install.sh --root did
/// not move, which the test would otherwise use on the host itself.
fn paths_outside(text: &str, root: &str, system: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for line in text.lines() {
        let setting = line.trim_start();
        if setting.starts_with(';') || setting.starts_with('#') {
            continue;
        }
        let bytes = setting.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let starts_path = bytes[i] == b'/'
                && (i == 0 || b" \t=\"':".contains(&bytes[i - 1]) || setting[..i].ends_with("//"));
            if !starts_path {
                i += 1;
                continue;
            }
            let end = setting[i..].find([' ', '\t', '"', '\'', ';', ')']).map_or(setting.len(), |n| i + n);
            let path = setting[i..end].trim_start_matches('/');
            let path = format!("/{path}");
            let known =
                system.iter().any(|s| if s.ends_with('/') { path.starts_with(s) } else { path == *s });
            if path != "/" && !path.starts_with(&format!("{root}/")) && !known {
                found.push(format!("{path}   (in: {line})"));
            }
            i = end.max(i + 1);
        }
    }
    found
}

/// Removes a SysV message queue on drop.
struct QueueGuard(i32);

impl Drop for QueueGuard {
    fn drop(&mut self) {
        remove_queue(self.0);
    }
}

/// The section of an ini-like file that starts with the line `header`.
fn section<'a>(text: &'a str, header: &str, file: &str) -> &'a str {
    let start = text.find(&format!("{header}\n")).unwrap_or_else(|| panic!("no {header} in {file}"));
    let body = &text[start + header.len()..];
    &body[..body.find("\n[").map_or(body.len(), |n| n + 1)]
}

/// The number after `prefix` in `text` (`--stop-timeout 10`, `stopwaitsecs=15`).
fn number_after(text: &str, prefix: &str) -> f64 {
    let at = text.find(prefix).unwrap_or_else(|| panic!("no {prefix:?} in:\n{text}"));
    text[at + prefix.len()..]
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number after {prefix:?}"))
}

/// The value of the line `key=value` (or `key = value`) in `text`.
fn setting<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == key).then(|| v.trim())
    })
}

// ---------------------------------------------------------------- tests

#[test]
fn the_dockerfile_copies_what_exists_in_the_build_context_and_runs_executable_scripts() {
    let root = repo_root();
    let instructions = dockerfile();
    let copies = copies(&instructions);
    let ignore = DockerIgnore::read();
    assert!(copies.iter().any(|c| c.from.is_none()), "the Dockerfile copies from the build context");

    // Every source is in the repository, and all of it is in the context.
    for copy in copies.iter().filter(|c| c.from.is_none()) {
        for source in &copy.sources {
            let source = source.trim_start_matches("./");
            assert!(
                root.join(source).exists(),
                "Dockerfile line {}: COPY {source}: no such file in the repository",
                copy.line
            );
            let files = files_under(source);
            assert!(!files.is_empty(), "Dockerfile line {}: COPY {source} copies nothing", copy.line);
            for file in &files {
                assert!(
                    ignore.includes(file),
                    "Dockerfile line {}: COPY {source}: {file} is left out of the build context by .dockerignore",
                    copy.line
                );
            }
        }
    }
    // What must stay out of the context (gigabytes, and the repository's history).
    for out in ["target/release/libasyncbatch.so", "core/target/x", ".git/HEAD", "scripts/test.sh"] {
        assert!(!ignore.includes(out), ".dockerignore lets {out} into the build context");
    }

    // Scripts that RUN: copied before, executable, parsed by bash.
    for run in instructions.iter().filter(|i| i.keyword == "RUN") {
        for command in commands(&run.args) {
            let script = &command[0];
            if !script.ends_with(".sh") {
                continue;
            }
            let in_image = absolute(&run.workdir, script);
            let source = copied_from(&copies, run.stage, run.line, &in_image).unwrap_or_else(|| {
                panic!("Dockerfile line {}: RUN {script}: no COPY before it puts {in_image} there", run.line)
            });
            let meta = fs::metadata(&source).unwrap_or_else(|e| panic!("{}: {e}", source.display()));
            assert!(meta.permissions().mode() & 0o111 != 0, "{} is not executable", source.display());
            let parsed =
                run_with_timeout(Command::new("bash").arg("-n").arg(&source), None, Duration::from_secs(10));
            parsed.assert_success(&format!("bash -n {}", source.display()));
        }
    }

    // The build stage has the whole Cargo workspace when it builds.
    let build = stage_named(&instructions, "build");
    let build_run = instructions
        .iter()
        .find(|i| i.stage == build && i.keyword == "RUN" && i.args.contains("build.sh extension"))
        .expect("the build stage runs build.sh extension");
    let manifest = fs::read_to_string(root.join("Cargo.toml")).expect("read Cargo.toml");
    let members_line =
        manifest.lines().find(|l| l.trim_start().starts_with("members")).expect("workspace members");
    let members: Vec<&str> = members_line.split('"').skip(1).step_by(2).collect();
    assert!(!members.is_empty(), "no members in {members_line}");
    let mut needed = vec!["Cargo.toml".to_string(), "Cargo.lock".into(), "src/lib.rs".into()];
    needed.extend(members.iter().map(|m| format!("{m}/Cargo.toml")));
    for file in &needed {
        let in_image = absolute(&build_run.workdir, file);
        let source = copied_from(&copies, build, build_run.line, &in_image);
        assert!(
            source.is_some_and(|s| s.is_file()),
            "the build stage builds without {file} (workspace members: {members:?}): COPY it"
        );
    }
    let out_dir = build_run.args.split_whitespace().last().expect("build.sh extension OUT");

    // The runtime stage takes the extension from there, and install.sh has what it reads.
    let last = last_stage(&instructions);
    let (run, script, args) = install_run(&instructions);
    let from_build: Vec<&Copy> =
        copies.iter().filter(|c| c.stage == last && c.from.as_deref() == Some("build")).collect();
    assert_eq!(from_build.len(), 1, "the runtime stage copies the extension from the build stage");
    assert_eq!(from_build[0].sources, vec![format!("{out_dir}/asyncbatch.so")]);
    let extension_arg = &args[args.iter().position(|a| a == "--extension").expect("--extension") + 1];
    assert_eq!(&from_build[0].dest, extension_arg, "install.sh --extension is the copied extension");
    let source_root = Path::new(&script).parent().and_then(Path::parent).and_then(Path::parent).expect("SRC");
    let installer = fs::read_to_string(root.join("deploy/docker/install.sh")).expect("read install.sh");
    let mut read = BTreeSet::new();
    for (at, _) in installer.match_indices("\"$SRC/") {
        let rest = &installer[at + 6..];
        read.insert(
            rest[..rest.find('"').expect("closing quote")].trim_end_matches('.').trim_end_matches('/'),
        );
    }
    assert!(read.len() >= 5, "install.sh reads {read:?}");
    for file in read {
        let in_image = format!("{}/{file}", source_root.display());
        let source = copied_from(&copies, last, run.line, &in_image);
        assert!(
            source.is_some_and(|s| s.exists()),
            "Dockerfile line {}: install.sh reads $SRC/{file}, which no COPY before it puts at {in_image}",
            run.line
        );
    }
}

#[test]
fn the_image_steps_run_on_the_host_deliver_and_stop_cleanly() {
    let sandbox = Sandbox::new();
    // The pool's user (www-data under root) goes through it to the installed tree.
    fs::set_permissions(sandbox.path(), fs::Permissions::from_mode(0o755)).expect("chmod the sandbox");
    let image_root = sandbox.join("root");
    let root = image_root.display().to_string();
    let user = pool_user();
    let fpm_port = free_port();
    let listen = format!("127.0.0.1:{fpm_port}");
    let cli_scan_dir = format!(":{root}/etc/php/8.2/cli/conf.d");
    // The message queue php-fpm's workers create outlives them: removed at the end,
    // after the processes (declared before them, dropped after them).
    let _queue = QueueGuard(derived_queue_key(&format!("{root}/var/lib/asyncbatch/spool")));

    // The host's PHP must not load asyncbatch by itself: the installed snippets do.
    let host = run_with_timeout(
        clean("php").args(["-r", "echo extension_loaded('asyncbatch') ? 'yes' : 'no';"]),
        None,
        Duration::from_secs(10),
    );
    assert_eq!(
        host.stdout_str(),
        "no",
        "the host's php already loads asyncbatch (from /etc/php?): remove that"
    );

    // install.sh, with the Dockerfile's arguments and this host's extension and root.
    let instructions = dockerfile();
    let (_, script, mut args) = install_run(&instructions);
    assert!(script.ends_with("/deploy/docker/install.sh"), "{script}");
    let at = args.iter().position(|a| a == "--extension").expect("--extension") + 1;
    args[at] = extension_so().display().to_string();
    args.extend([
        "--root".into(),
        root.clone(),
        "--listen".into(),
        listen.clone(),
        "--user".into(),
        user.clone(),
    ]);
    let install = run_with_timeout(
        clean(repo_root().join("deploy/docker/install.sh")).args(&args),
        None,
        Duration::from_secs(60),
    );
    install.assert_success("deploy/docker/install.sh");
    eprintln!("{}", install.stdout_str().trim());

    // Nothing installed points outside the root but at the system's programs.
    // The system's programs and devices, php-fpm's ping and status (URL paths),
    // and the healthcheck's `case` pattern of a socket path.
    let system = [
        "/usr/bin/php",
        "/usr/sbin/php-fpm8.2",
        "/dev/stdout",
        "/dev/stderr",
        "/dev/null",
        "/proc/self/fd/2",
        "/ping",
        "/status",
        "/*",
    ];
    for file in [
        "etc/php/8.2/mods-available/asyncbatch.ini",
        "etc/php/8.2/fpm/php-fpm.conf",
        "etc/php/8.2/fpm/pool.d/www.conf",
        "etc/supervisor/supervisord.conf",
        "usr/local/bin/asyncbatch-healthcheck",
    ] {
        let text = fs::read_to_string(image_root.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let outside = paths_outside(&text, &root, &system);
        assert!(outside.is_empty(), "{file} points outside {root}:\n{}", outside.join("\n"));
    }
    for volume in words(&the_one(&instructions, "VOLUME", last_stage(&instructions)).args) {
        let meta = fs::metadata(format!("{root}{volume}")).unwrap_or_else(|e| panic!("VOLUME {volume}: {e}"));
        assert_eq!(meta.mode() & 0o777, 0o700, "VOLUME {volume} is private to the pool's user");
    }

    // supervisord, as the image's CMD starts it.
    let collector = HttpServer::start();
    let cmd_words = words(&the_one(&instructions, "CMD", last_stage(&instructions)).args);
    let mut supervisord = clean(&cmd_words[0]);
    for arg in &cmd_words[1..] {
        let moved = format!("{root}{arg}");
        supervisord.arg(if arg.starts_with('/') && Path::new(&moved).exists() { moved } else { arg.clone() });
    }
    supervisord.current_dir(sandbox.path()).env("LOG_COLLECTOR_URL", collector.url("/v1/logs"));
    let mut supervisor = Background::spawn_appending(supervisord, sandbox.path(), "supervisord");
    let conf = format!("{root}/etc/supervisor/supervisord.conf");

    let healthcheck_words = healthcheck_command(&instructions);
    let healthcheck = || -> Output {
        let mut cmd = clean(format!("{root}{}", healthcheck_words[0]));
        cmd.args(&healthcheck_words[1..]);
        run_with_timeout(&mut cmd, None, Duration::from_secs(10))
    };
    let mut last = None;
    let healthy = wait_until(Duration::from_secs(20), Duration::from_millis(100), || {
        let out = healthcheck();
        let ok = out.status.success();
        last = Some(out);
        ok || supervisor.try_exit().is_some()
    });
    let last = last.expect("ran the healthcheck");
    assert!(
        healthy && last.status.success(),
        "the HEALTHCHECK did not pass\n{}{}\n--- supervisord ---\n{}",
        last.stdout_str(),
        last.stderr,
        supervisor.stdout()
    );
    assert!(last.stdout_str().contains(&format!("php-fpm: answers on {listen}")), "{}", last.stdout_str());

    // Records from the example page: FastCGI straight to php-fpm...
    let page = image_root.join("var/www/app/public/index.php");
    let response = fcgi_request(Path::new(&listen), &page, "records=300&r=fcgi", Duration::from_secs(20));
    assert!(response.ok(), "{}: {}\n{}", response.summary(), response.body_str(), response.stderr);
    assert_eq!(response.body_str(), "submitted 300 log records to the job 'logs'\n");

    // ...and HTTP through nginx with the compose example's server block.
    let nginx_dir = sandbox.join("nginx");
    fs::create_dir(&nginx_dir).expect("create the nginx directory");
    let web_port = free_port();
    let shipped = fs::read_to_string(repo_root().join("deploy/docker/nginx.conf")).expect("read nginx.conf");
    let server = adapt(&shipped, "listen 80;", &format!("listen 127.0.0.1:{web_port};"), "nginx.conf");
    let server = adapt(&server, "fastcgi_pass app:9000;", &format!("fastcgi_pass {listen};"), "nginx.conf");
    let server = adapt(&server, "/var/www/app", &format!("{root}/var/www/app"), "nginx.conf");
    fs::write(nginx_dir.join("server.conf"), server).expect("write server.conf");
    fs::copy("/etc/nginx/fastcgi_params", nginx_dir.join("fastcgi_params")).expect("copy fastcgi_params");
    let d = nginx_dir.display();
    fs::write(
        nginx_dir.join("nginx.conf"),
        format!(
            "daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/body;\n\
             fastcgi_temp_path {d}/fastcgi;\n  proxy_temp_path {d}/proxy;\n  scgi_temp_path {d}/scgi;\n\
             uwsgi_temp_path {d}/uwsgi;\n  include server.conf;\n}}\n"
        ),
    )
    .expect("write nginx.conf");
    let mut nginx_cmd = clean(program("nginx"));
    nginx_cmd
        .arg("-p")
        .arg(&nginx_dir)
        .arg("-c")
        .arg(nginx_dir.join("nginx.conf"))
        .arg("-e")
        .arg(nginx_dir.join("error.log"));
    let mut nginx = Background::spawn(nginx_cmd, &nginx_dir, "nginx");
    let up = wait_until(Duration::from_secs(10), Duration::from_millis(20), || {
        TcpStream::connect(("127.0.0.1", web_port)).is_ok() || nginx.try_exit().is_some()
    });
    let nginx_log = || fs::read_to_string(nginx_dir.join("error.log")).unwrap_or_default();
    assert!(up && nginx.try_exit().is_none(), "nginx did not start\n{}\n{}", nginx.stderr(), nginx_log());
    let (status, body) = http_get(web_port, "/?records=200&r=nginx");
    assert_eq!(
        (status, body.as_str()),
        (200, "submitted 200 log records to the job 'logs'\n"),
        "{}",
        nginx_log()
    );
    let (status, _) = http_get(web_port, "/other.php");
    assert_eq!(status, 404, "nginx runs no PHP file but the front controller");
    drop(nginx);

    // The daemon delivers all of them to the collector.
    const RECORDS: usize = 500;
    let requests = collector.wait_for(Duration::from_secs(20), |requests| {
        requests.iter().map(|r| r.items().len()).sum::<usize>() >= RECORDS
    });
    let mut seen = BTreeSet::new();
    for record in requests.iter().flat_map(|r| r.items()) {
        let uri = record.at(&["ctx", "uri"]).as_str().unwrap_or_default().to_string();
        let tag = if uri.contains("r=fcgi") {
            "fcgi"
        } else if uri.contains("r=nginx") {
            "nginx"
        } else {
            "?"
        };
        seen.insert(format!("{tag} {}", record.get("msg").as_str().unwrap_or_default()));
    }
    let expected: BTreeSet<String> = (0..300)
        .map(|i| format!("fcgi example record {i}"))
        .chain((0..200).map(|i| format!("nginx example record {i}")))
        .collect();
    let missing: Vec<&String> = expected.difference(&seen).take(5).collect();
    assert!(
        missing.is_empty(),
        "the collector got {} of {RECORDS} records; missing e.g. {missing:?}\n--- supervisord ---\n{}",
        seen.len(),
        supervisor.stdout()
    );
    // By the daemon, not by php-fpm's workers: its counters say so.
    let status = || {
        let mut cmd = clean(format!("{root}/usr/local/bin/asyncbatch"));
        cmd.args(["status", "--json"]).env("PHP_INI_SCAN_DIR", &cli_scan_dir);
        run_with_timeout(&mut cmd, None, Duration::from_secs(10))
    };
    let mut delivered = None;
    let counted = wait_until(Duration::from_secs(5), Duration::from_millis(100), || {
        delivered = Json::parse(status().stdout_str().trim())
            .ok()
            .and_then(|s| s.at(&["jobs", "logs", "delivered"]).as_i64());
        delivered == Some(RECORDS as i64)
    });
    assert!(
        counted,
        "the daemon's status counts {RECORDS} delivered within 5 s, not {delivered:?}\n{}",
        status().stdout_str()
    );

    // The HEALTHCHECK fails while the daemon is stopped.
    let ctl = |action: &str| {
        let mut cmd = clean(program("supervisorctl"));
        cmd.args(["-c", &conf, action, "asyncbatch"]);
        run_with_timeout(&mut cmd, None, Duration::from_secs(30))
    };
    let stop = ctl("stop");
    assert!(stop.stdout_str().contains("asyncbatch: stopped"), "{}{}", stop.stdout_str(), stop.stderr);
    let down = healthcheck();
    assert!(!down.status.success(), "the HEALTHCHECK passed with the daemon stopped:\n{}", down.stdout_str());
    assert!(down.stdout_str().contains("not running"), "{}", down.stdout_str());

    // docker stop: SIGTERM to supervisord stops php-fpm; nothing is left running.
    let mut pids = descendants(supervisor.pid());
    pids.push(supervisor.pid());
    // SAFETY: a signal to the supervisord this test started.
    unsafe { libc::kill(supervisor.pid(), libc::SIGTERM) };
    let exit = supervisor.wait_exit(Duration::from_secs(40));
    let log = supervisor.stdout();
    assert!(
        exit.is_some_and(|s| s.success()),
        "supervisord did not exit cleanly on SIGTERM: {exit:?}\n{log}"
    );
    for program in ["asyncbatch", "php-fpm"] {
        assert!(
            log.contains(&format!("stopped: {program} (exit status 0)")),
            "{program} did not stop cleanly:\n{log}"
        );
    }
    let left: Vec<i32> = pids.into_iter().filter(|&p| pid_alive(p)).collect();
    assert!(left.is_empty(), "processes left running: {left:?}\n{log}");
    let mut strays = Vec::new();
    for entry in fs::read_dir("/proc").expect("read /proc").flatten() {
        if let Ok(cmdline) = fs::read(entry.path().join("cmdline")) {
            if String::from_utf8_lossy(&cmdline).contains(&root) {
                strays.push(format!(
                    "{}: {}",
                    entry.file_name().to_string_lossy(),
                    String::from_utf8_lossy(&cmdline)
                ));
            }
        }
    }
    assert!(strays.is_empty(), "processes of the installed tree still run:\n{}", strays.join("\n"));
    assert!(!healthcheck().status.success(), "the HEALTHCHECK passed with everything stopped");

    // The HEALTHCHECK finds php-fpm at the pool's `listen`, whatever its form (the
    // image's is a bare port); nothing listens there now.
    let pool = image_root.join("etc/php/8.2/fpm/pool.d/www.conf");
    let pool_text = fs::read_to_string(&pool).expect("read www.conf");
    let port = free_port();
    for (listen_line, address) in [
        (format!("{port}"), format!("127.0.0.1:{port}")),
        (format!("0.0.0.0:{port}"), format!("127.0.0.1:{port}")),
        (format!("[::]:{port}"), format!("127.0.0.1:{port}")),
        (format!("127.0.0.1:{port}"), format!("127.0.0.1:{port}")),
        (format!("{root}/run/php-fpm.sock"), format!("{root}/run/php-fpm.sock")),
    ] {
        let text = adapt(
            &pool_text,
            &format!("listen = {listen}\n"),
            &format!("listen = {listen_line}\n"),
            "www.conf",
        );
        fs::write(&pool, text).expect("write www.conf");
        let out = healthcheck().stdout_str();
        assert!(out.contains(&format!("php-fpm: no answer on {address}:")), "listen = {listen_line}:\n{out}");
    }
}

#[test]
fn the_stop_timeouts_and_the_compose_example_agree_with_the_image() {
    let root = repo_root();
    let read = |path: &str| fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    let supervisord = read("deploy/docker/supervisord.conf");
    let daemon = section(&supervisord, "[program:asyncbatch]", "deploy/docker/supervisord.conf");
    let fpm = section(&supervisord, "[program:php-fpm]", "deploy/docker/supervisord.conf");
    let host = read("deploy/supervisord-asyncbatch.conf");
    let host = section(&host, "[program:asyncbatch]", "deploy/supervisord-asyncbatch.conf");

    // The image's daemon is deploy/'s program, in the image's paths.
    for key in [
        "user",
        "autorestart",
        "startsecs",
        "startretries",
        "stopsignal",
        "stopwaitsecs",
        "stopasgroup",
        "killasgroup",
    ] {
        assert_eq!(
            setting(daemon, key),
            setting(host, key),
            "{key} differs from deploy/supervisord-asyncbatch.conf"
        );
    }
    for option in ["--workers ", "--stop-timeout "] {
        assert_eq!(
            number_after(daemon, option),
            number_after(host, option),
            "{option}differs from deploy/'s program"
        );
    }
    let www = read("deploy/docker/www.conf");
    assert_eq!(setting(daemon, "user"), setting(&www, "user"), "the daemon runs as php-fpm's pool does");
    assert!(number_after(daemon, "--stop-timeout ") < number_after(daemon, "stopwaitsecs="));

    // php-fpm: a graceful stop within its stopwaitsecs, before the daemon stops.
    assert_eq!(setting(fpm, "stopsignal"), Some("QUIT"));
    let fpm_conf = read("deploy/docker/php-fpm.conf");
    let control = number_after(&fpm_conf, "process_control_timeout = ");
    assert!(
        control < number_after(fpm, "stopwaitsecs="),
        "php-fpm's process_control_timeout is within stopwaitsecs"
    );
    assert!(
        number_after(daemon, "priority=") < number_after(fpm, "priority="),
        "supervisord stops php-fpm before the daemon (a higher priority stops first)"
    );

    // The compose example: the image's build, volume, port, and enough time to stop.
    let compose = read("deploy/docker/compose.yaml");
    let instructions = dockerfile();
    let last = last_stage(&instructions);
    let context =
        compose.lines().find_map(|l| l.trim().strip_prefix("context:")).expect("a build context").trim();
    assert!(
        root.join("deploy/docker").join(context).join("Dockerfile").is_file(),
        "context {context} has no Dockerfile"
    );
    let grace = number_after(&compose, "stop_grace_period: ");
    let stopping = number_after(daemon, "stopwaitsecs=") + number_after(fpm, "stopwaitsecs=");
    assert!(grace > stopping, "stop_grace_period {grace} s: supervisord may take {stopping} s to stop both");
    let dockerfile_text = read("Dockerfile");
    assert!(
        dockerfile_text.contains(&format!("--stop-timeout {grace}")),
        "the Dockerfile's docker run says --stop-timeout {grace}"
    );
    for volume in words(&the_one(&instructions, "VOLUME", last).args) {
        assert!(
            compose.contains(&format!("-data:{volume}\n")),
            "compose.yaml keeps VOLUME {volume} in a named volume"
        );
    }
    let port = the_one(&instructions, "EXPOSE", last).args.clone();
    assert_eq!(setting(&www, "listen"), Some(port.as_str()), "php-fpm listens on the EXPOSEd port");
    let nginx = read("deploy/docker/nginx.conf");
    assert!(nginx.contains(&format!("fastcgi_pass app:{port};")), "nginx.conf passes to the app service");
    assert!(compose.contains("\n  app:\n"), "compose.yaml has the service app");
    for line in compose.lines().map(str::trim).filter(|l| l.starts_with("- ./")) {
        let file = &line[2..line.find(':').expect("a mount")];
        assert!(
            root.join("deploy/docker").join(file).is_file(),
            "compose.yaml mounts {file}, which does not exist"
        );
    }

    // The queue limits of deploy/99-asyncbatch-sysctl.conf, set in the container.
    let sysctl = read("deploy/99-asyncbatch-sysctl.conf");
    for key in ["kernel.msgmnb", "kernel.msgmax"] {
        let value = setting(&sysctl, key).unwrap_or_else(|| panic!("no {key} in 99-asyncbatch-sysctl.conf"));
        assert!(compose.contains(&format!("{key}: {value}\n")), "compose.yaml sets {key} to {value}");
    }
}
