/* kafka_sink.c — the "kafka" sink: each alert produced to a Kafka topic
 * with librdkafka (an idempotent producer, src/kafka/conf.h).
 *
 * Message: value = the alert JSON; key by "key":
 *   "id"          the alert id (32 hex digits)
 *   "rule"        the rule name
 *   "group"       the alert's group values, in the rule's order, joined by
 *                 '|' ("alice|203.0.113.7"); a string as itself with '\'
 *                 and '|' escaped by a '\', a missing value as nothing,
 *                 another value as compact JSON; "" when the rule groups
 *                 nothing
 *   "rule_group"  the rule name, then '|' and each group value as above
 *                 ("cis_root|203.0.113.7"; the rule name alone when the
 *                 rule groups nothing) — the default
 *   "none"        no key (librdkafka's partitioner spreads the messages)
 * Headers: secdet-rule, secdet-id, secdet-severity.
 *
 * Threads: open, emit and close run on the delivery thread. open makes the
 * producer and a poll thread that calls rd_kafka_poll until close; the
 * delivery reports run there and end their deliveries (success OK; an
 * error sd_kafka_err_retriable calls retriable RETRY, e.g. "Local: Message
 * timed out" while the brokers are down; anything else PERMANENT). A
 * produce call that fails at once: queue full RETRY after 100 ms, else
 * the same mapping. Every produced delivery sits in a list until its
 * report, so close (bounded flush, purge, destroy) can still answer RETRY
 * for any whose report never came. A producer that hit a fatal error
 * (idempotence broken) is closed that way and made anew on the next emit.
 *
 * The configuration is checked whole when the sink is made: each property
 * by sd_kafka_conf_new, and the combination by making (and at once freeing)
 * a producer without brokers, which connects nowhere. librdkafka's log is
 * silenced (it would name brokers) unless "properties" set "debug".
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "alert/alert.h"
#include "util/kafka_conf.h"
#include "sink/sink_int.h"
#include "util/buf.h"
#include "util/json.h"

#define DEFAULT_TIMEOUT_MS  30000
#define DEFAULT_IN_FLIGHT   1000
#define QUEUE_FULL_RETRY_MS 100
#define CLOSE_FLUSH_MS      1000

typedef enum { KEY_ID, KEY_RULE, KEY_GROUP, KEY_RULE_GROUP, KEY_NONE } key_mode;

/* A delivery handed to librdkafka, waiting for its report. */
typedef struct pend {
    secdet_delivery *d;
    struct pend *prev, *next;
} pend;

typedef struct ksink {
    rd_kafka_conf_t *conf; /* checked template: copied for each producer */
    char *topic;
    key_mode key;
    rd_kafka_t *rk; /* NULL until open (and after a fatal error) */
    rd_kafka_topic_t *rkt;
    pthread_t poller;
    bool polling;
    atomic_bool stop;
    pthread_mutex_t mu; /* the list */
    pend list;          /* sentinel of a circular list */
    buf keybuf;
} ksink;

/* ---- Producing ------------------------------------------------------------------- */

static void list_add(ksink *k, pend *p) {
    pthread_mutex_lock(&k->mu);
    p->prev = k->list.prev;
    p->next = &k->list;
    k->list.prev->next = p;
    k->list.prev = p;
    pthread_mutex_unlock(&k->mu);
}

static void list_del(ksink *k, pend *p) {
    pthread_mutex_lock(&k->mu);
    p->prev->next = p->next;
    p->next->prev = p->prev;
    pthread_mutex_unlock(&k->mu);
}

static void finish(secdet_delivery *d, rd_kafka_resp_err_t err) {
    if (!err)
        sd_sink_result(d, SECDET_SINK_OK, 0, NULL);
    else if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        sd_sink_result(d, SECDET_SINK_RETRY, QUEUE_FULL_RETRY_MS, "Kafka: %s", rd_kafka_err2str(err));
    else
        sd_sink_result(d, sd_kafka_err_retriable(err) ? SECDET_SINK_RETRY : SECDET_SINK_PERMANENT, 0, "Kafka: %s (%s)",
                       rd_kafka_err2str(err), rd_kafka_err2name(err));
}

