#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-only
#
# Build the libFuzzer targets with clang (ASan + UBSan) in build-fuzz/ and
# run each for RUNS executions (default 1,000,000), one after the other
# (one core each: the machine is shared).  Prints, per target, the
# executions, time and findings, and appends them with the corpus sizes
# to tests/fuzz/runs.jsonl (one JSON line per run, committed: what was
# fuzzed, how much).  A finding's input is saved under
# tests/fuzz/crashes/<target>/, where the normal suite replays it.
#
# Usage: scripts/fuzz.sh [--merge] [--seeds] [--runs N] [SECONDS] [TARGET...]
#   --runs N  executions per target (libFuzzer -runs); default 1000000
#   SECONDS   a time limit per target instead (then fewer may run)
#   --seeds   rewrite the seed files (tests/fuzz/make-seeds.c)
#   --merge   afterwards, minimise kept corpus + this run's corpus into
#             tests/fuzz/corpus/<target> (libFuzzer -merge=1 keeps the
#             inputs that add coverage, smallest first).  This is the only
#             way the kept corpus changes: no input is added or dropped
#             by hand, so the minimisation can be redone from the same
#             inputs.
# Targets: elf xen-core lime kdump raw parse.  Exit status 1 when a target found
# something.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
out=$top/build-fuzz
merge=0
seeds=0
secs=0
runs=1000000
targets=()
while [ $# -gt 0 ]; do
	case $1 in
	--merge) merge=1 ;;
	--seeds) seeds=1 ;;
	--runs) runs=$2; shift ;;
	[0-9]*) secs=$1; runs=-1 ;;
	*) targets+=("$1") ;;
	esac
	shift
