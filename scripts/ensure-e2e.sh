#!/usr/bin/env bash
# Installs what the e2e tier needs (VS Code in code-server, driven by Debian's Chromium):
#   - Debian packages: chromium, libkrb5-dev (a native module of code-server), ripgrep;
#   - Node 22 from the npm registry (package node@22) and npm 10, into a cache folder;
#   - code-server 4.104.0 (VS Code 1.104), installed with that Node 22.
# Idempotent: whatever is already there is only checked. Needs root and apt-get on a fresh
# Debian machine; elsewhere it says what is missing. Prints the environment to use on stdout
# when run with --print-env (the e2e tests read PADDOCK_E2E_CACHE the same way).
set -euo pipefail

CODE_SERVER_VERSION="${PADDOCK_CODE_SERVER_VERSION:-4.104.0}"
# @vscode/ripgrep of code-server 4.104.0 (lib/vscode/npm-shrinkwrap.json) and the tag its
# postinstall downloads from GitHub (unreachable here), so we pre-seed its cache.
RIPGREP_PKG_VERSION="${PADDOCK_RIPGREP_PKG_VERSION:-1.15.14}"
RIPGREP_TAG="${PADDOCK_RIPGREP_TAG:-v13.0.0-13}"
CACHE="${PADDOCK_E2E_CACHE:-$HOME/.cache/paddock-e2e}"
NODE_DIR="$CACHE/node22"
CS_DIR="$CACHE/code-server-$CODE_SERVER_VERSION"

say() { printf '[paddock e2e setup] %s\n' "$*" >&2; }
. "$(dirname "$0")/setup-lib.sh"

# When this runs under npm (npm test, or another npm script), npm exports npm_config_* and
# npm_package_* to it, and a nested npm passes them on: code-server's postinstall reads the Node
# version from npm_config_user_agent and refuses ("requires node v22") when it names the outer
# Node 20. The nested installs below run without npm's exported variables; the user's own
# registry, certificate and proxy settings are kept.
clean_npm_env() {
  env $(env | sed -n 's/^\(npm_[A-Za-z0-9_]*\)=.*/\1/p' \
    | grep -v -E '^npm_config_(registry|cafile|ca|https_proxy|proxy|noproxy|strict_ssl|userconfig|globalconfig|cache)$' \
    | sed 's/^/-u /') "$@"
}

if [ "${1:-}" = "--print-env" ]; then
  echo "PADDOCK_E2E_NODE=$NODE_DIR/node_modules/node/bin/node"
  echo "PADDOCK_E2E_CODE_SERVER=$CS_DIR/node_modules/.bin/code-server"
  exit 0
fi

need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium)
command -v rg >/dev/null || need_apt+=(ripgrep)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need_apt+=(libkrb5-dev)
# node-gyp builds native modules of code-server
command -v make >/dev/null && command -v g++ >/dev/null || need_apt+=(build-essential)
command -v python3 >/dev/null || need_apt+=(python3)
install_missing ${need_apt[@]+"${need_apt[@]}"}

mkdir -p "$CACHE"
NODE22="$NODE_DIR/node_modules/node/bin/node"
NPM10="$NODE_DIR/node_modules/npm/bin/npm-cli.js"
if ! { [ -x "$NODE22" ] && "$NODE22" --version | grep -q '^v22\.' && [ -f "$NPM10" ]; }; then
  say "installing Node 22 and npm 10 from the npm registry into $NODE_DIR"
  mkdir -p "$NODE_DIR"
  # The node package installs its binary in a postinstall; npm 12 runs a dependency's install
  # script only when package.json allows it (allowScripts; older npm ignores the field).
  echo '{"name":"paddock-e2e-node","private":true,"allowScripts":{"node":true}}' > "$NODE_DIR/package.json"
  (cd "$NODE_DIR" && clean_npm_env npm install --no-audit --no-fund node@22 npm@10 >/dev/null)
  "$NODE22" --version | grep -q '^v22\.' || { say "node@22 did not give a Node 22 binary at $NODE22"; exit 1; }
fi

# A bin folder with node 22 and npm 10 first on PATH: code-server's postinstall runs npm and node.
BIN="$CACHE/bin"
mkdir -p "$BIN"
ln -sf "$NODE22" "$BIN/node"
printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$NODE22" "$NPM10" > "$BIN/npm"
printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$NODE22" "$NODE_DIR/node_modules/npm/bin/npx-cli.js" > "$BIN/npx"
chmod +x "$BIN/npm" "$BIN/npx"

installed_version() { "$NODE22" -p "require('$CS_DIR/node_modules/code-server/package.json').version" 2>/dev/null || true; }
if [ "$(installed_version)" != "$CODE_SERVER_VERSION" ] || ! [ -x "$CS_DIR/node_modules/.bin/code-server" ] \
   || ! [ -f "$CS_DIR/node_modules/code-server/lib/vscode/node_modules/node-pty/build/Release/pty.node" ]; then
  tmp="${TMPDIR:-/tmp}"
  seed="$tmp/vscode-ripgrep-cache-$RIPGREP_PKG_VERSION/ripgrep-$RIPGREP_TAG-x86_64-unknown-linux-musl.tar.gz"
  if [ ! -s "$seed" ]; then
    say "pre-seeding @vscode/ripgrep's download cache with Debian's rg ($seed)"
    mkdir -p "$(dirname "$seed")"
    stage="$(mktemp -d)"
    cp "$(command -v rg)" "$stage/rg"
    tar -C "$stage" -czf "$seed" rg
    rm -rf "$stage"
  fi
  # A project install (not -g): code-server's postinstall runs "npm install" in lib/vscode, and
  # under -g that nested install inherits the global prefix and fights the outer one (ENOTEMPTY).
  say "installing code-server $CODE_SERVER_VERSION with Node 22 into $CS_DIR (about a minute)"
  rm -rf "$CS_DIR"
  mkdir -p "$CS_DIR"
  echo '{"name":"paddock-e2e-code-server","private":true}' > "$CS_DIR/package.json"
  (cd "$CS_DIR" && PATH="$BIN:$PATH" clean_npm_env npm_config_yes=true npm install --unsafe-perm --no-audit --no-fund \
    "code-server@$CODE_SERVER_VERSION" > "$CACHE/code-server-install.log" 2>&1) \
    || { say "code-server install failed; see $CACHE/code-server-install.log"; grep -v TAR_ENTRY "$CACHE/code-server-install.log" | tail -30 >&2; exit 1; }
  [ "$(installed_version)" = "$CODE_SERVER_VERSION" ] && [ -f "$CS_DIR/node_modules/code-server/lib/vscode/node_modules/node-pty/build/Release/pty.node" ] \
    || { say "code-server is incomplete after install; see $CACHE/code-server-install.log"; exit 1; }
fi
chromium_version="$(chromium --version 2>/dev/null | awk '{print $2}')"
[ -n "$chromium_version" ] || { say "chromium does not start (chromium --version failed); reinstall it: apt-get install --reinstall chromium"; exit 1; }
say "chromium $chromium_version"
say "node $("$NODE22" --version) and npm $("$BIN/npm" --version) for code-server (in $NODE_DIR)"
say "code-server $(installed_version) (in $CS_DIR)"
