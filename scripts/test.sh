#!/usr/bin/env bash
# The test command: installs what is missing, builds the extension, and runs
# every suite, stopping at the first failure.
#
#   1. scripts/deps.sh                    Debian packages and cargo
#   2. cargo build --release              the extension, target/release/libasyncbatch.so
#   3. cargo test --workspace --release   core unit/property tests, end-to-end tests
#                                         (but Laravel's, which step 11 runs)
#   4. scripts/phpt.sh ext                the behaviour suite against the extension
#   5. scripts/phpt.sh polyfill           the same suite against the polyfill
#   6. scripts/phpt.sh ext -m             the suite again under valgrind
#   7. scripts/fuzz.sh                    the decoders, fuzzed for a bounded time
#   8. scripts/check-modules.py           the module graphs of core/ and src/ have no cycle
#   9. scripts/check-stubs.php            stubs/asyncbatch.stub.php against both sides
#  10. scripts/phpize.sh                  phpize && ./configure && make && make install
#  11. scripts/trixie.sh                  PHP 8.4 and Monolog 3 (Debian trixie, in a root
#                                         made with debootstrap): the build, the phpt
#                                         suite on both sides, the end-to-end tests (with
#                                         Laravel 10 and Symfony 6.4), phpize
#  12. scripts/zts.sh                     PHP 8.4 ZTS, built from Debian's source package
#                                         in that root (once; then reused): the build,
#                                         the phpt suite on both sides, phpize
#
# Usage: bash scripts/test.sh
# AB_SKIP_PHP84=1 leaves out steps 11 and 12 (they need root, and 5 minutes to make
# the root and 3 to 8 to build PHP ZTS the first time); the summary says so.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v cargo >/dev/null && [[ -x "$HOME/.cargo/bin/cargo" ]]; then
    PATH="$HOME/.cargo/bin:$PATH"
fi

LOG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/asyncbatch-test.XXXXXX")
trap 'rm -rf "$LOG_DIR"' EXIT
SUMMARY=()
PASSED=0

# step NAME COMMAND...: runs the command with its output shown and kept in a
# log; on failure prints what passed so far and exits.
step() {
    local name=$1
    shift
    local log="$LOG_DIR/step-${#SUMMARY[@]}.log"
    local start=$SECONDS
    echo
    echo "==> $name: $*"
    if "$@" 2>&1 | tee "$log"; then
        SUMMARY+=("  ok      $name ($((SECONDS - start)) s)")
        LAST_LOG=$log
    else
        SUMMARY+=("  FAILED  $name ($((SECONDS - start)) s)")
        echo
        echo "test.sh: FAILED at: $name"
        echo "test.sh: command: $*"
        print_summary
        exit 1
    fi
}

print_summary() {
    echo
    echo "==> summary"
    printf '%s\n' "${SUMMARY[@]}"
}

# Adds the passed/failed counts of cargo's "test result:" lines in LAST_LOG, and
# says how many of them returned without running (tests/src/skip.rs: not root,
# no tmpfs...; with AB_REQUIRE_ROOT=1 those fail instead).
count_cargo_tests() {
    local passed not_run
    passed=$(grep -E '^test result: ' "$LAST_LOG" | sed -E 's/.* ([0-9]+) passed.*/\1/' | awk '{s+=$1} END {print s+0}')
    not_run=$(grep -c '^NOT RUN: ' "$LAST_LOG" || true)
    PASSED=$((PASSED + passed - not_run))
    SUMMARY[-1]+=" - $passed tests"
    if [[ $not_run -gt 0 ]]; then
        SUMMARY[-1]+=", of which $not_run NOT RUN:"
        while IFS= read -r line; do
            SUMMARY+=("            ${line#NOT RUN: }")
        done < <(grep '^NOT RUN: ' "$LAST_LOG" | sed -E 's/ \(this test passed without testing anything\)$//')
    fi
}

# Adds the count of run-tests.php's "Tests passed" line in LAST_LOG, if any, and
# names the tests that passed only when run again (scripts/phpt.sh: FLAKY).
count_phpt_tests() {
    local passed flaky
    passed=$(grep -E '^Tests passed *:' "$LAST_LOG" | tail -1 | sed -E 's/^Tests passed *: *([0-9]+).*/\1/')
    if [[ -n "$passed" ]]; then
        PASSED=$((PASSED + passed))
        SUMMARY[-1]+=" - $passed tests"
    fi
    flaky=$(awk '/^--- FLAKY: / { f = 1; next } f && /^phpt\// { print; next } { f = 0 }' "$LAST_LOG")
    if [[ -n "$flaky" ]]; then
        SUMMARY[-1]+=", FLAKY (passed on a second run): $(echo $flaky)"
    fi
}