done
[ ${#targets[@]} -gt 0 ] || targets=(elf xen-core lime kdump raw parse)

if ! command -v clang >/dev/null; then
	apt-get install -y clang >/dev/null
fi

mkdir -p "$out/obj"
san=(-fsanitize=address,undefined -fno-sanitize-recover=undefined)
cflags=(-std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Wno-unused-parameter
	-Iinclude -Isrc/core -Isrc/source -Isrc/format -Isrc/util -Isrc/os -Isrc/vm
	-Itools/xfm "${san[@]}")

# The library, instrumented for coverage but without libFuzzer's main.
objs=()
for c in src/core/*.c src/format/*.c src/source/*.c src/util/*.c src/os/*.c \
	src/vm/*.c tools/xfm/parse.c; do
	o=$out/obj/$(echo "${c%.c}" | tr / _).o
	if [ ! -e "$o" ] || [ "$c" -nt "$o" ] || [ "$0" -nt "$o" ]; then
		clang "${cflags[@]}" -fsanitize=fuzzer-no-link -c "$c" -o "$o"
	fi
	objs+=("$o")
done
lib=()
for o in "${objs[@]}"; do
	case $o in *tools_xfm_parse.o) ;; *) lib+=("$o") ;; esac
done

build() { # NAME DEFINE
	local exe=$out/fuzz-$1
	if [ "$1" = parse ]; then
		clang "${cflags[@]}" -fsanitize=fuzzer tests/fuzz/fuzz-parse.c \
			"$out/obj/tools_xfm_parse.o" -lm -o "$exe"
	else
		clang "${cflags[@]}" -fsanitize=fuzzer "-D$2" \
			tests/fuzz/fuzz-file.c "${lib[@]}" -lpthread -o "$exe"
	fi
}

replay_build() { # NAME DEFINE: the suite's replay, on the fuzzing objects
	local exe=$out/replay-$1
	if [ "$1" = parse ]; then
		clang "${cflags[@]}" tests/fuzz/fuzz-parse.c tests/fuzz/replay.c \
			"$out/obj/tools_xfm_parse.o" -lm -o "$exe"
	else
		clang "${cflags[@]}" "-D$2" tests/fuzz/fuzz-file.c \
			tests/fuzz/replay.c "${lib[@]}" -lpthread -o "$exe"
	fi
}

# Seeds go to a target's corpus when it has none yet (a new target), or
# to every corpus with --seeds.
missing_corpus=0
for t in elf xen-core lime kdump raw parse; do
	[ -d "tests/fuzz/corpus/$t" ] || missing_corpus=1
done
if [ $seeds = 1 ] || [ $missing_corpus = 1 ]; then
	clang "${cflags[@]}" tests/fuzz/make-seeds.c tests/sources/craft.c \
		-Itests/sources "${lib[@]}" -lpthread -o "$out/make-seeds"
	rm -rf "$out/seeds"
	"$out/make-seeds" "$out/seeds"
	for d in "$out"/seeds/*/; do
		t=$(basename "$d")
		if [ $seeds = 1 ] || [ ! -d "tests/fuzz/corpus/$t" ]; then
			mkdir -p "tests/fuzz/corpus/$t"
			cp "$d"/* "tests/fuzz/corpus/$t/"
		fi
	done
fi

define() {
	case $1 in
	elf) echo FUZZ_ELF ;; xen-core) echo FUZZ_XEN_CORE ;;
	lime) echo FUZZ_LIME ;; raw) echo FUZZ_RAW ;; kdump) echo FUZZ_KDUMP ;;
	*) echo FUZZ_PARSE ;;
	esac
}

found=0
declare -A execs finds took kept0 kept1
for t in "${targets[@]}"; do
	build "$t" "$(define "$t")"
	work=$out/work/$t
	mkdir -p "$work" "tests/fuzz/crashes/$t"
	before=$(ls "tests/fuzz/crashes/$t" | wc -l)
	log=$out/fuzz-$t.log
	kept0[$t]=$(ls "tests/fuzz/corpus/$t" | wc -l)
	if [ "$runs" -ge 0 ]; then
		echo "== fuzz-$t: $runs executions"
	else
		echo "== fuzz-$t: ${secs} s"
	fi
	t0=$(date +%s.%N)
	# Findings go to crashes/; -close_fd_mask keeps the log readable.
	(cd "$out" && ASAN_OPTIONS=detect_leaks=1 "./fuzz-$t" \
		-runs="$runs" -max_total_time="$secs" -print_final_stats=1 -timeout=10 \
		-rss_limit_mb=2048 -max_len=65536 -close_fd_mask=2 \
		-artifact_prefix="$top/tests/fuzz/crashes/$t/" \
		"$work" "$top/tests/fuzz/corpus/$t") >"$log" 2>&1 || true
	took[$t]=$(awk "BEGIN { print $(date +%s.%N) - $t0 }")
	execs[$t]=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" |
		tail -1)
	finds[$t]=$(( $(ls "tests/fuzz/crashes/$t" | wc -l) - before ))
	[ "${finds[$t]}" = 0 ] || found=1
	grep -E '^(==[0-9]+==ERROR|SUMMARY|artifact_prefix|Test unit written)' \
		"$log" | head -5 || true
	if [ $merge = 1 ]; then
		new=$out/merged/$t
		rm -rf "$new"
		mkdir -p "$new"
		"$out/fuzz-$t" -merge=1 -max_len=65536 "$new" \
			"tests/fuzz/corpus/$t" "$work" >/dev/null 2>&1
		# libFuzzer's merge keeps inputs the target rejects (it returns
		# -1): the suite's replay refuses them, so they go, found by
		# the same replay program (tests/fuzz/replay.c).
		replay_build "$t" "$(define "$t")"
		# (The replay exits 1 when it finds such inputs.)
		{ "$out/replay-$t" "$new" 2>/dev/null || true; } |
			sed -n 's/^# \(.*\): ignored by the target$/\1/p' |
			while read -r f; do rm -f -- "$f"; done
		rm -rf "tests/fuzz/corpus/$t"
		cp -r "$new" "tests/fuzz/corpus/$t"
	fi
	kept1[$t]=$(ls "tests/fuzz/corpus/$t" | wc -l)
	# No empty crash directory: the replay counts one as a failure.
	rmdir --ignore-fail-on-non-empty "tests/fuzz/crashes/$t"
done

# The record: one line per run, every target's figures.
{
	printf '{"date": "%s", "commit": "%s", "clang": "%s", "runs": %s, ' \
		"$(date -u -Iseconds)" \
		"$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
		"$(clang --version | head -n 1)" "$runs"
	printf '"seconds_limit": %s, "merge": %s, "targets": {' "$secs" \
		"$([ $merge = 1 ] && echo true || echo false)"
	sep=''
	for t in "${targets[@]}"; do
		printf '%s"%s": {"executions": %s, "seconds": %.1f, ' "$sep" "$t" \
			"${execs[$t]:-0}" "${took[$t]}"
		printf '"corpus_before": %s, "corpus_after": %s, "work_corpus": %s, ' \
			"${kept0[$t]}" "${kept1[$t]}" "$(ls "$out/work/$t" | wc -l)"
		printf '"new_findings": %s}' "${finds[$t]}"
		sep=', '
	done
	printf '}}\n'
} >> tests/fuzz/runs.jsonl

echo "== summary"
for t in "${targets[@]}"; do
	printf '%-9s %12s executions in %6.0f s, %s new findings, corpus %s -> %s files\n' \
		"$t" "${execs[$t]:-?}" "${took[$t]}" "${finds[$t]}" \
		"${kept0[$t]}" "${kept1[$t]}"
done
echo "recorded in tests/fuzz/runs.jsonl"
exit $found
