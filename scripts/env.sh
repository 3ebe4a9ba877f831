# Sourced by the scripts: puts the project's pinned tools first on PATH. wasm-opt must be the
# npm binaryen (Debian's binaryen 108 corrupts the module), so .tools comes before /usr/bin.
ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$HOME/.cargo/bin:$ROOT_DIR/.tools/node_modules/.bin:$PATH"
