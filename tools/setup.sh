#!/usr/bin/env bash
# Heitje's set-up, idempotent: run it as often as you like (`make setup` does).
#   - .venv/            Python 3.11 venv, every package from requirements.txt in ONE pip resolve
#   - node_modules/     solc (solcjs), OpenZeppelin contracts, anvil, from package.json
#   - .venv/solcx/      the solc wrapper, named the way py-solc-x finds an installed compiler,
#                       announced to py-solc-x through SOLCX_BINARY_PATH (a .pth file in the venv)
#   - .venv/bin/anvil   the native anvil binary from npm, so brownie finds it on the venv's PATH
#   - .venv-fuzz/       schemathesis, which fuzzes the API from outside (a venv of its own: it
#                       needs a newer hypothesis than brownie's exact pin allows)
#   - web/dist/         the web app, bundled by esbuild from web/src (node web/build.mjs)
#   - chromium          Debian's package, for the browser tests (apt-get, when it is missing)
#   - postgresql        Debian's package, for the service tests on PostgreSQL (apt-get, when no
#                       initdb/pg_ctl/postgres is found where tests/support/pg.py looks)
#   - .venv/bin/geth-clique  geth v1.13.15 (the last geth that seals Clique), built from the Go
#                       module proxy into ~/.cache/heitje/geth-v1.13.15/ (kept between clones
#                       and runs; built once, skipped when there), for the network tests
# Only the geth build cache is written to your home directory (and Go's own module and build
# caches); brownie itself keeps ~/.brownie.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
venv=$root/.venv

say() { printf '[setup] %s\n' "$*"; }
fail() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

