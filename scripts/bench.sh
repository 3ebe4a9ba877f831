#!/usr/bin/env bash
# Benchmarks: measured here, recorded in BENCHMARKS.md, never asserted in tests. Not part of
# scripts/test.sh. Reports, in one run, for PostgreSQL (a large book) and SQLite (a smaller one):
#   - seed time;
#   - the engine's reads (account summary and aging for one customer, statement, invoice list,
#     aging for the whole book, DSO/CEI);
#   - the release server over HTTP with wrk: the home page, the invoice list, the statement page
#     and an invoice (SSR, signed in as a mid-book customer) at 1, 16 and 64 connections, each
#     64-connection run paired with a static asset's run just before it (the ceiling); staff pages;
#   - webhook → ledger: payments posted per second with 1, 16 and 64 deliveries in flight, next to
#     pgbench's TPC-B figure on the same PostgreSQL;
#   - the bytes the browser loads (WASM, JS, CSS): every file raw, gzip and brotli as served; where
#     the WASM's bytes go (twiggy, by crate and by app feature); each page's first visit in
#     Chromium (the bytes it transfers, and the time to hydrated with the CPU 4x slower on Slow 3G);
#   - a profile of the hottest page (perf, both cores: each process's share, the server's top
#     functions), one of webhook posting (each process's share, what the busy connections wait
#     for) and the primary's payment rate while clerks pull reports, with the reports on the
#     primary and on a local streaming replica (PostgreSQL only);
#   - a 10,000-line bank statement imported and matched (time, share matched automatically), the
#     cash-application queue and the statement's reconciliation (last: it posts into the book).
#
# Settings (environment): BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres;
# the databases lp_bench and lp_bench_pgbench on it are dropped and recreated),
# BENCH_PG_CUSTOMERS/BENCH_PG_INVOICES (100000/1000000), BENCH_SQLITE_CUSTOMERS/
# BENCH_SQLITE_INVOICES (10000/100000), BENCH_SECONDS (each load run, 10), BENCH_REPEATS (pairs
# of a static run and a page's 64-connection run, 3), BENCH_PAYMENTS
# (payments per webhook level, 500), BENCH_STATEMENT_LINES (10000), BENCH_PG_LOADED=1 (keep
# lp_bench as an earlier run loaded it: no drop, no seed), BENCH_BUNDLE_ONLY=1 (stop after the
# bundle and the first visits), BENCH_SERVER_ONLY=1 (skip the bundle and the first visits). Load
# goes to 127.0.0.1 only and every
# run is bounded.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/bootstrap.sh
source scripts/env.sh
# Shares the build cache with CI, so a benchmark after a test run rebuilds little.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ledgerport/target}"
BIN="$CARGO_TARGET_DIR/release"
PG_URL="${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
PG_CUSTOMERS="${BENCH_PG_CUSTOMERS:-100000}"
PG_INVOICES="${BENCH_PG_INVOICES:-1000000}"
SQLITE_CUSTOMERS="${BENCH_SQLITE_CUSTOMERS:-10000}"
SQLITE_INVOICES="${BENCH_SQLITE_INVOICES:-100000}"
SECONDS_EACH="${BENCH_SECONDS:-10}"
REPEATS="${BENCH_REPEATS:-3}"
PAYMENTS="${BENCH_PAYMENTS:-500}"
STATEMENT_LINES="${BENCH_STATEMENT_LINES:-10000}"
PORT=3100
BASE="http://127.0.0.1:$PORT"
WEBHOOK_SECRET="whsec_benchmark_only"

# The first N lines of its input, read to the end: `head` would stop reading and, under
# pipefail, fail the pipeline with its writer's SIGPIPE.
first() { awk -v n="$1" 'NR <= n'; }
step() { printf '\n\033[1;34m==> %s\033[0m\n' "$*" >&2; }
OUT="target/bench"
rm -rf "$OUT" && mkdir -p "$OUT"
# "engine kind what rate" lines, read by the ratio table at the end.
RESULTS="$OUT/results.txt"
: >"$RESULTS"

if ! command -v wrk >/dev/null; then
  step "installing wrk (Debian's package) as the HTTP load generator"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
fi

