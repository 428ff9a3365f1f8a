/* logtype.c — the registry of log types and what an event's log type tells:
 * its shape (detection), its time, its common fields, its known fields.
 *
 * Promises (beyond logtype.h):
 *  - Detection tries the defined log types in definition order, then the
 *    built-ins in theirs (cloudtrail, guardduty, gcp-audit, gworkspace,
 *    okta, crowdstrike), so a program's own type wins over a built-in it
 *    overlaps; a shape's tests read values through the event (its field
 *    cache or the scan's extra slots), never a tree of their own.
 *  - A mapping's first path that is present and not null gives the value; a
 *    JSON null is skipped like coalesce() skips it.
 *  - Nothing here allocates per event except through the event's arena.
 */
#include "event/logtype.h"

#include <stdlib.h>
#include <string.h>

#include "event/time.h"
#include "util/suggest.h"

void sd_lt_values(sd_event *ev, const lt_path *lp, sd_values *out, sd_value *one) {
    if (ev->text_mode && lp->extra < ev->nextra && ev->extra[lp->extra] == &lp->p) {
        sd_event_extra_values(ev, lp->extra, out, one);
        return;
    }
    sd_event_path_values(ev, &lp->p, out, one);
}

void sd_lt_first(sd_event *ev, const lt_paths *ps, sd_values *out, sd_value *one) {
    *out = (sd_values){0, NULL};
    for (uint32_t i = 0; ps && i < ps->n; i++) {
        sd_values v;
        sd_lt_values(ev, &ps->v[i], &v, one);
        uint32_t nonnull = 0;
        for (uint32_t k = 0; k < v.n; k++) nonnull += v.v[k].type != SD_NULL;
        if (nonnull == 0) continue;
        if (nonnull == v.n) {
            *out = v;
            return;
        }
        sd_value *keep = sd_arena_alloc(&ev->arena, (size_t)nonnull * sizeof *keep);
        if (!keep) return;
        uint32_t j = 0;
        for (uint32_t k = 0; k < v.n; k++)
            if (v.v[k].type != SD_NULL) keep[j++] = v.v[k];
        *out = (sd_values){j, keep};
        return;
    }
}

int sd_lt_time(sd_event *ev, const lt_paths *ps, int64_t *ns) {
    sd_values v;
    sd_value one;
    sd_lt_first(ev, ps, &v, &one);
    if (v.n == 0) return 0;
    const sd_value *x = &v.v[0];
    if (x->type == SD_STR) return sd_time_parse_any(x->str, x->len, ns) ? 1 : -1;
    if (x->type == SD_NUM) return sd_time_parse_number(x->num, ns) ? 1 : -1;
    return -1;
}

/* ---- the registry ------------------------------------------------------------ */

void sd_logtype_free(sd_logtype *lt);

void sd_logtypes_free(sd_logtypes *r) {
    for (uint32_t i = 0; i < r->n; i++) {
        sd_logtype_free(r->v[i]);
        free(r->v[i]);
    }
    free(r->v);
    memset(r, 0, sizeof *r);
}

sd_logtype *sd_logtypes_find(const sd_logtypes *r, const char *name) {
    for (uint32_t i = 0; r && name && i < r->n; i++)
        if (strcmp(r->v[i]->name, name) == 0) return r->v[i];
    return NULL;
}

bool sd_logtype_name_ok(const char *name) {
    if (!name || !(name[0] >= 'a' && name[0] <= 'z') || strcmp(name, "auto") == 0 || strlen(name) > 64) return false;
    for (const char *p = name; *p; p++) {
        char c = *p;
        bool part = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
        if (!part && !(c == '-' && p[1] && p[1] != '-')) return false;
    }
    return true;
}

static bool test_holds(sd_event *ev, const lt_test *t) {
    sd_values v;
    sd_value one;
    sd_lt_values(ev, &t->path, &v, &one);
    if (!t->equals) return v.n > 0;
    for (uint32_t k = 0; k < v.n; k++)
        if (v.v[k].type == SD_STR && v.v[k].len == t->equals_len && memcmp(v.v[k].str, t->equals, t->equals_len) == 0)
            return true;
    return false;
}

static bool has_shape(const sd_logtype *lt, sd_event *ev) {
    for (uint32_t a = 0; a < lt->nshapes; a++) {
        const lt_shape *s = &lt->shapes[a];
        bool all = s->n > 0;
        for (uint32_t t = 0; all && t < s->n; t++) all = test_holds(ev, &s->tests[t]);
        if (all) return true;
    }
    return false;
}

