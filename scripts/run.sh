#!/usr/bin/env bash
# Runs the whole platform on embedded defaults (no external servers), installing the
# one build tool librdkafka's bundled build needs when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v cmake >/dev/null; then
  echo "installing cmake (needed to build the bundled librdkafka)" >&2
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y -qq cmake libcurl4-openssl-dev >/dev/null
fi
exec cargo run --release --locked -- "$@"
