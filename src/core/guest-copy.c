/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * guest-copy.c - the one copy of a running guest's bytes.
 *
 * memcpy() promises nothing about how it moves bytes: glibc copies a page
 * with `rep movsb`, which may move an aligned word in pieces, and a guest
 * storing that word meanwhile is then read half old, half new.  xfm.h
 * promises that each naturally aligned 8-byte word (4-byte on 32-bit
 * hosts) moves whole, so the guest-side accesses here are aligned loads
 * and stores of whole words; only the buffer side may be unaligned.
 *
 * Racy by design (the guest, or another thread's xfm_write(), changes the
 * bytes meanwhile): tests/tsan.supp exempts exactly these two functions.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
#include <emmintrin.h>
#endif

#include "private.h"

typedef uintptr_t word;

/* Bytes up to @guest's next word boundary (at most @n). */
static uint64_t head_len(const void *guest, uint64_t n)
{
	uint64_t h = -(uintptr_t)guest & (sizeof(word) - 1);

	return h < n ? h : n;
}

/* Is any of the @n bytes at @p non-zero? */
static bool any_byte(const char *p, uint64_t n)
{
	while (n--)
		if (*p++)
			return true;
	return false;
}

__attribute__((noinline)) bool xfm_guest_load(void *dst, const void *guest,
					      uint64_t n)
{
	const char *s = guest;
	char *d = dst;
	uint64_t h = head_len(s, n);
	word acc = 0;
	bool nz;

	/* One aligned word (a pointer, a page-table entry): the most common
	 * small read, one load. */
	if (n == sizeof(word) && !h) {
		acc = __atomic_load_n((const word *)s, __ATOMIC_RELAXED);
		memcpy(d, &acc, sizeof(acc));
		return acc != 0;
	}
	memcpy(d, s, h);	/* less than a word: nothing to tear */
	nz = any_byte(d, h);
	s += h, d += h, n -= h;
#if defined(__x86_64__)
	/* Aligned 16-byte SSE2 loads move each 8-byte half whole. */
	if (!((uintptr_t)s & 15)) {
		__m128i ors = _mm_setzero_si128();

		for (; n >= 64; s += 64, d += 64, n -= 64) {
			const __m128i *q = (const __m128i *)s;
			__m128i a = _mm_load_si128(q), b = _mm_load_si128(q + 1);
			__m128i c = _mm_load_si128(q + 2), e = _mm_load_si128(q + 3);

			_mm_storeu_si128((__m128i *)d, a);
			_mm_storeu_si128((__m128i *)d + 1, b);
			_mm_storeu_si128((__m128i *)d + 2, c);
			_mm_storeu_si128((__m128i *)d + 3, e);
			ors = _mm_or_si128(ors, _mm_or_si128(_mm_or_si128(a, b),
							   _mm_or_si128(c, e)));
		}
		nz |= _mm_movemask_epi8(_mm_cmpeq_epi8(ors, _mm_setzero_si128()))
		      != 0xffff;
	}
#endif
	for (; n >= sizeof(word); s += sizeof(word), d += sizeof(word),
	     n -= sizeof(word)) {
		word v = __atomic_load_n((const word *)s, __ATOMIC_RELAXED);

		memcpy(d, &v, sizeof(v));
		acc |= v;
	}
	memcpy(d, s, n);
	return nz || acc || any_byte(d, n);
}

__attribute__((noinline)) void xfm_guest_store(void *guest, const void *src,
					       uint64_t n)
{
	const char *s = src;
	char *d = guest;
	uint64_t h = head_len(d, n);

	memcpy(d, s, h);
	s += h, d += h, n -= h;
#if defined(__x86_64__)
	if (!((uintptr_t)d & 15)) {
		for (; n >= 64; s += 64, d += 64, n -= 64) {
			const __m128i *q = (const __m128i *)s;
			__m128i a = _mm_loadu_si128(q), b = _mm_loadu_si128(q + 1);
			__m128i c = _mm_loadu_si128(q + 2), e = _mm_loadu_si128(q + 3);

			_mm_store_si128((__m128i *)d, a);
			_mm_store_si128((__m128i *)d + 1, b);
			_mm_store_si128((__m128i *)d + 2, c);
			_mm_store_si128((__m128i *)d + 3, e);
		}
	}
#endif
	for (; n >= sizeof(word); s += sizeof(word), d += sizeof(word),
	     n -= sizeof(word)) {
		word v;

		memcpy(&v, s, sizeof(v));
		__atomic_store_n((word *)d, v, __ATOMIC_RELAXED);
	}
	memcpy(d, s, n);
}
