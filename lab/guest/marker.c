/*
 * xfm lab guest marker.
 *
 * Runs as /init's last step inside a lab guest (as root, statically linked).
 * It puts known bytes at a known guest frame so that dom0 tests can check
 * what they read from (or write into) the guest's memory:
 *
 *   - one 4 KiB "marker" page: 16-byte tag ("XFM-MARKER-PVH", NUL padded)
 *     followed by a xorshift64 stream derived from the seed;
 *   - a 4 MiB "region" (1024 pages): page i starts with "XFM-RGN-" and the
 *     little-endian u64 i, followed by 4088 bytes of a second xorshift stream.
 *
 * Both are mlocked and their frame numbers are read from /proc/self/pagemap.
 * Console protocol (one line each, stdout):
 *   XFM-MARKER-REGION pfns=0x1234+512,0x5678+512   (repeated for long lists)
 *   XFM-MARKER-REGION-DONE pages=1024 runs=2
 *   XFM-MARKER-VA va=0x<hex> ctrl=0x<pfn>          (the marker page's virtual
 *                                                   address; its control page)
 *   XFM-MARKER pfn=0x<hex> seed=0x<hex> tag=<tag> pid=<pid>   (printed last = ready)
 *   XFM-MARKER-CHANGED <hex of first 32 bytes>       (each time bytes 0..15 change)
 *   XFM-MARKER-MOVED pfn=0x<hex>                     (the kernel migrated the page)
 *
 * Control page (dom0 writes it): bytes 0..15 "XFM-MARKER-CTRL", u64 at 16
 * = spin request, u64 at 24 = spinning (the marker's answer).  A non-zero
 * request makes the marker busy-loop as the highest SCHED_FIFO task (RT
 * throttling off meanwhile) until dom0 clears it (at most 120 s): with one
 * vCPU, the vCPU's page-table root is then the marker's own, so dom0 can
 * pause the guest and translate the marker's virtual address through the
 * vCPU's registers.  Each spin ends with XFM-MARKER-SPUN.
 * u64 at 32 = processes asked for (dom0 raises it), u64 at 40 = the pid of
 * the last one started: for each request the marker forks a child named
 * "xfm-late" (comm) that sleeps for ever, so that dom0 can see a process
 * appear in a live guest.  Each start prints XFM-MARKER-STARTED pid=<pid>.
 *
 * "marker --emit-page SEED TAG" and "marker --emit-region SEED" write the
 * expected bytes to stdout: dom0 uses them to give tests reference files.
 *
 * "marker --writer" (started by /init in the background) keeps rewriting a
 * 4 KiB data page of 64 records of 64 bytes, on request from dom0:
 *   control page: bytes 0..15 "XFM-WRITER-CTRL", u64 at 16 = passes asked
 *   for (dom0 writes it), u64 at 24 = passes done (the writer's count);
 *   pass n (seq = n, from 1) stores, record by record, word by word, the
 *   u64 (seq << 32) | word_hash(seq, record, word), each word one aligned
 *   8-byte store.  A word is self-checking; a record whose eight words do
 *   not share one seq was read while being rewritten (torn).
 *   XFM-WRITER ctrl=0x<pfn> data=0x<pfn> pid=<pid>   (console, once)
 * The pids let dom0's dump tests find these processes (comm "marker") in a
 * dump of the guest with crash and drgn.
 * Idle, it looks at the control page every 10 ms (no busy CPU).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096u
#define TAG_LEN 16u
#define REGION_PAGES 1024u
#define HUGE_ALIGN (2u * 1024u * 1024u)
#define RUNS_PER_LINE 32u
/* The region stream must differ from the marker stream for the same seed. */
#define REGION_SEED_XOR 0x58464d524547494eull

static uint64_t xorshift64(uint64_t *state)
{
    uint64_t x = *state;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return x;
}

/* A zero state would make xorshift emit zeros forever. */
static uint64_t nonzero_seed(uint64_t seed)
{
    return seed ? seed : 0x9e3779b97f4a7c15ull;
}

