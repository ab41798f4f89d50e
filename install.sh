#!/bin/sh
# Installs a released perfgate binary: picks the release asset for this machine, downloads it and
# its .sha256 file, checks the SHA-256 before anything is unpacked or run, installs the binary and
# prints its version. A missing asset or a checksum mismatch exits non-zero with nothing installed.
#
# Settings (environment):
#   PERFGATE_VERSION       the version to install [default: the version in the Cargo.toml beside
#                          this script, i.e. the checkout it sits in]
#   PERFGATE_RELEASE_URL   where releases are, as <url>/v<version>/<asset> [default: the GitHub
#                          releases download URL of the `repository` in that Cargo.toml]; a mirror
#                          or GitHub Enterprise Server sets its own
#   PERFGATE_INSTALL_DIR   where the binary goes [default: $HOME/.local/bin]
#   PERFGATE_TARGET        the Rust target triple to fetch [default: this machine's]
#
# What the checksum proves: it comes from the same place as the archive, so it catches a corrupt
# or truncated download, not a tampered release. For that, check the build provenance:
#   gh attestation verify perfgate-<target>.tar.xz --repo <owner>/perfgate
set -eu

say() { printf 'perfgate install: %s\n' "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}

here=$(cd "$(dirname "$0")" && pwd)

# The value of `KEY = "value"` in the [package] table of the Cargo.toml beside this script, if that
# is perfgate's (run as `curl … | sh`, "beside this script" is the current directory).
manifest_value() {
  [ -f "$here/Cargo.toml" ] || return 0
  awk -v key="$1" '
    /^\[/ { in_package = ($0 == "[package]") }
    in_package && $2 == "=" {
      value = $3; gsub(/"/, "", value); fields[$1] = value
    }
    END { if (fields["name"] == "perfgate") print fields[key] }' "$here/Cargo.toml"
}

detect_target() {
  os=$(uname -s)
  arch=$(uname -m)
  case "$arch" in
    x86_64 | amd64) arch=x86_64 ;;
    aarch64 | arm64) arch=aarch64 ;;
    *) die "no perfgate release is built for the $arch processor ($os); build it with: cargo install --locked perfgate" ;;
  esac
  case "$os" in
    Linux) echo "$arch-unknown-linux-musl" ;;
    Darwin) echo "$arch-apple-darwin" ;;
    MINGW* | MSYS* | CYGWIN* | Windows_NT)
      [ "$arch" = x86_64 ] || die "no perfgate release is built for Windows on $arch"
      echo "x86_64-pc-windows-msvc"
      ;;
    *) die "no perfgate release is built for $os; build it with: cargo install --locked perfgate" ;;
  esac
}

# fetch URL FILE: downloads URL to FILE, or explains which URL failed and how.
fetch() {
  # From an https:// URL, curl follows no redirect to plain http.
  case "$1" in
    https://*) curl_proto="=https" ;;
    *) curl_proto="=http,https" ;;
  esac
  if command -v curl >/dev/null 2>&1; then
    status=$(curl --silent --show-error --location --proto "$curl_proto" --proto-redir "$curl_proto" \
      --retry 2 --connect-timeout 20 --max-time 300 --output "$2" --write-out '%{http_code}' "$1" \
      2>"$tmp/fetch.err") || die "could not download $1: $(cat "$tmp/fetch.err")"
    case "$status" in
      2??) ;;
      404) die "$1 was not found (HTTP 404): $3" ;;
      *) die "could not download $1: HTTP $status" ;;
    esac
  elif command -v wget >/dev/null 2>&1; then
    wget --quiet --tries=3 --timeout=20 --output-document="$2" "$1" 2>"$tmp/fetch.err" ||
      die "could not download $1 (wget exit $?; 8 is an HTTP error such as 404: $3)"
  else
    die "neither curl nor wget is installed: install one to download $1"
  fi
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d' ' -f1
  elif command -v openssl >/dev/null 2>&1; then
    openssl dgst -sha256 -r "$1" | cut -d' ' -f1
  else
    die "no sha256sum, shasum or openssl to check the download with"
  fi
}

version=${PERFGATE_VERSION:-$(manifest_value version)}
version=${version#v}
[ -n "$version" ] || die "PERFGATE_VERSION is not set and there is no Cargo.toml beside $0 to read it from"

base=${PERFGATE_RELEASE_URL:-}
if [ -z "$base" ]; then
  repository=$(manifest_value repository)
  [ -n "$repository" ] || die "PERFGATE_RELEASE_URL is not set and there is no repository in a Cargo.toml beside $0"
  base="${repository%/}/releases/download"
fi
base=${base%/}

target=${PERFGATE_TARGET:-$(detect_target)}
case "$target" in
  *windows*) archive="perfgate-$target.zip" exe=perfgate.exe ;;
  *) archive="perfgate-$target.tar.xz" exe=perfgate ;;
esac
install_dir=${PERFGATE_INSTALL_DIR:-${HOME:?}/.local/bin}
url="$base/v$version/$archive"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

say "downloading perfgate $version for $target from $url"
missing="is there a perfgate $version release, with an asset for $target?"
fetch "$url.sha256" "$tmp/$archive.sha256" "$missing"
fetch "$url" "$tmp/$archive" "$missing"

# The .sha256 file is "<hex>  <file name>": both must match, so an asset cannot be swapped for
# another one whose checksum file was copied along with it.
read -r expected named <"$tmp/$archive.sha256" || true
named=${named#\*}
expected=$(printf '%s' "${expected:-}" | tr 'A-F' 'a-f')
case "$expected" in
  *[!0-9a-f]* | "") die "$url.sha256 does not hold a SHA-256 (expected \"<64 hex digits>  $archive\")" ;;
esac
[ "${#expected}" -eq 64 ] || die "$url.sha256 does not hold a SHA-256 (expected \"<64 hex digits>  $archive\")"
[ "$named" = "$archive" ] || die "$url.sha256 is the checksum of \"$named\", not of $archive"
actual=$(sha256_of "$tmp/$archive")
[ "$actual" = "$expected" ] ||
  die "checksum mismatch for $url: $url.sha256 says $expected, the download is $actual; nothing was installed"

# Only now, with the checksum verified, is the archive unpacked and the binary run.
mkdir "$tmp/unpacked"
case "$archive" in
  *.zip) unzip -q "$tmp/$archive" -d "$tmp/unpacked" || die "could not unpack $url" ;;
  *) (cd "$tmp/unpacked" && xz -dc "../$archive" | tar -xf -) || die "could not unpack $url (is xz installed?)" ;;
esac
binary="$tmp/unpacked/perfgate-$target/$exe"
[ -f "$binary" ] || die "$url does not hold perfgate-$target/$exe"
chmod 755 "$binary"
reported=$("$binary" --version 2>&1) || die "the perfgate in $url does not run on this machine: $reported"
[ "$reported" = "perfgate $version" ] ||
  die "$url holds \"$reported\", not perfgate $version; nothing was installed"

mkdir -p "$install_dir"
# Copy beside the destination, then rename: a reader never sees a half-written binary.
cp "$binary" "$install_dir/.$exe.$$"
mv -f "$install_dir/.$exe.$$" "$install_dir/$exe"
say "installed $install_dir/$exe"
"$install_dir/$exe" --version