step "release build (precompressed bundle)"
cargo leptos build --release -P --split >&2
if [ -z "${BENCH_BUNDLE_ONLY:-}" ]; then
  # The examples get a target folder of their own: built by plain cargo in the shared one, they would
  # rebuild the app crate without cargo-leptos's settings, and the next cargo-leptos build would
  # rebuild it back (about 7 minutes each way).
  CARGO_TARGET_DIR="$CARGO_TARGET_DIR/bench-examples" \
    cargo build --release -q -p server --example engine-timings --example webhook-load \
      --example statement-import
fi
EXAMPLES="$CARGO_TARGET_DIR/bench-examples/release/examples"

if [ -z "${BENCH_SERVER_ONLY:-}" ]; then
  step "what the browser loads: the main module, each island's chunk, the chunks islands share, the loader"
  printf '%-52s %10s %10s %10s\n' file raw gzip brotli
  total_raw=0; total_gz=0; total_br=0; chunks=0; chunk_raw=0; chunk_gz=0; chunk_br=0
  for f in target/site/pkg/*.wasm target/site/pkg/*.js target/site/pkg/*.css; do
    raw=$(stat -c %s "$f")
    gz=$(stat -c %s "$f.gz" 2>/dev/null || gzip -9c "$f" | wc -c)
    br=$(stat -c %s "$f.br" 2>/dev/null || echo 0)
    total_raw=$((total_raw + raw)); total_gz=$((total_gz + gz)); total_br=$((total_br + br))
    # Code some islands share: summed in one row.
    case "$(basename "$f")" in
      chunk_*) chunks=$((chunks + 1)); chunk_raw=$((chunk_raw + raw)); chunk_gz=$((chunk_gz + gz)); chunk_br=$((chunk_br + br)) ;;
      *) printf '%-52s %10d %10d %10d\n' "$(basename "$f" | sed -E 's/_[0-9]{10,}\././; s/\.[A-Za-z0-9_-]{22}\./.<hash>./')" "$raw" "$gz" "$br" ;;
    esac
  done
  printf '%-52s %10d %10d %10d\n' "chunk_*.wasm ($chunks files shared by islands)" "$chunk_raw" "$chunk_gz" "$chunk_br"
  printf '%-52s %10d %10d %10d\n' total "$total_raw" "$total_gz" "$total_br"

  step "where the WASM's bytes go (twiggy on rustc's module, before splitting and wasm-opt)"
  if ! twiggy --version 2>/dev/null | grep -q "0.8.0"; then
    cargo install twiggy --version 0.8.0 --locked >&2
  fi
  twiggy top --format csv -n 10000000 "$CARGO_TARGET_DIR/front/wasm32-unknown-unknown/wasm-release/app.wasm" \
    | python3 scripts/wasm-bytes.py
fi
# The style file under its content-hashed name: the static ceiling of the load runs below.
STATIC_ASSET="/pkg/$(basename "$(ls target/site/pkg/ledgerport.*.css | head -n 1)")"

SERVER_PID=""
stop_server() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  SERVER_PID=""
}
trap 'stop_server; if declare -F stop_replica >/dev/null; then stop_replica; fi' EXIT

start_server() {
  local url="$1"
  DATABASE_URL="$url" READ_DATABASE_URL="${READ_DATABASE_URL:-}" LISTEN_ADDR="127.0.0.1:$PORT" \
    LEPTOS_SITE_ROOT=target/site JWT_SIGNING_KEY="benchmark-signing-key-of-at-least-32-bytes" \
    PAYMENT_PROVIDER=stripe STRIPE_SECRET_KEY=sk_test_benchmark STRIPE_WEBHOOK_SECRET="$WEBHOOK_SECRET" \
    STRIPE_API_BASE="http://127.0.0.1:9" REMINDERS_EVERY_MINUTES=0 RUST_LOG=warn \
    "$BIN/ledgerport" serve --no-demo >"$OUT/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 120); do
    curl -sf "$BASE/readyz" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "the server did not become ready; see $OUT/server.log" >&2
  exit 1
}

# Signs in; prints the session cookie (name=value).
session_cookie() {
  local email="$1" password="$2"
  curl -s -D - -o /dev/null -H "origin: $BASE" -H "accept: text/html" \
    --data-urlencode "email=$email" --data-urlencode "password=$password" \
    "$BASE/api/sign-in" | tr -d '\r' | awk -F'[: ;]+' 'tolower($1) == "set-cookie" { print $2; exit }'
}

# One wrk run: prints "requests/s p50 p99" and records the rate under $RESULT_KEY (if set).
load() {
  local connections="$1" path="$2"; shift 2
  # wrk needs at least one connection per thread.
  local threads=$(( connections < 2 ? connections : 2 ))
  wrk -t"$threads" -c"$connections" -d"${SECONDS_EACH}s" --latency "$@" "$BASE$path" >"$OUT/wrk.txt" 2>&1
  if grep -q "Non-2xx" "$OUT/wrk.txt"; then
    echo "wrk saw error answers for $path:" >&2; cat "$OUT/wrk.txt" >&2; exit 1
  fi
  awk '/Requests\/sec/ { rps = $2 } $1 == "50%" { p50 = $2 } $1 == "99%" { p99 = $2 }
       END { printf "%10s req/s   p50 %8s   p99 %8s\n", rps, p50, p99 }' "$OUT/wrk.txt"
  if [ -n "${RESULT_KEY:-}" ]; then
    awk -v key="$RESULT_KEY" '/Requests\/sec/ { print key, $2 }' "$OUT/wrk.txt" >>"$RESULTS"
  fi
}

# The first invoice id on the signed-in contact's first invoice page.
first_invoice_id() {
  curl -s -X POST -H "origin: $BASE" -H "Cookie: $1" \
    --data "filter=all&search=&sort=due&descending=true&page=1" "$BASE/api/portal/invoices" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["rows"][0]["id"])'
}

http_and_webhooks() {
  local name="$1" url="$2" typical="$3"
  # A clerk for the staff pages (kept from an earlier run when the book is reused).
  echo "bench-clerk-password" | DATABASE_URL="$url" "$BIN/ledgerport" create-staff \
    --email bench-clerk@ledgerport.example --name "Bench Clerk" --role clerk >/dev/null 2>&1 || true
  start_server "$url"
  local cookie staff invoice
  cookie=$(session_cookie "load-$typical@customers.example" load-test-contact)
  [ -n "$cookie" ] || { echo "could not sign in as load-$typical@customers.example" >&2; exit 1; }
  staff=$(session_cookie bench-clerk@ledgerport.example bench-clerk-password)
  [ -n "$staff" ] || { echo "could not sign in as the bench clerk" >&2; exit 1; }
  invoice=$(first_invoice_id "$cookie")
  printf '%-40s %3d conn: ' "$STATIC_ASSET (static)" 64
  RESULT_KEY="$name static -" load 64 "$STATIC_ASSET"
  for page in / /invoices /statements "/invoices/$invoice"; do
    for connections in 1 16; do
      printf '%-40s %3d conn: ' "$page (SSR, a contact)" "$connections"
      RESULT_KEY="" load "$connections" "$page" -H "Cookie: $cookie" -H "Accept: text/html"
    done
    # This machine's own ceiling drifts by a quarter within minutes: each 64-connection run of a
    # page is paired with a run of the static file just before it, and the ratio is the pairs' median.
    for run in $(seq 1 "$REPEATS"); do
      printf '%-40s %3d conn: ' "$STATIC_ASSET (static, pair $run)" 64
      RESULT_KEY="$name ceiling $page" load 64 "$STATIC_ASSET"
      printf '%-40s %3d conn: ' "$page (SSR, a contact, pair $run)" 64
      RESULT_KEY="$name page $page" load 64 "$page" -H "Cookie: $cookie" -H "Accept: text/html"
    done
  done
  for page in /admin/disputes /admin /admin/reports/aging /admin/journal; do
    printf '%-40s %3d conn: ' "$page (SSR, a clerk)" 16
    RESULT_KEY="$name staff $page" load 16 "$page" -H "Cookie: $staff" -H "Accept: text/html"
  done
  DATABASE_URL="$url" BASE_URL="$BASE" WEBHOOK_SECRET="$WEBHOOK_SECRET" \
    "$EXAMPLES/webhook-load" "$PAYMENTS" 1 16 64 | tee "$OUT/webhooks.txt"
  awk -v name="$name" '/in flight/ { print name " webhooks " $4, $7 }' "$OUT/webhooks.txt" >>"$RESULTS"
  stop_server
}

# The primary's payment rate at 16 in flight while four clerks pull the whole book's aging CSV as
# of a past date (the heaviest report), first with the reports on the primary, then with them on
# a local streaming replica (`READ_DATABASE_URL`, port 5433, made by pg_basebackup). The replica
# runs on the same two cores: this shows what moving the reads costs or spares the primary's
# locks and buffers, not a second machine's CPU.
REPLICA_DIR="/tmp/ledgerport-bench-replica"
REPLICA_PORT=5433
pg_bin() {
  local major
  major=$(( $(psql -Atq "$PG_URL" -c "SHOW server_version_num") / 10000 ))
  echo "/usr/lib/postgresql/$major/bin"
}
stop_replica() {
  if [ -f "$REPLICA_DIR/postmaster.pid" ]; then
    runuser -u postgres -- "$(pg_bin)/pg_ctl" -D "$REPLICA_DIR" -m fast stop >/dev/null 2>&1 || true
  fi
  rm -rf "$REPLICA_DIR"
}
payments_under_reports() {
  local url="$1" past hba host port
  past=$(date -d "-45 days" +%F)
  host=$(psql -Atq "$PG_URL" -c "SELECT coalesce(host(inet_server_addr()), '127.0.0.1')")
  port=$(psql -Atq "$PG_URL" -c "SHOW port")
  # Replication connections need their own pg_hba.conf line: one for 127.0.0.1, trusted like the
  # machine's other local lines, is added (and kept) when none trusts it yet.
  hba=$(psql -Atq "$PG_URL" -c "SHOW hba_file")
  if ! grep -qE '^host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
    echo "host replication all 127.0.0.1/32 trust" >>"$hba"
    psql -q "$PG_URL" -c "SELECT pg_reload_conf()" >/dev/null
  fi
  stop_replica
  step "PostgreSQL: a streaming replica on port $REPLICA_PORT (pg_basebackup of the whole cluster)"
  pg_basebackup -h "$host" -p "$port" -U postgres -D "$REPLICA_DIR" -R -X stream -c fast
  # Debian keeps the configuration beside the cluster, not in it: the replica gets its own.
  : >"$REPLICA_DIR/postgresql.conf"
  cp "$hba" "$REPLICA_DIR/pg_hba.conf"
  cp "$(dirname "$hba")/pg_ident.conf" "$REPLICA_DIR/pg_ident.conf" 2>/dev/null || : >"$REPLICA_DIR/pg_ident.conf"
  chown -R postgres:postgres "$REPLICA_DIR" && chmod 700 "$REPLICA_DIR"
  runuser -u postgres -- "$(pg_bin)/pg_ctl" -D "$REPLICA_DIR" -l "$REPLICA_DIR/replica.log" -w \
    -o "-p $REPLICA_PORT -c hot_standby=on -c hot_standby_feedback=on -c unix_socket_directories=/tmp" \
    start >/dev/null
  local replica_url="postgres://postgres@127.0.0.1:$REPLICA_PORT/${url##*/}" staff reports_pid
  for reports_on in primary replica; do
    if [ "$reports_on" = replica ]; then
      READ_DATABASE_URL="$replica_url" start_server "$url"
    else
      start_server "$url"
    fi
    staff=$(session_cookie bench-clerk@ledgerport.example bench-clerk-password)
    wrk -t2 -c4 -d600s --timeout 60s -H "Cookie: $staff" "$BASE/documents/reports/aging.csv?as_of=$past" \
      >"$OUT/reports-load.txt" 2>&1 &
    reports_pid=$!
    sleep 2
    printf 'payments while the aging CSV runs, reports on the %s: ' "$reports_on"
    DATABASE_URL="$url" BASE_URL="$BASE" WEBHOOK_SECRET="$WEBHOOK_SECRET" \
      "$EXAMPLES/webhook-load" "$PAYMENTS" 16 | tee "$OUT/webhooks-reports.txt"
    kill -INT "$reports_pid" 2>/dev/null || true; wait "$reports_pid" 2>/dev/null || true
    if grep -q "Non-2xx" "$OUT/reports-load.txt"; then
      echo "the aging CSV answered errors:" >&2; cat "$OUT/reports-load.txt" >&2; exit 1
    fi
    printf 'aging CSVs served meanwhile: %s\n' "$(awk '/requests in/ { print $1 " in " $4 }' "$OUT/reports-load.txt")"
    awk -v on="$reports_on" '/in flight/ { print "PostgreSQL reports-on-" on " 16", $7 }' \
      "$OUT/webhooks-reports.txt" >>"$RESULTS"
    stop_server
  done
  stop_replica
}

