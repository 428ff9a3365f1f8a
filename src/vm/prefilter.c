/* prefilter.c — the literal tables of the regexes' prefilters and the rule
 * guards, and their search.
 *
 * One pass over a string finds every literal of a table in it: 16 bytes at
 * a time (SSE2) the positions whose byte and next byte are among the
 * literals' first and second bytes, then each such pair (lower-cased for
 * table 1) looked up in a 64-Kibit bitmap of the literals' first two
 * bytes, and only at a hit are the literals starting with that pair
 * compared. The result (a bit per literal, and whether the string has a
 * byte >= 0x80) is kept in a few slots of the VM keyed by the event, its
 * generation and the string's address and length, so the regexes and
 * guards over one field search it once between them; each literal found
 * lists the guards it lets pass. A slot that cannot be filled (no memory)
 * makes the regex run and the guards pass: the prefilter only ever skips
 * work.
 */
#include "vm/prefilter.h"

#include <stdlib.h>
#include <string.h>

#include "util/hash.h"

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__) && defined(__SSE2__)
#define PF_HAVE_SSE2 1
#include <emmintrin.h>
#else
#define PF_HAVE_SSE2 0
#endif

#define PAIRS 65536u

/* The index key of the two bytes at s: as they are, or for the lower-cased
 * table with bit 0x20 set in each (a letter's lower case; other bytes may
 * share a key, which only costs a comparison). A 16-bit load, no per-byte
 * folding: the search's inner loop is this and a bit test. */
static unsigned pair_key(const char *s, bool fold) {
    uint16_t v;
    memcpy(&v, s, 2);
    return fold ? (unsigned)(v | 0x2020u) : v;
}

static unsigned char lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c; }

/* The slot of s in t's hash of literals: the one holding it, or the empty one where it goes. */
static uint32_t *hash_slot(const lit_table *t, const char *s, size_t len) {
    uint32_t mask = t->nhash - 1;
    for (uint32_t j = (uint32_t)hash_bytes(s, len) & mask;; j = (j + 1) & mask) {
        uint32_t *slot = &t->hash[j];
        if (*slot == 0) return slot;
        uint32_t id = *slot - 1;
        if (t->len[id] == len && memcmp(t->s[id], s, len) == 0) return slot;
    }
}

/* Room for one more literal: the arrays, and the hash at most half full. */
static bool lits_grow(lit_table *t) {
    if (t->n == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 16;
        char **ns = realloc(t->s, cap * sizeof *ns);
        if (!ns) return false;
        t->s = ns;
        uint32_t *nl = realloc(t->len, cap * sizeof *nl);
        if (!nl) return false;
        t->len = nl;
        t->cap = cap;
    }
    if ((t->n + 1) * 2 <= t->nhash) return true;
    uint32_t nhash = t->nhash ? t->nhash * 2 : 64;
    uint32_t *old = t->hash, oldn = t->nhash;
    t->hash = calloc(nhash, sizeof *t->hash);
    if (!t->hash) {
        t->hash = old;
        return false;
    }
    t->nhash = nhash;
    for (uint32_t i = 0; i < oldn; i++)
        if (old[i]) *hash_slot(t, t->s[old[i] - 1], t->len[old[i] - 1]) = old[i];
    free(old);
    return true;
}

uint32_t sd_lits_add(lit_table *t, const char *s, size_t len) {
    if (len < 2 || len > UINT32_MAX || t->n >= UINT32_MAX / 4 || !lits_grow(t)) return UINT32_MAX;
    uint32_t *slot = hash_slot(t, s, len);
    if (*slot) return *slot - 1;
    char *copy = malloc(len + 1);
    if (!copy) return UINT32_MAX;
    memcpy(copy, s, len);
    copy[len] = '\0';
    t->s[t->n] = copy;
    t->len[t->n] = (uint32_t)len;
    *slot = t->n + 1;
    return t->n++;
}

