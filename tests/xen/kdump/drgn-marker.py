# SPDX-License-Identifier: LGPL-2.1-only
# Run by drgn (drgn -q -c DUMP -s VMLINUX drgn-marker.py): prints the dumped
# kernel's release and the pids of the tasks named "marker", found by
# walking init_task's task list (tests/xen/kdump/analyse-dumps.sh).
from drgn.helpers.linux.list import list_for_each_entry

prog = globals()["prog"]
release = prog["init_uts_ns"].name.release.string_().decode()
head = prog["init_task"].tasks.address_of_()
pids = sorted(t.pid.value_()
              for t in list_for_each_entry("struct task_struct", head, "tasks")
              if t.comm.string_() == b"marker")
print("release", release)
print("marker-pids", " ".join(str(p) for p in pids))
