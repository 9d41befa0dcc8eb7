#!/usr/bin/env bash
# Installs what building and testing asyncbatch needs on Debian bookworm, if missing.
# Idempotent: when every package is already installed it changes nothing and
# does not touch the network. Uses sudo when not run as root.
set -euo pipefail

# php8.2-dev: php-config and headers for ext-php-rs, run-tests.php for the phpt suite.
# libclang-dev, clang: bindgen (ext-php-rs generates its PHP bindings at build time).
# gcc, libc6-dev: the linker cargo calls.
# php8.2-cli, php8.2-fpm: the SAPIs the tests and the demo drive; php8.2-phpdbg: a
#   SAPI the extension does not support (phpt 129).
# libfcgi-bin: cgi-fcgi, the FastCGI client of the end-to-end tests and the demo.
# supervisor: supervisord, which the end-to-end test of deploy/'s program runs.
# php8.2-curl: the polyfill's HttpSink posts with curl when it is loaded (as on most
#   hosts); the tests compare it with the PHP-streams path.
# nginx-light, wrk: the benchmarks drive php-fpm through nginx.
# php-monolog: Monolog 2 (in /usr/share/php), which the Monolog handler is tested with.
# php-symfony-http-kernel, php-symfony-service-contracts: Symfony 5.4, which the
#   Symfony subscriber is tested with.
# valgrind: the phpt suite runs once more under memcheck; the benchmark counts
#   instructions with its callgrind. strace: the benchmark's system calls per request.
# python3: scripts/check-modules.py, phpt/_otlp_check.py.
# openssl, ca-certificates: the HttpSink TLS tests make their certificates with openssl
#   and stand in for the system's trust store; tinyproxy: the forward proxy they
#   post through (tests/src/proxy.rs).
# redis-server: the Redis Streams transport between hosts (tests/tests/redis.rs);
#   iproute2: ip netns, for the tests that make hosts of network namespaces.
# prometheus: promtool, which checks and unit-tests deploy/prometheus-alerts.yml (the
#   package's server is enabled too: on a host with systemd it listens on :9090,
#   `systemctl disable --now prometheus`); python3-prometheus-client:
#   tests/metrics/check_exposition.py parses the metrics with it
#   (tests/tests/monitoring_files.rs).
PACKAGES=(
    php8.2-dev php8.2-cli php8.2-fpm php8.2-curl php8.2-phpdbg
    libclang-dev clang gcc libc6-dev
    libfcgi-bin supervisor
    nginx-light wrk
    php-monolog php-symfony-http-kernel php-symfony-service-contracts
    valgrind strace python3
    openssl ca-certificates tinyproxy
    redis-server iproute2
    prometheus python3-prometheus-client
)

missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [[ "$status" != "install ok installed" ]]; then
        missing+=("$pkg")
    fi
done

if ((${#missing[@]})); then
    echo "deps: installing ${missing[*]}"
    SUDO=()
    if [[ $(id -u) -ne 0 ]]; then
        if ! command -v sudo >/dev/null; then
            echo "deps: not root and no sudo; install these packages: ${missing[*]}" >&2
            exit 1
        fi
        SUDO=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" apt-get update -q
    "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
else
    echo "deps: all Debian packages present"
fi

# rustup puts cargo in ~/.cargo/bin, which a non-login shell may not have on PATH.
if ! command -v cargo >/dev/null && [[ -x "$HOME/.cargo/bin/cargo" ]]; then
    PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null; then
    echo "deps: cargo not found; install Rust (https://rustup.rs), then run this again" >&2
    exit 1
fi

# OpenTelemetry's definitions of OTLP (PyPI), for phpt/_otlp_check.py, which checks the
# HttpSink's OTLP bodies with them; in target/, where the trixie root sees them too.
OTLP_PYTHON=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/target/otlp-python
OTLP_PACKAGES=(opentelemetry-proto==1.45.2 protobuf==7.36.2)
if [[ ! -f $OTLP_PYTHON/.installed ]] || [[ $(cat "$OTLP_PYTHON/.installed") != "${OTLP_PACKAGES[*]}" ]]; then
    echo "deps: pip install --target $OTLP_PYTHON ${OTLP_PACKAGES[*]}"
    rm -rf "$OTLP_PYTHON"
    python3 -m pip install -q --disable-pip-version-check --target "$OTLP_PYTHON" "${OTLP_PACKAGES[@]}" 2>&1 \
        | grep -v "Running pip as the 'root' user" || true
    python3 -c "import sys; sys.path.insert(0, '$OTLP_PYTHON'); import opentelemetry.proto.logs.v1.logs_pb2" \
        || { echo "deps: opentelemetry-proto did not install into $OTLP_PYTHON" >&2; exit 1; }
    echo "${OTLP_PACKAGES[*]}" >"$OTLP_PYTHON/.installed"
fi

for tool in php php-config php-fpm8.2 cgi-fcgi supervisord supervisorctl; do
    if ! command -v "$tool" >/dev/null && [[ ! -x "/usr/sbin/$tool" ]]; then
        echo "deps: $tool is still missing after the install" >&2
        exit 1
    fi
done
echo "deps: ok ($(php -r 'echo "PHP ", PHP_VERSION;'), $(cargo --version))"
