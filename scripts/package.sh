#!/usr/bin/env bash
# Package a built genupdate binary for one target as a release archive plus its
# SHA-256 checksum file.
#
#   scripts/package.sh TARGET [BINARY]
#
# TARGET   a Rust target triple, e.g. x86_64-unknown-linux-musl, x86_64-pc-windows-msvc
# BINARY   the binary to ship (default: target/TARGET/release/genupdate[.exe])
#
# Writes to $PACKAGE_OUT (default: target/dist/):
#   genupdate-VERSION-TARGET.tar.gz   (.zip for Windows targets), holding one folder
#                                     genupdate-VERSION-TARGET/ with the binary, README.md,
#                                     CHANGELOG.md, LICENSE-MIT, LICENSE-APACHE and examples/
#   genupdate-VERSION-TARGET.tar.gz.sha256   "HASH  NAME", checked with `sha256sum -c`
# and prints the archive's path on stdout. Used by .github/workflows/release.yml and by
# scripts/test-package.sh.
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 || $1 == -* ]]; then
  echo "usage: $0 TARGET [BINARY]" >&2
  exit 2
fi
target=$1
root=$(cd "$(dirname "$0")/.." && pwd)

exe=""
archive_ext="tar.gz"
case "$target" in
  *windows*) exe=".exe"; archive_ext="zip" ;;
esac
binary=${2:-"$root/target/$target/release/genupdate$exe"}
if [[ ! -f $binary ]]; then
  echo "package.sh: no binary at $binary (build it first: cargo build --release --locked --target $target)" >&2
  exit 1
fi

# The version of the root package, from Cargo.toml's [package] table.
version=$(awk '
  /^\[/ { in_pkg = ($0 == "[package]") }
  in_pkg && /^version *=/ { gsub(/.*= *"|".*/, ""); print; exit }
' "$root/Cargo.toml")
if [[ -z $version ]]; then
  echo "package.sh: no version in $root/Cargo.toml" >&2
  exit 1
fi

name="genupdate-$version-$target"
out=${PACKAGE_OUT:-"$root/target/dist"}
mkdir -p "$out"
out=$(cd "$out" && pwd)

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
dir="$stage/$name"
mkdir -p "$dir/examples"
cp "$binary" "$dir/genupdate$exe"
chmod 755 "$dir/genupdate$exe"
cp "$root/README.md" "$root/CHANGELOG.md" "$root/LICENSE-MIT" "$root/LICENSE-APACHE" "$dir/"
cp "$root/examples/users.csv" "$root/examples/genupdate.crontab" \
  "$root/examples/genupdate.service" "$root/examples/genupdate.timer" "$dir/examples/"

archive="$name.$archive_ext"
rm -f "$out/$archive" "$out/$archive.sha256"
if [[ $archive_ext == zip ]]; then
  if command -v 7z >/dev/null 2>&1; then
    (cd "$stage" && 7z a -tzip -bso0 -bsp0 "$out/$archive" "$name" >/dev/null)
  elif command -v zip >/dev/null 2>&1; then
    (cd "$stage" && zip -qr "$out/$archive" "$name")
  else
    (cd "$stage" && powershell -NoProfile -Command "Compress-Archive -Path '$name' -DestinationPath '$archive'")
    mv "$stage/$archive" "$out/$archive"
  fi
else
  # Sorted names, no owner: the same inputs give the same listing on every runner.
  (cd "$stage" && find "$name" -print | LC_ALL=C sort >"$stage/files" &&
    tar -czf "$out/$archive" --no-recursion -T "$stage/files")
fi

# "HASH  NAME" with the bare file name, so `sha256sum -c` works next to the archive.
if command -v sha256sum >/dev/null 2>&1; then
  (cd "$out" && sha256sum "$archive" >"$archive.sha256")
else
  (cd "$out" && shasum -a 256 "$archive" >"$archive.sha256")
fi

echo "$out/$archive"
