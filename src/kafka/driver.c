/* driver.c — the Kafka input: a consumer-group member that evaluates what
 * it is given and commits only what is done.
 *
 * The loop: poll the consumer; evaluate the message (single and stage 1:
 * secdet_push + secdet_source_end on the engine; stage 2: sd_stage2_message);
 * every commit_ms commit the offsets after the last evaluated message of
 * each partition — in stage 1 only once sd_stage1_settle has seen every
 * forward acknowledged, in stage 2 only after a checkpoint holds the state
 * they cover. A revocation does the same before the partitions go, so the
 * next owner starts exactly where this one stopped. Nothing is committed
 * while a sink holds alerts only in memory (its spool cannot write): they
 * are not handed off until its spool has them. Backpressure: when any
 * sink has max_pending alerts waiting, or cannot take more at all (its
 * spool full and its memory queue too: sd_engine_sinks_saturated), every
 * partition is paused (the consumer is still polled, so the group keeps
 * this member) until they are down to half and it takes alerts again.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "util/kafka_conf.h"
#include "kafka/kafka_int.h"

int64_t sd_kafka_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *sd_kafka_memdup(const void *p, size_t len) {
    char *s = malloc(len + 1);
    if (s) {
        if (len) memcpy(s, p, len);
        s[len] = '\0';
    }
    return s;
}

void sd_kafka_report(secdet_kafka *k, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (k->log)
        k->log(k->log_user, msg);
    else
        sd_engine_report(k->e, k->source, 0, msg);
}

void secdet_kafka_set_tick(secdet_kafka *k, unsigned interval_ms, secdet_kafka_tick_fn fn, void *user) {
    if (!k) return;
    k->tick = fn;
    k->tick_user = user;
    k->tick_ms = interval_ms ? interval_ms : 100;
}

void secdet_kafka_set_log(secdet_kafka *k, secdet_kafka_log_fn fn, void *user) {
    if (!k) return;
    k->log = fn;
    k->log_user = user;
}

kpart *sd_kafka_part_find(secdet_kafka *k, const char *topic, int32_t partition) {
    for (size_t i = 0; i < k->nparts; i++)
        if (k->parts[i].partition == partition && strcmp(k->parts[i].topic, topic) == 0) return &k->parts[i];
    return NULL;
}

int32_t sd_kafka_topic_partitions(secdet_kafka *k, rd_kafka_t *rk, const char *topic) {
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = t ? rd_kafka_metadata(rk, 0, t, &md, 10000) : RD_KAFKA_RESP_ERR__INVALID_ARG;
    int32_t n = -1;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
        n = md->topics[0].partition_cnt;
    else
        sd_kafka_report(k, "kafka: topic %s: %s", topic,
                        rd_kafka_err2str(err                  ? err
                                         : md->topic_cnt == 1 ? md->topics[0].err
                                                              : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
    if (md) rd_kafka_metadata_destroy(md);
    if (t) rd_kafka_topic_destroy(t);
    return n;
}

void sd_kafka_commit(secdet_kafka *k, bool sync) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)(k->nparts ? k->nparts : 1));
    for (size_t i = 0; i < k->nparts; i++) {
        kpart *p = &k->parts[i];
        if (p->next >= 0 && p->next != p->committed)
            rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset = p->next;
    }
    if (l->cnt > 0) {
        rd_kafka_resp_err_t err = rd_kafka_commit(k->consumer, l, sync ? 0 : 1);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            for (int i = 0; i < l->cnt; i++) {
                kpart *p = sd_kafka_part_find(k, l->elems[i].topic, l->elems[i].partition);
                if (p) p->committed = l->elems[i].offset;
            }
            k->stats.commits++;
        } else {
            sd_kafka_report(k, "kafka: commit: %s", rd_kafka_err2str(err));
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
}

/* Everything evaluated so far made safe, then committed. Not while a sink
 * holds alerts only in memory (its spool cannot write): committing would
 * put them out of reach of a restart while a SIGKILL loses them; the commit
 * waits until the spool has them (or they are delivered). */
