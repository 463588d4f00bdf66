#!/usr/bin/env bash
# Installs what a fresh machine lacks, idempotently and quickly when nothing is missing:
# Debian packages (JDK, Maven, Redis, PostgreSQL, curl), npm packages, the build.
# Sourced or run by scripts/test.sh, scripts/demo.sh, scripts/bench.sh and .ci/run.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
say() { printf '[bootstrap] %s\n' "$*" >&2; }

need_pkgs=()
command -v java >/dev/null || need_pkgs+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || need_pkgs+=(maven)
command -v redis-server >/dev/null || need_pkgs+=(redis-server)
command -v redis-cli >/dev/null || need_pkgs+=(redis-tools)
command -v pg_ctlcluster >/dev/null || need_pkgs+=(postgresql)
command -v pg_isready >/dev/null || need_pkgs+=(postgresql-client)
command -v curl >/dev/null || need_pkgs+=(curl)
command -v openssl >/dev/null || need_pkgs+=(openssl)   # scripts/stack.d/certs.sh
command -v chromium >/dev/null || need_pkgs+=(chromium) # the console's browser tests (playwright-core drives it)
command -v promtool >/dev/null || need_pkgs+=(prometheus) # promtool: the metric names and the alerts' unit tests
if (( ${#need_pkgs[@]} )); then
  if [[ $(id -u) != 0 ]]; then
    say "missing Debian packages: ${need_pkgs[*]} (install them as root: apt-get install ${need_pkgs[*]})"; exit 1
  fi
  say "installing Debian packages: ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  # The Debian package starts its own services where it can; scripts/stack manages them.
  # Of prometheus only promtool is used: its server (port 9090) must not stay running or start at boot.
  if [[ " ${need_pkgs[*]} " == *" prometheus "* ]]; then
    if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
      systemctl disable --now prometheus >/dev/null 2>&1 || true
    else
      service prometheus stop >/dev/null 2>&1 || true
      update-rc.d prometheus disable >/dev/null 2>&1 || true
    fi
  fi
fi

# npm packages: `npm ci` when node_modules is missing or older than the lockfile.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  say "installing npm packages (npm ci)"
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error >&2
else
  npm run -s build >&2
fi
