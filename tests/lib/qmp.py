# SPDX-License-Identifier: LGPL-2.1-only
"""Commands on a QEMU QMP socket, one at a time (the tests' one QMP client)."""
import json
import socket
import time


class QMP:
    def __init__(self, path, timeout=60):
        """Connect to PATH (retrying until QEMU has made it, TIMEOUT s)."""
        self.s = socket.socket(socket.AF_UNIX)
        end = time.time() + timeout
        while True:
            try:
                self.s.connect(path)
                break
            except OSError:
                if time.time() > end:
                    raise
                time.sleep(0.1)
        self.f = self.s.makefile("rb")
        self.reply()
        self.cmd("qmp_capabilities")

    def reply(self):
        """The next reply, passing over asynchronous events."""
        while True:
            m = json.loads(self.f.readline())
            if "event" not in m:
                return m

    def cmd(self, name, **args):
        self.s.sendall(json.dumps({"execute": name,
                                   "arguments": args}).encode())
        m = self.reply()
        if "error" in m:
            raise RuntimeError(f"QMP {name}: {m['error']}")
        return m["return"]

    def hmp(self, line):
        return self.cmd("human-monitor-command", **{"command-line": line})

    def close(self):
        self.s.close()
