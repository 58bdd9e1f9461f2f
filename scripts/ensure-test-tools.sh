#!/usr/bin/env bash
# Installs the system tools the integration and template tiers use on the host, when missing:
#   sshd (openssh-server) and ssh: the ssh:// remote-engine tests stand up a real sshd on loopback;
#   openssl: the tcp+TLS engine and corporate-CA tests make their own certificates;
#   python3: drives a real pseudo-terminal for the interactive `paddock run` tests.
# Idempotent: what is there is only checked. Installs with apt-get as root; elsewhere it says what
# to install.
set -euo pipefail
say() { printf '[paddock test setup] %s\n' "$*" >&2; }
. "$(dirname "$0")/setup-lib.sh"

need=()
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null || need+=(openssh-client)
command -v openssl >/dev/null || need+=(openssl)
command -v python3 >/dev/null || need+=(python3)
# No service is started: the tests run their own sshd on a loopback port.
install_missing ${need[@]+"${need[@]}"}
say "sshd $(/usr/sbin/sshd -V 2>&1 | head -1 | cut -d, -f1), $(openssl version | cut -d" " -f1-2), $(python3 --version)"