# Where the CPU goes while the hottest page is served (`/`, a contact, 64 connections): `perf`
# samples both cores for 8 s; prints the share of each process and the server's top functions.
# Needs perf (Debian's linux-perf) and root; skipped without them.
profile_hottest_page() {
  local url="$1" typical="$2" cookie wrk_pid
  if ! command -v perf >/dev/null || [ "$(id -u)" != 0 ]; then
    echo "perf (as root) is not available: no profile" >&2
    return 0
  fi
  start_server "$url"
  cookie=$(session_cookie "load-$typical@customers.example" load-test-contact)
  wrk -t2 -c64 -d14s -H "Cookie: $cookie" -H "Accept: text/html" "$BASE/" >"$OUT/profile-wrk.txt" 2>&1 &
  wrk_pid=$!
  sleep 3
  perf record -a -F 499 -o "$OUT/profile.data" -- sleep 8 >/dev/null 2>&1
  wait "$wrk_pid"
  stop_server
  printf '/ at 64 connections while sampled: %s req/s\n' "$(awk '/Requests\/sec/ { print $2 }' "$OUT/profile-wrk.txt")"
  echo "the two cores, by process:"
  perf report -i "$OUT/profile.data" --no-children --sort comm --stdio 2>/dev/null | awk '/^ +[0-9]/' | first 5
  echo "the server's functions (self time, share of all samples):"
  perf report -i "$OUT/profile.data" --no-children --comm tokio-rt-worker --sort symbol --stdio 2>/dev/null \
    | awk '/^ +[0-9]/' | sed -E 's/ {2,}/ /g' | cut -c1-120 | first 15
}

