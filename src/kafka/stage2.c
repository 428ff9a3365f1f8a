/* stage2.c — stage 2 of the scale-out: the aggregations, per partition.
 *
 * Every partition of the repartition topic this instance owns gets an
 * engine of its own (the same rules, engine_set_stage2), so the state of a
 * partition — groups, held events, throttles, watermark — is one snapshot
 * that moves with it. Their alerts go to the main engine's callback and
 * sinks (engine_hand_out).
 *
 * Watermark: each partition hears from every origin (a partition of the
 * stage-1 input) through forwards and heartbeats. The watermark is the
 * oldest newest-time among the origins that are not at their end (all of
 * them when every one is), minus the lateness: an event is late only when
 * it is older, by the lateness, than what its own origin had already
 * sent — as in one engine reading that origin alone.
 *
 * Duplicates: a stage-1 instance that restarts sends again what followed
 * its last commit. Per origin the (offset, index) of the last forward taken
 * is kept; anything not after it is dropped (stats.duplicates).
 *
 * Checkpoints: every checkpoint_ms and on revocation, each partition's
 * envelope — the offset after its last message, its origins, its engine's
 * snapshot — goes to the state topic (compacted; key
 * "<group>/<topic>/<partition>", in partition `partition % state
 * partitions`), and only once the brokers have it are offsets committed.
 * On assignment the newest envelope for the key is read back and the
 * partition resumes at its offset: after a crash, the events since the last
 * checkpoint are evaluated again (their alerts repeat, same ids).
 */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/conf.h"
#include "kafka/kafka_int.h"

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    secdet_kafka *k = opaque;
    if (!m->err) return;
    k->ckpt_failed++;
    kafka_report(k, "kafka: checkpoint to %s: %s", k->cfg.state_topic, rd_kafka_err2str(m->err));
}

static rd_kafka_t *make_client(secdet_kafka *k, rd_kafka_type_t type, char *err, size_t n) {
    rd_kafka_conf_t *conf = kafka_conf_new(k->cfg.brokers, k->cfg.props, "secdet-stage2", err, n);
    if (!conf) return NULL;
    if (type == RD_KAFKA_PRODUCER) {
        if (kafka_conf_producer(conf, k->cfg.props, err, n) != 0) {
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
        /* A partition's state can be large: the state topic needs a
         * max.message.bytes to match (docs/scale-out.md). */
        if (!cJSON_GetObjectItemCaseSensitive(k->cfg.props, "message.max.bytes"))
            rd_kafka_conf_set(conf, "message.max.bytes", "67108864", NULL, 0);
        rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    } else {
        size_t gn = strlen(k->cfg.group) + 16;
        char *g = malloc(gn);
        if (g) snprintf(g, gn, "%s.state", k->cfg.group);
        rd_kafka_conf_set(conf, "group.id", g ? g : "secdet.state", NULL, 0);
        free(g);
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", NULL, 0);
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", NULL, 0);
        rd_kafka_conf_set(conf, "fetch.message.max.bytes", "67108864", NULL, 0);
    }
    rd_kafka_conf_set_opaque(conf, k);
    char e2[256];
    rd_kafka_t *rk = rd_kafka_new(type, conf, e2, sizeof e2);
    if (!rk) {
        snprintf(err, n, "kafka %s: %s", type == RD_KAFKA_PRODUCER ? "producer" : "state reader", e2);
        rd_kafka_conf_destroy(conf);
    }
    return rk;
}

int stage2_init(secdet_kafka *k, char *err, size_t n) {
    if (!(k->producer = make_client(k, RD_KAFKA_PRODUCER, err, n))) return -1;
    if (!(k->reader = make_client(k, RD_KAFKA_CONSUMER, err, n))) return -1;
    k->state_n = kafka_topic_partitions(k, k->producer, k->cfg.state_topic);
    if (k->state_n <= 0) {
        snprintf(err, n, "state_topic: %s: cannot read its partitions (does it exist?)", k->cfg.state_topic);
        return -1;
    }
    return 0;
}

/* ---- Partition engines --------------------------------------------------------- */

static void pe_alert(void *user, const secdet_alert *a) {
    secdet_kafka *k = user;
    engine_hand_out(k->e, a);
}

static void pe_error(void *user, const char *source, uint64_t where, const char *message) {
    secdet_kafka *k = user;
    if (k->e->error_fn) k->e->error_fn(k->e->error_user, source, where, message);
}

s2part *stage2_part_new(secdet_kafka *k) {
    s2part *s = calloc(1, sizeof *s);
    if (!s || secdet_engine_new(&k->e->opts, &s->pe) != SECDET_OK) {
        free(s);
        return NULL;
    }
    diag_list d;
    diag_init(&d);
    secdet_status st = engine_copy_rules(s->pe, k->e, &d);
    diag_free(&d);
    if (st != SECDET_OK) {
        secdet_engine_free(s->pe);
        free(s);
        return NULL;
    }
    engine_set_stage2(s->pe);
    secdet_set_alert_callback(s->pe, pe_alert, k);
    secdet_set_error_callback(s->pe, pe_error, k);
    return s;
}

void stage2_release(secdet_kafka *k, kpart *kp) {
    s2part *s = kp->s2;
    if (!s) return;
    secdet_stats st;
    if (secdet_stats_get(s->pe, &st) == SECDET_OK) {
        k->gone_events += st.events;
        k->gone_late += st.late;
    }
    for (size_t i = 0; i < s->no; i++) free(s->o[i].name);
    free(s->o);
    secdet_engine_free(s->pe);
    free(s);
    kp->s2 = NULL;
}

static korigin *origin_get(s2part *s, const char *name, size_t len) {
    for (size_t i = 0; i < s->no; i++)
        if (strlen(s->o[i].name) == len && memcmp(s->o[i].name, name, len) == 0) return &s->o[i];
    if (s->no == s->capo) {
        size_t cap = s->capo ? s->capo * 2 : 8;
        korigin *p = realloc(s->o, cap * sizeof *p);
        if (!p) return NULL;
        s->o = p;
        s->capo = cap;
    }
    korigin *o = &s->o[s->no];
    memset(o, 0, sizeof *o);
    if (!(o->name = kafka_memdup(name, len))) return NULL;
    s->no++;
    return o;
}

/* Moves the partition's watermark as far as its origins allow. */
static void s2_watermark(secdet_kafka *k, s2part *s) {
    if (s->no) kafka_follow(k, s->pe, &s->o[0].pr, s->no, sizeof s->o[0], &s->wm_any, &s->wm);
}

static bool header(const rd_kafka_message_t *m, const char *name, const char **v, size_t *n) {
    rd_kafka_headers_t *h = NULL;
    const void *p = NULL;
    if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        rd_kafka_header_get_last(h, name, &p, n) != RD_KAFKA_RESP_ERR_NO_ERROR || !p)
        return false;
    *v = p;
    return true;
}

