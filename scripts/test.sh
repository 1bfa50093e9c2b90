#!/usr/bin/env bash
# The whole test suite: starts the real services (scripts/services.sh), then runs
# every Rust test (unit, subgraph integration, end-to-end on both profiles), the
# schema staleness check and the Node.js tests (client libraries, the composer, the
# playground in headless Chromium); stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# A target directory outside the clone, so repeated runs on one machine build
# incrementally; a fresh machine builds from nothing.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${ECHOSTREAM_CACHE:-$HOME/.cache/echostream}/target}"

command -v cargo-nextest >/dev/null || cargo install cargo-nextest --locked
# librdkafka's bundled build needs cmake and curl's headers.
if ! command -v cmake >/dev/null || ! ls /usr/include/curl/curl.h /usr/include/*/curl/curl.h >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq cmake libcurl4-openssl-dev >/dev/null
fi
command -v node >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; }
# The playground's browser test drives Debian's Chromium (headless).
command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

started=0
cleanup() { [ "$started" = 1 ] && { scripts/services.sh clean || true; scripts/services.sh stop; }; }
trap cleanup EXIT

echo "== vendored patches in use"
# A dependency that moves off a vendored version makes Cargo only warn, and the
# vendored fixes (vendor/README.md) would silently stop applying: fail instead.
unused=$(cargo metadata --locked --format-version 1 2>&1 >/dev/null | grep -i "was not used in the crate graph" || true)
if [ -n "$unused" ]; then
  echo "$unused"
  echo "a [patch] entry of Cargo.toml is not used: see vendor/README.md" >&2
  exit 1
fi

echo "== format and lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== building"
cargo build --workspace --all-targets --locked

echo "== node tools"
(cd tests/node && npm ci --no-audit --no-fund --silent)

echo "== services"
started=1
scripts/services.sh start
# shellcheck disable=SC1091
source "${ECHOSTREAM_SERVICES_STATE:-${TMPDIR:-/tmp}/echostream-services}/env"

echo "== rust tests"
cargo nextest run --workspace --locked --no-fail-fast

echo "== node tests"
# The browser test's screenshot lands in $CARGO_TARGET_DIR/artifacts/playground.png.
TEST_ECHOSTREAM_BIN="$CARGO_TARGET_DIR/debug/echostream" TEST_ARTIFACTS_DIR="$CARGO_TARGET_DIR/artifacts" \
  node --test tests/node/