step "dependencies" bash scripts/deps.sh

step "build the extension" cargo build --release
if [[ ! -f target/release/libasyncbatch.so && -z "${CARGO_TARGET_DIR:-}" ]]; then
    echo "test.sh: cargo build succeeded but target/release/libasyncbatch.so is missing" >&2
    exit 1
fi

# Laravel is packaged for Debian trixie only: its end-to-end tests run in the PHP
# 8.4 step below.
step "Rust tests (core, end-to-end)" cargo test --workspace --release -- --skip laravel
count_cargo_tests

if [[ ! -f scripts/phpt.sh ]]; then
    SUMMARY+=("  FAILED  phpt suite: scripts/phpt.sh does not exist")
    echo "test.sh: scripts/phpt.sh (the runner of the phpt behaviour suite) does not exist" >&2
    print_summary
    exit 1
fi
step "phpt suite, extension" bash scripts/phpt.sh ext
count_phpt_tests
step "phpt suite, polyfill" bash scripts/phpt.sh polyfill
count_phpt_tests
# valgrind's memcheck over the suite, the extension loaded and the Zend allocator
# off: no invalid access, no use of uninitialised memory, no leak. PCRE's JIT is
# off because valgrind cannot see into the code it generates.
step "phpt suite under valgrind, extension" bash scripts/phpt.sh ext -m -d pcre.jit=0
count_phpt_tests
step "fuzz the decoders (bounded)" bash scripts/fuzz.sh

step "module graphs have no cycle" python3 scripts/check-modules.py

if [[ -f stubs/asyncbatch.stub.php ]]; then
    step "stubs match both sides" php scripts/check-stubs.php
else
    SUMMARY+=("  skipped stubs check: stubs/asyncbatch.stub.php does not exist")
fi

step "install with phpize" bash scripts/phpize.sh

# PHP 8.4: the same build and suites in a Debian trixie root (scripts/trixie.sh).
if [[ ${AB_SKIP_PHP84:-} == 1 ]]; then
    SUMMARY+=("  SKIPPED PHP 8.4 NTS and ZTS (trixie): AB_SKIP_PHP84=1")
else
    SUDO=()
    [[ $(id -u) -eq 0 ]] || SUDO=(sudo)
    # suites_in_root LABEL SCRIPT: the build and the phpt suite on both sides with the PHP
    # that SCRIPT (trixie.sh, zts.sh) runs commands with; then, for trixie.sh, the
    # end-to-end tests; then phpize.
    suites_in_root() {
        local label=$1 script=$2
        step "$label: build the extension" "${SUDO[@]}" bash "$script" run cargo build --release
        step "$label: phpt suite, extension" "${SUDO[@]}" bash "$script" run bash scripts/phpt.sh ext
        count_phpt_tests
        step "$label: phpt suite, polyfill" "${SUDO[@]}" bash "$script" run bash scripts/phpt.sh polyfill
        count_phpt_tests
        if [[ $script == scripts/trixie.sh ]]; then
            # shellcheck disable=SC2046 # the test names, one word each
            step "$label: end-to-end tests" "${SUDO[@]}" bash "$script" run \
                cargo test --release -p asyncbatch-e2e $(bash scripts/trixie.sh e2e-tests)
            count_cargo_tests
        fi
        step "$label: install with phpize" "${SUDO[@]}" bash "$script" run bash scripts/phpize.sh
    }
    step "PHP 8.4: the trixie root" "${SUDO[@]}" bash scripts/trixie.sh
    suites_in_root "PHP 8.4" scripts/trixie.sh
    # PHP 8.4 ZTS (scripts/zts.sh): built in the root once, then reused.
    step "PHP 8.4 ZTS: PHP built or reused" "${SUDO[@]}" bash scripts/zts.sh
    suites_in_root "PHP 8.4 ZTS" scripts/zts.sh
fi

print_summary
echo "test.sh: $PASSED passed, 0 failed"
