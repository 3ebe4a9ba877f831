#!/usr/bin/env bash
# Runs the portal: installs missing build tools, builds the release server and WASM client,
# migrates, adds demo data to an empty database, and serves on http://127.0.0.1:3000.
# Configuration: environment variables or a .env file (see `ledgerport --help`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/bootstrap.sh
source scripts/env.sh

echo "[run] building the release server and WASM client (first build takes several minutes)" >&2
cargo leptos build --release --precompress --split

export LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-target/site}"
exec "${CARGO_TARGET_DIR:-target}/release/ledgerport" serve "$@"