python=${PYTHON:-}
if [ -z "$python" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      python=$(command -v "$candidate"); break
    fi
  done
fi
[ -n "$python" ] || fail "Python 3.11 is needed (set PYTHON=/path/to/python3.11)."
command -v node >/dev/null || fail "node (Node.js 18 or newer) is needed for the Solidity compiler."
command -v npm >/dev/null || fail "npm is needed to install the Solidity compiler, OpenZeppelin and anvil."
node_bin=$(command -v node)

hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

# --- Python -----------------------------------------------------------------------------
if [ ! -x "$venv/bin/python" ]; then
  say "creating $venv"
  "$python" -m venv "$venv"
fi
want=$(hash_of requirements.txt pyproject.toml)
if [ "$(cat "$venv/.heitje-requirements" 2>/dev/null)" != "$want" ]; then
  say "installing Python packages (one resolve, pinned in requirements.txt)"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.txt
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
  echo "$want" > "$venv/.heitje-requirements"
fi

fuzz=$root/.venv-fuzz
if [ ! -x "$fuzz/bin/python" ]; then
  say "creating $fuzz"
  "$python" -m venv "$fuzz"
fi
want_fuzz=$(hash_of requirements-fuzz.txt)
if [ "$(cat "$fuzz/.heitje-requirements" 2>/dev/null)" != "$want_fuzz" ]; then
  say "installing schemathesis (pinned in requirements-fuzz.txt)"
  "$fuzz/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-fuzz.txt
  echo "$want_fuzz" > "$fuzz/.heitje-requirements"
fi

# --- npm ----------------------------------------------------------------------------------
want=$(hash_of package.json)
if [ ! -d node_modules ] || [ "$(cat node_modules/.heitje-packages 2>/dev/null)" != "$want" ]; then
  say "installing npm packages (solc, OpenZeppelin, anvil)"
  # `npm install`, not `npm ci`: the lock file lacks other platforms' optional anvil packages.
  npm install --no-audit --no-fund --loglevel=error
  echo "$want" > node_modules/.heitje-packages
fi

# --- the web app and the browser for its tests ----------------------------------------------
"$node_bin" web/build.mjs >/dev/null || fail "the web app does not build (node web/build.mjs)"
if ! command -v chromium >/dev/null; then
  # The browser tests drive Debian's Chromium (a test tool's own browser download fails here).
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing Chromium (Debian's package) for the browser tests"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
      >/dev/null || say "WARNING: apt-get could not install chromium; the browser tests will fail"
  else
    say "WARNING: chromium is missing and cannot be installed here (apt-get as root); the browser tests will fail"
  fi
fi

# --- brownie's build -------------------------------------------------------------------------
# brownie recompiles when a source changes, not when brownie-config.yaml's compiler settings do
# (the EVM version, say): a build from other settings is removed, so the next compile is fresh.
want=$(hash_of brownie-config.yaml)
if [ -d build/contracts ] && [ "$(cat build/.heitje-config 2>/dev/null)" != "$want" ]; then
  say "brownie-config.yaml changed: removing the old contract build (build/contracts)"
  rm -rf build/contracts build/interfaces
fi
mkdir -p build && echo "$want" > build/.heitje-config

# --- PostgreSQL for the service tests --------------------------------------------------------
have_pg() {
  local d
  for d in "$(dirname "$(command -v pg_ctl 2>/dev/null || echo /nonexistent/x)")" \
      /usr/lib/postgresql/*/bin /usr/local/pgsql/bin /usr/local/bin /usr/bin; do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ] && return 0
  done
  return 1
}
if ! have_pg; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing PostgreSQL (Debian's package) for the service tests"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } \
      >/dev/null || say "WARNING: apt-get could not install postgresql; the PostgreSQL tests will fail"
  else
    say "WARNING: no PostgreSQL server binaries and no apt-get as root; the PostgreSQL tests will fail"
  fi
fi

# --- geth with Clique, for the network tests ---------------------------------------------------
# v1.13.15 is the last geth release that seals Clique blocks (v1.14 removed it). Built from the
# Go module proxy once per machine; -checklinkname=0 lets fjl/memsize link on Go 1.23 and newer.
geth_version=v1.13.15
geth_dir=${HEITJE_GETH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/heitje/geth-$geth_version}
if ! "$geth_dir/geth" version 2>/dev/null | grep -q "^Version: ${geth_version#v}-stable"; then
  go_bin=$(command -v go || echo /usr/local/go/bin/go)
  if [ -x "$go_bin" ]; then
    say "building geth $geth_version (Clique) from the Go module proxy into $geth_dir (once; a few minutes)"
    mkdir -p "$geth_dir"
    if ! CGO_ENABLED=1 GOBIN="$geth_dir" "$go_bin" install -ldflags=-checklinkname=0 \
        "github.com/ethereum/go-ethereum/cmd/geth@$geth_version" >"$geth_dir/build.log" 2>&1; then
      say "WARNING: geth did not build (see $geth_dir/build.log); the network tests will fail"
    fi
  else
    say "WARNING: Go is missing (needed to build geth $geth_version); the network tests will fail"
  fi
fi
if [ -x "$geth_dir/geth" ]; then
  ln -sf "$geth_dir/geth" "$venv/bin/geth-clique"
fi

# --- solc wrapper ----------------------------------------------------------------------------
solc_version=$("$node_bin" -p "require('./node_modules/solc/package.json').version")
solc_long=$("$node_bin" -p "require('./node_modules/solc').version().replace('.Emscripten.clang', '.Linux.g++')")
solcx_dir=$venv/solcx
mkdir -p "$solcx_dir"
wrapper=$solcx_dir/solc-v$solc_version
cat > "$wrapper.tmp" <<SH
#!/bin/sh
# Generated by tools/setup.sh: native-solc look-alike on top of npm solcjs $solc_version.
# --version is answered here, without starting node (py-solc-x asks it before every compile).
if [ "\$#" -eq 1 ] && [ "\$1" = "--version" ]; then
  printf 'solc, the solidity compiler commandline interface\nVersion: %s\n' '$solc_long'
  exit 0
fi
exec '$node_bin' '$root/tools/solc-wrapper.js' "\$@"
SH
chmod +x "$wrapper.tmp"
mv "$wrapper.tmp" "$wrapper"
# Any other solc-v* left from an older package.json would be picked instead: remove them.
find "$solcx_dir" -name 'solc-v*' ! -name "solc-v$solc_version" -delete

site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
cat > "$site/heitje_toolchain.pth" <<PTH
import os; os.environ.setdefault('SOLCX_BINARY_PATH', '$solcx_dir')
PTH

# --- anvil ---------------------------------------------------------------------------------
platform=$("$node_bin" -p "process.platform + '-' + ({x64: 'amd64', arm64: 'arm64'}[process.arch] || process.arch)")
anvil=$root/node_modules/@foundry-rs/anvil-$platform/bin/anvil
[ -x "$anvil" ] || fail "no anvil binary for $platform in node_modules/@foundry-rs (npm install failed?)"
ln -sf "$anvil" "$venv/bin/anvil"

# --- check --------------------------------------------------------------------------------
"$wrapper" --version | grep -q "Version: $solc_version" || fail "the solc wrapper does not answer --version"
echo '{"language":"Solidity","sources":{"t.sol":{"content":"pragma solidity *; contract T {}"}},"settings":{"outputSelection":{"*":{"*":["evm.bytecode.object"]}}}}' \
  | "$wrapper" --standard-json | grep -q '"object"' || fail "the solc wrapper does not compile"
"$venv/bin/anvil" --version >/dev/null || fail "anvil does not start"
say "ready: Python $("$venv/bin/python" -c 'import platform; print(platform.python_version())'), solc $solc_version (solcjs), $("$venv/bin/anvil" --version | head -1)"
