#!/bin/sh
# test-bench-figures.sh - every benchmark figure in the docs is what
# bench/report.py prints from its committed result file (issue 11.3).
# TAP.  1: the documents match; 2: a document with one figure changed
# is caught (the check can fail); 3: a block naming a missing result
# file is caught.
set -u
root=$1
shift
py=${PYTHON:-python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "1..3"

if out=$("$py" "$root/bench/report.py" --check "$@" 2>&1); then
	echo "ok 1 - figures in $* match bench/report.py"
else
	echo "not ok 1 - a document's figures differ from bench/report.py"
	echo "$out" | sed 's/^/# /'
fi

# Control: change the first ratio of the first document's first table.
doc=$1
sed '0,/\*\*[0-9][0-9.]*×\*\*/s/\*\*\([0-9]\)\([0-9.]*\)×\*\*/**9\2×**/' \
	"$doc" > "$tmp/changed.md"
if cmp -s "$doc" "$tmp/changed.md"; then
	echo "not ok 2 - no ratio found to change in $doc"
elif "$py" "$root/bench/report.py" --check "$tmp/changed.md" \
	> "$tmp/out" 2>&1; then
	echo "not ok 2 - a changed figure passed the check"
else
	echo "ok 2 - a changed figure fails the check ($(grep -c 'not ok' "$tmp/out") block)"
fi

printf '<!-- bench-table: bench/results/no-such.json -->\nx\n<!-- /bench-table -->\n' \
	> "$tmp/missing.md"
if "$py" "$root/bench/report.py" --check "$tmp/missing.md" > /dev/null 2>&1; then
	echo "not ok 3 - a block without its result file passed"
else
	echo "ok 3 - a block whose result file is missing fails"
fi
