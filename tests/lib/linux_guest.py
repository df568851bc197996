# SPDX-License-Identifier: LGPL-2.1-only
"""A live Linux guest under plain QEMU (TCG) on the host, for the mount and
drgn proofs: Debian's kernel (the lab's), a busybox initramfs whose /init
starts a marker process (comm "xfm-marker") and a shell on the serial port;
RAM is a shared file, so "qemu:<qmp socket>" reads it live.

    g = LinuxGuest(workdir); g.start()       # waits for XFM-GUEST-READY
    g.run("sh -c 'echo -n xfm-late > /proc/self/comm; sleep 1d' &")
    g.uri                                    # qemu:<workdir>/qmp.sock
    g.stop()
"""
import glob
import os
import shutil
import socket
import subprocess
import time

INIT = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
sh -c 'echo -n xfm-marker > /proc/self/comm; while :; do sleep 3600; done' &
echo "XFM-GUEST-READY marker=$!"
exec sh </dev/ttyS0 >/dev/ttyS0 2>&1
"""


def kernel_release(path):
    """6.1.0-57-amd64 from /boot/vmlinuz-6.1.0-57-amd64."""
    return os.path.basename(path)[len("vmlinuz-"):]


def find_kernel():
    """The lab's guest kernel: the newest /boot/vmlinuz-*-amd64."""
    k = sorted(glob.glob("/boot/vmlinuz-*-amd64"))
    return k[-1] if k else None


def missing():
    """Why a guest cannot run here, or None."""
    for tool in ("qemu-system-x86_64", "busybox", "cpio", "timeout"):
        if not shutil.which(tool):
            return f"{tool} not installed"
    if not find_kernel():
        return "no /boot/vmlinuz-*-amd64 (linux-image-amd64)"
    return None


class LinuxGuest:
    def __init__(self, workdir, mem_mb=256, kaslr=True):
        self.dir = os.path.abspath(workdir)
        self.mem_mb = mem_mb
        self.kaslr = kaslr
        self.kernel = find_kernel()
        self.release = kernel_release(self.kernel)
        self.qmp = os.path.join(self.dir, "qmp.sock")
        self.serial_path = os.path.join(self.dir, "serial.sock")
        self.ram = os.path.join(self.dir, "ram")
        self.uri = "qemu:" + self.qmp
        self.proc = None
        self.serial = None
        self.out = b""

    def initramfs(self):
        root = os.path.join(self.dir, "initramfs")
        for d in ("bin", "proc", "sys", "dev"):
            os.makedirs(os.path.join(root, d), exist_ok=True)
        shutil.copy(shutil.which("busybox"), os.path.join(root, "bin"))
        with open(os.path.join(root, "init"), "w") as f:
            f.write(INIT)
        os.chmod(os.path.join(root, "init"), 0o755)
        img = os.path.join(self.dir, "initramfs.cpio")
        subprocess.run(f"cd '{root}' && find . | cpio -o -H newc "
                       f"--quiet > '{img}'", shell=True, check=True)
        return img

    def start(self, timeout=300):
        os.makedirs(self.dir, exist_ok=True)
        img = self.initramfs()
        append = "console=ttyS0 panic=-1 quiet" + ("" if self.kaslr
                                                   else " nokaslr")
        self.log = open(os.path.join(self.dir, "qemu.log"), "wb")
        self.proc = subprocess.Popen(
            ["timeout", "3600", "qemu-system-x86_64", "-accel", "tcg",
             "-machine", "pc,memory-backend=ram0", "-m", f"{self.mem_mb}M",
             "-object", f"memory-backend-file,id=ram0,size={self.mem_mb}M,"
                        f"mem-path={self.ram},share=on",
             "-cpu", "max", "-smp", "1",
             "-display", "none", "-monitor", "none", "-nodefaults",
             "-no-reboot",
             "-chardev", f"socket,id=s0,path={self.serial_path},"
                         "server=on,wait=on",
             "-serial", "chardev:s0",
             "-qmp", f"unix:{self.qmp},server=on,wait=off",
             "-kernel", self.kernel, "-initrd", img, "-append", append],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        # wait=on: QEMU starts the guest once the serial is connected.
        for _ in range(200):
            if os.path.exists(self.serial_path):
                try:
                    s = socket.socket(socket.AF_UNIX)
                    s.connect(self.serial_path)
                    self.serial = s
                    break
                except OSError:
                    s.close()
            if self.proc.poll() is not None:
                raise RuntimeError("qemu exited: " + self.logtail())
            time.sleep(0.05)
        self.expect(b"XFM-GUEST-READY", timeout)
        time.sleep(0.5)

    def logtail(self):
        self.log.flush()
        with open(os.path.join(self.dir, "qemu.log"), "rb") as f:
            return f.read()[-500:].decode(errors="replace")

    def expect(self, what, timeout=60):
        self.serial.settimeout(1)
        end = time.monotonic() + timeout
        while what not in self.out:
            if time.monotonic() > end:
                raise TimeoutError(f"guest: no {what!r} in {timeout}s; "
                                   f"console: {self.out[-400:]!r}")
            if self.proc.poll() is not None:
                raise RuntimeError("qemu exited: " + self.logtail())
            try:
                b = self.serial.recv(65536)
            except socket.timeout:
                continue
            if not b:
                raise RuntimeError("guest serial closed")
            self.out += b
        i = self.out.index(what) + len(what)
        seen, self.out = self.out[:i], self.out[i:]
        return seen

    def run(self, cmd, timeout=60):
        """Run a shell command in the guest, wait for it; its output."""
        tag = f"XFM-DONE-{time.monotonic_ns()}"
        self.serial.sendall(f"{cmd}\necho {tag[:9]}''{tag[9:]}\n".encode())
        out = self.expect(tag.encode(), timeout)
        return out.decode(errors="replace")

    def stop(self):
        if self.serial:
            self.serial.close()
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait()
        for p in (self.ram,):
            if os.path.exists(p):
                os.unlink(p)
