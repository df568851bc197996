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
n=0 fail=0

ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); fail=1; echo "not ok $n - $*"; }

# check DIR WHAT: the package in DIR imports and reads a file source.
check() {
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
	notok "pip install --no-build-isolation ."
fi
if check "$tmp/pip"; then
	ok "the pip-installed package imports and reads"
else
	notok "the pip-installed package imports and reads"
fi
ls "$tmp/pip/xfm/__init__.pyi" "$tmp/pip/xfm/py.typed" >/dev/null &&
	ok "type stubs installed (__init__.pyi, py.typed)" ||
	notok "type stubs installed (__init__.pyi, py.typed)"

if meson install -C "$build" --no-rebuild --destdir "$tmp/dest" \
	>"$tmp/install.log" 2>&1; then
	ok "meson install"
else
	tail -20 "$tmp/install.log"
	notok "meson install"
fi
site=$(dirname "$(find "$tmp/dest" -path '*/xfm/__init__.py' | head -1)")
if [ -n "$site" ] && [ -f "$site/__init__.pyi" ] &&
	check "$(dirname "$site")"; then
	ok "the meson-installed package ($(dirname "${site#"$tmp/dest"}")) imports and reads"
else
	notok "the meson-installed package imports and reads"
fi
echo "1..$n"
exit $fail
