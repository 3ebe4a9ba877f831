#!/usr/bin/env bash
# Installs the pinned build tools this project needs, only where missing or at the wrong version.
# Versions come from ../shared/brief/toolchain.md: these are the ones that build on rustc 1.95 offline.
set -euo pipefail

CARGO_LEPTOS_VERSION=0.3.10
WASM_BINDGEN_VERSION=0.2.130
BINARYEN_NPM_VERSION=132.0.0
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"   # npm-installed helpers (wasm-opt) live here, outside git

say() { printf '\033[1;34m[bootstrap]\033[0m %s\n' "$*" >&2; }

source "$ROOT/scripts/env.sh"

# webauthn-rs (passkeys) checks signatures with OpenSSL: Debian's libssl and pkg-config to find it.
if ! pkg-config --exists openssl 2>/dev/null; then
  say "installing Debian's libssl-dev and pkg-config (passkeys: webauthn-rs links OpenSSL)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libssl-dev pkg-config
fi

if ! rustup target list --installed | grep -q '^wasm32-unknown-unknown$'; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  say "installing cargo-leptos $CARGO_LEPTOS_VERSION (one-off, about 15-25 minutes on 2 cores)"
  cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads
fi

if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (must match the pinned wasm-bindgen crate)"
  CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback \
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

# Debian's binaryen 108 corrupts the module; the npm build of binaryen is current and installs in seconds.
if ! "$TOOLS/node_modules/.bin/wasm-opt" --version 2>/dev/null | grep -q "${BINARYEN_NPM_VERSION%%.*}"; then
  say "installing binaryen $BINARYEN_NPM_VERSION (wasm-opt) from npm into .tools/"
  mkdir -p "$TOOLS"
  npm install --silent --prefix "$TOOLS" --no-audit --no-fund "binaryen@$BINARYEN_NPM_VERSION"
fi
