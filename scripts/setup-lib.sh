# Shared by the setup scripts (sourced, not run). They define say() first.

# install_missing PACKAGE...: installs the Debian packages with apt-get as root, or says what to
# install and fails where that cannot be done (not root, no apt-get).
install_missing() {
  [ "$#" -gt 0 ] || return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    say "missing: $*; install them (Debian/Ubuntu: sudo apt-get install $*) and run again"; exit 1
  fi
  say "installing Debian packages: $*"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
