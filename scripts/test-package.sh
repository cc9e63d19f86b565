#!/usr/bin/env bash
# Package a genupdate binary for the host target with scripts/package.sh, then check the
# archive as an admin would use it: the checksum verifies with `sha256sum -c`, and, unpacked
# into an empty directory, the binary runs `--version` and `apply --sandbox` on the shipped
# examples/users.csv with a minimal environment (no cargo or rustup on PATH).
#
#   scripts/test-package.sh [BINARY]
#
# BINARY defaults to target/debug/genupdate, which `cargo test` has just built: .ci/run
# packages the debug build to keep CI time down (a release build with LTO takes minutes on
# 2 cores); the release workflow packages the release build with the same script.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
binary=${1:-"$root/target/debug/genupdate"}
host=$(rustc -vV | sed -n 's/^host: //p')

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
  echo "test-package: FAILED: $*" >&2
  exit 1
}

archive=$(PACKAGE_OUT="$work/dist" "$root/scripts/package.sh" "$host" "$binary")
name=$(basename "$archive" .tar.gz)
[[ -f $archive && -f $archive.sha256 ]] || fail "no archive or checksum file in $work/dist"
(cd "$work/dist" && sha256sum -c "$(basename "$archive").sha256") || fail "checksum"

listing=$(tar -tzf "$archive")
for f in genupdate README.md CHANGELOG.md LICENSE-MIT LICENSE-APACHE examples/users.csv; do
  grep -qx "$name/$f" <<<"$listing" || fail "$f missing from the archive: $listing"
done

mkdir "$work/empty"
tar -xzf "$archive" -C "$work/empty"
cd "$work/empty/$name"
home="$work/home"
mkdir "$home"
minimal=(env -i PATH=/usr/bin:/bin HOME="$home")
"${minimal[@]}" sh -c 'command -v cargo rustc rustup' && fail "cargo is on the minimal PATH"

version=$("${minimal[@]}" ./genupdate --version) || fail "--version exited $?"
grep -q "^genupdate [0-9]" <<<"$version" || fail "--version printed: $version"

# The demo org has a user in a restricted division and a deleted user: those rows fail and
# the run exits 1; 0 would be fine too, 2 and above (usage, auth, budget, lock) are not.
set +e
"${minimal[@]}" ./genupdate apply --sandbox examples/users.csv >"$work/stdout" 2>"$work/stderr"
code=$?
set -e
if [[ $code -gt 1 ]]; then
  cat "$work/stdout" "$work/stderr" >&2
  fail "apply --sandbox exited $code"
fi
[[ ! -e examples/users.csv.lock ]] || fail "the lock file remains after a clean exit"

echo "test-package: $(basename "$archive") ($(du -h "$archive" | cut -f1)): checksum ok, $version, apply --sandbox exited $code"
tail -n 3 "$work/stderr" | sed 's/^/test-package:   /'
