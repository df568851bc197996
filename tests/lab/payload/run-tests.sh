#!/bin/sh
# Runs in the lab's dom0 (busybox sh) from /payload: smoke checks of the lab
# itself, then every test program in /payload/tests. Prints TAP-style lines
# and "N passed, N failed"; exits 1 when anything failed.
n=0 passed=0 failed=0 skipped=0

ok() { n=$((n + 1)); passed=$((passed + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() {
    desc=$1
    shift
    if "$@" > /dev/null 2>&1; then ok "$desc"; else not_ok "$desc"; fi
}

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
        test -e /usr/lib/x86_64-linux-gnu/libxenforeignmemory.so.1
    for g in $XFM_GUESTS; do guest_checks "$g"; done
    # The host checks that this file arrives intact.
    check "lab-export sends a file" lab-export /run/xfm-guests
}

run_programs() {
    [ -d /payload/tests ] || return 0
    for t in /payload/tests/*; do
        { [ -f "$t" ] && [ -x "$t" ]; } || continue
        name=${t##*/}
        echo "# running $name"
        "$t"
        rc=$?
        case $rc in
            0) ok "$name" ;;
            77) n=$((n + 1)); skipped=$((skipped + 1)); echo "ok $n - $name # SKIP" ;;
            *) not_ok "$name (exit $rc)" ;;
        esac
    done
}

smoke
run_programs
echo "1..$n"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
