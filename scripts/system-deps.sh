#!/bin/sh
# Installs the Debian packages the tests use when any is missing (as root, where apt-get exists),
# so `npm install && npm test` sets up a fresh machine by itself. Elsewhere it says what to install.
#   chromium: the real-browser login test; qemu-user + libc6-arm64-cross: running the arm64 and
#   pre-AVX x64 release binaries; unzip, curl, dash: the archive and installer tests; bash-completion,
#   zsh, fish: the shell completion tests; openssl: the certificates of the proxy and TLS tests;
#   xz-utils: the release's .tar.xz archives and their install test; time (GNU): the peak memory of
#   `pipeops api` streaming a large body, and of the bench; dbus-daemon, gnome-keyring, libsecret-1-0: a
#   real Secret Service for the keyring tests (Bun.secrets loads libsecret); libsecret-tools: secret-tool,
#   to look into that Secret Service from the tests; minisign: the stock tool our release signatures must
#   satisfy (and whose own we must accept); strace: which files a command opens, and how (file-access test).
set -eu
missing=""
need() { [ -e "$1" ] || missing="$missing $2"; }
need /usr/bin/chromium chromium
need /usr/bin/qemu-x86_64 qemu-user
need /usr/bin/qemu-aarch64 qemu-user
need /usr/aarch64-linux-gnu/lib libc6-arm64-cross
need /usr/bin/unzip unzip
need /usr/bin/curl curl
need /bin/dash dash
need /usr/share/bash-completion/bash_completion bash-completion
need /usr/bin/zsh zsh
need /usr/bin/fish fish
need /usr/bin/openssl openssl
need /usr/bin/time time
need /usr/bin/xz xz-utils
need /usr/bin/dbus-run-session dbus-daemon
need /usr/bin/dbus-send dbus-bin
need /usr/bin/gnome-keyring-daemon gnome-keyring
need /usr/lib/x86_64-linux-gnu/libsecret-1.so.0 libsecret-1-0
need /usr/bin/secret-tool libsecret-tools
need /usr/bin/minisign minisign
need /usr/bin/strace strace
[ -n "$missing" ] || exit 0
# One name per package, in a stable order.
packages=$(printf '%s\n' $missing | sort -u | tr '\n' ' ' | sed 's/ $//')
if [ "$(uname -s)" = Linux ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian packages the tests use: $packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $packages ca-certificates >/dev/null
else
  echo "Note: some tests need these Debian packages: $packages (sudo apt-get install -y $packages)" >&2
fi