/* On the poll thread (or in close's flush and poll). */
static void on_report(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    ksink *k = opaque;
    pend *p = m->_private;
    if (!p) return;
    list_del(k, p);
    secdet_delivery *d = p->d;
    free(p);
    finish(d, m->err);
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *msg) {}

static void *poll_main(void *arg) {
    ksink *k = arg;
    while (!atomic_load(&k->stop)) rd_kafka_poll(k->rk, 100);
    return NULL;
}

/* Ends the producer: a flush of at most flush_ms, then whatever is left is
 * purged (its reports say so: RETRY), the producer freed, and any delivery
 * still without a report answered RETRY. */
static void producer_stop(ksink *k, int flush_ms) {
    if (!k->rk) return;
    if (k->polling) {
        atomic_store(&k->stop, true);
        pthread_join(k->poller, NULL);
        k->polling = false;
    }
    if (flush_ms > 0) rd_kafka_flush(k->rk, flush_ms);
    rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(k->rk, 0);
    rd_kafka_topic_destroy(k->rkt);
    rd_kafka_destroy(k->rk);
    k->rk = NULL;
    k->rkt = NULL;
    pthread_mutex_lock(&k->mu);
    pend *p = k->list.next;
    k->list.next = k->list.prev = &k->list;
    pthread_mutex_unlock(&k->mu);
    while (p != &k->list) {
        pend *next = p->next;
        sd_sink_result(p->d, SECDET_SINK_RETRY, 0, "the Kafka producer was closed before the broker answered");
        free(p);
        p = next;
    }
}

static secdet_status producer_start(ksink *k) {
    if (k->rk) return SECDET_OK;
    rd_kafka_conf_t *conf = rd_kafka_conf_dup(k->conf);
    if (!conf) return SECDET_ERR_NOMEM;
    char err[256];
    k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!k->rk) { /* (checked when the sink was made: out of resources) */
        rd_kafka_conf_destroy(conf);
        return SECDET_ERR_IO;
    }
    k->rkt = rd_kafka_topic_new(k->rk, k->topic, NULL);
    atomic_store(&k->stop, false);
    if (!k->rkt || pthread_create(&k->poller, NULL, poll_main, k) != 0) {
        if (k->rkt) rd_kafka_topic_destroy(k->rkt);
        rd_kafka_destroy(k->rk);
        k->rk = NULL;
        k->rkt = NULL;
        return SECDET_ERR_NOMEM;
    }
    k->polling = true;
    return SECDET_OK;
}

/* ---- Keys -------------------------------------------------------------------------- */

/* Bytes with the separator and the escape escaped; a key is bytes, so a
 * U+0000 in a group value stays one (whole: "x\0y" is not "x"). */
static void put_escaped(buf *b, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '|' || s[i] == '\\') sd_buf_putc(b, '\\');
        sd_buf_putc(b, s[i]);
    }
}

static void put_group_value(buf *b, const cJSON *v) {
    if (cJSON_IsNull(v)) return;
    if (cJSON_IsString(v)) {
        put_escaped(b, v->valuestring, sd_json_string_len(v));
        return;
    }
    sd_alert_json_write(b, v); /* compact JSON, strings whole (cJSON's printer cuts them at U+0000) */
}

/* The key of d in k->keybuf; 0, or -1 when out of memory. */
static int make_key(ksink *k, const secdet_delivery *d, const char *rule, const cJSON *group) {
    buf *b = &k->keybuf;
    sd_buf_reset(b);
    b->oom = false;
    switch (k->key) {
    case KEY_ID: sd_buf_puts(b, secdet_delivery_id(d)); break;
    case KEY_RULE: sd_buf_puts(b, rule); break;
    case KEY_GROUP:
    case KEY_RULE_GROUP: {
        bool first = true;
        if (k->key == KEY_RULE_GROUP) {
            put_escaped(b, rule, strlen(rule));
            first = false;
        }
        for (const cJSON *it = cJSON_IsObject(group) ? group->child : NULL; it; it = it->next) {
            if (!first) sd_buf_putc(b, '|');
            first = false;
            put_group_value(b, it);
        }
        break;
    }
    case KEY_NONE: break;
    }
    return b->oom ? -1 : 0;
}