static void settle_and_commit(secdet_kafka *k, bool sync) {
    bool ok = true;
    if (k->cfg.stage == KSTAGE_PARTITION) ok = sd_stage1_settle(k);
    ok = ok && !sd_engine_sinks_holding(k->e);
    if (ok && k->cfg.stage == KSTAGE_AGGREGATE) ok = sd_stage2_checkpoint(k);
    if (ok) sd_kafka_commit(k, sync);
    k->last_commit = k->last_ckpt = sd_kafka_now_ms();
}

static void part_free(secdet_kafka *k, kpart *p) {
    if (p->s2) sd_stage2_release(k, p);
    free(p->topic);
    free(p->origin);
}

static int add_part(secdet_kafka *k, const char *topic, int32_t partition) {
    if (k->nparts == k->capparts) {
        size_t cap = k->capparts ? k->capparts * 2 : 8;
        kpart *n = realloc(k->parts, cap * sizeof *n);
        if (!n) return -1;
        k->parts = n;
        k->capparts = cap;
    }
    kpart *p = &k->parts[k->nparts];
    memset(p, 0, sizeof *p);
    p->topic = strdup(topic);
    size_t on = strlen(topic) + 16;
    p->origin = malloc(on);
    if (!p->topic || !p->origin) {
        free(p->topic);
        free(p->origin);
        return -1;
    }
    snprintf(p->origin, on, "%s/%d", topic, (int)partition);
    p->partition = partition;
    p->next = p->committed = -1;
    k->nparts++;
    return 0;
}

static void on_assign(secdet_kafka *k, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts) {
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[i];
        if (sd_kafka_part_find(k, tp->topic, tp->partition)) continue;
        if (add_part(k, tp->topic, tp->partition) != 0) {
            sd_kafka_report(k, "kafka: out of memory on assignment");
            k->failed = true;
            continue;
        }
        kpart *kp = &k->parts[k->nparts - 1];
        if (k->cfg.stage == KSTAGE_AGGREGATE && sd_stage2_assign(k, kp, &tp->offset) != 0) k->failed = true;
    }
    rd_kafka_assign(rk, parts);
    if (k->paused) rd_kafka_pause_partitions(rk, parts);
    if (k->cfg.stage == KSTAGE_PARTITION) sd_stage1_heartbeat(k, true);
    k->stats.partitions = k->nparts;
}

static void on_revoke(secdet_kafka *k, rd_kafka_t *rk) {
    settle_and_commit(k, true);
    for (size_t i = 0; i < k->nparts; i++) part_free(k, &k->parts[i]);
    k->nparts = 0;
    k->stats.partitions = 0;
    rd_kafka_assign(rk, NULL);
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                         void *opaque) {
    secdet_kafka *k = opaque;
    k->stats.rebalances++;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        on_assign(k, rk, parts);
    } else {
        if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
            sd_kafka_report(k, "kafka: rebalance: %s", rd_kafka_err2str(err));
        on_revoke(k, rk);
    }
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    secdet_kafka *k = opaque;
    sd_kafka_report(k, "kafka: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
    if (err == RD_KAFKA_RESP_ERR__FATAL) k->failed = true;
}