const sd_logtype *sd_logtypes_detect(const sd_logtypes *r, sd_event *ev) {
    for (int pass = 0; pass < 2; pass++)
        for (uint32_t i = 0; i < r->n; i++)
            if (r->v[i]->builtin == (pass == 1) && has_shape(r->v[i], ev)) return r->v[i];
    return NULL;
}

size_t sd_logtypes_path_count(const sd_logtypes *r) {
    size_t n = 0;
    for (uint32_t i = 0; i < r->n; i++) {
        const sd_logtype *lt = r->v[i];
        for (int f = 0; f < SD_NCOMMON; f++) n += lt->field[f].n;
        for (uint32_t a = 0; a < lt->nshapes; a++) n += lt->shapes[a].n;
    }
    return n;
}

size_t sd_logtypes_paths(const sd_logtypes *r, bool time_and_shapes, unsigned mask, lt_path **out) {
    size_t n = 0;
    for (uint32_t i = 0; i < r->n; i++) {
        sd_logtype *lt = r->v[i];
        for (int f = 0; f < SD_NCOMMON; f++)
            if (f == SD_COMMON_TIME ? time_and_shapes : (mask & (1u << f)) != 0)
                for (uint32_t k = 0; k < lt->field[f].n; k++) out[n++] = &lt->field[f].v[k];
        if (!time_and_shapes) continue;
        for (uint32_t a = 0; a < lt->nshapes; a++)
            for (uint32_t t = 0; t < lt->shapes[a].n; t++) out[n++] = &lt->shapes[a].tests[t].path;
    }
    return n;
}

/* ---- known fields ---------------------------------------------------------------- */

/* A path's keys joined by '.', each after a '.', indexes skipped: the form
 * known paths are compared in. *open: the text ended in ".*". */
static size_t key_text(const char *text, char *out, size_t cap, bool *open) {
    size_t n = 0;
    *open = false;
    for (const char *p = text; *p && n + 1 < cap; p++) {
        if (*p == '[') {
            while (*p && *p != ']') p++;
            if (!*p) break;
            continue;
        }
        if (p[0] == '.' && p[1] == '*' && p[2] == 0) {
            *open = true;
            break;
        }
        out[n++] = *p;
    }
    out[n] = 0;
    return n;
}

/* Whether path text `want` (key form) is known by pattern `pat`. */
static bool known_by(const char *want, size_t wn, const char *pat) {
    char k[512];
    bool open;
    size_t kn = key_text(pat, k, sizeof k, &open);
    if (wn <= kn) /* want is the pattern or leads to it */
        return memcmp(k, want, wn) == 0 && (wn == kn || k[wn] == '.');
    return open && memcmp(want, k, kn) == 0 && want[kn] == '.';
}

bool sd_logtype_has_path(const sd_logtype *lt, const sd_path *p) {
    if (!lt || !lt->has_known || p->common || !p->text) return true;
    char want[512];
    bool open;
    size_t wn = key_text(p->text, want, sizeof want, &open);
    if (wn + 2 >= sizeof want) return true; /* too long to judge: no warning */
    for (uint32_t i = 0; i < lt->nknown; i++)
        if (known_by(want, wn, lt->known[i])) return true;
    return false;
}

void sd_logtype_offer_paths(const sd_logtype *lt, suggest *s) {
    for (uint32_t i = 0; lt && lt->has_known && i < lt->nknown; i++) sd_suggest_offer(s, lt->known[i]);
}

/* ---- an event's common fields ------------------------------------------------------ */

void sd_lt_common(sd_event *ev, int f, sd_values *out, sd_value *one) {
    const sd_logtype *lt = ev->lt;
    *out = (sd_values){0, NULL};
    if (f == SD_COMMON_TYPE) {
        if (!lt) return;
        *one = (sd_value){.type = SD_STR, .str = lt->name, .len = strlen(lt->name)};
        *out = (sd_values){1, one};
    } else if (f == SD_COMMON_TIME) {
        int64_t ns;
        char *text = sd_lt_time(ev, ev->time, &ns) == 1 ? sd_arena_alloc(&ev->arena, 40) : NULL;
        if (!text) return;
        size_t n = sd_time_format_rfc3339(ns, text);
        *one = (sd_value){.type = SD_STR, .str = text, .len = n};
        *out = (sd_values){1, one};
    } else if (lt && f >= 0 && f < SD_NCOMMON) {
        sd_lt_first(ev, &lt->field[f], out, one);
    }
}

const sd_values *sd_event_common(sd_event *ev, uint32_t id) {
    field_slot *slot = &ev->slots[id];
    slot->gen = ev->gen;
    sd_lt_common(ev, ev->paths[id].common - 1, &slot->vals, &slot->one);
    return &slot->vals;
}