# Where a webhook payment's time goes (64 in flight, PostgreSQL): once `webhook-load` has opened
# its checkouts and the first events are claimed, `perf` samples both cores for 4 s (each
# process's share, idle included) while one psql session samples every 50 ms what the book's
# busy connections are doing or waiting for.
profile_webhooks() {
  local url="$1" load_pid sampler claimed waited=0
  if ! command -v perf >/dev/null || [ "$(id -u)" != 0 ]; then
    echo "perf (as root) is not available: no profile" >&2
    return 0
  fi
  start_server "$url"
  claimed=$(psql -Atq "$url" -c "SELECT count(*) FROM webhook_events")
  DATABASE_URL="$url" BASE_URL="$BASE" WEBHOOK_SECRET="$WEBHOOK_SECRET" \
    "$EXAMPLES/webhook-load" $((PAYMENTS * 6)) 64 >"$OUT/webhooks-profile.txt" 2>&1 &
  load_pid=$!
  # The checkouts are opened one by one first: the window starts when posting does (2 min at most).
  until [ "$(psql -Atq "$url" -c "SELECT count(*) FROM webhook_events")" -gt "$claimed" ]; do
    waited=$((waited + 1))
    if [ "$waited" -gt 1200 ]; then echo "no webhook event was claimed within 2 minutes" >&2; exit 1; fi
    sleep 0.1
  done
  printf '%s\n\\watch 0.05\n' "SELECT state || ' / ' || coalesce(wait_event_type || ':' || wait_event, 'on CPU')
    FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'
      AND state <> 'idle' AND pid <> pg_backend_pid();" \
    | timeout 4 psql -Atq "$url" >"$OUT/webhook-waits.txt" 2>&1 &
  sampler=$!
  perf record -a -F 499 -o "$OUT/webhooks.perf" -- sleep 4 >/dev/null 2>&1
  wait "$load_pid" || { echo "webhook-load failed:" >&2; cat "$OUT/webhooks-profile.txt" >&2; exit 1; }
  # timeout ends the sampler with status 124.
  wait "$sampler" || true
  stop_server
  cat "$OUT/webhooks-profile.txt"
  echo "the two cores for 4 s while payments post, by process:"
  perf report -i "$OUT/webhooks.perf" --no-children --sort comm --stdio 2>/dev/null | awk '/^ +[0-9]/' | first 6
  echo "the book's busy connections (samples every 50 ms: state / what each waits for):"
  awk 'NF' "$OUT/webhook-waits.txt" | sort | uniq -c | sort -rn \
    | awk '{ total += $1; print } END { printf "%7d samples in all\n", total }'
}

