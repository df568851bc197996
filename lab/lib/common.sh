# shellcheck shell=bash
# xfm lab: architecture-independent functions, sourced by lab.sh.
#
# The arch file (lib/<arch>.sh) must define, before these run:
#   ARCH_PACKAGES      Debian packages the lab needs on the host
#   ARCH_LIB_DIRS      library search path (array), staged at the same paths
#   ARCH_EXTRA_LIBS    libraries loaded at run time without a NEEDED entry
#   ARCH_MODULES       dom0 kernel modules (loaded in this order)
#   ARCH_EXPORT_MODULES (optional) modules for the export disk, loaded when present
#   ARCH_BUSYBOX       a static busybox for the target
#   ARCH_XEN_BIN_DIR   Debian's Xen tool directory (/usr/lib/xen-<ver>/bin)
#   LAB_SYSROOT        prefix of the target's files on the host ("" = native)
# and functions arch_kernel_version, arch_kernel_image, arch_guest_kernel, arch_build_xen,
# arch_build_marker, arch_guest_cfg_extra, arch_qemu_command, and optionally
# arch_export_disk_args IMG (QEMU arguments attaching IMG as dom0's export disk).

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

lab_log() { printf 'lab: %s\n' "$*" >&2; }
lab_die() {
    lab_log "error: $*"
    exit "${LAB_RC_HOST:-122}"
}

# ---------------------------------------------------------------- packages

lab_missing_packages() {
    local p
    for p in "$@"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' ||
            printf '%s\n' "$p"
    done
}

# Installs only what is missing, so a prepared machine never touches apt.
lab_ensure_packages() {
    local missing
    missing=$(lab_missing_packages "$@")
    [ -z "$missing" ] && return 0
    lab_log "installing: $(echo "$missing" | tr '\n' ' ')"
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086 # one word per package
    timeout 900 apt-get update -qq &&
        timeout 1800 apt-get install -y -qq --no-install-recommends $missing > /dev/null ||
        return 1
}

# ---------------------------------------------------------------- ELF staging

# Process starts are slow on these machines (~10 ms): one readelf per file.
lab_is_elf() {
    local magic=
    LC_ALL=C read -r -N 4 magic < "$1" 2> /dev/null || true
    [ "$magic" = $'\x7fELF' ]
}

# Sets ELF_NEEDED (array), ELF_RUNPATH (array) and ELF_INTERP for FILE.
lab_elf_info() {
    local line re_needed='\(NEEDED\).*\[(.*)\]$' re_path='\(R(UN)?PATH\).*\[(.*)\]$'
    local re_interp='Requesting program interpreter: (.*)\]$'
    ELF_NEEDED=() ELF_RUNPATH=() ELF_INTERP=
    while IFS= read -r line; do
        if [[ $line =~ $re_needed ]]; then
            ELF_NEEDED+=("${BASH_REMATCH[1]}")
        elif [[ $line =~ $re_path ]]; then
            IFS=: read -r -a ELF_RUNPATH <<< "${BASH_REMATCH[2]}"
        elif [[ $line =~ $re_interp ]]; then
            ELF_INTERP=${BASH_REMATCH[1]}
        fi
    done < <(readelf -W -l -d "$1" 2> /dev/null)
}

