/* stage1.c — stage 1 of the scale-out: forwards and heartbeats.
 *
 * The engine runs with a forward callback (sd_engine_set_forward): stateless
 * rules alert here; each event an aggregation (or a throttled stateless
 * rule) takes becomes a message on the repartition topic, keyed by the
 * rule's name and group key, so the default partitioner sends every event
 * of one group to one partition, hence to one stage-2 instance. Each carries
 * where it came from (origin partition, offset, index of the forward within
 * that message), so stage 2 can drop what a restarted stage 1 sends again.
 *
 * The messages' key and headers are wire.c's (sd_kwire_forward_headers,
 * sd_kwire_heartbeat_headers), the same code stage 2 reads them with.
 *
 * Heartbeats tell every repartition partition how far each origin has got
 * (its newest event time, and whether it is at its end), so stage 2 can
 * move its watermark on the slowest origin rather than on the newest event.
 *
 * Forwards are produced with an idempotent producer that retries without a
 * time limit (message.timeout.ms=0 unless set), so order per partition holds
 * and a broker outage only delays; sd_stage1_settle waits for every
 * acknowledgement before the driver commits, and a forward the brokers
 * refuse for good stops the input (nothing after it is committed).
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "util/kafka_conf.h"
#include "kafka/kafka_int.h"
#include "kafka/wire.h"

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    secdet_kafka *k = opaque;
    if (!m->err) return;
    if (k->fwd_failed++ == 0)
        sd_kafka_report(k, "kafka: forward to %s: %s", k->cfg.repartition_topic, rd_kafka_err2str(m->err));
}

int sd_stage1_init(secdet_kafka *k, char *err, size_t n) {
    rd_kafka_conf_t *conf = sd_kafka_conf_new(k->cfg.brokers, k->cfg.props, "secdet-stage1", err, n);
    if (!conf) return -1;
    if (sd_kafka_conf_producer(conf, k->cfg.props, err, n) != 0) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    if (!cJSON_GetObjectItemCaseSensitive(k->cfg.props, "message.timeout.ms"))
        rd_kafka_conf_set(conf, "message.timeout.ms", "0", NULL, 0);
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_opaque(conf, k);
    char e2[256];
    k->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e2, sizeof e2);
    if (!k->producer) {
        snprintf(err, n, "kafka producer: %s", e2);
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    k->repart_n = sd_kafka_topic_partitions(k, k->producer, k->cfg.repartition_topic);
    if (k->repart_n <= 0) {
        snprintf(err, n, "repartition_topic: %s: cannot read its partitions (does it exist?)",
                 k->cfg.repartition_topic);
        return -1;
    }
    /* Every origin there is, so that stage 2 waits for all of them, not
     * only for those whose stage-1 instance happened to start first. */
    buf o;
    sd_buf_init(&o);
    for (size_t i = 0; i < k->cfg.ntopics; i++) {
        int32_t np = sd_kafka_topic_partitions(k, k->producer, k->cfg.topics[i]);
        if (np <= 0) {
            sd_buf_free(&o);
            snprintf(err, n, "topics: %s: cannot read its partitions (does it exist?)", k->cfg.topics[i]);
            return -1;
        }
        for (int32_t p = 0; p < np; p++) sd_buf_printf(&o, "%s%s/%d", o.len ? "," : "", k->cfg.topics[i], (int)p);
    }
    if (o.oom || !(k->origins = sd_kafka_memdup(o.data, o.len))) {
        sd_buf_free(&o);
        snprintf(err, n, "out of memory");
        return -1;
    }
    sd_buf_free(&o);
    sd_engine_set_forward(k->e, sd_stage1_forward, k);
    return 0;
}