static int u64_cmp(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The distinct bytes at position `at` of the literals' keys into out; 0 when more than cap. */
static uint8_t distinct_bytes(const lit_table *t, bool fold, unsigned at, uint8_t *out, size_t cap) {
    size_t n = 0;
    for (uint32_t i = 0; i < t->n; i++) {
        unsigned char b = (unsigned char)(pair_key(t->s[i], fold) >> (8 * at) & 0xFF);
        bool seen = false;
        for (size_t k = 0; k < n; k++) seen |= out[k] == b;
        if (seen) continue;
        if (n == cap) return 0;
        out[n++] = b;
    }
    return (uint8_t)n;
}

int sd_lits_finish(lit_table *t, bool fold) {
    if (t->n == 0) return 0;
    t->pairs = calloc(PAIRS / 64, sizeof *t->pairs);
    t->by_pair = malloc(t->n * sizeof *t->by_pair);
    uint64_t *keys = malloc(t->n * sizeof *keys); /* pair, then id: sorted, the ids come out by pair */
    if (!t->pairs || !t->by_pair || !keys) {
        free(keys);
        return -1;
    }
    for (uint32_t i = 0; i < t->n; i++) {
        unsigned p = pair_key(t->s[i], fold);
        t->pairs[p >> 6] |= (uint64_t)1 << (p & 63);
        keys[i] = (uint64_t)p << 32 | i;
    }
    qsort(keys, t->n, sizeof *keys, u64_cmp);
    /* The distinct first and second bytes (keyed as pair_key keys them),
     * when few enough for the vector search to compare each block with them all. */
    t->nfirsts = distinct_bytes(t, fold, 0, t->firsts, sizeof t->firsts);
    t->nseconds = distinct_bytes(t, fold, 1, t->seconds, sizeof t->seconds);
    for (uint32_t i = 0; i < t->n; i++) t->by_pair[i] = (uint32_t)keys[i];
    free(keys);
    return 0;
}

void sd_lits_free(lit_table *t) {
    for (uint32_t i = 0; t->s && i < t->n; i++) free(t->s[i]);
    free(t->s);
    free(t->len);
    free(t->pairs);
    free(t->by_pair);
    free(t->guard_at);
    free(t->guard_ids);
    free(t->hash);
    memset(t, 0, sizeof *t);
}

int sd_vm_lits_init(vm_ctx *vm) {
    if (vm->prog->nguards > 0) {
        vm->guard_pass = calloc((vm->prog->nguards + 63) / 64, sizeof *vm->guard_pass);
        if (!vm->guard_pass) return -1;
    }
    for (int k = 0; k < 2; k++) {
        uint32_t n = vm->prog->lits[k].n;
        if (n == 0) continue;
        for (int j = 0; j < VM_LIT_MEMOS; j++) {
            vm->lit_memo[k][j].found = calloc((n + 63) / 64, sizeof(uint64_t));
            if (!vm->lit_memo[k][j].found) return -1;
        }
    }
    return 0;
}

void sd_vm_lits_free(vm_ctx *vm) {
    free(vm->guard_pass);
    vm->guard_pass = NULL;
    for (int k = 0; k < 2; k++)
        for (int j = 0; j < VM_LIT_MEMOS; j++) {
            free(vm->lit_memo[k][j].found);
            vm->lit_memo[k][j].found = NULL;
        }
}

/* The literals with key p that occur at s[at..n). */
static void verify(const lit_table *t, bool fold, unsigned p, const char *s, size_t n, size_t at, uint64_t *found) {
    uint32_t lo = 0, hi = t->n;
    while (lo < hi) { /* the first id whose key is >= p */
        uint32_t mid = lo + (hi - lo) / 2;
        if (pair_key(t->s[t->by_pair[mid]], fold) < p)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < t->n && pair_key(t->s[t->by_pair[lo]], fold) == p; lo++) {
        uint32_t id = t->by_pair[lo];
        size_t len = t->len[id];
        if (len > n - at) continue;
        const char *l = t->s[id];
        size_t k = 0;
        if (fold)
            while (k < len && lower((unsigned char)s[at + k]) == (unsigned char)l[k]) k++;
        else
            while (k < len && s[at + k] == l[k]) k++;
        if (k == len) found[id >> 6] |= (uint64_t)1 << (id & 63);
    }
}

#if PF_HAVE_SSE2
/* Bytes of v equal to one of keys[0..n). */
static inline __m128i any_of(__m128i v, const __m128i *keys, unsigned n) {
    __m128i eq = _mm_cmpeq_epi8(v, keys[0]);
    for (unsigned k = 1; k < n; k++) eq = _mm_or_si128(eq, _mm_cmpeq_epi8(v, keys[k]));
    return eq;
}

/* The pairs starting in the 16-byte blocks of s whose first byte (and,
 * when there are few, second byte) is one a literal starts with; ORs every
 * byte of the blocks into *any. Returns where the blocks end. */
static size_t search_sse2(const lit_table *t, bool fold, const char *s, size_t n, lit_memo *m, unsigned char *any) {
    __m128i k1[sizeof t->firsts], k2[sizeof t->seconds];
    for (unsigned k = 0; k < t->nfirsts; k++) k1[k] = _mm_set1_epi8((char)t->firsts[k]);
    for (unsigned k = 0; k < t->nseconds; k++) k2[k] = _mm_set1_epi8((char)t->seconds[k]);
    const __m128i case_bit = _mm_set1_epi8(fold ? 0x20 : 0);
    __m128i high = _mm_setzero_si128();
    size_t i = 0;
    /* A block's second bytes are read from one byte further: 17 bytes. */
    for (; i + 17 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        high = _mm_or_si128(high, v);
        __m128i cand = any_of(_mm_or_si128(v, case_bit), k1, t->nfirsts);
        if (t->nseconds) {
            __m128i w = _mm_loadu_si128((const __m128i *)(const void *)(s + i + 1));
            cand = _mm_and_si128(cand, any_of(_mm_or_si128(w, case_bit), k2, t->nseconds));
        }
        for (unsigned bits = (unsigned)_mm_movemask_epi8(cand); bits; bits &= bits - 1) {
            size_t at = i + (unsigned)__builtin_ctz(bits);
            unsigned p = pair_key(s + at, fold);
            if (t->pairs[p >> 6] >> (p & 63) & 1) verify(t, fold, p, s, n, at, m->found);
        }
    }
    if (_mm_movemask_epi8(high)) *any |= 0x80;
    return i;
}
#endif

static void search(const lit_table *t, bool fold, const char *s, size_t n, lit_memo *m) {
    memset(m->found, 0, (t->n + 63) / 64 * sizeof *m->found);
    unsigned char any = 0;
    size_t i = 0;
#if PF_HAVE_SSE2
    if (t->nfirsts > 0) i = search_sse2(t, fold, s, n, m, &any);
#endif
    for (size_t k = i; k < n; k++) any |= (unsigned char)s[k];
    m->non_ascii = (any & 0x80) != 0;
    for (; i + 1 < n; i++) {
        unsigned p = pair_key(s + i, fold);
        if (t->pairs[p >> 6] >> (p & 63) & 1) verify(t, fold, p, s, n, i, m->found);
    }
}

/* What the table's literals are in string x of ev: remembered, or searched
 * now. NULL when there is no memory to hold it. */
static const lit_memo *memo_for(vm_ctx *vm, const sd_event *ev, uint32_t table, const sd_value *x) {
    const lit_table *t = &vm->prog->lits[table];
    const char *s = x->str ? x->str : "";
    lit_memo *slots = vm->lit_memo[table];
    for (int j = 0; j < VM_LIT_MEMOS; j++)
        if (slots[j].ev == ev && slots[j].gen == ev->gen && slots[j].str == s && slots[j].len == x->len)
            return &slots[j];
    lit_memo *m = &slots[vm->lit_next[table]++ % VM_LIT_MEMOS];
    if (!m->found) return NULL;
    m->ev = NULL; /* invalid until filled */
    search(t, table == 1, s, x->len, m);
    m->ev = ev;
    m->gen = ev->gen;
    m->str = s;
    m->len = x->len;
    return m;
}

static bool memo_has_any(const lit_table *t, uint32_t table, const lit_memo *m, const uint32_t *lits, uint32_t nlits) {
    if (!m || (table == 1 && m->non_ascii)) return true;
    for (uint32_t k = 0; k < nlits; k++) {
        uint32_t id = lits[k];
        if (id >= t->n || (m->found[id >> 6] >> (id & 63) & 1)) return true;
    }
    return false;
}

static void pass_guard(uint64_t *pass, uint32_t g) { pass[g >> 6] |= (uint64_t)1 << (g & 63); }

bool sd_vm_lits_any(vm_ctx *vm, const sd_event *ev, uint32_t table, const uint32_t *lits, uint32_t nlits,
                    const sd_value *x) {
    if (nlits == 0 || table > 1 || !ev) return true;
    const lit_table *t = &vm->prog->lits[table];
    if (!t->pairs || !t->by_pair) return true;
    return memo_has_any(t, table, memo_for(vm, ev, table, x), lits, nlits);
}

int sd_lits_index_guards(lit_table *t, uint32_t table, const rule_guard *guards, uint32_t nguards) {
    uint32_t total = 0;
    for (uint32_t g = 0; g < nguards; g++) total += guards[g].table == table ? guards[g].nlits : 0;
    if (total == 0 || t->n == 0) return 0;
    t->guard_at = calloc((size_t)t->n + 1, sizeof *t->guard_at);
    t->guard_ids = malloc(total * sizeof *t->guard_ids);
    if (!t->guard_at || !t->guard_ids) return -1;
    for (uint32_t g = 0; g < nguards; g++) /* counts, then starts, then filled */
        for (uint32_t k = 0; guards[g].table == table && k < guards[g].nlits; k++)
            if (guards[g].lits[k] < t->n) t->guard_at[guards[g].lits[k] + 1]++;
    for (uint32_t i = 0; i < t->n; i++) t->guard_at[i + 1] += t->guard_at[i];
    uint32_t *fill = calloc(t->n, sizeof *fill);
    if (!fill) return -1;
    for (uint32_t g = 0; g < nguards; g++)
        for (uint32_t k = 0; guards[g].table == table && k < guards[g].nlits; k++) {
            uint32_t id = guards[g].lits[k];
            if (id < t->n) t->guard_ids[t->guard_at[id] + fill[id]++] = g;
        }
    free(fill);
    return 0;
}

void sd_vm_guards(vm_ctx *vm, sd_event *ev) {
    const program *p = vm->prog;
    if (!vm->guard_pass) return;
    memset(vm->guard_pass, 0, (p->nguards + 63) / 64 * sizeof *vm->guard_pass);
    for (uint32_t gi = 0; gi < p->nguard_groups; gi++) {
        const guard_group *gg = &p->guard_groups[gi];
        if (gg->table > 1 || gg->path >= p->npaths) continue;
        const lit_table *t = &p->lits[gg->table];
        bool usable = t->pairs && t->by_pair && t->guard_at && t->guard_ids;
        const sd_values *vals = sd_event_field(ev, gg->path);
        for (uint32_t k = 0; k < vals->n; k++) {
            if (vals->v[k].type != SD_STR) continue;
            const lit_memo *m = usable ? memo_for(vm, ev, gg->table, &vals->v[k]) : NULL;
            if (!m || (gg->table == 1 && m->non_ascii)) {
                /* cannot tell (or a caseless literal may hide behind non-ASCII): all of the group pass */
                for (uint32_t g = 0; g < p->nguards; g++)
                    if (p->guards[g].group == gi) pass_guard(vm->guard_pass, g);
                continue;
            }
            /* Usually nothing was found: only the literals that were name guards to pass. */
            for (uint32_t w = 0; w < (t->n + 63) / 64; w++)
                for (uint64_t bits = m->found[w]; bits; bits &= bits - 1) {
                    uint32_t id = w * 64 + (uint32_t)__builtin_ctzll(bits);
                    for (uint32_t j = t->guard_at[id]; id < t->n && j < t->guard_at[id + 1]; j++) {
                        uint32_t g = t->guard_ids[j];
                        if (g < p->nguards && p->guards[g].group == gi) pass_guard(vm->guard_pass, g);
                    }
                }
        }
    }
}

bool sd_vm_prefilter(vm_ctx *vm, const sd_event *ev, const vm_regex *re, const sd_value *x) {
    return sd_vm_lits_any(vm, ev, re->lits_fold, re->lits, re->nlits, x);
}