# Sets FOUND_LIB to library NAME for ELF file FROM (after lab_elf_info
# FROM): its RUNPATH first ($ORIGIN expanded), then ARCH_LIB_DIRS (host
# paths, under LAB_SYSROOT when cross). Sets variables instead of printing:
# a command substitution costs a fork.
lab_find_lib() {
    local name=$1 dir origin=${2%/*}
    FOUND_LIB=
    for dir in "${ELF_RUNPATH[@]}" "${ARCH_LIB_DIRS[@]}"; do
        [ -n "$dir" ] || continue
        dir=${dir//\$ORIGIN/$origin}
        dir=${dir//\$\{ORIGIN\}/$origin}
        [ -e "$dir/$name" ] && { FOUND_LIB=$dir/$name; return 0; }
    done
    return 1
}

# Target path of host file SRC: LAB_SYSROOT removed, merged /usr applied
# (the skeleton's /lib, /bin, ... are symlinks into /usr), so each file has
# one name in the image and in the list of staged files.
lab_canon() {
    CANON=${1#"$LAB_SYSROOT"}
    case $CANON in
        /lib/* | /lib64/* | /bin/* | /sbin/*) CANON=/usr$CANON ;;
    esac
}

# Copies host file SRC to the same path (minus LAB_SYSROOT) under ROOT,
# dereferencing symlinks: the copy carries the name it was asked for.
lab_stage_file() {
    local src=$1 root=$2 dst
    lab_canon "$src"
    dst=$root$CANON
    mkdir -p "${dst%/*}"
    cp -L --preserve=mode "$src" "$dst"
}

# Stages every file given plus, for ELF files, recursively their interpreter
# and the libraries their NEEDED entries name. Never uses ldd: works for
# foreign arches. SKIP_LIST (optional file of staged paths) = already there.
lab_stage_elf_deps() {
    local root=$1 skip_list=$2 f lib path key
    shift 2
    local -a queue=("$@")
    declare -A seen=()
    if [ -n "$skip_list" ]; then
        while IFS= read -r path; do seen[$path]=1; done < "$skip_list"
    fi
    while [ "${#queue[@]}" -gt 0 ]; do
        f=${queue[0]}
        queue=("${queue[@]:1}")
        lab_canon "$f"
        key=$CANON
        [ -z "${seen[$key]:-}" ] || continue
        seen[$key]=1
        lab_stage_file "$f" "$root"
        lab_is_elf "$f" || continue
        lab_elf_info "$f"
        [ -n "$ELF_INTERP" ] && queue+=("$LAB_SYSROOT$ELF_INTERP")
        for lib in "${ELF_NEEDED[@]}"; do
            lab_find_lib "$lib" "$f" || lab_die "library $lib (needed by $f) not found"
            queue+=("$FOUND_LIB")
        done
    done
}

# Sets FOUND_LIB to library NAME's path in ARCH_LIB_DIRS.
lab_lib_path() {
    local dir
    for dir in "${ARCH_LIB_DIRS[@]}"; do
        [ -e "$dir/$1" ] && { FOUND_LIB=$dir/$1; return 0; }
    done
    lab_die "library $1 not found in ${ARCH_LIB_DIRS[*]}"
}

# ---------------------------------------------------------------- modules

lab_stage_modules() {
    local root=$1 kver=$2 m line f
    shift 2
    local moddir=$LAB_SYSROOT/lib/modules/$kver
    for m in "$@"; do
        while read -r line; do
            case $line in
                insmod\ *)
                    f=${line#insmod }
                    f=${f%% *}
                    lab_stage_file "$f" "$root"
                    ;;
            esac
        done < <(modprobe -d "${LAB_SYSROOT:-/}" -S "$kver" --show-depends "$m" 2>/dev/null ||
            lab_die "module $m not found for $kver")
    done
    for f in modules.order modules.builtin modules.builtin.modinfo; do
        [ -e "$moddir/$f" ] && lab_stage_file "$moddir/$f" "$root"
    done
    depmod -b "$root" "$kver"
}

# ---------------------------------------------------------------- archives

# newc cpio of DIR's contents, owned by root, gzip -1 (speed over size).
lab_cpio_gz() {
    local dir=$1 out=$2
    (cd "$dir" && find . -mindepth 1 | LC_ALL=C sort |
        cpio -o -H newc -R 0:0 --quiet) | gzip -1 > "$out"
}

# Minimal skeleton: merged /usr like Debian, busybox as /bin/sh.
lab_skeleton() {
    local root=$1 d
    mkdir -p "$root"/{usr/bin,usr/sbin,usr/lib,usr/lib64,etc,proc,sys,dev,run,tmp,var,root}
    for d in bin sbin lib lib64; do ln -sfn "usr/$d" "$root/$d"; done
    cp "$ARCH_BUSYBOX" "$root/usr/bin/busybox"
    ln -sfn busybox "$root/usr/bin/sh"
    # The kernel opens /dev/console for init before devtmpfs is mounted.
    mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true
    printf 'root:x:0:0:root:/root:/bin/sh\n' > "$root/etc/passwd"
    printf 'root:x:0:\n' > "$root/etc/group"
}

lab_build_guest_initrd() {
    local stage=$1 marker=$2 out=$3
    rm -rf "$stage"
    lab_skeleton "$stage"
    install -m 755 "$LAB_DIR/guest/init" "$stage/init"
    install -m 755 "$marker" "$stage/marker"
    lab_cpio_gz "$stage" "$out"
}

# The dom0 image without the payload: tools, libraries, modules, guest
# initrd (the guest kernel comes in its own archive, see lab_build_base).
lab_build_dom0_initramfs() {
    local stage=$1 kver=$2 guest_initrd=$3 marker=$4 out=$5 f g lib
    rm -rf "$stage"
    lab_skeleton "$stage"
    install -m 755 "$LAB_DIR/dom0/init" "$stage/init"
    install -D -m 755 "$LAB_DIR/dom0/lab-export" "$stage/usr/local/bin/lab-export"
    install -D -m 755 "$marker" "$stage/usr/local/bin/xfm-lab-marker"
    install -D -m 644 "$guest_initrd" "$stage/lab/guest/initrd.gz"

    # The whole tool directory (tests may use readnotes, test-resource, ...),
    # xenstore-* (hard links of one multi-call binary; the symlinks among
    # them point to Debian's wrapper, which we do not ship), every Xen stable
    # library (tests compare our drop-in with Debian's) and libraries loaded
    # by dlopen (libgcc_s for pthread_cancel).
    local -a files=("$LAB_SYSROOT$ARCH_XEN_BIN_DIR"/*)
    for f in "$LAB_SYSROOT"/usr/bin/xenstore*; do
        [ -L "$f" ] || files+=("$f")
    done
    for lib in "${ARCH_EXTRA_LIBS[@]}"; do
        lab_lib_path "$lib"
        files+=("$FOUND_LIB")
    done
    lab_stage_elf_deps "$stage" "" "${files[@]}"
    ln -sfn "$ARCH_XEN_BIN_DIR/xl" "$stage/usr/sbin/xl"

    lab_stage_modules "$stage" "$kver" "${ARCH_MODULES[@]}" ${ARCH_EXPORT_MODULES[@]+"${ARCH_EXPORT_MODULES[@]}"}
    {
        echo "XFM_LAB_ARCH=$LAB_ARCH"
        echo "XFM_LAB_MODULES=\"${ARCH_MODULES[*]}\""
        echo "XFM_LAB_EXPORT_MODULES=\"${ARCH_EXPORT_MODULES[*]:-}\""
        echo "XFM_LAB_XEN_BIN=$ARCH_XEN_BIN_DIR"
    } > "$stage/etc/xfm-lab.conf"
    mkdir -p "$stage/etc/xfm-lab" "$stage/etc/xen"
    : > "$stage/etc/xen/xl.conf"
    for g in $LAB_GUEST_TYPES; do
        arch_guest_cfg_extra "$g" > "$stage/etc/xfm-lab/guest-$g.cfg"
    done
    lab_cpio_gz "$stage" "$out"
    (cd "$stage" && find . -mindepth 1 | sed 's|^\.||') > "$out.list"
}

# Uncompressed archive holding only the guest kernel: it is already big
# and hardly compressible; an uncompressed cpio costs dom0 just a copy.
lab_build_guest_kernel_cpio() {
    local stage=$1 kernel=$2 out=$3
    rm -rf "$stage"
    mkdir -p "$stage/lab/guest"
    cp "$kernel" "$stage/lab/guest/vmlinux"
    (cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) > "$out"
    rm -rf "$stage"
}

# Stages the libraries that payload ELF files need and that neither the
# payload itself nor the base image (BASE_LIST) provides.
lab_stage_payload_deps() {
    local extra=$1 base_list=$2 payload=$3 f lib
    shift 3
    local -a libs=()
    for f in "$@"; do
        lab_elf_info "$f"
        for lib in "${ELF_NEEDED[@]}"; do
            [ -z "$(find "$payload" -name "$lib" -print -quit)" ] || continue
            if ! lab_find_lib "$lib" "$f"; then
                lab_log "warning: $lib (needed by ${f#"$payload"/}) not found on the host"
                continue
            fi
            libs+=("$FOUND_LIB")
        done
    done
    [ "${#libs[@]}" -eq 0 ] || lab_stage_elf_deps "$extra" "$base_list" "${libs[@]}"
}

# Payload archive: DIR at /payload, the command and run settings at /lab,
# plus libraries the payload's ELF files need that the base image lacks.
lab_build_payload() {
    local stage=$1 payload=$2 base_list=$3 out=$4 f
    rm -rf "$stage"
    mkdir -p "$stage/payload" "$stage/lab"
    cp -a "$payload/." "$stage/payload/"
    printf '%s\n' "$LAB_RUN_CMD" > "$stage/lab/cmd.sh"
    {
        echo "GUESTS=\"$LAB_GUESTS\""
        echo "TIMEOUT=$LAB_TIMEOUT"
        echo "GUEST_TIMEOUT=$LAB_GUEST_TIMEOUT"
        echo "XEN_PAYLOAD_LOGLVL=$LAB_XEN_LOGLVL"
    } > "$stage/lab/run.conf"
    # Payload ELF files are in the skip list: only their dependencies are
    # added, and only those the base image lacks.
    local -a elves=()
    while IFS= read -r -d '' f; do
        lab_is_elf "$f" && elves+=("$f")
    done < <(find "$stage/payload" -type f -print0)
    if [ "${#elves[@]}" -gt 0 ]; then
        local extra=$stage/.extra
        mkdir -p "$extra"
        lab_stage_payload_deps "$extra" "$base_list" "$stage/payload" "${elves[@]}"
        cp -a "$extra/." "$stage/"
        rm -rf "$extra"
    fi
    lab_cpio_gz "$stage" "$out"
}

# Appends FILE to IMAGE, then zeros up to a 512-byte boundary: the kernel
# skips zeros between concatenated archives, but an uncompressed archive (or
# the magic of a compressed one) must start 4-byte aligned.
lab_append_archive() {
    local image=$1 file=$2 size
    cat "$file" >> "$image"
    size=$(stat -c %s "$image")
    if ((size % 512)); then
        head -c $((512 - size % 512)) /dev/zero >> "$image"
    fi
}

# ---------------------------------------------------------------- console

# awk program shared by the live pass-through and the final parse. It
# removes CRs and repairs lines that Xen split by printing "(XEN) ..." in
# the middle of a dom0 line (the dom0 part continues on the next line).
LAB_AWK_NORMALIZE='
function norm(line,    i) {
    gsub(/\r/, "", line)
    i = index(line, "(XEN) ")
    if (i > 1) { pend = pend substr(line, 1, i - 1); return substr(line, i) }
    if (i == 1) return line
    if (pend != "") { line = pend line; pend = "" }
    return line
}'

# Live view: payload output to stdout, lab progress to stderr.
lab_console_passthrough() {
    awk "$LAB_AWK_NORMALIZE"'
    { l = norm($0) }
    l ~ /^XFM-LAB-PAYLOAD-BEGIN/ { inp = 1; next }
    l ~ /^XFM-LAB-PAYLOAD-END/ { inp = 0; next }
    l ~ /^XFM-LAB-EXPORT-BEGIN / { print "lab: exporting " $2 " (" $3 " bytes)" > "/dev/stderr"; next }
    l ~ /^XFM-LAB-EXPORT-DISK / { print "lab: exported " $2 " to the export disk (" $3 " bytes)" > "/dev/stderr"; next }
    l ~ /^XFM-B64 / || l ~ /^XFM-LAB-EXPORT-END/ { next }
    l ~ /^XFM-LAB-(STAGE|FAIL|FACT) / {
        sub(/^XFM-LAB-/, "", l)
        if (length(l) > 150) l = substr(l, 1, 150) "..."
        print "lab: " l > "/dev/stderr"; fflush("/dev/stderr"); next
    }
    inp && l !~ /^\(XEN\) / { print l; fflush() }
    '
}

# Extracts every file exported in console LOG into DIR: base64 lines of the
# console, or a record on the export disk IMG (its console line gives name,
# size, md5 and the record's offset in MiB). Verifies size and md5 (md5 "-":
# the size only, lab-export --no-sum). Returns
# 1 when any export is damaged.
lab_extract_exports() {
    local log=$1 dir=$2 img=${3:-} name size sum off how rc=0
    mkdir -p "$dir"
    awk "$LAB_AWK_NORMALIZE"'
    { l = norm($0) }
    l ~ /^XFM-LAB-EXPORT-(BEGIN|DISK) / {
        split(l, a, " ")
        name = a[2]
        # Names come from the VM: keep them inside DIR.
        if (name !~ /^[A-Za-z0-9_][A-Za-z0-9._-]*$/) { name = ""; next }
        if (a[1] == "XFM-LAB-EXPORT-DISK") {
            print a[2], a[3], a[4], a[5] > (dir "/.exports")
            name = ""
            next
        }
        printf "" > (dir "/" name ".b64")
        print a[2], a[3], a[4], "-" > (dir "/.exports")
        next
    }
    l ~ /^XFM-LAB-EXPORT-END / { close(dir "/" name ".b64"); name = ""; next }
    name != "" && l ~ /^XFM-B64 / { print substr(l, 9) > (dir "/" name ".b64") }
    ' dir="$dir" "$log"
    [ -f "$dir/.exports" ] || return 0
    while read -r name size sum off; do
        how="export disk, at $off MiB"
        if [ "$off" = - ]; then
            how=serial
            base64 -d "$dir/$name.b64" > "$dir/$name" 2>/dev/null || true
            rm -f "$dir/$name.b64"
        elif [[ $off =~ ^[0-9]+$ && $size =~ ^[0-9]+$ && -f $img ]]; then
            dd if="$img" of="$dir/$name" bs=1M skip="$off" count="$size" \
                iflag=count_bytes status=none 2>/dev/null || true
        else
            rm -f "$dir/$name"
        fi
        # md5 "-": lab-export --no-sum (the size is still checked).
        if [ -f "$dir/$name" ] && [ "$(stat -c %s "$dir/$name")" = "$size" ] &&
            { [ "$sum" = - ] || [ "$(md5sum < "$dir/$name" | cut -d' ' -f1)" = "$sum" ]; }; then
            lab_log "exported $dir/$name ($size bytes, $how)"
        else
            lab_log "error: export $name arrived damaged (expected $size bytes, md5 $sum)"
            rc=1
        fi
    done < "$dir/.exports"
    rm -f "$dir/.exports"
    return "$rc"
}

# Prints the normalized console (for the tail shown on failures).
lab_console_text() { awk "$LAB_AWK_NORMALIZE"'{ l = norm($0); print l }' "$1"; }

# Last value of marker KEY in the console log ("" when absent).
lab_console_marker() {
    lab_console_text "$1" | sed -n "s/^$2 *//p" | tail -n 1
}
