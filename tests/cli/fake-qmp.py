#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-only
#
# A stand-in for QEMU's QMP socket, so that `xfm write` can be tested on a
# writable source without a VM: it reports one shared memory backend
# "ram0" of SIZE bytes, backed by RAMFILE, at guest-physical 0.
#
# Usage: fake-qmp.py SOCKET RAMFILE SIZE   (serves until killed)
import json
import os
import socket
import sys

sock_path, ram_path, size = sys.argv[1], sys.argv[2], int(sys.argv[3])

MTREE = ("FlatView #0\n"
         ' AS "memory", root: system\n'
         " Root memory region: system\n"
         "  0000000000000000-%016x (prio 0, ram): ram0\n" % (size - 1))

REPLIES = {
    "qmp_capabilities": {},
    "query-memdev": [{"id": "ram0", "size": size, "share": True,
                      "merge": False, "dump": True, "prealloc": False,
                      "policy": "default", "host-nodes": []}],
    "human-monitor-command": MTREE,
    "qom-get": ram_path,
}


def serve(conn):
    f = conn.makefile("rw")
    f.write(json.dumps({"QMP": {"version": {"qemu": {
        "major": 8, "minor": 0, "micro": 0}}, "capabilities": []}}) + "\n")
    f.flush()
    for line in f:
        if not line.strip():
            continue
        cmd = json.loads(line).get("execute")
        if cmd in REPLIES:
            reply = {"return": REPLIES[cmd]}
        else:
            reply = {"error": {"class": "CommandNotFound",
                               "desc": "no command " + str(cmd)}}
        f.write(json.dumps(reply) + "\n")
        f.flush()


if os.path.exists(sock_path):
    os.unlink(sock_path)
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(sock_path)
srv.listen(4)
while True:
    c, _ = srv.accept()
    try:
        serve(c)
    except (OSError, ValueError):
        pass
    c.close()
