#!/bin/sh
# Installs the pipeops command-line client: curl -fsSL <this script's URL> | sh
#
# Detects the OS, the CPU architecture and musl (Alpine), downloads the release archive (the smaller
# .tar.xz where xz is installed, else the .tar.gz; the .zip on Windows) and
# SHA256SUMS, refuses an archive whose checksum does not match (installing nothing), and installs
# the binary. POSIX sh: runs under dash, bash, ash (Alpine) and zsh.
#
# Environment:
#   PIPEOPS_VERSION           a release such as 0.1.0 (default: the latest release)
#   PIPEOPS_INSTALL_DIR       where to put pipeops (default: /usr/local/bin as root, else ~/.local/bin)
#   PIPEOPS_INSTALL_BASE_URL  where the archives and SHA256SUMS are (default: the project's releases)
#   PIPEOPS_RELEASE_PUBLIC_KEY the minisign public key a fork signs its releases with (default: ours)
#
# SHA256SUMS is signed (SHA256SUMS.minisig, minisign's format): checked with minisign, or with
# OpenSSL 3 where minisign is not installed; where neither is, it says that only the checksum was.
set -eu

RELEASES_URL="https://github.com/PipeOpsHQ/pipeops-cli/releases"
# scripts/release-key.pub, the key pipeops releases are signed with (the binaries trust the same one).
RELEASE_PUBLIC_KEY="RWQJhlB4znsn7Bdn/kK5Jp2HPl44skLkOHyGJdX0KBpReLVgA0BpJTgF"

say() { printf '%s\n' "$*"; }
fail() {
	printf 'Error: %s\n' "$1" >&2
	if [ -n "${2-}" ]; then printf '%s\n' "$2" >&2; fi
	exit 1
}

detect_os() {
	case "$(uname -s)" in
	Linux) echo linux ;;
	Darwin) echo darwin ;;
	MINGW* | MSYS* | CYGWIN* | Windows_NT) echo windows ;;
	*) fail "unsupported operating system: $(uname -s)" "pipeops runs on Linux, macOS and Windows" ;;
	esac
}

detect_arch() {
	case "$(uname -m)" in
	x86_64 | amd64 | x64) arch=x64 ;;
	aarch64 | arm64 | armv8*) arch=arm64 ;;
	*) fail "unsupported CPU architecture: $(uname -m)" "pipeops runs on x86-64 (x64) and ARM64" ;;
	esac
	# An x64 shell under Rosetta 2 on Apple silicon: the native build is faster.
	if [ "$1" = darwin ] && [ "$arch" = x64 ] && [ "$(sysctl -n sysctl.proc_translated 2>/dev/null || true)" = 1 ]; then
		arch=arm64
	fi
	echo "$arch"
}

# musl (Alpine and friends) needs the -musl build; ldd says which C library this system has.
is_musl() {
	ldd_version=$(ldd --version 2>&1 || true)
	case "$ldd_version" in
	*musl*) return 0 ;;
	*GLIBC* | *"GNU libc"* | *glibc*) return 1 ;;
	esac
	for loader in /lib/ld-musl-*.so.1; do
		if [ -e "$loader" ]; then return 0; fi
	done
	return 1
}

download() { # url file
	if command -v curl >/dev/null 2>&1; then
		curl -fsSL --retry 2 -o "$2" "$1"
	elif command -v wget >/dev/null 2>&1; then
		wget -q -O "$2" "$1"
	else
		fail "neither curl nor wget is installed" "Install one of them and run this script again"
	fi
}

sha256_of() { # file
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum "$1" | cut -d ' ' -f 1
	elif command -v shasum >/dev/null 2>&1; then
		shasum -a 256 "$1" | cut -d ' ' -f 1
	elif command -v openssl >/dev/null 2>&1; then
		openssl dgst -sha256 -r "$1" | cut -d ' ' -f 1
	else
		fail "no SHA-256 tool found (sha256sum, shasum or openssl)" "Install coreutils and run this script again"
	fi
}

# Checks SHA256SUMS against its minisign signature: 0 verified, 1 refused, 2 no tool to check it with.
verify_signature() { # sums signature key
	if command -v minisign >/dev/null 2>&1; then
		if minisign -Vq -m "$1" -x "$2" -P "$3" >/dev/null 2>&1; then return 0; else return 1; fi
	fi
	case "$(openssl version 2>/dev/null || true)" in
	"OpenSSL 3"*) ;;
	*) return 2 ;;
	esac
	vdir="$tmp/verify"
	mkdir "$vdir"
	# The minisign key is "Ed", its id (8 bytes) and the Ed25519 key (32): as an SPKI for OpenSSL.
	printf '%s' "$3" | openssl base64 -d -A >"$vdir/key" 2>/dev/null || return 1
	{ printf '\060\052\060\005\006\003\053\145\160\003\041\000'; tail -c 32 "$vdir/key"; } >"$vdir/key.der"
	openssl pkey -pubin -inform DER -in "$vdir/key.der" -out "$vdir/key.pem" 2>/dev/null || return 1
	sed -n 2p "$2" | openssl base64 -d -A >"$vdir/sig" 2>/dev/null || return 1
	# Prehashed ("ED"), by this key: the signature is of the file's BLAKE2b-512.
	[ "$(head -c 2 "$vdir/sig")" = ED ] || return 1
	[ "$(head -c 10 "$vdir/sig" | tail -c 8 | od -An -tx1 | tr -d ' \n')" = "$(head -c 10 "$vdir/key" | tail -c 8 | od -An -tx1 | tr -d ' \n')" ] || return 1
	tail -c 64 "$vdir/sig" >"$vdir/sig64"
	openssl dgst -blake2b512 -binary "$1" >"$vdir/hash"
	openssl pkeyutl -verify -pubin -inkey "$vdir/key.pem" -rawin -in "$vdir/hash" -sigfile "$vdir/sig64" >/dev/null 2>&1 || return 1
	# And the trusted comment (which names the version), signed with the signature.
	{ cat "$vdir/sig64"; sed -n 3p "$2" | sed 's/^trusted comment: //' | tr -d '\n'; } >"$vdir/global"
	sed -n 4p "$2" | openssl base64 -d -A >"$vdir/global.sig" 2>/dev/null || return 1
	openssl pkeyutl -verify -pubin -inkey "$vdir/key.pem" -rawin -in "$vdir/global" -sigfile "$vdir/global.sig" >/dev/null 2>&1 || return 1
	return 0
}

