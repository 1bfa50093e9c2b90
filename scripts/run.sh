#!/usr/bin/env bash
# Runs the whole platform on embedded defaults (no external servers), installing the
# one build tool librdkafka's bundled build needs when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
# librdkafka's bundled build needs cmake and curl's headers.
if ! command -v cmake >/dev/null || ! ls /usr/include/curl/curl.h /usr/include/*/curl/curl.h >/dev/null 2>&1; then
  echo "installing cmake and libcurl headers (needed to build the bundled librdkafka)" >&2
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y -qq cmake libcurl4-openssl-dev >/dev/null
fi
exec cargo run --release --locked -- "$@"