static void put_le64(unsigned char *p, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void fill_stream(unsigned char *p, size_t len, uint64_t *state)
{
    for (size_t off = 0; off < len; off += 8)
        put_le64(p + off, xorshift64(state));
}

static void fill_marker(unsigned char *page, uint64_t seed, const char *tag)
{
    uint64_t state = nonzero_seed(seed);

    fill_stream(page, PAGE, &state);
    memset(page, 0, TAG_LEN);
    memcpy(page, tag, strnlen(tag, TAG_LEN));
}

/* One continuous stream over the whole region; each page gets a header. */
static void fill_region(unsigned char *region, uint64_t seed)
{
    uint64_t state = nonzero_seed(seed ^ REGION_SEED_XOR);

    fill_stream(region, (size_t)REGION_PAGES * PAGE, &state);
    for (uint64_t i = 0; i < REGION_PAGES; i++) {
        memcpy(region + i * PAGE, "XFM-RGN-", 8);
        put_le64(region + i * PAGE + 8, i);
    }
}

static int write_all(int fd, const void *buf, size_t len)
{
    const unsigned char *p = buf;

    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Returns the PFN of the page holding vaddr, 0 when not present/visible. */
static uint64_t pfn_of(int pagemap, const void *vaddr)
{
    uint64_t entry;
    off_t off = (off_t)((uintptr_t)vaddr / PAGE) * 8;

    if (pread(pagemap, &entry, sizeof(entry), off) != (ssize_t)sizeof(entry))
        return 0;
    if (!(entry >> 63))
        return 0;
    return entry & ((1ull << 55) - 1);
}

static void *map_aligned(size_t len, size_t align)
{
    unsigned char *raw = mmap(NULL, len + align, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    uintptr_t start = ((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1);
    return (void *)start;
}

/* Prints the region's frames as runs of consecutive PFNs. */
static int print_region_runs(int pagemap, const unsigned char *region)
{
    uint64_t run_start = 0, run_len = 0, runs = 0, on_line = 0;

    for (unsigned i = 0; i <= REGION_PAGES; i++) {
        uint64_t pfn = i < REGION_PAGES ? pfn_of(pagemap, region + (size_t)i * PAGE) : 0;
        if (i < REGION_PAGES && pfn == 0) {
            printf("XFM-MARKER-ERROR region page %u has no visible pfn\n", i);
            return -1;
        }
        if (run_len && i < REGION_PAGES && pfn == run_start + run_len) {
            run_len++;
            continue;
        }
        if (run_len) {
            printf("%s0x%" PRIx64 "+%" PRIu64, on_line ? "," : "XFM-MARKER-REGION pfns=",
                   run_start, run_len);
            runs++;
            if (++on_line == RUNS_PER_LINE) {
                printf("\n");
                on_line = 0;
            }
        }
        run_start = pfn;
        run_len = 1;
    }
    if (on_line)
        printf("\n");
    printf("XFM-MARKER-REGION-DONE pages=%u runs=%" PRIu64 "\n", REGION_PAGES, runs);
    return 0;
}

static void hex_line(const char *prefix, const unsigned char *p, size_t len)
{
    printf("%s", prefix);
    for (size_t i = 0; i < len; i++)
        printf("%02x", p[i]);
    printf("\n");
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
}

#define RT_RUNTIME "/proc/sys/kernel/sched_rt_runtime_us"
#define SPIN_LIMIT_S 120

/* Writes @val to @path (a /proc/sys knob); old value into @old. */
static void set_knob(const char *path, const char *val, char *old, size_t len)
{
    FILE *f = fopen(path, "r+");

    if (!f)
        return;
    if (old && (!fgets(old, (int)len, f) || fseek(f, 0, SEEK_SET)))
        old[0] = 0;
    fputs(val, f);
    fclose(f);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Busy-loop on this vCPU until dom0 clears ctrl[2] (see the top). */
static void spin(volatile uint64_t *ctrl)
{
    struct sched_param rt = { .sched_priority = sched_get_priority_max(SCHED_FIFO) };
    struct sched_param normal = { .sched_priority = 0 };
    char old[32] = "";
    double until = now_s() + SPIN_LIMIT_S;
    unsigned long n = 0;

    set_knob(RT_RUNTIME, "-1", old, sizeof(old));
    if (sched_setscheduler(0, SCHED_FIFO, &rt))
        printf("XFM-MARKER-WARNING sched_setscheduler: %s\n", strerror(errno));
    ctrl[3] = 1;
    while (ctrl[2] && (++n % (1u << 20) || now_s() < until))
        ;
    ctrl[3] = 0;
    sched_setscheduler(0, SCHED_OTHER, &normal);
    if (old[0])
        set_knob(RT_RUNTIME, old, NULL, 0);
    printf("XFM-MARKER-SPUN %s\n", ctrl[2] ? "timeout" : "released");
    ctrl[2] = 0;
}

/* Starts the processes dom0 asked for in ctrl[4] (see the top). */
static void start_late(volatile uint64_t *ctrl)
{
    static uint64_t started;

    while (started < ctrl[4]) {
        pid_t pid = fork();

        if (pid < 0) {
            printf("XFM-MARKER-WARNING fork: %s\n", strerror(errno));
            return;
        }
        if (pid == 0) {
            prctl(PR_SET_NAME, "xfm-late", 0, 0, 0);
            for (;;)
                pause();
        }
        started++;
        ctrl[5] = (uint64_t)pid;
        printf("XFM-MARKER-STARTED pid=%d\n", (int)pid);
    }
}

/* Never returns: reports changes of the tag bytes that dom0 makes, spins
 * and starts processes when asked to. */
static void watch(int pagemap, volatile unsigned char *page, uint64_t pfn,
                  volatile uint64_t *ctrl)
{
    unsigned char seen[TAG_LEN], now[2 * TAG_LEN];

    memcpy(seen, (const void *)page, TAG_LEN);
    for (;;) {
        sleep_ms(200);
        if (ctrl[2])
            spin(ctrl);
        start_late(ctrl);
        memcpy(now, (const void *)page, sizeof(now));
        if (memcmp(now, seen, TAG_LEN)) {
            memcpy(seen, now, TAG_LEN);
            hex_line("XFM-MARKER-CHANGED ", now, sizeof(now));
        }
        uint64_t cur = pfn_of(pagemap, (const void *)page);
        if (cur && cur != pfn) {
            pfn = cur;
            printf("XFM-MARKER-MOVED pfn=0x%" PRIx64 "\n", pfn);
        }
    }
}

static int emit(int argc, char **argv)
{
    static unsigned char page[PAGE];
    uint64_t seed = strtoull(argc > 2 ? argv[2] : "0", NULL, 0);

    if (!strcmp(argv[1], "--emit-page")) {
        fill_marker(page, seed, argc > 3 ? argv[3] : "XFM-MARKER");
        return write_all(1, page, PAGE) ? 1 : 0;
    }
    unsigned char *region = malloc((size_t)REGION_PAGES * PAGE);
    if (!region)
        return 1;
    fill_region(region, seed);
    return write_all(1, region, (size_t)REGION_PAGES * PAGE) ? 1 : 0;
}

#define WRITER_RECORDS 64u

/* The low half of a writer word: any fixed mix of (seq, record, word). */
static uint32_t word_hash(uint32_t seq, uint32_t rec, uint32_t word)
{
    uint64_t x = ((uint64_t)seq << 16 | rec << 4 | word) ^ 0x9e3779b97f4a7c15ull;

    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return (uint32_t)x;
}

static int writer(void)
{
    int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    unsigned char *p = map_aligned(2 * PAGE, PAGE);
    volatile uint64_t *ctrl, *data;
    uint64_t seq = 0;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (pagemap < 0 || !p) {
        printf("XFM-WRITER-ERROR %s\n", strerror(errno));
        return 1;
    }
    madvise(p, 2 * PAGE, MADV_NOHUGEPAGE);
    memset(p, 0, 2 * PAGE);
    memcpy(p, "XFM-WRITER-CTRL", 16);
    if (mlock(p, 2 * PAGE))
        printf("XFM-WRITER-WARNING mlock: %s\n", strerror(errno));
    ctrl = (volatile uint64_t *)p;
    data = (volatile uint64_t *)(p + PAGE);
    printf("XFM-WRITER ctrl=0x%" PRIx64 " data=0x%" PRIx64 " pid=%d\n",
           pfn_of(pagemap, p), pfn_of(pagemap, p + PAGE), (int)getpid());
    for (;;) {
        if (ctrl[3] >= ctrl[2]) {
            sleep_ms(10);
            continue;
        }
        seq++;
        for (uint32_t r = 0; r < WRITER_RECORDS; r++)
            for (uint32_t w = 0; w < 8; w++)
                data[r * 8 + w] = seq << 32 | word_hash((uint32_t)seq, r, w);
        ctrl[3] = ctrl[3] + 1;
    }
}

static int usage(void)
{
    fprintf(stderr, "usage: marker SEED TAG | --emit-page SEED TAG | --emit-region SEED | --writer\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--emit-page") || !strcmp(argv[1], "--emit-region")))
        return emit(argc, argv);
    if (argc == 2 && !strcmp(argv[1], "--writer"))
        return writer();
    if (argc != 3)
        return usage();

    uint64_t seed = strtoull(argv[1], NULL, 0);
    const char *tag = argv[2];
    setvbuf(stdout, NULL, _IOLBF, 0);

    int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (pagemap < 0) {
        printf("XFM-MARKER-ERROR open pagemap: %s\n", strerror(errno));
        return 1;
    }

    /* 2 MiB alignment lets the kernel back the region with huge pages
     * where it can (PVH), which gives tests runs of contiguous frames. */
    unsigned char *region = map_aligned((size_t)REGION_PAGES * PAGE, HUGE_ALIGN);
    unsigned char *page = map_aligned(PAGE, PAGE);
    unsigned char *ctrl = map_aligned(PAGE, PAGE);
    if (!region || !page || !ctrl) {
        printf("XFM-MARKER-ERROR mmap: %s\n", strerror(errno));
        return 1;
    }
    madvise(region, (size_t)REGION_PAGES * PAGE, MADV_HUGEPAGE);
    madvise(page, PAGE, MADV_NOHUGEPAGE);
    madvise(ctrl, PAGE, MADV_NOHUGEPAGE);
    /* start_late() forks: without this the parent's next store to a
     * shared copy-on-write page would move it to a new frame. */
    madvise(region, (size_t)REGION_PAGES * PAGE, MADV_DONTFORK);
    madvise(page, PAGE, MADV_DONTFORK);
    madvise(ctrl, PAGE, MADV_DONTFORK);
    memset(ctrl, 0, PAGE);
    memcpy(ctrl, "XFM-MARKER-CTRL", 16);
    fill_region(region, seed);
    fill_marker(page, seed, tag);
    if (mlock(region, (size_t)REGION_PAGES * PAGE) || mlock(page, PAGE) ||
        mlock(ctrl, PAGE))
        printf("XFM-MARKER-WARNING mlock: %s\n", strerror(errno));

    if (print_region_runs(pagemap, region))
        return 1;
    uint64_t pfn = pfn_of(pagemap, page);
    if (!pfn) {
        printf("XFM-MARKER-ERROR marker page has no visible pfn\n");
        return 1;
    }
    printf("XFM-MARKER-VA va=0x%" PRIxPTR " ctrl=0x%" PRIx64 "\n", (uintptr_t)page,
           pfn_of(pagemap, ctrl));
    printf("XFM-MARKER pfn=0x%" PRIx64 " seed=0x%" PRIx64 " tag=%s pid=%d\n", pfn, seed, tag,
           (int)getpid());
    watch(pagemap, page, pfn, (volatile uint64_t *)ctrl);
    return 0;
}