default_install_dir() {
	if [ "$(id -u)" = 0 ]; then echo /usr/local/bin; else echo "${HOME:?HOME is not set}/.local/bin"; fi
}

main() {
	os=$(detect_os)
	arch=$(detect_arch "$os")
	target="$os-$arch"
	if [ "$os" = linux ] && is_musl; then
		target="$target-musl"
		say "musl C library detected (Alpine): pipeops needs libstdc++ and libgcc (apk add libstdc++ libgcc)"
	fi
	if [ "$os" = windows ]; then
		archive="pipeops-$target.zip"
		member=pipeops.exe
	elif command -v xz >/dev/null 2>&1; then
		archive="pipeops-$target.tar.xz"
		member=pipeops
	else
		archive="pipeops-$target.tar.gz"
		member=pipeops
	fi

	if [ -n "${PIPEOPS_INSTALL_BASE_URL-}" ]; then
		base_url=${PIPEOPS_INSTALL_BASE_URL%/}
	elif [ -n "${PIPEOPS_VERSION-}" ]; then
		base_url="$RELEASES_URL/download/v${PIPEOPS_VERSION#v}"
	else
		base_url="$RELEASES_URL/latest/download"
	fi
	install_dir=${PIPEOPS_INSTALL_DIR:-$(default_install_dir)}

	tmp=$(mktemp -d 2>/dev/null || mktemp -d -t pipeops)
	trap 'rm -rf "$tmp"' EXIT
	trap 'exit 130' INT TERM

	say "Downloading $archive from $base_url"
	download "$base_url/$archive" "$tmp/$archive" || fail "could not download $base_url/$archive"
	download "$base_url/SHA256SUMS" "$tmp/SHA256SUMS" || fail "could not download $base_url/SHA256SUMS" "Refusing to install an archive that cannot be verified"

	if download "$base_url/SHA256SUMS.minisig" "$tmp/SHA256SUMS.minisig" 2>/dev/null; then
		signature=0
		verify_signature "$tmp/SHA256SUMS" "$tmp/SHA256SUMS.minisig" "${PIPEOPS_RELEASE_PUBLIC_KEY:-$RELEASE_PUBLIC_KEY}" || signature=$?
		case $signature in
		0) say "Signature of SHA256SUMS verified" ;;
		2) say "Note: neither minisign nor OpenSSL 3 is installed: only the checksum was checked, not the signature" ;;
		*) fail "the signature of SHA256SUMS does not check out" "The release was altered, or not signed by PipeOps; nothing was installed" ;;
		esac
	else
		say "Note: this release is not signed: only the checksum was checked"
	fi

	expected=$(awk -v name="$archive" '$2 == name || $2 == "*" name { print $1; exit }' "$tmp/SHA256SUMS")
	[ -n "$expected" ] || fail "SHA256SUMS has no checksum for $archive" "Refusing to install an archive that cannot be verified"
	actual=$(sha256_of "$tmp/$archive")
	[ "$actual" = "$expected" ] || fail "checksum mismatch for $archive (expected $expected, got $actual)" "The download is corrupt or was tampered with; nothing was installed"
	say "Checksum verified (sha256 $actual)"

	mkdir "$tmp/unpacked"
	if [ "$os" = windows ]; then
		command -v unzip >/dev/null 2>&1 || fail "unzip is not installed" "Install unzip and run this script again"
		unzip -q "$tmp/$archive" "$member" -d "$tmp/unpacked"
	else
		case "$archive" in
		# Through xz rather than tar -J: BusyBox and BSD tars may not know it.
		*.xz) xz -dc "$tmp/$archive" | tar -xf - -C "$tmp/unpacked" "$member" ;;
		*) tar -xzf "$tmp/$archive" -C "$tmp/unpacked" "$member" ;;
		esac
	fi
	[ -f "$tmp/unpacked/$member" ] || fail "$archive does not contain $member"

	mkdir -p "$install_dir" || fail "cannot create $install_dir" "Set PIPEOPS_INSTALL_DIR to a folder you can write to"
	# Copy under a temporary name, then rename: a running pipeops is never overwritten in place.
	cp "$tmp/unpacked/$member" "$install_dir/.$member.$$" || fail "cannot write to $install_dir" "Run as root, or set PIPEOPS_INSTALL_DIR to a folder you can write to"
	chmod 755 "$install_dir/.$member.$$"
	mv -f "$install_dir/.$member.$$" "$install_dir/$member"

	say "Installed pipeops to $install_dir/$member"
	if ! version=$("$install_dir/$member" --version 2>&1); then
		say "$version" >&2
		case "$target" in
		*-musl) fail "pipeops was installed but does not run" "Install the libraries it needs: apk add libstdc++ libgcc" ;;
		*) fail "pipeops was installed but does not run" ;;
		esac
	fi
	say "$version"
	case ":${PATH-}:" in
	*":$install_dir:"*) ;;
	*) say "Note: $install_dir is not on your PATH; add it: export PATH=\"$install_dir:\$PATH\"" ;;
	esac
}

main "$@"