static int make_consumer(secdet_kafka *k, char *err, size_t n) {
    rd_kafka_conf_t *conf = sd_kafka_conf_new(k->cfg.brokers, k->cfg.props, "secdet", err, n);
    if (!conf) return -1;
    /* Defaults the user's properties may change; then what at-least-once
     * needs, which they may not. */
    /* librdkafka 2.0 stops fetching for a whole second whenever its
     * prefetch queue is full (librdkafka#2879; 2.1 made it
     * fetch.queue.backoff.ms): with the default 64 MB that is a fraction of
     * a second of work, and an instance catching up idles most of the time
     * (bench/kafka_bench.sh: 0.2 x scan, 0.5-0.7 x with these). */
    static const char *const defaults[][2] = {{"auto.offset.reset", "earliest"},
                                              {"session.timeout.ms", "10000"},
                                              {"queued.max.messages.kbytes", "524288"},
                                              {"queued.min.messages", "1000000"}};
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
        if (!cJSON_GetObjectItemCaseSensitive(k->cfg.props, defaults[i][0]))
            rd_kafka_conf_set(conf, defaults[i][0], defaults[i][1], NULL, 0);
    static const char *const fixed[][2] = {
        {"enable.auto.commit", "false"}, {"enable.auto.offset.store", "false"}, {"enable.partition.eof", "true"}};
    char e2[256];
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        rd_kafka_conf_set(conf, fixed[i][0], fixed[i][1], NULL, 0);
    if (rd_kafka_conf_set(conf, "group.id", k->cfg.group, e2, sizeof e2) != RD_KAFKA_CONF_OK) {
        snprintf(err, n, "group: %s", e2);
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_opaque(conf, k);
    k->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e2, sizeof e2);
    if (!k->consumer) {
        snprintf(err, n, "kafka consumer: %s", e2);
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    rd_kafka_poll_set_consumer(k->consumer);
    return 0;
}

/* ---- Public API ---------------------------------------------------------------- */

static void set_error(char **error, const char *msg) {
    if (error) *error = strdup(msg);
}

secdet_status secdet_kafka_new(secdet_engine *engine, const char *source, const char *json, size_t len,
                               secdet_kafka **out, char **error) {
    if (error) *error = NULL;
    if (!out) return SECDET_ERR_INVALID_ARG;
    *out = NULL;
    if (!engine || !source || (!json && len)) return SECDET_ERR_INVALID_ARG;
    secdet_kafka *k = calloc(1, sizeof *k);
    if (!k) return SECDET_ERR_NOMEM;
    k->e = engine;
    sd_buf_init(&k->keybuf);
    atomic_init(&k->stop, false);
    char err[512] = "";
    bool found = sd_engine_has_source(engine, source);
    int rc = -1;
    if (!found)
        snprintf(err, sizeof err, "source %s: not added to the engine", source);
    else if (!(k->source = strdup(source)))
        snprintf(err, sizeof err, "out of memory");
    else if (sd_kcfg_parse(json, len, &k->cfg, err, sizeof err) == 0)
        rc = 0;
    /* A topic that names its log type: its messages go to that log type's source. */
    for (size_t i = 0; rc == 0 && i < k->cfg.nlt; i++) {
        secdet_source_opts so = {.format = SECDET_FMT_AUTO, .log_type = k->cfg.lt_type[i]};
        secdet_status st = secdet_source_add(engine, k->cfg.lt_type[i], &so);
        if (st != SECDET_OK && st != SECDET_ERR_EXISTS) {
            snprintf(err, sizeof err, "log_types.%.100s: %s \"%.60s\"", k->cfg.lt_topic[i],
                     st == SECDET_ERR_INVALID_ARG ? "unknown log type" : secdet_strerror(st), k->cfg.lt_type[i]);
            rc = -1;
        }
    }
    if (rc == 0) rc = make_consumer(k, err, sizeof err);
    /* Event time across partitions (docs/scale-out.md): the watermark is
     * moved by single_watermark, and throttles wait for it. */
    if (rc == 0 && k->cfg.stage == KSTAGE_SINGLE) sd_engine_set_external_watermark(engine);
    if (rc == 0 && k->cfg.stage == KSTAGE_PARTITION) rc = sd_stage1_init(k, err, sizeof err);
    if (rc == 0 && k->cfg.stage == KSTAGE_AGGREGATE) rc = sd_stage2_init(k, err, sizeof err);
    if (rc != 0) {
        set_error(error, err);
        secdet_kafka_free(k);
        return SECDET_ERR_INVALID_ARG;
    }
    *out = k;
    return SECDET_OK;
}

/* The most alerts any sink has waiting. */
static uint64_t sinks_pending(secdet_kafka *k) {
    uint64_t most = 0;
    size_t n = secdet_sink_count(k->e);
    for (size_t i = 0; i < n; i++) {
        secdet_sink_stats st;
        if (secdet_sink_stats_get(k->e, i, &st) == SECDET_OK && st.pending > most) most = st.pending;
    }
    return most;
}

static void set_paused(secdet_kafka *k, bool pause) {
    rd_kafka_topic_partition_list_t *l = NULL;
    if (rd_kafka_assignment(k->consumer, &l) == RD_KAFKA_RESP_ERR_NO_ERROR && l) {
        if (pause)
            rd_kafka_pause_partitions(k->consumer, l);
        else
            rd_kafka_resume_partitions(k->consumer, l);
        rd_kafka_topic_partition_list_destroy(l);
    }
    if (pause) k->stats.paused++;
    k->paused = pause;
}

static void backpressure(secdet_kafka *k) {
    bool full = sd_engine_sinks_saturated(k->e);
    uint64_t pending = sinks_pending(k);
    if (!k->paused && (full || pending >= k->cfg.max_pending))
        set_paused(k, true);
    else if (k->paused && !full && pending <= k->cfg.max_pending / 2)
        set_paused(k, false);
}

static bool kprogress_low(const kprogress *first, size_t n, size_t stride, int64_t *low) {
    const char *base = (const char *)first;
    bool any_active = false;
    for (size_t i = 0; i < n; i++) any_active = any_active || !((const kprogress *)(base + i * stride))->idle;
    bool have = false;
    for (size_t i = 0; i < n; i++) {
        const kprogress *p = (const kprogress *)(base + i * stride);
        if (any_active && p->idle) continue;
        if (!p->any) return false;
        if (!have || p->time < *low) *low = p->time;
        have = true;
    }
    return have;
}

void sd_kafka_follow(secdet_kafka *k, secdet_engine *e, const kprogress *first, size_t n, size_t stride, bool *wm_any,
                     int64_t *wm) {
    int64_t low = 0;
    if (!n || !kprogress_low(first, n, stride, &low)) return;
    int64_t lat_ms = sd_engine_opts(k->e)->lateness_ms;
    int64_t lat = lat_ms > INT64_MAX / 1000000 ? INT64_MAX : lat_ms * 1000000;
    int64_t next = low < INT64_MIN + lat ? INT64_MIN : low - lat;
    if (*wm_any && next <= *wm) return;
    *wm = next;
    *wm_any = true;
    sd_engine_set_watermark(e, next);
    if (e != k->e) sd_engine_commit(k->e); /* e's alerts went to the main engine's sinks */
}

/* Single stage: the engine's watermark follows its slowest partition, not
 * its newest event (librdkafka hands out one partition's backlog before
 * another's, hours apart in event time). */
static void single_watermark(secdet_kafka *k) {
    if (k->nparts) sd_kafka_follow(k, k->e, &k->parts[0].pr, k->nparts, sizeof k->parts[0], &k->wm_any, &k->wm);
}

static void on_message(secdet_kafka *k, const rd_kafka_message_t *m) {
    const char *topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "";
    kpart *kp = sd_kafka_part_find(k, topic, m->partition);
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (kp && !kp->at_end) {
            kp->at_end = true;
            kp->end_since = sd_kafka_now_ms();
        }
        return;
    }
    if (m->err) {
        sd_kafka_report(k, "kafka: %s", rd_kafka_message_errstr(m));
        return;
    }
    if (!kp) return; /* a message of a partition just revoked */
    kp->pr.idle = kp->at_end = false;
    k->stats.messages++;
    if (k->cfg.stage == KSTAGE_AGGREGATE) {
        sd_stage2_message(k, kp, m);
    } else {
        k->cur = kp;
        k->cur_off = m->offset;
        k->cur_idx = 0;
        const char *source = k->source;
        for (size_t i = 0; i < k->cfg.nlt; i++)
            if (strcmp(k->cfg.lt_topic[i], kp->topic) == 0) source = k->cfg.lt_type[i];
        /* Paused before the sinks filled (backpressure), so this waits only
         * for a message polled just before; stopping leaves it unevaluated
         * and uncommitted. */
        while (secdet_push(k->e, source, m->payload, m->len) == SECDET_ERR_BUSY) {
            if (atomic_load(&k->stop)) {
                k->cur = NULL;
                return;
            }
            (void)secdet_drain(k->e, 50);
        }
        (void)secdet_source_end(k->e, source);
        k->cur = NULL;
        int64_t t;
        if (sd_engine_take_batch_time(k->e, &t) && (!kp->pr.any || t > kp->pr.time)) {
            kp->pr.time = t;
            kp->pr.any = true;
            if (k->cfg.stage == KSTAGE_SINGLE) single_watermark(k);
        }
    }
    kp->next = m->offset + 1;
}