# A portal with the demo data and the offline sandbox, as `scripts/run.sh` serves it: each page's
# first visit in Chromium (bytes per bundle file, chunks, time to hydrated when throttled).
first_visits() {
  local dir="$OUT/first-visits"
  mkdir -p "$dir"
  DATABASE_URL="sqlite://$dir/ledgerport.db" JWT_SIGNING_KEY_FILE="$dir/jwt.key" \
    LISTEN_ADDR="127.0.0.1:$PORT" LEPTOS_SITE_ROOT=target/site REMINDERS_EVERY_MINUTES=0 RUST_LOG=warn \
    "$BIN/ledgerport" serve >"$OUT/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 120); do
    curl -sf "$BASE/readyz" >/dev/null 2>&1 && break
    sleep 0.5
  done
  [ -d end2end/node_modules ] || (cd end2end && npm ci --silent)
  (cd end2end && node bench/first-visit.mjs "$BASE")
  stop_server
}

engine_book() {
  local name="$1" url="$2" customers="$3" invoices="$4"
  if [ "$name" = PostgreSQL ] && [ -n "${BENCH_PG_LOADED:-}" ]; then
    step "$name: reusing the book an earlier run loaded (BENCH_PG_LOADED)"
  else
    step "$name: load $customers customers and $invoices invoices, then one customer with 10,000"
    DATABASE_URL="$url" "$BIN/ledgerport" migrate >&2
    DATABASE_URL="$url" "$BIN/ledgerport" seed --customers "$customers" --invoices "$invoices"
    DATABASE_URL="$url" "$BIN/ledgerport" seed --customers 1 --invoices 10000
    if [ "$name" = PostgreSQL ]; then
      # What autovacuum does soon after a load in production (it is off on some machines): fresh
      # statistics for the planner, and the load's dead rows gone.
      psql -q "$url" -c "VACUUM ANALYZE"
    else
      # The load leaves a large write-ahead log; reads timed on top of it measure the log as
      # much as the book, and vary run to run with how much of it is left.
      python3 -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute("PRAGMA wal_checkpoint(TRUNCATE)")' \
        "${url#sqlite://}"
    fi
  fi
  step "$name: engine reads"
  DATABASE_URL="$url" "$EXAMPLES/engine-timings"
  step "$name: the release server under load (wrk, ${SECONDS_EACH}s per run) and webhook posting"
  http_and_webhooks "$name" "$url" $((customers / 2))
  if [ "$name" = PostgreSQL ]; then
    step "PostgreSQL: a profile of the hottest page"
    profile_hottest_page "$url" $((customers / 2))
    step "PostgreSQL: where a webhook payment's time goes"
    profile_webhooks "$url"
    payments_under_reports "$url"
  fi
  # Last: it posts payments into the book.
  step "$name: a ${STATEMENT_LINES}-line bank statement imported and matched, the queue, the reconciliation"
  DATABASE_URL="$url" "$EXAMPLES/statement-import" "$STATEMENT_LINES"
}

