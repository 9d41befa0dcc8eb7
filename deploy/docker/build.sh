#!/usr/bin/env bash
# The build stage of the Dockerfile: the extension, compiled against Debian
# bookworm's PHP 8.2 — the PHP of the runtime stage, so the same ABI.
#
#   build.sh packages        apt-get what the build needs
#   build.sh extension OUT   cargo build --release --locked in the current directory
#                            (the repository root), then OUT/asyncbatch.so
set -euo pipefail

usage() {
    echo "usage: build.sh packages | build.sh extension OUT" >&2
    exit 2
}

case ${1:-} in
packages)
    # php8.2-dev: php-config, the headers and php itself, which ext-php-rs's build
    #   script runs; libclang-dev, clang: bindgen, which generates the PHP bindings.
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends php8.2-dev libclang-dev clang
    rm -rf /var/lib/apt/lists/*
    ;;
extension)
    [[ $# -eq 2 ]] || usage
    out=$2
    cargo build --release --locked
    so=${CARGO_TARGET_DIR:-target}/release/libasyncbatch.so
    install -D -m 0644 "$so" "$out/asyncbatch.so"
    # The debug line tables stay in target/: 4 MB in the image instead of 18.
    strip --strip-debug "$out/asyncbatch.so"
    echo "build.sh: $out/asyncbatch.so for PHP API $(php-config --phpapi) ($(php-config --version))"
    ;;
*)
    usage
    ;;
esac
