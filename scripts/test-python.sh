#!/usr/bin/env bash
# The Python package installs both ways the README documents, and the
# installed copy works (the extension's own tests run in every meson
# build, suite "python"):
#   pip install --no-build-isolation .   (Debian's meson-python; no index)
#   meson install                        (what the Debian package ships)
# Prints TAP.  Usage: scripts/test-python.sh [BUILD-DIR]  (default build-ci)
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-ci}
py=/usr/bin/python3
tmp=$(mktemp -d /tmp/xfm-python.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. tests/lib/tap.sh

# imports_and_reads DIR: the package in DIR imports and reads a file source.
imports_and_reads() {
	printf 'xfm-python-check' >"$tmp/mem.raw"
	truncate -s 8192 "$tmp/mem.raw"
	(cd "$tmp" && PYTHONPATH=$1 $py -c '
import sys, xfm
assert xfm.__file__.startswith(sys.argv[1]), xfm.__file__
with xfm.open(sys.argv[2]) as s:
    assert s.read(0, 16) == b"xfm-python-check"
    assert s.ranges() == [xfm.Range(0, 8192)]
print("imported", xfm.__file__)
' "$1" "$tmp/mem.raw")
}

if ! $py -c 'import mesonpy' 2>/dev/null; then
	echo "1..0 # SKIP python3-mesonpy is not installed"
	exit 77
fi

if $py -m pip install --no-build-isolation --no-index --no-deps \
	--target "$tmp/pip" . >"$tmp/pip.log" 2>&1; then
	ok "pip install --no-build-isolation . (meson-python)"
else
	tail -20 "$tmp/pip.log"
	not_ok "pip install --no-build-isolation ."
fi
if imports_and_reads "$tmp/pip"; then
	ok "the pip-installed package imports and reads"
else
	not_ok "the pip-installed package imports and reads"
fi
ls "$tmp/pip/xfm/__init__.pyi" "$tmp/pip/xfm/py.typed" >/dev/null &&
	ok "type stubs installed (__init__.pyi, py.typed)" ||
	not_ok "type stubs installed (__init__.pyi, py.typed)"

if meson install -C "$build" --no-rebuild --destdir "$tmp/dest" \
	>"$tmp/install.log" 2>&1; then
	ok "meson install"
else
	tail -20 "$tmp/install.log"
	not_ok "meson install"
fi
site=$(dirname "$(find "$tmp/dest" -path '*/xfm/__init__.py' | head -1)")
if [ -n "$site" ] && [ -f "$site/__init__.pyi" ] &&
	imports_and_reads "$(dirname "$site")"; then
	ok "the meson-installed package ($(dirname "${site#"$tmp/dest"}")) imports and reads"
else
	not_ok "the meson-installed package imports and reads"
fi
tap_done