/* A header's decimal number (NUL-less bytes). */
static bool header_i64(const rd_kafka_message_t *m, const char *name, int64_t *out) {
    const char *v;
    size_t n;
    char tmp[32];
    if (!header(m, name, &v, &n) || n == 0 || n >= sizeof tmp) return false;
    memcpy(tmp, v, n);
    tmp[n] = '\0';
    char *end;
    long long x = strtoll(tmp, &end, 10);
    if (*end) return false;
    *out = x;
    return true;
}

static void on_heartbeat(secdet_kafka *k, s2part *s, const rd_kafka_message_t *m, const char *origin, size_t olen) {
    const char *all;
    size_t alen;
    if (header(m, "secdet-origins", &all, &alen)) { /* meet the origins not heard of yet */
        for (size_t a = 0; a < alen;) {
            size_t b = a;
            while (b < alen && all[b] != ',') b++;
            if (b > a) (void)origin_get(s, all + a, b - a);
            a = b + 1;
        }
    }
    korigin *o = origin_get(s, origin, olen);
    if (!o) return;
    const char *idle;
    size_t n;
    o->pr.idle = header(m, "secdet-idle", &idle, &n) && n == 1 && idle[0] == '1';
    int64_t t;
    if (header_i64(m, "secdet-time", &t) && (!o->pr.any || t > o->pr.time)) {
        o->pr.time = t;
        o->pr.any = true;
    }
    s2_watermark(k, s);
}

void stage2_message(secdet_kafka *k, kpart *kp, const rd_kafka_message_t *m) {
    s2part *s = kp->s2;
    if (!s) return;
    const char *origin, *rule, *source, *seq;
    size_t olen, rlen, slen, qlen;
    if (header(m, "secdet-watermark", &origin, &olen)) {
        on_heartbeat(k, s, m, origin, olen);
        return;
    }
    int64_t t, off;
    char rname[256], sname[256], qtmp[48];
    if (!header(m, "secdet-origin", &origin, &olen) || !header(m, "secdet-rule", &rule, &rlen) ||
        !header(m, "secdet-source", &source, &slen) || !header(m, "secdet-seq", &seq, &qlen) ||
        !header_i64(m, "secdet-time", &t) || rlen >= sizeof rname || slen >= sizeof sname || qlen >= sizeof qtmp) {
        kafka_report(k, "kafka: %s offset %" PRId64 ": not a forwarded event (headers missing)", kp->origin,
                     (int64_t)m->offset);
        return;
    }
    memcpy(qtmp, seq, qlen);
    qtmp[qlen] = '\0';
    unsigned long idx = 0;
    long long o_off = 0;
    if (sscanf(qtmp, "%lld:%lu", &o_off, &idx) != 2) return;
    off = o_off;
    korigin *o = origin_get(s, origin, olen);
    if (!o) return;
    if (o->seen && (off < o->off || (off == o->off && idx <= o->idx))) {
        k->stats.duplicates++;
        return;
    }
    o->seen = true;
    o->off = off;
    o->idx = (uint32_t)idx;
    o->pr.idle = false;
    memcpy(rname, rule, rlen);
    rname[rlen] = '\0';
    memcpy(sname, source, slen);
    sname[slen] = '\0';
    (void)engine_push_forwarded(s->pe, sname, rname, t, m->payload ? m->payload : "", m->len);
    engine_push_done(k->e);
    if (!o->pr.any || t > o->pr.time) {
        o->pr.time = t;
        o->pr.any = true;
        s2_watermark(k, s);
    }
}

void stage2_flush(secdet_kafka *k) {
    for (size_t i = 0; i < k->nparts; i++) {
        if (!k->parts[i].s2) continue;
        secdet_flush(k->parts[i].s2->pe);
        k->parts[i].s2->ckpt_done = false; /* the state changed: checkpoint it again */
    }
    engine_push_done(k->e);
}

void stage2_stats(const secdet_kafka *k, secdet_kafka_stats *out) {
    out->events = k->gone_events;
    out->late = k->gone_late;
    out->groups = 0;
    for (size_t i = 0; i < k->nparts; i++) {
        secdet_stats st;
        if (k->parts[i].s2 && secdet_stats_get(k->parts[i].s2->pe, &st) == SECDET_OK) {
            out->events += st.events;
            out->late += st.late;
            out->groups += st.groups;
        }
    }
}
