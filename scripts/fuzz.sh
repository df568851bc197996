#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-only
#
# Build the libFuzzer targets with clang (ASan + UBSan) in build-fuzz/ and
# run each for SECONDS (default 60), one after the other (one core each:
# the machine is shared).  Prints, per target, the executions and the
# findings; a finding's input is saved under tests/fuzz/crashes/<target>/,
# where the normal test suite replays it (tests/fuzz/meson.build).
#
# Usage: scripts/fuzz.sh [--merge] [--seeds] [SECONDS] [TARGET...]
#   --seeds  rewrite the seed files (tests/fuzz/make-seeds.c)
#   --merge  afterwards, minimize the run's corpus into tests/fuzz/corpus/
#            (-merge=1: only inputs that add coverage are kept)
# Targets: elf xen-core lime raw parse.  Exit status 1 when a target found
# something.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
out=$top/build-fuzz
merge=0
seeds=0
secs=60
targets=()
for a in "$@"; do
	case $a in
	--merge) merge=1 ;;
	--seeds) seeds=1 ;;
	[0-9]*) secs=$a ;;
	*) targets+=("$a") ;;
	esac
done
[ ${#targets[@]} -gt 0 ] || targets=(elf xen-core lime raw parse)

if ! command -v clang >/dev/null; then
	apt-get install -y clang >/dev/null
fi

mkdir -p "$out/obj"
san=(-fsanitize=address,undefined -fno-sanitize-recover=undefined)
cflags=(-std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Wno-unused-parameter
	-Iinclude -Isrc/core -Isrc/source -Isrc/format -Isrc/util -Itools/xfm "${san[@]}")

# The library, instrumented for coverage but without libFuzzer's main.
objs=()
for c in src/core/*.c src/format/*.c src/source/*.c src/util/*.c tools/xfm/parse.c; do
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

if [ $seeds = 1 ] || [ ! -d tests/fuzz/corpus/elf ]; then
	clang "${cflags[@]}" tests/fuzz/make-seeds.c tests/sources/craft.c \
		-Itests/sources "${lib[@]}" -lpthread -o "$out/make-seeds"
	"$out/make-seeds" tests/fuzz/corpus
fi

define() {
	case $1 in
	elf) echo FUZZ_ELF ;; xen-core) echo FUZZ_XEN_CORE ;;
	lime) echo FUZZ_LIME ;; raw) echo FUZZ_RAW ;; *) echo FUZZ_PARSE ;;
	esac
}

found=0
declare -A execs finds
for t in "${targets[@]}"; do
	build "$t" "$(define "$t")"
	work=$out/work/$t
	mkdir -p "$work" "tests/fuzz/crashes/$t"
	before=$(ls "tests/fuzz/crashes/$t" | wc -l)
	log=$out/fuzz-$t.log
	echo "== fuzz-$t: ${secs} s"
	# Findings go to crashes/; -close_fd_mask keeps the log readable.
	(cd "$out" && ASAN_OPTIONS=detect_leaks=1 "./fuzz-$t" \
		-max_total_time="$secs" -print_final_stats=1 -timeout=10 \
		-rss_limit_mb=2048 -max_len=65536 -close_fd_mask=2 \
		-artifact_prefix="$top/tests/fuzz/crashes/$t/" \
		"$work" "$top/tests/fuzz/corpus/$t") >"$log" 2>&1 || true
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
		rm -rf "tests/fuzz/corpus/$t"
		cp -r "$new" "tests/fuzz/corpus/$t"
	fi
done

echo "== summary"
for t in "${targets[@]}"; do
	printf '%-9s %12s executions, %s new findings, corpus %s files\n' \
		"$t" "${execs[$t]:-?}" "${finds[$t]}" \
		"$(ls "tests/fuzz/corpus/$t" | wc -l)"
done
exit $found
