/* fuzz_repartition.c — libFuzzer target: messages on the repartition topic as
 * stage 2 reads them (src/kafka/wire.c, then sd_stage2_apply in stage2.c).
 *
 * Input: byte 0 picks the lateness (bits 0-1: LATENESS_MS[]). Then messages
 * until the input ends, each:
 *   u8 header count (mod 8), per header: u8 name (NAMES[b % 9]), u16 value
 *   length (little-endian), the value; u16 key length (0xffff: no key), the
 *   key; u16 value length, the message's value (the event JSON).
 * Lengths are cut to what is left of the input. The headers are looked up as
 * librdkafka's rd_kafka_header_get_last does (the last of a name wins).
 *
 * Properties, per message:
 *  - sd_kwire_read either refuses it with a reason, or reads fields that hold
 *    what wire.h promises (names 1..255 bytes without NUL, origins without
 *    NUL or comma, offsets not negative, the key beginning with the rule);
 *  - what it read, written again (sd_kwire_forward_headers / _key /
 *    sd_kwire_heartbeat_headers) and read back, gives the same fields;
 *  - applied to a partition state (an engine with RULES below: the
 *    aggregations and throttles of fuzz_eval's ruleset, under the same
 *    names; a small ruleset, so that a fresh engine per input is cheap): a forward not after the last one taken from its
 *    origin is a duplicate (stats.duplicates + 1, nothing evaluated), any
 *    other is evaluated once (the engine's events + malformed + 1); origin
 *    names stay unique and NUL-free; the watermark never moves back, and
 *    when it moves it is the oldest newest-time of the origins that are not
 *    idle (all, when every one is) minus the lateness.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "kafka/kafka_int.h"
#include "kafka/wire.h"
#include "secdet.h"
#include "util/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (!(cond)) __builtin_trap();                                                                                 \
    } while (0)
#define MAX_HEADERS 8

static const char *const NAMES[9] = {"secdet-rule",   "secdet-source",  "secdet-time",
                                     "secdet-origin", "secdet-seq",     "secdet-watermark",
                                     "secdet-idle",   "secdet-origins", "x-other"};
static const int64_t LATENESS_MS[4] = {0, 1, 900000, INT64_C(86400000) * 365 * 1000};

static const char RULES[] =
    "rule counted { where .eventName == \"ConsoleLogin\" count >= 3 within 5m by .user, lower(.sourceIPAddress) }\n"
    "rule counted_gt { where exists .n count > 2 within 1s }\n"
    "rule distinct_names { where exists .eventName distinct .eventName >= 2 within 10m by .user }\n"
    "rule seq { sequence within 10m by .user { first: .eventName == \"ConsoleLogin\"; "
    "second: .eventName == \"StopLogging\" } }\n"
    "rule seq_ungrouped { sequence within 1m { a: .s == \"a\"; b: .s == \"b\" } }\n"
    "rule throttled { where exists .user throttle 1m by .user output \"throttled {.user}\" }\n"
    "rule throttled_count { where .s == \"t\" count >= 2 within 1m by .user throttle 10m by .user }\n";

/* The input's main engine, one per lateness: only read (its lateness) and
 * handed alerts to (none: the partition engine keeps its own), so it can
 * outlive an input. */
static secdet_engine *main_engine(unsigned which) {
    static secdet_engine *engines[4];
    if (!engines[which]) {
        secdet_engine_opts opts;
        secdet_engine_opts_init(&opts);
        opts.lateness_ms = LATENESS_MS[which];
        if (secdet_engine_new(&opts, &engines[which]) != SECDET_OK) __builtin_trap();
    }
    return engines[which];
}

typedef struct hlist {
    kwire_header h[MAX_HEADERS];
    size_t n;
} hlist;

static bool hlist_get(void *msg, const char *name, const char **value, size_t *len) {
    const hlist *l = msg;
    for (size_t i = l->n; i-- > 0;) {
        if (strcmp(l->h[i].name, name) == 0) {
            *value = l->h[i].value;
            *len = l->h[i].len;
            return true;
        }
    }
    return false;
}

typedef struct reader {
    const uint8_t *p;
    size_t n, at;
} reader;

static size_t take_len(reader *r) {
    if (r->n - r->at < 2) {
        r->at = r->n;
        return 0;
    }
    size_t len = (size_t)r->p[r->at] | (size_t)r->p[r->at + 1] << 8;
    r->at += 2;
    return len;
}

