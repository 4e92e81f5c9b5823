#!/bin/sh
# reproducible.sh proves that `make release` is reproducible: the same
# sources give the same bytes, whatever the output directory and wherever
# the tree lies. It builds the release three times into temporary
# directories:
#
#   a  from this tree
#   b  from this tree again, into another directory
#   c  from a copy of this tree (no .git, uncommitted edits included) at
#      another path, which -trimpath must hide
#
# and fails unless the three SHA256SUMS are identical. The version and
# commit are computed once and given to all three builds: the copy has no
# .git to ask. FRESH_CACHE=1 also gives build c an empty GOCACHE, so that
# nothing is reused from the first builds (slower: it recompiles the
# standard library for every target).
#
# Usage: sh scripts/reproducible.sh   (or: make reproducible)
set -eu

cd "$(dirname "$0")/.."
root=$(pwd)
GO=${GO:-go}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
COMMIT=${COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
MAKE=${MAKE:-make}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/porthunter-repro.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# build DIR DIST [ENV...]: make release in DIR, output in DIST.
build() {
	dir=$1 dist=$2
	shift 2
	echo "reproducible: building in $dir into $dist" >&2
	env "$@" "$MAKE" -s -C "$dir" release DIST="$dist" VERSION="$VERSION" COMMIT="$COMMIT" GO="$GO" >/dev/null
}

build "$root" "$tmp/a"
build "$root" "$tmp/b"

# The copy: every file but build output and the repository, so it builds
# what the working tree holds, not what was last committed.
copy="$tmp/elsewhere/porthunter-copy"
mkdir -p "$copy"
tar -C "$root" --exclude=./.git --exclude=./dist --exclude=./bin -cf - . | tar -C "$copy" -xf -
if [ "${FRESH_CACHE:-0}" = 1 ]; then
	build "$copy" "$tmp/c" GOCACHE="$tmp/gocache"
else
	build "$copy" "$tmp/c"
fi

n=$(wc -l <"$tmp/a/SHA256SUMS" | tr -d ' ')
if [ "$n" -eq 0 ]; then
	echo "reproducible: FAILED: no binaries built" >&2
	exit 1
fi
status=0
for other in b c; do
	if ! cmp -s "$tmp/a/SHA256SUMS" "$tmp/$other/SHA256SUMS"; then
		echo "reproducible: FAILED: build $other differs from build a" >&2
		diff -u "$tmp/a/SHA256SUMS" "$tmp/$other/SHA256SUMS" >&2 || true
		status=1
	fi
done
if [ "$status" -ne 0 ]; then
	exit 1
fi
echo "reproducible: $n binaries identical ($VERSION, $COMMIT, $("$GO" env GOVERSION))"
