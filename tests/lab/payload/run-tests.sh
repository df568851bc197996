#!/bin/sh
# Runs in the lab's dom0 (busybox sh) from /payload, on x86_64 and arm64:
# smoke checks of the lab itself, then each program listed in
# /payload/programs ("NAME [ARGS...]" per line, in order; the programs are
# in /payload/bin), each under a time limit.  Every program prints TAP;
# its lines are renumbered into this run's ("ok N - NAME: ..."), "#" lines
# pass through, and one more line says how the program exited (0 ok, 77
# skipped with its reason, else not ok).  Ends with "1..N".
# Environment from the host: XFM_LAB_PAGE (4k or 16k: the dom0 kernel's
# page), XFM_LAB_PROGRAM_TIMEOUT (seconds per program, default 900).
export PATH=/payload/bin:$PATH
work=/tmp/run-tests
mkdir -p "$work"
# ok, not_ok, skip, check, tap_done: tests/lib/tap.sh, in the payload's lib/.
. /payload/lib/tap.sh

nonzero_hex() { [ -n "$1" ] && [ $(($1)) -gt 0 ]; }

# Sum of the page counts in "0xPFN+N,0xPFN+N,..."
run_pages() {
    echo "$1" | tr ',' '\n' | sed -n 's/.*+//p' | awk '{ s += $1 } END { print s + 0 }'
}

guest_checks() {
    g=$1
    p=XFM_GUEST_$(echo "$g" | tr '[:lower:]' '[:upper:]')
    domid='' pfn='' runs='' pages='' mfile='' pattern=''
    eval "domid=\${${p}_DOMID:-} pfn=\${${p}_MARKER_PFN:-} runs=\${${p}_REGION_PFNS:-}"
    eval "pages=\${${p}_REGION_PAGES:-} mfile=\${${p}_MARKER_FILE:-} pattern=\${${p}_MARKER_PATTERN:-}"
    check "xl list shows xfm-$g" sh -c "xl list | grep -q '^xfm-$g '"
    check "xfm-$g domid from xl matches the exported one ($domid)" \
        test "$(xl domid "xfm-$g" 2>/dev/null)" = "$domid"
    check "xfm-$g marker pfn is non-zero ($pfn)" nonzero_hex "$pfn"
    check "xfm-$g region runs cover $pages pages" test "$(run_pages "$runs")" = "${pages:-x}"
    check "xfm-$g reference page is 4096 bytes" test "$(wc -c < "$mfile")" = 4096
    check "xfm-$g pattern matches the reference page" \
        test "$(head -c 32 "$mfile" | od -An -v -tx1 | tr -d ' \n')" = "$pattern"
}

smoke() {
    check "/dev/xen/privcmd exists" test -c /dev/xen/privcmd
    check "hypervisor page size is 0x1000" test "$(cat /sys/hypervisor/properties/pagesize)" = 1000
    check "/run/xfm-guests lists the guests" grep -q "^XFM_GUESTS=" /run/xfm-guests
    check "Debian's libxenforeignmemory.so.1 is present" \
        sh -c 'ls /usr/lib/*-linux-gnu/libxenforeignmemory.so.1'
    for g in $XFM_GUESTS; do guest_checks "$g"; done
    # The host checks that this file arrives intact.
    check "lab-export sends a file" lab-export /run/xfm-guests
}

# renumber NAME < TAP: the program's lines as this run's, printed as they
# come (a slow program shows its progress); the counts go through files.
renumber() {
    TAP_N=$(cat "$work/n") TAP_FAILED=$(cat "$work/failed")
    while IFS= read -r line; do
        case $line in
            "not ok "*) not_ok "$1: ${line#* - }" ;;
            "ok "*) ok "$1: ${line#* - }" ;;
            "1..0 # SKIP"*) echo "# $1: skipped:${line#1..0 # SKIP}"
                echo "${line#1..0 # SKIP}" > "$work/why" ;;
            "XFM-RC "*) echo "${line#XFM-RC }" > "$work/rc" ;;
            "#"*) echo "$line" ;;
            "1.."*) ;;
            *) echo "# $line" ;;
        esac
    done
    echo "$TAP_N" > "$work/n"
    echo "$TAP_FAILED" > "$work/failed"
}

run_programs() {
    [ -f /payload/programs ] || return 0
    while read -r name args; do
        case $name in "" | "#"*) continue ;; esac
        # "--only-page P ARGS": registered for one dom0 kernel page only.
        case $args in
            "--only-page "*)
                set -- $args
                [ "$2" = "${XFM_LAB_PAGE:-4k}" ] || continue
                shift 2
                args=$* ;;
        esac
        echo "# running $name $args"
        t0=$(cut -d' ' -f1 /proc/uptime)
        echo "$TAP_N" > "$work/n"
        echo "$TAP_FAILED" > "$work/failed"
        : > "$work/why"
        echo "?" > "$work/rc"
        # shellcheck disable=SC2086 # ARGS are words
        { timeout "${XFM_LAB_PROGRAM_TIMEOUT:-900}" "/payload/bin/$name" $args \
            < /dev/null 2>&1; echo "XFM-RC $?"; } | renumber "$name"
        TAP_N=$(cat "$work/n") TAP_FAILED=$(cat "$work/failed") rc=$(cat "$work/rc")
        secs=$(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.0f", b - a }')
        case $rc in
            0) ok "$name exited 0 ($secs s)" ;;
            77) skip "$name" "$(sed 's/^ *//' "$work/why")" ;;
            *) not_ok "$name exited $rc ($secs s; 124 = timeout)" ;;
        esac
    done < /payload/programs
}

smoke
run_programs
tap_done
