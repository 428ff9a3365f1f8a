/* kafka_conf.c — librdkafka configuration shared by every Kafka client libsecdet
 * makes (see kafka_conf.h): brokers and the user's "properties", producer
 * defaults, and which errors are worth a retry.
 *
 * librdkafka's own messages sometimes quote the value that was refused
 * ("Invalid value \"zzz\" for configuration property ...", "value 1e+11 is
 * outside allowed range"); values may be passwords, so every message is
 * scrubbed of the value before it reaches err (scrub below). librdkafka may
 * quote a value cut short, or a part of it, which scrubbing cannot find:
 * when any 4 bytes of the value are still in the message, it is replaced
 * by one of ours that quotes nothing (plain_reason).
 *
 * A property's value may be a secret reference ({"env": ...} or
 * {"file": ...}, util/secret.h), read here each time a configuration is
 * made: sasl.password and ssl.key.password are the usual ones, but any
 * property may be one (the rule is simpler than a list of which are secret).
 */
#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "util/kafka_conf.h"
#include "util/buf.h"
#include "util/secret.h"

/* ---- Messages without values ------------------------------------------------- */

static bool word_char(char c) { return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-'; }

/* reason, with every occurrence of `value` that stands alone (not inside a
 * longer word) replaced by "(value)", the number after "value " in a range
 * message removed, and trailing whitespace dropped. */
static void scrub(const char *reason, const char *value, char *out, size_t outlen) {
    buf b;
    sd_buf_init(&b);
    size_t vlen = value ? strlen(value) : 0;
    const char *p = reason;
    while (*p) {
        if (vlen && strncmp(p, value, vlen) == 0 && (p == reason || !word_char(p[-1])) && !word_char(p[vlen])) {
            sd_buf_puts(&b, "(value)");
            p += vlen;
            continue;
        }
        /* "... value -5 is outside allowed range 0..900000" */
        if (strncmp(p, "value ", 6) == 0) {
            const char *q = p + 6;
            while (*q && *q != ' ') q++;
            if (q > p + 6 && strncmp(q, " is ", 4) == 0) {
                sd_buf_puts(&b, "value");
                p = q;
                continue;
            }
        }
        sd_buf_putc(&b, *p++);
    }
    while (b.len && isspace((unsigned char)b.data[b.len - 1])) b.data[--b.len] = 0;
    snprintf(out, outlen, "%s", b.oom || !b.data ? "invalid" : b.data);
    sd_buf_free(&b);
}

/* Whether text holds any 4 bytes of value (all of it, when shorter). */
static bool holds_part_of(const char *text, const char *value) {
    size_t n = strlen(value), k = n < 4 ? n : 4;
    char part[5];
    for (size_t i = 0; k && i + k <= n; i++) {
        memcpy(part, value + i, k);
        part[k] = '\0';
        if (strstr(text, part)) return true;
    }
    return false;
}

/* librdkafka's reason told without anything it quotes: whether the
 * property exists, the allowed range, or that the value is invalid. */
static void plain_reason(rd_kafka_conf_res_t r, const char *reason, char *out, size_t outlen) {
    const char *range = strstr(reason, "allowed range ");
    size_t n = 0;
    if (range) {
        range += 14;
        while (range[n] && (isdigit((unsigned char)range[n]) || range[n] == '.' || range[n] == '-')) n++;
    }
    if (r == RD_KAFKA_CONF_UNKNOWN)
        snprintf(out, outlen, "no such configuration property");
    else if (n)
        snprintf(out, outlen, "value outside the allowed range %.*s", (int)n, range);
    else if (strncmp(reason, "Expected bool", 13) == 0)
        snprintf(out, outlen, "expected true or false");
    else
        snprintf(out, outlen, "invalid value");
}

/* Sets name = value on conf; on failure a message naming the property (as
 * `what` names it) and librdkafka's reason, never the value. */
static int set(rd_kafka_conf_t *conf, const char *what, const char *name, const char *value, char *err, size_t errlen) {
    char reason[512] = "";
    rd_kafka_conf_res_t r = rd_kafka_conf_set(conf, name, value, reason, sizeof reason);
    if (r == RD_KAFKA_CONF_OK) return 0;
    char clean[400];
    scrub(reason[0] ? reason : "invalid", value, clean, sizeof clean);
    if (holds_part_of(clean, value)) plain_reason(r, reason, clean, sizeof clean);
    snprintf(err, errlen, "%s: %s", what, clean);
    return -1;
}

/* A property's value as text: strings as they are, numbers (whole ones
 * without a fraction) and booleans as their text. */
static int value_text(const cJSON *v, char *tmp, size_t tmplen, const char **out) {
    if (cJSON_IsString(v)) {
        *out = v->valuestring;
    } else if (cJSON_IsBool(v)) {
        *out = cJSON_IsTrue(v) ? "true" : "false";
    } else if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (!isfinite(d)) return -1;
        if (d == floor(d) && fabs(d) < 9007199254740992.0)
            snprintf(tmp, tmplen, "%.0f", d);
        else
            snprintf(tmp, tmplen, "%.17g", d);
        *out = tmp;
    } else {
        return -1;
    }
    return 0;
}

