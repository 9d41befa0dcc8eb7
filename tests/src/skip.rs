//! Tests that cannot run here (not root, no tmpfs, a missing extension) say so
//! where it is seen, and fail instead where everything must run.
//!
//! `AB_REQUIRE_ROOT=1` (set by `.ci/run`, which runs as root on a machine with
//! everything `scripts/deps.sh` installs) turns every such early return into a
//! panic: a test that did not exercise its path never counts as passed there.
//! Without it, the test returns, and a `NOT RUN` line goes straight to stderr
//! (past cargo's capture of a passing test's output), where `scripts/test.sh`
//! counts it in its summary.

use std::io::Write;

/// Whether `AB_REQUIRE_ROOT=1` is set: every test must run, as root.
pub fn root_required() -> bool {
    std::env::var("AB_REQUIRE_ROOT").is_ok_and(|v| v == "1")
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    // SAFETY: geteuid(2) cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The running test cannot run here, because `why`.
///
/// # Panics
/// Under `AB_REQUIRE_ROOT=1`, with `why`. Otherwise prints
/// `NOT RUN: {test}: {why}` to stderr, uncaptured, and returns: the caller
/// returns next.
pub fn not_run(why: &str) {
    let test = current_test();
    if root_required() {
        panic!("{test} cannot run: {why} (AB_REQUIRE_ROOT=1: every test must run)");
    }
    let line = format!("NOT RUN: {test}: {why} (this test passed without testing anything)\n");
    // Not eprintln!: the test harness captures that for a passing test.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// True when running as root; otherwise [`not_run`] (`what` needs root) and
/// false.
///
/// # Panics
/// When not root under `AB_REQUIRE_ROOT=1`.
pub fn require_root(what: &str) -> bool {
    if is_root() {
        return true;
    }
    not_run(&format!("not running as root, and {what} needs root"));
    false
}

/// `binary: path::of::the_test`: cargo's test binary (`daemon-0123abcd`) without
/// its hash, and the thread the test harness names after the test.
fn current_test() -> String {
    let binary = std::env::args()
        .next()
        .and_then(|a| std::path::Path::new(&a).file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let binary = binary.rsplit_once('-').map_or(binary.as_str(), |(name, _)| name).to_string();
    let thread = std::thread::current();
    format!("{binary}: {}", thread.name().unwrap_or("a test"))
}
