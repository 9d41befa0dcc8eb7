#!/usr/bin/env bash
# Fuzzes the decoders of asyncbatch-core (the targets of fuzz/, see fuzz/README.md)
# for a bounded time, on the stable toolchain:
#
#   1. installs cargo-fuzz if `cargo fuzz` is missing
#   2. builds every target (AddressSanitizer when the toolchain ships its runtime)
#   3. replays each target's committed corpus, fuzz/corpus/<target>/
#   4. fuzzes each target for AB_FUZZ_SECONDS seconds (default 20)
#
# New corpus entries and crash files go to a temporary directory, never into the
# tree. On a crash it prints the input's path (the directory is kept) and the
# command that reproduces it, and exits 1.
#
# Usage: bash scripts/fuzz.sh [TARGET...]
#
# Environment:
#   AB_FUZZ_SECONDS     seconds of fuzzing per target (default 20; 0: replay only)
#   AB_FUZZ_SANITIZER   address (default when available) or none
#   AB_FUZZ_TOOLCHAIN   a rustup toolchain to use, e.g. nightly (default: the default one)
#   AB_CARGO_FUZZ_VERSION  cargo-fuzz version to install when missing (default 0.13.2)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
if ! command -v cargo >/dev/null && [[ -x "$HOME/.cargo/bin/cargo" ]]; then
    PATH="$HOME/.cargo/bin:$PATH"
fi

SECONDS_PER_TARGET=${AB_FUZZ_SECONDS:-20}
if ! [[ "$SECONDS_PER_TARGET" =~ ^[0-9]+$ ]]; then
    echo "fuzz.sh: AB_FUZZ_SECONDS must be a whole number of seconds, got '$SECONDS_PER_TARGET'" >&2
    exit 2
fi
CARGO=(cargo)
if [[ -n "${AB_FUZZ_TOOLCHAIN:-}" ]]; then
    CARGO+=("+$AB_FUZZ_TOOLCHAIN")
fi

# 1. cargo-fuzz. Installed into ~/.cargo/bin, which CI caches keep.
if ! "${CARGO[@]}" fuzz --version >/dev/null 2>&1; then
    version=${AB_CARGO_FUZZ_VERSION:-0.13.2}
    echo "fuzz.sh: installing cargo-fuzz $version"
    cargo install cargo-fuzz --locked --version "$version"
fi
echo "fuzz.sh: $("${CARGO[@]}" fuzz --version), $("${CARGO[@]}" --version)"

# libfuzzer-sys compiles libFuzzer (C++) with $CXX, else c++; scripts/deps.sh
# installs clang, which brings clang++ when g++ is not there.
if [[ -z "${CXX:-}" ]] && ! command -v c++ >/dev/null && command -v clang++ >/dev/null; then
    export CXX=clang++
fi

# cargo-fuzz passes -Z flags (-Zsanitizer and others) to rustc; this lets the stable
# compiler take them. It changes nothing on nightly.
export RUSTC_BOOTSTRAP=1

# AddressSanitizer needs its runtime in the toolchain (x86_64 Linux stable has it).
SANITIZER=${AB_FUZZ_SANITIZER:-}
if [[ -z "$SANITIZER" ]]; then
    rustc=(rustc)
    [[ -n "${AB_FUZZ_TOOLCHAIN:-}" ]] && rustc+=("+$AB_FUZZ_TOOLCHAIN")
    host=$("${rustc[@]}" -vV | sed -n 's/^host: //p')
    libdir="$("${rustc[@]}" --print sysroot)/lib/rustlib/$host/lib"
    if compgen -G "$libdir/librustc-*_rt.asan.a" >/dev/null; then
        SANITIZER=address
    else
        SANITIZER=none
        echo "fuzz.sh: no AddressSanitizer runtime in $libdir; fuzzing without a sanitizer"
    fi
fi

TARGET_DIR_ARGS=()
if [[ -n "${CARGO_TARGET_DIR:-}" ]]; then
    TARGET_DIR_ARGS=(--target-dir "$CARGO_TARGET_DIR/fuzz")