/* props' member named `name` (or one of its librdkafka aliases). */
static const cJSON *prop(const cJSON *props, const char *name, const char *alias) {
    for (const cJSON *it = props ? props->child : NULL; it; it = it->next) {
        if (!it->string) continue;
        if (strcmp(it->string, name) == 0 || (alias && strcmp(it->string, alias) == 0)) return it;
    }
    return NULL;
}

/* ---- conf.h ------------------------------------------------------------------------ */

static void quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *msg) {
    (void)rk;
    (void)level;
    (void)fac;
    (void)msg;
}

rd_kafka_conf_t *sd_kafka_conf_new(const char *brokers, const cJSON *props, const char *client_id, char *err,
                                   size_t errlen) {
    if (!brokers || !*brokers) {
        snprintf(err, errlen, "brokers: required");
        return NULL;
    }
    if (props && !cJSON_IsObject(props)) {
        snprintf(err, errlen, "properties: expected an object");
        return NULL;
    }
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!conf) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (set(conf, "brokers", "bootstrap.servers", brokers, err, errlen) != 0) goto fail;
    if (client_id && set(conf, "client.id", "client.id", client_id, err, errlen) != 0) goto fail;
    for (const cJSON *it = props ? props->child : NULL; it; it = it->next) {
        const char *name = it->string ? it->string : "";
        char what[300], tmp[64];
        snprintf(what, sizeof what, "properties.%.200s", name);
        const char *text = NULL;
        if (!*name) {
            snprintf(err, errlen, "properties: empty property name");
            goto fail;
        }
        if (sd_secret_is_ref(it)) {
            char *secret = NULL, why[300];
            if (sd_secret_read(it, &secret, why, sizeof why, NULL, 0) != 0) {
                snprintf(err, errlen, "%s: %s", what, why);
                goto fail;
            }
            int rc = set(conf, what, name, secret, err, errlen);
            sd_secret_free(secret);
            if (rc != 0) goto fail;
            continue;
        }
        if (value_text(it, tmp, sizeof tmp, &text) != 0) {
            snprintf(err, errlen, "%s: expected a string, number or boolean, or {\"env\": NAME} or {\"file\": PATH}",
                     what);
            goto fail;
        }
        if (set(conf, what, name, text, err, errlen) != 0) goto fail;
    }
    /* librdkafka's own log (its "%3|...|FAIL|..." lines on stderr) only when
     * asked for with log_level or debug: its errors also reach the error
     * callback, which reports them once, in our words, through the input's
     * or the sink's log; and its warnings are mostly that a property set for
     * every client of an input does not apply to this one
     * (session.timeout.ms on a producer). */
    if (!prop(props, "log_level", NULL) && !prop(props, "debug", NULL)) {
        rd_kafka_conf_set(conf, "log_level", "3", NULL, 0);
        rd_kafka_conf_set_log_cb(conf, quiet_log);
    }
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

int sd_kafka_conf_producer(rd_kafka_conf_t *conf, const cJSON *props, char *err, size_t errlen) {
    const cJSON *idem = prop(props, "enable.idempotence", NULL);
    if (idem) {
        char tmp[64];
        const char *text = NULL;
        if (value_text(idem, tmp, sizeof tmp, &text) != 0 || strcmp(text, "true") != 0) {
            snprintf(err, errlen, "properties.enable.idempotence: always true for libsecdet's producers");
            return -1;
        }
    }
    if (!prop(props, "acks", "request.required.acks") && set(conf, "acks", "acks", "all", err, errlen) != 0) return -1;
    if (!prop(props, "linger.ms", "queue.buffering.max.ms") &&
        set(conf, "linger.ms", "linger.ms", "5", err, errlen) != 0)
        return -1;
    return set(conf, "enable.idempotence", "enable.idempotence", "true", err, errlen);
}

int sd_kafka_err_retriable(rd_kafka_resp_err_t err) {
    switch (err) {
    /* Local: the cluster or the network, for now. */
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
    case RD_KAFKA_RESP_ERR__ISR_INSUFF:
    case RD_KAFKA_RESP_ERR__NODE_UPDATE:
    case RD_KAFKA_RESP_ERR__SSL:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR__WAIT_COORD:
    case RD_KAFKA_RESP_ERR__IN_PROGRESS:
    case RD_KAFKA_RESP_ERR__PREV_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR__RETRY:
    case RD_KAFKA_RESP_ERR__WAIT_CACHE:
    case RD_KAFKA_RESP_ERR__INTR:
    /* Local: the client went away (purged, destroyed, or fatally failed and
     * to be made anew); the message itself is fine. */
    case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
    case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
    case RD_KAFKA_RESP_ERR__DESTROY:
    case RD_KAFKA_RESP_ERR__FATAL:
    /* Broker: leadership, availability, load. */
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_REPLICA_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RD_KAFKA_RESP_ERR_NOT_CONTROLLER:
    case RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR:
    case RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER:
    case RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID:
    case RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS:
    case RD_KAFKA_RESP_ERR_FENCED_LEADER_EPOCH:
    case RD_KAFKA_RESP_ERR_UNKNOWN_LEADER_EPOCH:
    case RD_KAFKA_RESP_ERR_OFFSET_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_PREFERRED_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED: return 1;
    default: return 0;
    }
}