/* A partition at its end for idle_ms stops holding the watermark back (a
 * live partition is at its end between two messages all the time: that
 * alone says nothing about the event times still to come). */
static void mark_idle(secdet_kafka *k, int64_t now) {
    bool changed = false;
    for (size_t i = 0; i < k->nparts; i++) {
        kpart *kp = &k->parts[i];
        if (kp->at_end && !kp->pr.idle && now - kp->end_since >= k->cfg.idle_ms) kp->pr.idle = changed = true;
    }
    if (changed && k->cfg.stage == KSTAGE_SINGLE) single_watermark(k);
}

secdet_status secdet_kafka_run(secdet_kafka *k) {
    if (!k) return SECDET_ERR_INVALID_ARG;
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new((int)k->cfg.ntopics);
    for (size_t i = 0; i < k->cfg.ntopics; i++)
        rd_kafka_topic_partition_list_add(topics, k->cfg.topics[i], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(k->consumer, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (err) {
        sd_kafka_report(k, "kafka: subscribe: %s", rd_kafka_err2str(err));
        return SECDET_ERR_IO;
    }
    k->last_commit = k->last_beat = k->last_ckpt = sd_kafka_now_ms();
    uint64_t n = 0;
    while (!atomic_load(&k->stop) && !k->failed) {
        if ((n++ & 63) == 0 || k->paused || sd_engine_sinks_saturated(k->e)) backpressure(k);
        rd_kafka_message_t *m = rd_kafka_consumer_poll(k->consumer, k->paused ? 50 : 100);
        if (m) {
            on_message(k, m);
            rd_kafka_message_destroy(m);
        }
        int64_t now = sd_kafka_now_ms();
        if (k->cfg.stage != KSTAGE_AGGREGATE) mark_idle(k, now);
        if (k->cfg.stage == KSTAGE_PARTITION) {
            rd_kafka_poll(k->producer, 0);
            if (now - k->last_beat >= k->cfg.heartbeat_ms) {
                sd_stage1_heartbeat(k, false);
                k->last_beat = now;
            }
        }
        int64_t every = k->cfg.stage == KSTAGE_AGGREGATE ? k->cfg.checkpoint_ms : k->cfg.commit_ms;
        if (now - k->last_commit >= every) settle_and_commit(k, false);
        if (k->tick && now - k->last_tick >= k->tick_ms) {
            k->last_tick = now;
            k->tick(k->tick_user);
        }
    }
    if (!k->failed) {
        if (k->cfg.stage == KSTAGE_AGGREGATE && k->cfg.flush_on_exit) sd_stage2_flush(k);
        settle_and_commit(k, true);
    }
    /* Leaving the group revokes what is left (on_revoke settles again: cheap). */
    rd_kafka_consumer_close(k->consumer);
    return k->failed ? SECDET_ERR_IO : SECDET_OK;
}

void secdet_kafka_stop(secdet_kafka *k) {
    if (k) atomic_store(&k->stop, true);
}

secdet_status secdet_kafka_stats_get(const secdet_kafka *k, secdet_kafka_stats *out) {
    if (!k || !out) return SECDET_ERR_INVALID_ARG;
    *out = k->stats;
    if (k->cfg.stage == KSTAGE_AGGREGATE) sd_stage2_stats(k, out);
    return SECDET_OK;
}

void secdet_kafka_free(secdet_kafka *k) {
    if (!k) return;
    if (k->e && sd_engine_forwards_to(k->e, k)) sd_engine_set_forward(k->e, NULL, NULL);
    for (size_t i = 0; i < k->nparts; i++) part_free(k, &k->parts[i]);
    free(k->parts);
    if (k->consumer) rd_kafka_destroy(k->consumer);
    if (k->producer) {
        rd_kafka_flush(k->producer, 5000);
        rd_kafka_destroy(k->producer);
    }
    if (k->reader) rd_kafka_destroy(k->reader);
    sd_buf_free(&k->keybuf);
    free(k->origins);
    sd_kcfg_free(&k->cfg);
    free(k->source);
    free(k);
}