/* ---- The vtable -------------------------------------------------------------------- */

static secdet_status ks_open(void *self) { return producer_start(self); }

static void ks_emit(void *self, secdet_delivery *d) {
    ksink *k = self;
    if (k->rk && rd_kafka_fatal_error(k->rk, NULL, 0)) producer_stop(k, 0);
    if (!k->rk && producer_start(k) != SECDET_OK) {
        sd_sink_result(d, SECDET_SINK_RETRY, 0, "could not make the Kafka producer");
        return;
    }
    size_t len = 0;
    const char *json = secdet_delivery_json(d, &len);
    cJSON *alert = sd_json_parse(json, len, 0, NULL);
    const cJSON *rule = cJSON_GetObjectItemCaseSensitive(alert, "rule");
    if (!cJSON_IsString(rule)) {
        cJSON_Delete(alert);
        sd_sink_result(d, SECDET_SINK_RETRY, 0, "could not read the alert (out of memory?)");
        return;
    }
    const char *rule_name = rule->valuestring;
    pend *p = malloc(sizeof *p);
    if (!p || make_key(k, d, rule_name, cJSON_GetObjectItemCaseSensitive(alert, "group")) != 0) {
        free(p);
        cJSON_Delete(alert);
        sd_sink_result(d, SECDET_SINK_RETRY, 0, "out of memory");
        return;
    }
    p->d = d;
    list_add(k, p); /* before producing: the report may come at once, on the poll thread */
    const char *key = k->key == KEY_NONE ? NULL : k->keybuf.data ? k->keybuf.data : "";
    const char *sev = secdet_severity_name(secdet_delivery_severity(d));
    rd_kafka_resp_err_t err =
        rd_kafka_producev(k->rk, RD_KAFKA_V_RKT(k->rkt), RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE((void *)json, len),
                          RD_KAFKA_V_KEY(key, key ? k->keybuf.len : 0), RD_KAFKA_V_HEADER("secdet-rule", rule_name, -1),
                          RD_KAFKA_V_HEADER("secdet-id", secdet_delivery_id(d), -1),
                          RD_KAFKA_V_HEADER("secdet-severity", sev, -1), RD_KAFKA_V_OPAQUE(p), RD_KAFKA_V_END);
    cJSON_Delete(alert);
    if (err) {
        list_del(k, p);
        free(p);
        finish(d, err);
    }
}

static void ks_close(void *self) {
    ksink *k = self;
    if (!k) return;
    producer_stop(k, CLOSE_FLUSH_MS);
    if (k->conf) rd_kafka_conf_destroy(k->conf);
    free(k->topic);
    sd_buf_free(&k->keybuf);
    pthread_mutex_destroy(&k->mu);
    free(k);
}

static const secdet_sink_vtable kafka_vtable = {ks_open, ks_emit, NULL, ks_close};

/* ---- Configuration ------------------------------------------------------------------- */

static int read_key(sink_cfg *c, key_mode *out) {
    static const char *const names[] = {"id", "rule", "group", "rule_group", "none"};
    const char *s = NULL;
    if (sd_sink_cfg_str(c, "key", false, &s)) return -1;
    *out = KEY_RULE_GROUP;
    if (!s) return 0;
    for (int i = 0; i < 5; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (key_mode)i;
            return 0;
        }
    }
    return sd_sink_cfg_fail(c, "key: expected id, rule, group, rule_group or none");
}

static bool has_prop(const cJSON *props, const char *name) {
    for (const cJSON *it = props ? props->child : NULL; it; it = it->next)
        if (it->string && strcmp(it->string, name) == 0) return true;
    return false;
}

