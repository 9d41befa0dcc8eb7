# Sourced by bench/run.sh and bench/soak.sh (with NAME set to their name in
# messages): goes to the repository root and checks that the tools they drive are
# installed.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v cargo >/dev/null && [[ -x "$HOME/.cargo/bin/cargo" ]]; then
    PATH="$HOME/.cargo/bin:$PATH"
fi
PATH="$PATH:/usr/sbin:/sbin"
for tool in cargo php nginx wrk; do
    if ! command -v "$tool" >/dev/null; then
        echo "$NAME: $tool not found; run bash scripts/deps.sh" >&2
        exit 1
    fi
done
if ! command -v php-fpm8.2 >/dev/null && ! command -v php-fpm >/dev/null; then
    echo "$NAME: php-fpm not found; run bash scripts/deps.sh" >&2
    exit 1
fi
