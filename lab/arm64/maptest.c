/*
 * xfm-arm64-maptest: map a guest's frames with the stock libxenforeignmemory and print
 * what comes back. A lab probe for the arm64 lab (lab/arm64/try-boot.sh), not part of xfm.
 *
 * usage: xfm-arm64-maptest <domid> [first-frame (0x40000)] [nframes (8)] [needle]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <xenforeignmemory.h>

#define FRAME 4096u

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *map_frames(xenforeignmemory_handle *h, uint32_t dom, uint64_t first,
                        size_t n, int *err)
{
    xen_pfn_t *arr = calloc(n, sizeof(*arr));
    void *p;
    size_t i;

    if (!arr)
        return NULL;
    for (i = 0; i < n; i++) {
        arr[i] = first + i;
        err[i] = 0;
    }
    p = xenforeignmemory_map(h, dom, PROT_READ, n, arr, err);
    free(arr);
    return p;
}

static void show(const unsigned char *b)
{
    int i;
    for (i = 0; i < 16; i++)
        printf("%02x", b[i]);
}

int main(int argc, char **argv)
{
    uint32_t dom;
    uint64_t first = 0x40000;
    size_t n = 8, i;
    const char *needle = NULL;
    xenforeignmemory_handle *h;
    unsigned char *p, *q;
    int *err;

    if (argc < 2) {
        fprintf(stderr, "usage: %s <domid> [first-frame] [nframes] [needle]\n", argv[0]);
        return 2;
    }
    dom = (uint32_t)strtoul(argv[1], NULL, 0);
    if (argc > 2)
        first = strtoull(argv[2], NULL, 0);
    if (argc > 3)
        n = strtoul(argv[3], NULL, 0);
    if (argc > 4)
        needle = argv[4];

    printf("MAPTEST pagesize=%ld dom=%" PRIu32 " first=0x%" PRIx64 " n=%zu\n",
           sysconf(_SC_PAGESIZE), dom, first, n);
    h = xenforeignmemory_open(NULL, 0);
    if (!h) {
        printf("MAPTEST open failed: %s\n", strerror(errno));
        return 1;
    }
    err = calloc(n < 1024 ? 1024 : n, sizeof(*err));
    if (!err)
        return 1;

    p = map_frames(h, dom, first, n, err);
    if (!p) {
        printf("MAPTEST map failed: %s\n", strerror(errno));
        return 1;
    }
    printf("MAPTEST map addr=%p (addr %% 16K = %lu)\n", (void *)p,
           (unsigned long)((uintptr_t)p % 16384));
    for (i = 0; i < n; i++) {
        printf("MAPTEST frame 0x%" PRIx64 " err=%d first16=", first + i, err[i]);
        if (err[i] == 0)
            show(p + i * FRAME);
        else
            printf("-");
        printf("\n");
    }

    /* Odd start and odd counts: must agree with the frames of the first map. */
    {
        static const size_t counts[] = { 1, 3, 5, 7 };
        int *e2 = calloc(8, sizeof(*e2));
        size_t c;
        for (c = 0; c < sizeof(counts) / sizeof(counts[0]) && counts[c] + 1 <= n; c++) {
            size_t k = counts[c], bad = 0, j;
            q = map_frames(h, dom, first + 1, k, e2);
            if (!q) {
                printf("MAPTEST odd start=0x%" PRIx64 " n=%zu: map failed: %s\n",
                       first + 1, k, strerror(errno));
                continue;
            }
            for (j = 0; j < k; j++)
                if (e2[j] || err[1 + j] || memcmp(q + j * FRAME, p + (1 + j) * FRAME, FRAME))
                    bad++;
            printf("MAPTEST odd start=0x%" PRIx64 " n=%zu: %s\n", first + 1, k,
                   bad ? "MISMATCH" : "same bytes as the first map");
            xenforeignmemory_unmap(h, q, k);
        }
        free(e2);
    }
    xenforeignmemory_unmap(h, p, n);

    /* Optional: scan 128 MiB (32768 frames) from `first`, in batches of 1024. */
    if (needle) {
        size_t total = 32768, ok = 0, bad = 0, nz = 0, nl = strlen(needle);
        uint64_t hit = 0;
        int found = 0;
        double t0 = now();
        for (i = 0; i < total; i += 1024) {
            size_t j;
            q = map_frames(h, dom, first + i, 1024, err);
            if (!q) {
                bad += 1024;
                continue;
            }
            for (j = 0; j < 1024; j++) {
                const unsigned char *f = q + j * FRAME, *m;
                size_t b;
                if (err[j]) {
                    bad++;
                    continue;
                }
                ok++;
                for (b = 0; b < FRAME && !f[b]; b++)
                    ;
                if (b < FRAME)
                    nz++;
                if (!found && (m = memmem(f, FRAME, needle, nl))) {
                    found = 1;
                    hit = (first + i + j) * FRAME + (uint64_t)(m - f);
                }
            }
            xenforeignmemory_unmap(h, q, 1024);
        }
        printf("MAPTEST scan frames=%zu ok=%zu err=%zu nonzero=%zu secs=%.2f\n", total, ok,
               bad, nz, now() - t0);
        if (found)
            printf("MAPTEST needle \"%s\" at guest-physical 0x%" PRIx64 "\n", needle, hit);
        else
            printf("MAPTEST needle \"%s\" not found\n", needle);
    }
    xenforeignmemory_close(h);
    printf("MAPTEST done\n");
    return 0;
}
