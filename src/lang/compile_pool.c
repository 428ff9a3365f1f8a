/* compile_pool.c — the program's pools: field paths, constants, `in` sets,
 * CIDR sets, globs, regexes and source names.
 *
 * Paths and constants are interned, so every rule that reads .eventName uses
 * one path id (one field-cache slot per event) and equal constants share one
 * slot. Regexes are compiled once here, with PCRE2's JIT when it is there;
 * a bad regex is a compile error carrying PCRE2's message and offset.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "lang/compile_int.h"
#include "lang/regex_lits.h"
#include "util/hash.h"
#include "vm/prefilter.h"
#include "vm/vm.h"

void *sd_compile_grow(void *arr, uint32_t *cap, uint32_t need, size_t elem, bool *oom) {
    if (need <= *cap) return arr;
    uint32_t n = *cap ? *cap : 8;
    while (n < need) n *= 2;
    void *p = realloc(arr, (size_t)n * elem);
    if (!p) {
        *oom = true;
        return NULL;
    }
    memset((char *)p + (size_t)*cap * elem, 0, (size_t)(n - *cap) * elem);
    *cap = n;
    return p;
}

#define GROW(c, arr, capfield, need)                                                                                   \
    do {                                                                                                               \
        void *np_ = sd_compile_grow((c)->p->arr, &(c)->capfield, (need), sizeof *(c)->p->arr, &(c)->oom);              \
        if (!np_) return 0;                                                                                            \
        (c)->p->arr = np_;                                                                                             \
    } while (0)

/* ---- intern tables ------------------------------------------------------ */

typedef bool (*intern_eq)(const compiler *c, uint32_t id, const void *key);

static int tab_grow(intern_tab *t, compiler *c, uint64_t (*hash_id)(const compiler *, uint32_t)) {
    uint32_t cap = t->cap ? t->cap * 2 : 64;
    uint32_t *slots = calloc(cap, sizeof *slots);
    if (!slots) return -1;
    for (uint32_t i = 0; i < t->cap; i++) {
        if (!t->slots[i]) continue;
        uint32_t j = (uint32_t)hash_id(c, t->slots[i] - 1) & (cap - 1);
        while (slots[j]) j = (j + 1) & (cap - 1);
        slots[j] = t->slots[i];
    }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return 0;
}

/* Finds key; returns its id, or UINT32_MAX and the free slot in *slot. */
static uint32_t tab_find(intern_tab *t, const compiler *c, uint64_t h, intern_eq eq, const void *key, uint32_t *slot) {
    for (uint32_t j = (uint32_t)h & (t->cap - 1);; j = (j + 1) & (t->cap - 1)) {
        if (!t->slots[j]) {
            *slot = j;
            return UINT32_MAX;
        }
        if (eq(c, t->slots[j] - 1, key)) return t->slots[j] - 1;
    }
}

static uint64_t hash_value(const sd_value *v) {
    if (v->type == SD_STR) return hash_bytes(v->str, v->len) ^ 0x5;
    if (v->type == SD_NUM) {
        double d = v->num == 0 ? 0 : v->num; /* -0 == 0 */
        return hash_bytes(&d, sizeof d) ^ 0x3;
    }
    return (uint64_t)v->type * 31u + (uint64_t)v->b;
}

static uint64_t path_hash_id(const compiler *c, uint32_t id) {
    const char *t = c->p->paths[id].text;
    return hash_bytes(t, strlen(t));
}
static bool path_eq(const compiler *c, uint32_t id, const void *key) { return strcmp(c->p->paths[id].text, key) == 0; }

static uint64_t const_hash_id(const compiler *c, uint32_t id) { return hash_value(&c->p->consts[id]); }
static bool const_eq(const compiler *c, uint32_t id, const void *key) {
    const sd_value *a = &c->p->consts[id], *b = key;
    if (a->type != b->type) return false;
    if (a->type == SD_STR) return a->len == b->len && memcmp(a->str, b->str, a->len) == 0;
    if (a->type == SD_NUM) return a->num == b->num;
    return a->b == b->b;
}

static bool tab_ready(compiler *c, intern_tab *t, uint64_t (*hash_id)(const compiler *, uint32_t)) {
    if ((t->count + 1) * 2 > t->cap && tab_grow(t, c, hash_id)) {
        c->oom = true;
        return false;
    }
    return true;
}