static const char *take(reader *r, size_t len, size_t *got) {
    *got = len < r->n - r->at ? len : r->n - r->at;
    const char *s = (const char *)r->p + r->at;
    r->at += *got;
    return s;
}

static bool same(const char *a, size_t an, const char *b, size_t bn) {
    return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

static bool name_ok(const char *s, size_t n, size_t max) { return n >= 1 && n <= max && !memchr(s, 0, n); }

static void check_fields(const kwire_msg *w, const void *key, size_t key_len) {
    if (w->kind == KWIRE_FORWARD) {
        const kwire_forward *f = &w->f;
        CHECK(name_ok(f->rule, f->rule_len, LIMIT_KAFKA_NAME) && name_ok(f->source, f->source_len, LIMIT_KAFKA_NAME));
        CHECK(name_ok(f->origin, f->origin_len, KWIRE_ORIGIN_MAX) && !memchr(f->origin, ',', f->origin_len));
        CHECK(f->off >= 0);
        CHECK(key && key_len == f->rule_len + 1 + f->group_len && memcmp(key, f->rule, f->rule_len) == 0 &&
              ((const char *)key)[f->rule_len] == '\0');
    } else {
        const kwire_heartbeat *h = &w->h;
        CHECK(name_ok(h->origin, h->origin_len, KWIRE_ORIGIN_MAX) && !memchr(h->origin, ',', h->origin_len));
        if (h->origins) CHECK(sd_kwire_origins_each(h->origins, h->origins_len, NULL, NULL));
    }
}

/* Writes w again and reads it back: the same fields. */
static void check_round_trip(const kwire_msg *w) {
    hlist l = {.n = 0};
    kwire_text t;
    buf key;
    sd_buf_init(&key);
    kwire_msg back;
    char err[160];
    if (w->kind == KWIRE_FORWARD) {
        l.n = sd_kwire_forward_headers(&w->f, &t, l.h);
        sd_kwire_forward_key(&w->f, &key);
        CHECK(!key.oom);
        CHECK(sd_kwire_read(hlist_get, &l, key.data, key.len, &back, err, sizeof err) == KWIRE_FORWARD);
        const kwire_forward *a = &w->f, *b = &back.f;
        CHECK(same(a->rule, a->rule_len, b->rule, b->rule_len) &&
              same(a->source, a->source_len, b->source, b->source_len));
        CHECK(same(a->origin, a->origin_len, b->origin, b->origin_len) &&
              same(a->group, a->group_len, b->group, b->group_len));
        CHECK(a->time_ns == b->time_ns && a->off == b->off && a->idx == b->idx);
    } else {
        l.n = sd_kwire_heartbeat_headers(&w->h, &t, l.h);
        CHECK(sd_kwire_read(hlist_get, &l, NULL, 0, &back, err, sizeof err) == KWIRE_HEARTBEAT);
        const kwire_heartbeat *a = &w->h, *b = &back.h;
        CHECK(same(a->origin, a->origin_len, b->origin, b->origin_len) && a->idle == b->idle && a->any == b->any);
        CHECK(!a->any || a->time_ns == b->time_ns);
        CHECK((a->origins == NULL) == (b->origins == NULL) &&
              same(a->origins, a->origins_len, b->origins, b->origins_len));
    }
    sd_buf_free(&key);
}

static const korigin *find(const s2part *s, const char *name, size_t len) {
    for (size_t i = 0; i < s->no; i++)
        if (strlen(s->o[i].name) == len && memcmp(s->o[i].name, name, len) == 0) return &s->o[i];
    return NULL;
}

static uint64_t evaluated(secdet_engine *e) {
    secdet_stats st;
    CHECK(secdet_stats_get(e, &st) == SECDET_OK);
    return st.events + st.malformed;
}

/* The watermark sd_kafka_follow should set now: false when it must not move. */
static bool expected_watermark(const s2part *s, int64_t lateness_ms, int64_t *out) {
    bool active = false, have = false;
    int64_t low = 0;
    for (size_t i = 0; i < s->no; i++) active = active || !s->o[i].pr.idle;
    for (size_t i = 0; i < s->no; i++) {
        const kprogress *p = &s->o[i].pr;
        if (active && p->idle) continue;
        if (!p->any) return false;
        if (!have || p->time < low) low = p->time;
        have = true;
    }
    if (!have) return false;
    int64_t lat = lateness_ms > INT64_MAX / 1000000 ? INT64_MAX : lateness_ms * 1000000;
    *out = low < INT64_MIN + lat ? INT64_MIN : low - lat;
    return true;
}

static void apply_and_check(secdet_kafka *k, s2part *s, const kwire_msg *w, const char *payload, size_t len) {
    uint64_t dups = k->stats.duplicates, evals = evaluated(s->pe);
    bool wm_any = s->wm_any;
    int64_t wm = s->wm;
    bool dup = false;
    if (w->kind == KWIRE_FORWARD) {
        const korigin *o = find(s, w->f.origin, w->f.origin_len);
        dup = o && o->seen && (w->f.off < o->off || (w->f.off == o->off && w->f.idx <= o->idx));
    }
    sd_stage2_apply(k, s, w, payload, len);
    if (w->kind == KWIRE_FORWARD) {
        CHECK(k->stats.duplicates == dups + (dup ? 1 : 0));
        CHECK(evaluated(s->pe) == evals + (dup ? 0 : 1));
        const korigin *o = find(s, w->f.origin, w->f.origin_len);
        CHECK(o && o->seen && (dup || (o->off == w->f.off && o->idx == w->f.idx)));
    } else {
        CHECK(k->stats.duplicates == dups && evaluated(s->pe) == evals);
        CHECK(find(s, w->h.origin, w->h.origin_len) != NULL);
    }
    for (size_t i = 0; i < s->no; i++) {
        size_t n = strlen(s->o[i].name);
        CHECK(n >= 1 && n <= KWIRE_ORIGIN_MAX && !memchr(s->o[i].name, ',', n));
        CHECK(find(s, s->o[i].name, n) == &s->o[i]); /* unique */
    }
    CHECK(!wm_any || (s->wm_any && s->wm >= wm));
    if (s->wm_any && (!wm_any || s->wm != wm)) {
        int64_t want;
        CHECK(expected_watermark(s, k->e->opts.lateness_ms, &want) && want == s->wm);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    secdet_engine_opts opts;
    secdet_engine_opts_init(&opts);
    opts.max_samples = 3;
    opts.lateness_ms = LATENESS_MS[data[0] & 3];
    secdet_kafka k;
    memset(&k, 0, sizeof k);
    k.e = main_engine(data[0] & 3);
    s2part s;
    memset(&s, 0, sizeof s);
    if (secdet_engine_new(&opts, &s.pe) != SECDET_OK) return 0;
    if (secdet_load_rules_string(s.pe, "repartition.secdet", RULES, sizeof RULES - 1, NULL) != SECDET_OK)
        __builtin_trap();
    sd_engine_set_external_watermark(s.pe);

    reader r = {data, size, 1};
    while (r.at < r.n) {
        hlist l = {.n = (size_t)(r.p[r.at++] % MAX_HEADERS)};
        for (size_t i = 0; i < l.n; i++) {
            size_t name = r.at < r.n ? r.p[r.at++] % 9 : 8;
            l.h[i].name = NAMES[name];
            l.h[i].value = take(&r, take_len(&r), &l.h[i].len);
        }
        size_t klen = take_len(&r), vlen;
        const char *key = NULL;
        if (klen != 0xffff)
            key = take(&r, klen, &klen);
        else
            klen = 0;
        const char *value = take(&r, take_len(&r), &vlen);

        kwire_msg w;
        char err[160];
        err[0] = 'x';
        err[1] = '\0';
        kwire_kind kind = sd_kwire_read(hlist_get, &l, key, klen, &w, err, sizeof err);
        if (kind == KWIRE_BAD) {
            CHECK(err[0] && memchr(err, '\0', sizeof err) && strcmp(err, "x") != 0); /* a refusal says why */
            continue;
        }
        check_fields(&w, key, klen);
        check_round_trip(&w);
        apply_and_check(&k, &s, &w, value, vlen);
    }
    (void)secdet_flush(s.pe);
    for (size_t i = 0; i < s.no; i++) free(s.o[i].name);
    free(s.o);
    secdet_engine_free(s.pe);
    return 0;
}