fi
FUZZ_ARGS=(--fuzz-dir fuzz -s "$SANITIZER" "${TARGET_DIR_ARGS[@]}")

if (($#)); then
    TARGETS=("$@")
else
    mapfile -t TARGETS < <("${CARGO[@]}" fuzz list --fuzz-dir fuzz)
fi
if ((${#TARGETS[@]} == 0)); then
    echo "fuzz.sh: no fuzz targets found in fuzz/" >&2
    exit 1
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/asyncbatch-fuzz.XXXXXX")
KEEP_WORK=0
trap '((KEEP_WORK)) || rm -rf "$WORK"' EXIT

# 2. Build once; the runs below find everything built.
start=$SECONDS
echo "fuzz.sh: building the fuzz targets (sanitizer: $SANITIZER)"
"${CARGO[@]}" fuzz build "${FUZZ_ARGS[@]}"
echo "fuzz.sh: built in $((SECONDS - start)) s"

# Limits for every run: an input that takes seconds is a hang, one allocation over
# 64 MiB (inputs are at most 4 KiB) is a length prefix trusted too far.
LIMITS=(-max_len=4096 -timeout=10 -rss_limit_mb=1024 -malloc_limit_mb=64)

# fuzz_run TARGET LOG LIBFUZZER-ARGS...: runs one target; on failure reports and exits.
fuzz_run() {
    local target=$1 log=$2
    shift 2
    local artifacts="$WORK/artifacts/$target/"
    mkdir -p "$artifacts"
    if "${CARGO[@]}" fuzz run "${FUZZ_ARGS[@]}" "$target" "$@" -artifact_prefix="$artifacts" >"$log" 2>&1; then
        return 0
    fi
    KEEP_WORK=1
    echo
    tail -n 60 "$log"
    echo
    echo "fuzz.sh: target $target FAILED (full output: $log)"
    local found=0 f
    for f in "$artifacts"{crash,leak,timeout,oom,slow-unit}-*; do
        [[ -e "$f" ]] || continue
        [[ "$(basename "$f")" == slow-unit-* ]] && continue
        found=1
        echo "fuzz.sh: failing input: $f"
        echo "fuzz.sh: reproduce with: RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz -s $SANITIZER $target $f"
    done
    ((found)) || echo "fuzz.sh: no failing input was saved (see the output above)"
    exit 1
}

SUMMARY=()
for target in "${TARGETS[@]}"; do
    seeds="fuzz/corpus/$target"
    if [[ ! -d "$seeds" ]]; then
        echo "fuzz.sh: $seeds does not exist" >&2
        exit 1
    fi

    # 3. Replay the committed corpus: each input once, nothing written.
    n=$(find "$seeds" -type f | wc -l)
    echo "fuzz.sh: $target: replaying $n inputs of $seeds"
    fuzz_run "$target" "$WORK/$target.replay.log" "$seeds" -- -runs=0 "${LIMITS[@]}"

    # 4. Fuzz. New inputs go to the first corpus directory, a temporary one; the
    # committed corpus is only read.
    if ((SECONDS_PER_TARGET > 0)); then
        mkdir -p "$WORK/corpus/$target"
        log="$WORK/$target.fuzz.log"
        echo "fuzz.sh: $target: fuzzing for $SECONDS_PER_TARGET s"
        fuzz_run "$target" "$log" "$WORK/corpus/$target" "$seeds" -- \
            -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 "${LIMITS[@]}"
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
        rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
        cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | sed 's/cov: //')
        new=$(find "$WORK/corpus/$target" -type f | wc -l)
        line="$target: ${runs:-?} runs, ${rate:-?} exec/s, coverage ${cov:-?}, $new new inputs"
        echo "fuzz.sh: $line"
        SUMMARY+=("  ok  $line")
    else
        SUMMARY+=("  ok  $target: corpus replayed")
    fi
done

echo
echo "fuzz.sh: no crash in ${#TARGETS[@]} targets (sanitizer: $SANITIZER, $SECONDS_PER_TARGET s each)"
printf '%s\n' "${SUMMARY[@]}"