uint32_t sd_pool_path(compiler *c, const sd_path *path) {
    if (!tab_ready(c, &c->path_tab, path_hash_id)) return 0;
    uint32_t slot;
    uint32_t id = tab_find(&c->path_tab, c, hash_bytes(path->text, strlen(path->text)), path_eq, path->text, &slot);
    if (id != UINT32_MAX) return id;
    GROW(c, paths, cap_paths, c->p->npaths + 1);
    sd_path *dst = &c->p->paths[c->p->npaths];
    const char *err;
    if (sd_path_parse(path->text, strlen(path->text), dst, &err) != strlen(path->text)) {
        /* the canonical text always parses back; anything else is a bug */
        c->oom = true;
        return 0;
    }
    c->path_tab.slots[slot] = ++c->p->npaths;
    c->path_tab.count++;
    return c->p->npaths - 1;
}

uint32_t sd_pool_const(compiler *c, const sd_value *v) {
    if (!tab_ready(c, &c->const_tab, const_hash_id)) return 0;
    uint32_t slot;
    uint32_t id = tab_find(&c->const_tab, c, hash_value(v), const_eq, v, &slot);
    if (id != UINT32_MAX) return id;
    GROW(c, consts, cap_consts, c->p->nconsts + 1);
    sd_value *dst = &c->p->consts[c->p->nconsts];
    *dst = *v;
    dst->node = NULL;
    if (v->type == SD_STR) {
        char *s = malloc(v->len + 1);
        if (!s) {
            c->oom = true;
            return 0;
        }
        memcpy(s, v->str, v->len);
        s[v->len] = 0;
        dst->str = s;
    }
    c->const_tab.slots[slot] = ++c->p->nconsts;
    c->const_tab.count++;
    return c->p->nconsts - 1;
}

static void lit_to_value(const ast_lit *lit, sd_value *v) {
    memset(v, 0, sizeof *v);
    switch (lit->kind) {
    case LIT_BOOL:
        v->type = SD_BOOL;
        v->b = lit->b;
        break;
    case LIT_NUM:
        v->type = SD_NUM;
        v->num = lit->num;
        break;
    case LIT_STR:
        v->type = SD_STR;
        v->str = lit->str;
        v->len = lit->len;
        break;
    default: v->type = SD_NULL; break;
    }
}

uint32_t sd_pool_const_lit(compiler *c, const ast_lit *lit) {
    sd_value v;
    lit_to_value(lit, &v);
    return sd_pool_const(c, &v);
}

/* ---- sets --------------------------------------------------------------- */

static void fold_case(char *s, size_t n, bool lower) {
    for (size_t i = 0; i < n; i++) {
        if (lower && s[i] >= 'A' && s[i] <= 'Z') s[i] = (char)(s[i] + 32);
        if (!lower && s[i] >= 'a' && s[i] <= 'z') s[i] = (char)(s[i] - 32);
    }
}

/* `fold_lower`: the set is tested against lower(P), so members with upper-case
 * letters can never match and are dropped (and likewise for upper). */
uint32_t sd_pool_set(compiler *c, const ast_lit *items, size_t n, bool fold_lower, bool fold_upper) {
    GROW(c, sets, cap_sets, c->p->nsets + 1);
    const_set *s = &c->p->sets[c->p->nsets];
    memset(s, 0, sizeof *s);
    s->members = calloc(n ? n : 1, sizeof *s->members);
    s->nslots = 4;
    while (s->nslots < n * 2) s->nslots *= 2;
    s->slots = malloc(s->nslots * sizeof *s->slots);
    if (!s->members || !s->slots) {
        free(s->members);
        free(s->slots);
        c->oom = true;
        return 0;
    }
    memset(s->slots, 0xFF, s->nslots * sizeof *s->slots);
    c->p->nsets++;
    for (size_t i = 0; i < n; i++) {
        sd_value v;
        lit_to_value(&items[i], &v);
        if (v.type == SD_STR && (fold_lower || fold_upper)) {
            char *tmp = malloc(v.len + 1);
            if (!tmp) {
                c->oom = true;
                return 0;
            }
            memcpy(tmp, v.str, v.len);
            fold_case(tmp, v.len, fold_lower);
            bool same = memcmp(tmp, v.str, v.len) == 0;
            free(tmp);
            if (!same) continue;
        } else if (fold_lower || fold_upper) {
            continue; /* lower()/upper() never yield a non-string */
        }
        /* skip duplicates */
        bool dup = false;
        for (uint32_t k = 0; k < s->nmembers && !dup; k++) dup = sd_value_equal(&s->members[k], &v);
        if (dup) continue;
        if (v.type == SD_STR) {
            char *str = malloc(v.len + 1);
            if (!str) {
                c->oom = true;
                return 0;
            }
            memcpy(str, v.str, v.len);
            str[v.len] = 0;
            v.str = str;
            uint32_t j = (uint32_t)hash_bytes(v.str, v.len) & (s->nslots - 1);
            while (s->slots[j] != UINT32_MAX) j = (j + 1) & (s->nslots - 1);
            s->slots[j] = s->nmembers;
        }
        s->members[s->nmembers++] = v;
    }
    return c->p->nsets - 1;
}

