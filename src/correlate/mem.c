/* mem.c — what the correlator's state costs, and the chunks records live in.
 *
 * The cap (opts.max_bytes) caps memory only when state_bytes is what the
 * allocator really holds for the state. sd_mem_cost(n) is the chunk glibc's
 * malloc takes for a request of n bytes on a 64-bit system: n plus an 8-byte
 * header, rounded up to 16, at least 32; from 128 KiB on (mmap) whole pages.
 * Every allocation of the correlator goes through sd_mem_alloc / sd_mem_free and
 * friends, which add and take off that cost: on c->bytes, and on g->bytes
 * for memory a group owns, so that freeing a group takes off exactly what it
 * held. (Another allocator rounds differently; its cost is still within a few
 * bytes of this one per allocation.)
 *
 * Records (reorder.c) are small and short-lived, while the event copies they
 * carry live on as samples. Allocated one by one, each record applied leaves
 * a hole between live samples that only another record fits, and once a full
 * reorder buffer has been applied the heap keeps all those holes (issue 15:
 * 57 MB of them at a 256 MiB cap). So records are cut from chunks of REC_CHUNK bytes
 * in arrival order, and a chunk goes back to malloc whole once its last
 * record has been applied; any allocation can reuse it there. A record's cost
 * is its chunk's: a chunk is accounted whole while it holds any record.
 *
 * Under AddressSanitizer (and valgrind) the parts of a chunk that are not a
 * live record are poisoned, and records are kept apart by a redzone, so a
 * record overrun or a use after free is caught as it would be with malloc.
 */
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "correlate/corr_int.h"

#if defined(__SANITIZE_ADDRESS__)
#define MEM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MEM_ASAN 1
#endif
#endif

#ifdef MEM_ASAN
#include <sanitizer/asan_interface.h>
#define MEM_REDZONE    16u
#define POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#elif defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
/* Outside valgrind these are a few instructions that do nothing. */
#define MEM_REDZONE    (RUNNING_ON_VALGRIND ? 16u : 0u)
#define POISON(p, n)   VALGRIND_MAKE_MEM_NOACCESS((p), (n))
#define UNPOISON(p, n) VALGRIND_MAKE_MEM_UNDEFINED((p), (n))
#endif
#endif
#ifndef POISON
#define MEM_REDZONE    0u
#define POISON(p, n)   ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

size_t sd_mem_cost(size_t n) {
    if (n >= MEM_MMAP_FROM) return (n + 16 + 4095) & ~(size_t)4095;
    size_t chunk = (n + 8 + 15) & ~(size_t)15;
    return chunk < 32 ? 32 : chunk;
}

void sd_mem_account(corr *c, corr_group *g, int64_t delta) {
    if (g) g->bytes = (uint32_t)((int64_t)g->bytes + delta);
    c->bytes = (uint64_t)((int64_t)c->bytes + delta);
    if (c->bytes > c->peak) c->peak = c->bytes;
}

void *sd_mem_alloc(corr *c, corr_group *g, size_t n) {
    void *p = malloc(n ? n : 1);
    if (p) sd_mem_account(c, g, (int64_t)sd_mem_cost(n));
    return p;
}

void *sd_mem_calloc(corr *c, corr_group *g, size_t n) {
    void *p = calloc(1, n ? n : 1);
    if (p) sd_mem_account(c, g, (int64_t)sd_mem_cost(n));
    return p;
}

void *sd_mem_realloc(corr *c, corr_group *g, void *p, size_t old_n, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) return NULL;
    sd_mem_account(c, g, (int64_t)sd_mem_cost(n) - (int64_t)(p ? sd_mem_cost(old_n) : 0));
    return q;
}

void sd_mem_free(corr *c, corr_group *g, void *p, size_t n) {
    if (!p) return;
    sd_mem_account(c, g, -(int64_t)sd_mem_cost(n));
    free(p);
}

/* ---- Record chunks ------------------------------------------------------------ */

struct rec_chunk {
    size_t size; /* bytes of data */
    size_t used; /* handed out, from the start */
    size_t live; /* records handed out and not freed */
    alignas(max_align_t) char data[];
};

#define REC_ALIGN alignof(max_align_t)

static size_t rec_span(size_t n) { return (n + MEM_REDZONE + REC_ALIGN - 1) & ~(REC_ALIGN - 1); }

/* A chunk counts as state while it holds records: its whole size, from its
 * first record to its last. The chunk new records are cut from is kept when
 * it empties (with lateness 0 every record is applied in the push that made
 * it, and the same chunk serves them all); empty, it is not state. */
static size_t chunk_cost(const rec_chunk *k) { return sd_mem_cost(sizeof *k + k->size); }

static void chunk_free(rec_chunk *k) {
    if (!k) return;
    UNPOISON(k->data, k->size); /* malloc's memory again */
    free(k);
}

void *sd_rec_alloc(corr *c, size_t n, rec_chunk **chunk) {
    size_t span = rec_span(n);
    rec_chunk *k = c->rec_cur;
    if (!k || k->size - k->used < span) {
        /* A large record gets a chunk of its own; the current chunk stays. */
        bool own = span > REC_CHUNK / 4;
        size_t size = own ? span : REC_CHUNK - sizeof *k - 8; /* REC_CHUNK bytes of heap */
        k = malloc(sizeof *k + size);
        if (!k) return NULL;
        k->size = size;
        k->used = 0;
        k->live = 0;
        POISON(k->data, size);
        if (!own) {
            if (c->rec_cur && c->rec_cur->live == 0) chunk_free(c->rec_cur); /* (an empty one has room) */
            c->rec_cur = k;
        }
    }
    if (k->live++ == 0) sd_mem_account(c, NULL, (int64_t)chunk_cost(k));
    char *p = k->data + k->used;
    k->used += span;
    UNPOISON(p, n);
    *chunk = k;
    return p;
}

void sd_rec_release(corr *c, rec_chunk *k, void *p, size_t n) {
    POISON(p, n);
    if (--k->live > 0) return;
    sd_mem_account(c, NULL, -(int64_t)chunk_cost(k));
    if (k == c->rec_cur) {
        k->used = 0; /* filled again from the start */
        return;
    }
    chunk_free(k);
}

void sd_rec_chunks_free(corr *c) {
    chunk_free(c->rec_cur); /* empty by now: every record was released */
    c->rec_cur = NULL;
}
