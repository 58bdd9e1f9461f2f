#!/usr/bin/env bash
# Makes sure a Docker engine answers and the default base image exists locally.
# Idempotent: on a machine that already has a working engine (Docker Desktop, a remote
# DOCKER_HOST, a running dockerd) it only checks. On a fresh Debian machine, as root, it
# installs Debian's docker.io and starts dockerd in the background.
set -euo pipefail

BASE_IMAGE="${PADDOCK_BASE_IMAGE:-debian:bookworm-slim}"
LOG_DIR="${PADDOCK_ENGINE_LOG_DIR:-/var/log}"
say() { printf '[paddock setup] %s\n' "$*" >&2; }

# The Debian mirror for debootstrap: PADDOCK_DEBIAN_MIRROR, else the main archive this machine's apt
# uses (one-line or deb822 sources; the first URI that is not a security archive).
apt_main_mirror() {
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
    | sed -e 's/#.*//' \
    | sed -n -E -e 's/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?(https?:\/\/[^[:space:]]+).*/\2/p' -e 's/^URIs:[[:space:]]*//p' \
    | tr ' \t' '\n\n' | grep -E '^https?://' | grep -v -i security | head -1
}
DEBIAN_MIRROR="${PADDOCK_DEBIAN_MIRROR:-$(apt_main_mirror || true)}"

engine_up() { docker info >/dev/null 2>&1; }
started_here=0

if ! engine_up; then
  if [ -n "${DOCKER_HOST:-}" ]; then
    say "DOCKER_HOST=$DOCKER_HOST does not answer; start that engine or unset DOCKER_HOST."; exit 1
  fi
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    say "No Docker engine answers. Start Docker (Docker Desktop, or 'sudo systemctl start docker') and run again."; exit 1
  fi
  if ! command -v dockerd >/dev/null; then
    say "installing Debian's docker.io (dockerd, containerd, runc)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
  fi
  if ! command -v docker >/dev/null; then
    say "no docker client on PATH after install"; exit 1
  fi
  started_here=1
  say "starting dockerd (log: $LOG_DIR/paddock-dockerd.log)"
  nohup dockerd >"$LOG_DIR/paddock-dockerd.log" 2>&1 &
  for _ in $(seq 1 60); do engine_up && break; sleep 0.5; done
  engine_up || { say "dockerd did not come up; see $LOG_DIR/paddock-dockerd.log"; tail -20 "$LOG_DIR/paddock-dockerd.log" >&2; exit 1; }
fi

# gVisor as an extra runtime, on engines this script manages (fresh machines, CI) or when asked.
# Debian's runsc works only with its own networking off (see README, "Runtimes and engines"); it
# then reaches its egress proxy and the bridge through host Unix sockets, which --host-uds=open allows.
if [ "${PADDOCK_SETUP_GVISOR:-$started_here}" = 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null \
   && ! docker info --format '{{json .Runtimes}}' 2>/dev/null | grep -q '"runsc".*host-uds'; then
  command -v runsc >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq runsc >/dev/null 2>&1 || true
  if command -v runsc >/dev/null; then
    say "registering gVisor (runsc) as a Docker runtime"
    mkdir -p /etc/docker
    node -e '
      const fs = require("fs"); const p = "/etc/docker/daemon.json";
      const cfg = fs.existsSync(p) ? JSON.parse(fs.readFileSync(p, "utf8") || "{}") : {};
      cfg.runtimes = { ...(cfg.runtimes || {}), runsc: { path: "/usr/bin/runsc", runtimeArgs: ["--network=none", "--host-uds=open"] } };
      fs.writeFileSync(p, JSON.stringify(cfg, null, 2));'
    kill -HUP "$(pidof dockerd)" 2>/dev/null || true
    for _ in $(seq 1 20); do docker info --format '{{json .Runtimes}}' | grep -q '"runsc".*host-uds' && break; sleep 0.25; done
  fi
fi

if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  say "base image $BASE_IMAGE is not local; trying docker pull"
  if ! docker pull -q "$BASE_IMAGE" >/dev/null 2>&1; then
    case "$BASE_IMAGE" in
      debian:bookworm*)
        if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
          say "cannot pull $BASE_IMAGE and cannot debootstrap it here (needs root on Debian)"; exit 1
        fi
        if [ -z "$DEBIAN_MIRROR" ]; then
          say "no Debian mirror found in /etc/apt/sources.list*; set PADDOCK_DEBIAN_MIRROR=URL and run again"; exit 1
        fi
        command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
        dir="$(mktemp -d)"; trap 'rm -rf "$dir"' EXIT
        say "no registry: building $BASE_IMAGE with debootstrap from $DEBIAN_MIRROR (~1 min)"
        debootstrap --variant=minbase bookworm "$dir" "$DEBIAN_MIRROR" >/dev/null
        tar -C "$dir" -c . | docker import - "$BASE_IMAGE" >/dev/null
        ;;
      *) say "cannot pull $BASE_IMAGE; load it with 'docker load' or choose another base image"; exit 1 ;;
    esac
  fi
fi
# What was found, one line each, so drift between machines shows in every log.
say "node $(node --version 2>/dev/null || echo missing), npm $(npm --version 2>/dev/null || echo missing)"
say "engine $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}}, {{.Server.Os}}/{{.Server.Arch}})' 2>/dev/null || echo '?'), runtimes: $(docker info --format '{{range $k, $v := .Runtimes}}{{$k}} {{end}}' 2>/dev/null)"
say "base image $BASE_IMAGE present ($(docker image inspect --format '{{.Id}}' "$BASE_IMAGE" | cut -c8-19))"