uint32_t sd_pool_cidr(compiler *c, const ast_lit *items, size_t n) {
    GROW(c, cidrs, cap_cidrs, c->p->ncidrs + 1);
    cidr_set *s = &c->p->cidrs[c->p->ncidrs];
    s->ranges = calloc(n ? n : 1, sizeof *s->ranges);
    s->n = 0;
    if (!s->ranges) {
        c->oom = true;
        return 0;
    }
    c->p->ncidrs++;
    for (size_t i = 0; i < n; i++)
        if (items[i].kind == LIT_STR && sd_cidr_parse(items[i].str, items[i].len, &s->ranges[s->n]) == 0) s->n++;
    return c->p->ncidrs - 1;
}

uint32_t sd_pool_glob(compiler *c, const char *pat, size_t len) {
    for (uint32_t i = 0; i < c->p->nglobs; i++)
        if (c->p->glob_lens[i] == len && memcmp(c->p->globs[i], pat, len) == 0) return i;
    uint32_t cap = c->cap_globs;
    GROW(c, globs, cap_globs, c->p->nglobs + 1);
    c->cap_globs = cap;
    GROW(c, glob_lens, cap_globs, c->p->nglobs + 1);
    char *s = malloc(len + 1);
    if (!s) {
        c->oom = true;
        return 0;
    }
    memcpy(s, pat, len);
    s[len] = 0;
    c->p->globs[c->p->nglobs] = s;
    c->p->glob_lens[c->p->nglobs] = len;
    return c->p->nglobs++;
}

/* The regex's prefilter: its required literals, filed in the program's table. */
static void pool_regex_lits(compiler *c, vm_regex *r, const ast_lit *re) {
    regex_lits l;
    if (!sd_regex_literals(re->str, re->len, re->flags, &l)) return;
    r->lits = malloc(l.n * sizeof *r->lits);
    if (!r->lits) {
        c->oom = true;
        return;
    }
    for (uint32_t k = 0; k < l.n; k++) {
        r->lits[k] = sd_lits_add(&c->p->lits[l.fold], l.s[k], l.len[k]);
        if (r->lits[k] == UINT32_MAX) c->oom = true;
    }
    r->nlits = l.n;
    r->lits_fold = l.fold;
}

uint32_t sd_pool_regex(compiler *c, const ast_lit *re) {
    uint32_t options = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
    for (const char *f = re->flags; *f; f++) {
        if (*f == 'i') options |= PCRE2_CASELESS;
        if (*f == 'm') options |= PCRE2_MULTILINE;
        if (*f == 's') options |= PCRE2_DOTALL;
        if (*f == 'x') options |= PCRE2_EXTENDED;
    }
    int errcode;
    PCRE2_SIZE erroff;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)re->str, re->len, options, &errcode, &erroff, NULL);
    if (!code) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(errcode, msg, sizeof msg);
        src_loc at = re->loc;
        at.col += 1 + (uint32_t)erroff; /* past the opening '/' */
        CERR(c, at, "bad regex /%s/: %s at offset %zu", re->str, (const char *)msg, (size_t)erroff);
        return 0;
    }
    /* falls back to the interpreter when JIT is unavailable */
    bool jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
    GROW(c, regexes, cap_regexes, c->p->nregexes + 1);
    vm_regex *r = &c->p->regexes[c->p->nregexes];
    memset(r, 0, sizeof *r);
    r->code = code;
    r->jit = jit;
    r->pattern = strdup(re->str);
    memcpy(r->flags, re->flags, sizeof r->flags);
    pool_regex_lits(c, r, re);
    c->p->uses_regex = true;
    return c->p->nregexes++;
}

uint32_t sd_pool_source(compiler *c, const char *name) {
    for (uint32_t i = 0; i < c->p->nsources; i++)
        if (strcmp(c->p->source_names[i], name) == 0) return i;
    GROW(c, source_names, cap_sources, c->p->nsources + 1);
    c->p->source_names[c->p->nsources] = strdup(name);
    if (!c->p->source_names[c->p->nsources]) c->oom = true;
    return c->p->nsources++;
}

void sd_pool_free_tabs(compiler *c) {
    free(c->path_tab.slots);
    free(c->const_tab.slots);
}
