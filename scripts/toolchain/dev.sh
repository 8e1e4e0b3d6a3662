#!/usr/bin/env bash
set -euo pipefail
ROOT="$(pwd)"
VENV="$ROOT/.venv"
PYTHON="${HV_PYTHON:-}"
SOLC_VERSION="0.8.28"

log() { printf '\033[1m[dev]\033[0m %s\n' "$*" >&2; }
die() { printf '[dev] error: %s\n' "$*" >&2; exit 1; }

find_python() {
  if [[ -n "$PYTHON" ]]; then echo "$PYTHON"; return; fi
  for c in python3.11 python3; do
    if command -v "$c" >/dev/null && "$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      echo "$c"; return
    fi
  done
  die "Python 3.11 is required (set HV_PYTHON to its path)"
}

# A stamp holds the hash of the inputs that produced it; a step reruns only when they change.
inputs_hash() { cat "$@" 2>/dev/null | sha256sum | cut -d' ' -f1; }
stamp_ok() { [[ -f "$1" ]] && [[ "$(cat "$1")" == "$2" ]]; }

setup_node() {
  command -v npm >/dev/null || die "Node 20 with npm is required"
  local h; h="$(inputs_hash package.json package-lock.json)"
  if stamp_ok node_modules/.hv-stamp "$h"; then return; fi
  log "installing npm parts from package-lock.json"
  # `npm ci` refuses this lockfile: the registry offers the anvil binary only for this
  # platform, so the other platforms' optional packages cannot be locked. `npm install` keeps the
  # locked versions and skips the unreachable optional ones.
  npm install --no-audit --no-fund --loglevel=error
  echo "$h" > node_modules/.hv-stamp
}

setup_python() {
  local h; h="$(inputs_hash pyproject.toml scripts/toolchain/dev.sh scripts/toolchain/brownie-networks.yaml)"
  if stamp_ok "$VENV/.hv-stamp" "$h" && [[ -x "$VENV/bin/hv" ]]; then return; fi
  local py; py="$(find_python)"
  [[ -x "$VENV/bin/python" ]] || { log "creating .venv"; "$py" -m venv "$VENV"; }
  log "installing the keeper package with its dev extra into .venv"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -e ".[dev]"
  echo "$h" > "$VENV/.hv-stamp"
  rm -f "$VENV/.hv-tools-stamp"
}

# The solc adapter, anvil and ganache go into the venv, and a .pth file points py-solc-x at the
# adapter, so `.venv/bin/brownie` compiles offline from any shell without extra environment.
setup_tools() {
  local h; h="$(inputs_hash "$VENV/.hv-stamp" node_modules/.hv-stamp scripts/toolchain/solc-adapter.js)"
  if stamp_ok "$VENV/.hv-tools-stamp" "$h"; then return; fi
  log "installing solc $SOLC_VERSION adapter, anvil and ganache into .venv"
  mkdir -p "$VENV/solcx"
  cat > "$VENV/solcx/solc-v$SOLC_VERSION" <<ADAPTER
#!/usr/bin/env bash
exec node "$ROOT/scripts/toolchain/solc-adapter.js" "\$@"
ADAPTER
  chmod +x "$VENV/solcx/solc-v$SOLC_VERSION"
  local anvil_bin
  anvil_bin="$(ls "$ROOT"/node_modules/@foundry-rs/anvil-*/bin/anvil 2>/dev/null | head -n1)"
  [[ -n "$anvil_bin" ]] || die "anvil binary missing from node_modules/@foundry-rs (npm optional dependency for this platform)"
  ln -sf "$anvil_bin" "$VENV/bin/anvil"
  ln -sf "$ROOT/node_modules/.bin/ganache" "$VENV/bin/ganache-cli"
  ln -sf "$ROOT/node_modules/.bin/ganache" "$VENV/bin/ganache"
  local site; site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  cat > "$site/hv_toolchain.pth" <<PTH
import os; os.environ.setdefault("SOLCX_BINARY_PATH", "$VENV/solcx"); os.environ["PATH"] = "$VENV/bin" + os.pathsep + os.environ.get("PATH", "")
PTH
  # `brownie networks import FILE True` fails under brownie's compiled CLI; call it directly.
  "$VENV/bin/python" -c 'import sys; from brownie._cli.networks import _import; _import(sys.argv[1], True)' \
    scripts/toolchain/brownie-networks.yaml >/dev/null
  echo "$h" > "$VENV/.hv-tools-stamp"
}

# The web page (`hv ui`): ui/src bundled with ethers by esbuild into ui/dist (not in git).
setup_ui() {
  local h; h="$(inputs_hash node_modules/.hv-stamp ui/build.mjs ui/src/*)"
  if stamp_ok ui/dist/.hv-stamp "$h" && [[ -f ui/dist/index.html ]]; then return; fi
  log "bundling the web page into ui/dist"
  node ui/build.mjs >/dev/null
  echo "$h" > ui/dist/.hv-stamp
}

# The browser test drives Debian's Chromium (playwright-core never downloads a browser). Installed
# only when missing, and only where we may: as root (CI), else we say what to run.
setup_browser() {
  [[ -x /usr/bin/chromium ]] && return
  if [[ "$(id -u)" != 0 ]]; then
    die "the web page's browser test needs Debian's chromium: run 'sudo apt-get install -y --no-install-recommends chromium'"
  fi
  log "installing chromium from Debian's packages (for the web page's browser test)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends chromium >/dev/null
  [[ -x /usr/bin/chromium ]] || die "apt-get did not install /usr/bin/chromium"
}

setup() { setup_node; setup_python; setup_tools; setup_ui; }

cmd="${1:-help}"; shift || true
case "$cmd" in
  setup) setup ;;
  demo) setup; exec "$VENV/bin/hv" demo "$@" ;;
  test) setup; setup_browser; exec bash scripts/toolchain/test.sh "$@" ;;
  bench) setup; exec bash scripts/toolchain/bench.sh "$@" ;;
  slither) setup; exec bash scripts/toolchain/slither.sh "$@" ;;
  hv) setup; exec "$VENV/bin/hv" "$@" ;;
  help|-h|--help) sed -n '2,12p' "$ROOT/dev" | sed 's/^# \{0,1\}//' ;;
  *) die "unknown command '$cmd' (try: ./dev help)" ;;
esac