/* The template configuration, checked whole (see the top). */
static int make_conf(sink_cfg *c, ksink *k, const char *brokers, const cJSON *props, uint64_t timeout_ms,
                     bool timeout_set) {
    char err[400];
    bool timeout_prop = has_prop(props, "message.timeout.ms") || has_prop(props, "delivery.timeout.ms");
    if (timeout_set && timeout_prop)
        return sd_sink_cfg_fail(c, "timeout_ms: also set in properties (message.timeout.ms)");
    if (has_prop(props, "transactional.id"))
        return sd_sink_cfg_fail(c, "properties.transactional.id: not supported (the sink is idempotent)");
    k->conf = sd_kafka_conf_new(brokers, props, "secdet", err, sizeof err);
    if (!k->conf) return sd_sink_cfg_fail(c, "%s", err);
    if (sd_kafka_conf_producer(k->conf, props, err, sizeof err) != 0) return sd_sink_cfg_fail(c, "%s", err);
    char ms[24];
    snprintf(ms, sizeof ms, "%llu", (unsigned long long)timeout_ms);
    if (!timeout_prop && rd_kafka_conf_set(k->conf, "message.timeout.ms", ms, err, sizeof err) != RD_KAFKA_CONF_OK)
        return sd_sink_cfg_fail(c, "timeout_ms: %s", err);
    rd_kafka_conf_set_dr_msg_cb(k->conf, on_report);
    rd_kafka_conf_set_opaque(k->conf, k);
    /* The trial producer: without brokers, so it connects nowhere. */
    rd_kafka_conf_t *trial = rd_kafka_conf_dup(k->conf);
    if (!trial) return sd_sink_cfg_fail(c, "out of memory");
    rd_kafka_conf_set_log_cb(trial, on_log);
    rd_kafka_conf_set(trial, "bootstrap.servers", "", err, sizeof err);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, trial, err, sizeof err);
    if (!rk) {
        rd_kafka_conf_destroy(trial);
        return sd_sink_cfg_fail(c, "properties: %s", err);
    }
    rd_kafka_destroy(rk);
    return 0;
}

/* Kafka's rule for topic names. */
static bool topic_ok(const char *t) {
    size_t n = strlen(t);
    if (n == 0 || n > 249 || strcmp(t, ".") == 0 || strcmp(t, "..") == 0) return false;
    for (; *t; t++)
        if (!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') || (*t >= '0' && *t <= '9') || *t == '.' ||
              *t == '_' || *t == '-'))
            return false;
    return true;
}

int sd_sink_kafka_create(sink_cfg *c, sink_def *out) {
    ksink *k = calloc(1, sizeof *k);
    if (!k) return sd_sink_cfg_fail(c, "out of memory");
    pthread_mutex_init(&k->mu, NULL);
    k->list.next = k->list.prev = &k->list;
    sd_buf_init(&k->keybuf);
    const char *brokers = NULL, *topic = NULL;
    const cJSON *props = NULL;
    uint64_t timeout_ms = 0;
    if (sd_sink_cfg_str(c, "brokers", true, &brokers) || sd_sink_cfg_str(c, "topic", true, &topic) ||
        read_key(c, &k->key) || sd_sink_cfg_object(c, "properties", &props) ||
        sd_sink_cfg_uint(c, "timeout_ms", 1, 86400000, &timeout_ms))
        goto fail;
    if (!*brokers) {
        sd_sink_cfg_fail(c, "brokers: must not be empty");
        goto fail;
    }
    if (!topic_ok(topic)) {
        sd_sink_cfg_fail(c, "topic: expected 1 to 249 of the characters a-z A-Z 0-9 . _ - (not \".\" or \"..\")");
        goto fail;
    }
    if (!(k->topic = strdup(topic))) {
        sd_sink_cfg_fail(c, "out of memory");
        goto fail;
    }
    if (make_conf(c, k, brokers, props, timeout_ms ? timeout_ms : DEFAULT_TIMEOUT_MS, timeout_ms != 0) != 0) goto fail;
    *out = (sink_def){.vt = &kafka_vtable, .self = k, .max_in_flight = DEFAULT_IN_FLIGHT};
    return 0;
fail:
    ks_close(k);
    return -1;
}
