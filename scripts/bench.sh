#!/usr/bin/env bash
# Benchmarks: measured here, recorded in BENCHMARKS.md, never asserted in tests. Not part of
# scripts/test.sh. Reports, in one run:
#   - the bytes the browser loads (WASM, JS, CSS): raw, gzip and brotli as served;
#   - the engine's reads for one customer with 10,000 invoices (summary, a year's statement,
#     invoice list pages) on SQLite and, when it answers, PostgreSQL.
# BENCH_POSTGRES_URL picks the server (default postgres://postgres@127.0.0.1:5432/postgres);
# the benchmark database lp_bench_10k on it is dropped and recreated.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/bootstrap.sh
source scripts/env.sh
# Shares the build cache with CI, so a benchmark after a test run rebuilds little.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ledgerport/target}"
BIN="$CARGO_TARGET_DIR/release"

step() { printf '\n\033[1;34m==> %s\033[0m\n' "$*" >&2; }
OUT="target/bench"
rm -rf "$OUT" && mkdir -p "$OUT"

step "release build (precompressed bundle)"
cargo leptos build --release -P >&2
cargo build --release -q -p server --example engine-timings

step "what the browser loads"
printf '%-28s %10s %10s %10s\n' file raw gzip brotli
total_raw=0; total_gz=0; total_br=0
for f in target/site/pkg/*.wasm target/site/pkg/*.js target/site/pkg/*.css; do
  raw=$(stat -c %s "$f")
  gz=$(stat -c %s "$f.gz" 2>/dev/null || gzip -9c "$f" | wc -c)
  br=$(stat -c %s "$f.br" 2>/dev/null || echo 0)
  printf '%-28s %10d %10d %10d\n' "$(basename "$f")" "$raw" "$gz" "$br"
  total_raw=$((total_raw + raw)); total_gz=$((total_gz + gz)); total_br=$((total_br + br))
done
printf '%-28s %10d %10d %10d\n' total "$total_raw" "$total_gz" "$total_br"

timings() {
  local url="$1"
  DATABASE_URL="$url" "$BIN/ledgerport" migrate >&2
  local started=$SECONDS
  DATABASE_URL="$url" "$BIN/ledgerport" seed --customers 1 --invoices 10000 >&2
  echo "loaded 1 customer with 10,000 invoices in $((SECONDS - started)) s"
  DATABASE_URL="$url" "$BIN/examples/engine-timings"
}

step "engine reads, one customer with 10,000 invoices: SQLite"
timings "sqlite://$OUT/bench.db"

PG_URL="${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
if pg_isready -q -d "$PG_URL" 2>/dev/null; then
  step "engine reads, one customer with 10,000 invoices: PostgreSQL"
  psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS lp_bench_10k" -c "CREATE DATABASE lp_bench_10k"
  timings "${PG_URL%/*}/lp_bench_10k"
else
  echo "PostgreSQL does not answer at $PG_URL; skipped" >&2
fi
