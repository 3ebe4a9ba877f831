#!/usr/bin/env bash
# Runs every test: formatting, clippy (warnings denied), unit and integration tests on SQLite and
# on PostgreSQL, and the browser tests in headless Chromium. Prints test counts per suite.
#
# With CI set, PostgreSQL and Chromium are mandatory: they are started or installed, never skipped.
# Elsewhere a PostgreSQL that cannot be reached is reported loudly as SKIPPED.
# TEST_POSTGRES_URL picks the server (default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/bootstrap.sh
source scripts/env.sh

# The journal export's property test has the real hledger read the exported journal.
if ! command -v hledger >/dev/null; then
  echo "hledger is missing; installing Debian's hledger" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hledger
fi
# The ERP API's fuzz test runs schemathesis (PyPI) against the OpenAPI document.
SCHEMATHESIS_VERSION=4.32.5
if ! .tools/schemathesis/bin/st --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  echo "installing schemathesis $SCHEMATHESIS_VERSION into .tools/schemathesis" >&2
  python3 -m venv .tools/schemathesis
  .tools/schemathesis/bin/pip install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi

PG_URL="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
LOGS="target/test-logs"
mkdir -p "$LOGS"
declare -A COUNTS

step() { printf '\n\033[1;34m==> %s\033[0m\n' "$*" >&2; }
fail() { printf '\033[1;31mFAILED: %s\033[0m\n' "$*" >&2; exit 1; }

# Runs cargo test, shows its output, and adds its passed-test count to suite $1.
cargo_tests() {
  local suite="$1"; shift
  local log="$LOGS/$suite-$(date +%s%N).log"
  if ! "$@" 2>&1 | tee "$log"; then fail "$suite: $*"; fi
  local n
  n=$(grep -Eo 'test result: ok\. [0-9]+ passed' "$log" | awk '{s += $4} END {print s + 0}')
  COUNTS[$suite]=$(( ${COUNTS[$suite]:-0} + n ))
}

step "formatting"
cargo fmt --all --check || fail "cargo fmt --check (run: cargo fmt --all)"

step "clippy, warnings denied"
cargo clippy -p ledgerport --features test-support --all-targets -- -D warnings
cargo clippy -p app --features ssr --all-targets -- -D warnings
cargo clippy -p server --all-targets -- -D warnings
cargo clippy -p app --lib --features hydrate --target wasm32-unknown-unknown -- -D warnings

step "tests on SQLite"
export TEST_DATABASE=sqlite
cargo_tests sqlite cargo test -p ledgerport --features test-support
cargo_tests sqlite cargo test -p app --features ssr
cargo_tests sqlite cargo test -p server

step "tests on PostgreSQL ($PG_URL)"
pg_ready() { pg_isready -q -d "$PG_URL" 2>/dev/null; }
if ! pg_ready; then
  if [ -d /etc/postgresql ]; then
    echo "PostgreSQL is not answering; starting the local cluster" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
  elif [ -n "${CI:-}" ]; then
    echo "PostgreSQL is not installed; installing it (CI)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
fi
if pg_ready; then
  export TEST_DATABASE="$PG_URL"
  cargo run -q -p server --example drop-test-databases
  cargo_tests postgres cargo test -p ledgerport --features test-support
  cargo_tests postgres cargo test -p server
  export TEST_DATABASE=sqlite
elif [ -n "${CI:-}" ]; then
  fail "PostgreSQL at $PG_URL is required in CI and could not be started"
else
  printf '\n\033[1;33m!!! SKIPPED: PostgreSQL tests. Nothing answers at %s.\n!!! Start PostgreSQL or set TEST_POSTGRES_URL; CI never skips them.\033[0m\n\n' "$PG_URL" >&2
  COUNTS[postgres]="SKIPPED"
fi

step "browser tests (release build, headless Chromium)"
if [ ! -x /usr/bin/chromium ]; then
  echo "Chromium is missing; installing Debian's chromium" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi
(cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent)
E2E_DIR="target/e2e"
rm -rf "$E2E_DIR" && mkdir -p "$E2E_DIR"
E2E_LOG="$LOGS/end2end.log"
# Mail goes over SMTP to the tests' own mailbox (end2end/support/mailbox.ts), as it would in production.
# Reminders go out when a test asks (the outbox page's button), not when the server starts, so a
# test knows what was reminded and why (promises.spec.ts).
if ! DATABASE_URL="sqlite://$E2E_DIR/ledgerport.db" JWT_SIGNING_KEY_FILE="$E2E_DIR/jwt.key" \
     SMTP_URL=smtp://127.0.0.1:2525 SMTP_FROM=billing@ledgerport.example REMINDERS_EVERY_MINUTES=0 \
     LISTEN_ADDR=127.0.0.1:3000 cargo leptos end-to-end --release --split 2>&1 | tee "$E2E_LOG"; then
  fail "end2end"
fi
COUNTS[end2end]=$(grep -Eo '^ *[0-9]+ passed' "$E2E_LOG" | awk '{s += $1} END {print s + 0}')

printf '\n\033[1;32mAll tests passed.\033[0m  SQLite: %s  PostgreSQL: %s  end2end: %s\n' \
  "${COUNTS[sqlite]:-0}" "${COUNTS[postgres]:-0}" "${COUNTS[end2end]:-0}"
