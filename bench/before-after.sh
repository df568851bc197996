#!/bin/bash
# bench/before-after.sh - the host rows of two builds of bench-file (the
# library before and after a change), measured in turns on the same
# machine in the same minutes: ROUNDS rounds, each running BEFORE then
# AFTER (the order alternating), REPS repetitions each.  Writes
# OUT-before.json and OUT-after.json (never overwriting) with
# bench/report.py; `report.py --compare OUT-before.json OUT-after.json`
# prints the before/after table.
#
# usage: bench/before-after.sh BEFORE-BENCH-FILE AFTER-BENCH-FILE OUT
#        [ROUNDS (2)] [REPS (3)] [LARGE_MIB (1024)]
# Environment: BENCH_DIR (scratch, default /var/tmp); BENCH_XFM (an xfm
#   binary for the search row, default build-bench/tools/xfm/xfm);
#   BENCH_ONLY (bench-file --only, default rand,threads,search,seqread,dump).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
[ $# -ge 3 ] || { sed -n '2,16p' "${BASH_SOURCE[0]}"; exit 2; }
before=$1 after=$2 out=$3 rounds=${4:-2} reps=${5:-3} large=${6:-1024}
for f in "$out-before.json" "$out-after.json"; do
    if [ -e "$f" ]; then
        echo "bench/before-after.sh: $f exists: never overwritten" >&2
        exit 2
    fi
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/xfm-ba.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
xfm=${BENCH_XFM:-$ROOT/build-bench/tools/xfm/xfm}
only=${BENCH_ONLY:-rand,threads,search,seqread,dump}

for r in $(seq 1 "$rounds"); do
    if [ $((r % 2)) = 1 ]; then order="before after"; else order="after before"; fi
    for which in $order; do
        bin=$before
        [ "$which" = after ] && bin=$after
        echo "bench: round $r/$rounds: $which" >&2
        "$bin" --reps "$reps" --large-mib "$large" --only "$only" \
            --xfm "$xfm" --dir "${BENCH_DIR:-/var/tmp}" \
            > "$WORK/$which-$r.json"
    done
done

machine=$(python3 -c 'import json, sys; print(json.dumps({
    "name": sys.argv[1], "cpu": sys.argv[2], "cores": int(sys.argv[3]),
    "kernel": sys.argv[4], "loadavg": sys.argv[5], "date": sys.argv[6],
    "commit": sys.argv[7]}))' "$(hostname -s)" \
    "$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)" \
    "$(nproc)" "$(uname -r)" "$(cut -d' ' -f1-3 /proc/loadavg)" \
    "$(date -Iseconds)" \
    "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)")

for which in before after; do
    # One document per build: every round's series, concatenated.
    python3 - "$WORK/$which.json" "$WORK/$which"-*.json <<'EOF'
import json, sys
docs = [json.load(open(p)) for p in sys.argv[2:]]
out = {"reps": sum(d["reps"] for d in docs), "measures": {}}
for d in docs:
    for k, m in d["measures"].items():
        o = out["measures"].setdefault(k, {"unit": m["unit"],
                                           "params": m["params"]})
        for s, v in m.items():
            if isinstance(v, list):
                o.setdefault(s, []).extend(v)
json.dump(out, open(sys.argv[1], "w"))
EOF
    python3 "$HERE/report.py" --out "$out-$which.json" --machine \
        "$(python3 -c 'import json,sys; m=json.loads(sys.argv[1]); m["build"]=sys.argv[2]; print(json.dumps(m))' "$machine" "$which")" \
        --file "$WORK/$which.json"
done
