#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-only
#
# stage-drgn.sh OUT [RELEASE]: Debian's Python and drgn, and the guest
# kernel's debug vmlinux, as a tree that runs from /payload/drgn in the x86
# lab's dom0 (a busybox initramfs without Python):
#   OUT/usr/bin/python3      this host's python3 (prefix = OUT/usr)
#   OUT/usr/lib/python3.11   its standard library (no tests, GUI, wheels)
#   OUT/usr/lib/python3/dist-packages/{drgn,_drgn*.so}
#   OUT/lib                  every shared library these need (LD_LIBRARY_PATH)
#   OUT/bin/drgn             "python3 -m drgn" with that environment
#   OUT/vmlinux              RELEASE's (default: the lab guests' kernel,
#                            as scripts/fetch-vmlinux.sh picks it) debug vmlinux without its relocation
#                            sections (drgn does not need them for a
#                            vmlinux; they are 45% of the file), cached next
#                            to scripts/fetch-vmlinux.sh's copy
# Exit 0 staged, 77 a part cannot be had here (why on stderr), 1 an error.
set -euo pipefail
out=${1:?usage: stage-drgn.sh OUT [RELEASE]}
rel=${2:-}
root=$(cd "$(dirname "$0")/../../.." && pwd)

py=$(readlink -f /usr/bin/python3)
ver=$(basename "$py")            # python3.11
drgn_so=$(ls /usr/lib/python3/dist-packages/_drgn.cpython-*.so 2>/dev/null | head -n 1)
if [ ! -x "$py" ] || [ -z "$drgn_so" ]; then
	echo "stage-drgn: python3 and python3-drgn are needed (scripts/deps.sh)" >&2
	exit 77
fi

vm=$("$root/scripts/fetch-vmlinux.sh" ${rel:+"$rel"}) || exit 77
small=${vm%/*}/vmlinux-drgn
if [ ! -s "$small" ] || [ "$small" -ot "$vm" ]; then
	tmp=$(mktemp "$small.XXXXXX")
	objcopy --remove-section='.rela.*' "$vm" "$tmp"
	mv "$tmp" "$small"
fi

rm -rf "$out"
mkdir -p "$out/usr/bin" "$out/usr/lib/python3/dist-packages" "$out/lib" "$out/bin"
cp "$py" "$out/usr/bin/python3"
(cd /usr/lib && tar -cf - --exclude="$ver/test" --exclude="$ver/idlelib" \
	--exclude="$ver/tkinter" --exclude="$ver/turtledemo" \
	--exclude="$ver/ensurepip" --exclude="$ver/lib2to3" \
	--exclude="$ver/config-*" --exclude="$ver/pydoc_data" "$ver") |
	tar -xf - -C "$out/usr/lib"
cp -r /usr/lib/python3/dist-packages/drgn "$drgn_so" \
	"$out/usr/lib/python3/dist-packages/"
ln "$small" "$out/vmlinux" 2>/dev/null || cp "$small" "$out/vmlinux"

# The shared libraries of the interpreter and its extension modules.
for elf in "$py" "$drgn_so" /usr/lib/"$ver"/lib-dynload/*.so; do
	ldd "$elf" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 }'
done | sort -u | while read -r lib; do
	cp -L "$lib" "$out/lib/"
done
printf '#!/bin/sh\nd=$(dirname "$0")/..\nLD_LIBRARY_PATH=$d/lib exec "$d/usr/bin/python3" -m drgn "$@"\n' \
	>"$out/bin/drgn"
chmod 755 "$out/bin/drgn"
echo "stage-drgn: $(du -sh "$out" | cut -f1) in $out (vmlinux $(du -h "$small" | cut -f1))"
