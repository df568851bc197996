/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * guest-init.c - the whole user space of the QEMU agreement guests: map
 * a few regions (so the user half of the page tables has 4 KiB pages,
 * holes), say READY on the console, and loop in user space and in
 * system calls, so the vCPU is stopped in this process with its page
 * tables live, in user or kernel mode.
 * Freestanding: raw syscalls, no libc (x86-64 and arm64).
 */
#define REGION ((char *)0x10000000)
#define REGION_LEN (8L << 20)

#if defined(__x86_64__)
#define NR_WRITE 1
#define NR_MMAP 9
#define NR_GETPPID 110
static long sys6(long n, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;

	__asm__ volatile("syscall" : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8),
			   "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}
#elif defined(__aarch64__)
#define NR_WRITE 64
#define NR_MMAP 222
#define NR_GETPPID 173
static long sys6(long n, long a, long b, long c, long d, long e, long f)
{
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	register long x4 __asm__("x4") = e;
	register long x5 __asm__("x5") = f;

	__asm__ volatile("svc 0" : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
			 : "memory");
	return x0;
}
#endif

void _start(void);
void _start(void)
{
	static const char msg[] = "XFM-VM-READY\n";
	volatile unsigned long spin = 0;
	char *p;

	/* PROT_READ|WRITE, MAP_PRIVATE|ANONYMOUS|FIXED */
	p = (char *)sys6(NR_MMAP, (long)REGION, REGION_LEN, 3, 0x32, -1, 0);
	/* every third 4 KiB page touched: mapped pages between holes */
	for (long off = 0; off < REGION_LEN; off += 3 * 4096)
		p[off] = (char)off;
	sys6(NR_WRITE, 1, (long)msg, sizeof(msg) - 1, 0, 0, 0);
	/* user-space work and system calls: a stop lands at either EL */
	for (;;) {
		for (int i = 0; i < 200; i++)
			spin++;
		sys6(NR_GETPPID, 0, 0, 0, 0, 0, 0);
	}
}