/* Produces, waiting while librdkafka's queue is full. */
static void produce(secdet_kafka *k, int32_t partition, const void *key, size_t klen, const void *val, size_t vlen,
                    rd_kafka_headers_t *h) {
    for (;;) {
        rd_kafka_resp_err_t err =
            rd_kafka_producev(k->producer, RD_KAFKA_V_TOPIC(k->cfg.repartition_topic), RD_KAFKA_V_PARTITION(partition),
                              RD_KAFKA_V_KEY(key, klen), RD_KAFKA_V_VALUE((void *)val, vlen),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return; /* h now belongs to the message */
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            if (k->fwd_failed++ == 0)
                sd_kafka_report(k, "kafka: forward to %s: %s", k->cfg.repartition_topic, rd_kafka_err2str(err));
            rd_kafka_headers_destroy(h);
            return;
        }
        rd_kafka_poll(k->producer, 100);
    }
}

/* The headers as librdkafka's (the values are copied). */
static rd_kafka_headers_t *headers_of(const kwire_header *h, size_t n) {
    rd_kafka_headers_t *hs = rd_kafka_headers_new(n);
    for (size_t i = 0; i < n; i++) rd_kafka_header_add(hs, h[i].name, -1, h[i].value, (ssize_t)h[i].len);
    return hs;
}

void sd_stage1_forward(void *user, const engine_forward *f) {
    secdet_kafka *k = user;
    kpart *kp = k->cur;
    if (!kp) return;
    kwire_forward w = {.rule = f->rule,
                       .rule_len = strlen(f->rule),
                       .source = f->source,
                       .source_len = strlen(f->source),
                       .origin = kp->origin,
                       .origin_len = strlen(kp->origin),
                       .group = f->key,
                       .group_len = f->key_len,
                       .time_ns = f->time_ns,
                       .off = k->cur_off,
                       .idx = k->cur_idx++};
    sd_kwire_forward_key(&w, &k->keybuf);
    if (k->keybuf.oom) return;
    kwire_text t;
    kwire_header h[5];
    size_t n = sd_kwire_forward_headers(&w, &t, h);
    produce(k, RD_KAFKA_PARTITION_UA, k->keybuf.data, k->keybuf.len, f->json, f->len, headers_of(h, n));
    k->stats.forwarded++;
}

void sd_stage1_heartbeat(secdet_kafka *k, bool force) {
    for (size_t i = 0; i < k->nparts; i++) {
        kpart *kp = &k->parts[i];
        bool same = kp->beat_sent && kp->beat_idle == kp->pr.idle && kp->beat_any == kp->pr.any &&
                    (!kp->pr.any || kp->beat_time == kp->pr.time);
        if (same && !force) continue;
        kwire_heartbeat b = {.origin = kp->origin,
                             .origin_len = strlen(kp->origin),
                             .origins = k->origins,
                             .origins_len = strlen(k->origins),
                             .any = kp->pr.any,
                             .time_ns = kp->pr.time,
                             .idle = kp->pr.idle};
        kwire_text t;
        kwire_header h[4];
        size_t n = sd_kwire_heartbeat_headers(&b, &t, h);
        for (int32_t p = 0; p < k->repart_n; p++) {
            produce(k, p, NULL, 0, NULL, 0, headers_of(h, n));
            k->stats.heartbeats++;
        }
        kp->beat_sent = true;
        kp->beat_idle = kp->pr.idle;
        kp->beat_any = kp->pr.any;
        kp->beat_time = kp->pr.time;
    }
}

bool sd_stage1_settle(secdet_kafka *k) {
    sd_stage1_heartbeat(k, false);
    /* Brokers down: wait for them, but only 30 s once asked to stop (then
     * nothing is committed, and the next owner evaluates it again). */
    int waited = 0;
    while (rd_kafka_flush(k->producer, 1000) == RD_KAFKA_RESP_ERR__TIMED_OUT && !k->fwd_failed)
        if (atomic_load(&k->stop) && ++waited >= 30) return false;
    if (k->fwd_failed) {
        /* Nothing after the refused forward may be committed: stop, so a
         * restart evaluates it again (docs/scale-out.md). */
        k->failed = true;
        return false;
    }
    return true;
}