if [ -z "${BENCH_SERVER_ONLY:-}" ]; then
  step "first visits, page by page: bundle bytes per page and time to hydrated (demo portal, Chromium)"
  first_visits
fi
if [ -n "${BENCH_BUNDLE_ONLY:-}" ]; then
  exit 0
fi

if pg_isready -q -d "$PG_URL" 2>/dev/null; then
  if [ -z "${BENCH_PG_LOADED:-}" ]; then
    psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS lp_bench" -c "CREATE DATABASE lp_bench"
  fi
  engine_book PostgreSQL "${PG_URL%/*}/lp_bench" "$PG_CUSTOMERS" "$PG_INVOICES"
  step "PostgreSQL's own ceiling: pgbench TPC-B (scale 10, ${SECONDS_EACH}s per run)"
  psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS lp_bench_pgbench" -c "CREATE DATABASE lp_bench_pgbench"
  pgbench -q -i -s 10 "${PG_URL%/*}/lp_bench_pgbench" >/dev/null 2>&1
  for clients in 1 16 64; do
    printf 'pgbench TPC-B %3d clients: ' "$clients"
    pgbench -c "$clients" -j 2 -T "$SECONDS_EACH" "${PG_URL%/*}/lp_bench_pgbench" 2>/dev/null \
      | awk -v clients="$clients" -v results="$RESULTS" \
          '/^tps/ { print $3 " tps"; print "PostgreSQL pgbench " clients, $3 >>results }'
  done
else
  echo "PostgreSQL does not answer at $PG_URL; its rows are skipped" >&2
fi

engine_book SQLite "sqlite://$OUT/bench.db" "$SQLITE_CUSTOMERS" "$SQLITE_INVOICES"

step "the ratios issue 19 sets goals for: each page at 64 connections against the static file, and
webhook payments against pgbench's TPC-B, at the same concurrency, in this run"
python3 scripts/bench-ratios.py "$RESULTS"
