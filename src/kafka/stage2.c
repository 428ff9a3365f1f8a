/* stage2.c — stage 2 of the scale-out: the aggregations, per partition.
 *
 * Every partition of the repartition topic this instance owns gets an
 * engine of its own (the same rules, sd_engine_set_external_watermark), so the state of a
 * partition — groups, held events, throttles, watermark — is one snapshot
 * that moves with it. Their alerts go to the main engine's callback and
 * sinks (sd_engine_hand_out).
 *
 * Watermark: each partition hears from every origin (a partition of the
 * stage-1 input) through forwards and heartbeats. The watermark is the
 * oldest newest-time among the origins that are not at their end (all of
 * them when every one is), minus the lateness: an event is late only when
 * it is older, by the lateness, than what its own origin had already
 * sent — as in one engine reading that origin alone.
 *
 * Messages are read by wire.c (sd_kwire_read), which refuses a malformed one
 * (reported with its offset, then skipped) before anything here sees it.
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

#include "util/kafka_conf.h"
#include "kafka/kafka_int.h"
#include "util/limits.h"

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    secdet_kafka *k = opaque;
    if (!m->err) return;
    k->ckpt_failed++;
    sd_kafka_report(k, "kafka: checkpoint to %s: %s", k->cfg.state_topic, rd_kafka_err2str(m->err));
}

static rd_kafka_t *make_client(secdet_kafka *k, rd_kafka_type_t type, char *err, size_t n) {
    rd_kafka_conf_t *conf = sd_kafka_conf_new(k->cfg.brokers, k->cfg.props, "secdet-stage2", err, n);
    if (!conf) return NULL;
    if (type == RD_KAFKA_PRODUCER) {
        if (sd_kafka_conf_producer(conf, k->cfg.props, err, n) != 0) {
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

int sd_stage2_init(secdet_kafka *k, char *err, size_t n) {
    if (!(k->producer = make_client(k, RD_KAFKA_PRODUCER, err, n))) return -1;
    if (!(k->reader = make_client(k, RD_KAFKA_CONSUMER, err, n))) return -1;
    k->state_n = sd_kafka_topic_partitions(k, k->producer, k->cfg.state_topic);
    if (k->state_n <= 0) {
        snprintf(err, n, "state_topic: %s: cannot read its partitions (does it exist?)", k->cfg.state_topic);
        return -1;
    }
    return 0;
}

/* ---- Partition engines --------------------------------------------------------- */

static void pe_alert(void *user, const secdet_alert *a) {
    secdet_kafka *k = user;
    sd_engine_hand_out(k->e, a);
}

static void pe_error(void *user, const char *source, uint64_t where, const char *message) {
    secdet_kafka *k = user;
    sd_engine_report(k->e, source, where, message); /* counted by the partition engine */
}

s2part *sd_stage2_part_new(secdet_kafka *k) {
    s2part *s = calloc(1, sizeof *s);
    if (!s || secdet_engine_new(sd_engine_opts(k->e), &s->pe) != SECDET_OK) {
        free(s);
        return NULL;
    }
    diag_list d;
    sd_diag_init(&d);
    secdet_status st = sd_engine_copy_rules(s->pe, k->e, &d);
    sd_diag_free(&d);
    if (st != SECDET_OK) {
        secdet_engine_free(s->pe);
        free(s);
        return NULL;
    }
    sd_engine_set_external_watermark(s->pe);
    secdet_set_alert_callback(s->pe, pe_alert, k);
    secdet_set_error_callback(s->pe, pe_error, k);
    return s;
}

void sd_stage2_release(secdet_kafka *k, kpart *kp) {
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
    if (!(o->name = sd_kafka_memdup(name, len))) return NULL;
    s->no++;
    return o;
}

/* Moves the partition's watermark as far as its origins allow. */
static void s2_watermark(secdet_kafka *k, s2part *s) {
    if (s->no) sd_kafka_follow(k, s->pe, &s->o[0].pr, s->no, sizeof s->o[0], &s->wm_any, &s->wm);
}

/* kwire_get_fn over a consumed message's headers. */
static bool msg_header(void *msg, const char *name, const char **v, size_t *n) {
    rd_kafka_headers_t *h = NULL;
    const void *p = NULL;
    if (rd_kafka_message_headers(msg, &h) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        rd_kafka_header_get_last(h, name, &p, n) != RD_KAFKA_RESP_ERR_NO_ERROR || !p)
        return false;
    *v = p;
    return true;
}

static void meet_origin(void *user, const char *name, size_t len) { (void)origin_get(user, name, len); }

void sd_stage2_apply(secdet_kafka *k, s2part *s, const kwire_msg *w, const char *payload, size_t len) {
    if (w->kind == KWIRE_HEARTBEAT) {
        const kwire_heartbeat *h = &w->h;
        /* Meet the origins not heard of yet: they hold the watermark until they report. */
        if (h->origins) (void)sd_kwire_origins_each(h->origins, h->origins_len, meet_origin, s);
        korigin *o = origin_get(s, h->origin, h->origin_len);
        if (!o) return;
        o->pr.idle = h->idle;
        if (h->any && (!o->pr.any || h->time_ns > o->pr.time)) {
            o->pr.time = h->time_ns;
            o->pr.any = true;
        }
        s2_watermark(k, s);
        return;
    }
    if (w->kind != KWIRE_FORWARD) return;
    const kwire_forward *f = &w->f;
    korigin *o = origin_get(s, f->origin, f->origin_len);
    if (!o) return;
    if (o->seen && (f->off < o->off || (f->off == o->off && f->idx <= o->idx))) {
        k->stats.duplicates++;
        return;
    }
    o->seen = true;
    o->off = f->off;
    o->idx = f->idx;
    o->pr.idle = false;
    char rule[LIMIT_KAFKA_NAME + 1], source[LIMIT_KAFKA_NAME + 1]; /* sd_kwire_read checked the lengths */
    memcpy(rule, f->rule, f->rule_len);
    rule[f->rule_len] = '\0';
    memcpy(source, f->source, f->source_len);
    source[f->source_len] = '\0';
    (void)sd_engine_push_forwarded_group(s->pe, source, rule, f->group ? f->group : "", (uint32_t)f->group_len,
                                         f->time_ns, payload, len);
    sd_engine_commit(k->e);
    if (!o->pr.any || f->time_ns > o->pr.time) {
        o->pr.time = f->time_ns;
        o->pr.any = true;
        s2_watermark(k, s);
    }
}

void sd_stage2_message(secdet_kafka *k, kpart *kp, const rd_kafka_message_t *m) {
    s2part *s = kp->s2;
    if (!s) return;
    kwire_msg w;
    char why[160];
    if (sd_kwire_read(msg_header, (void *)m, m->key, m->key_len, &w, why, sizeof why) == KWIRE_BAD) {
        sd_kafka_report(k, "kafka: %s offset %" PRId64 ": %s", kp->origin, (int64_t)m->offset, why);
        return;
    }
    sd_stage2_apply(k, s, &w, m->payload ? m->payload : "", m->len);
}

void sd_stage2_flush(secdet_kafka *k) {
    for (size_t i = 0; i < k->nparts; i++) {
        if (!k->parts[i].s2) continue;
        secdet_flush(k->parts[i].s2->pe);
        k->parts[i].s2->ckpt_done = false; /* the state changed: checkpoint it again */
    }
    sd_engine_commit(k->e);
}

void sd_stage2_stats(const secdet_kafka *k, secdet_kafka_stats *out) {
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
