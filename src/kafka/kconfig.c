/* kconfig.c — the Kafka input's JSON configuration (docs/scale-out.md).
 *
 * Every key is checked: an unknown key, a wrong type or a bad value is an
 * error naming the key, so an input starts with a configuration it fully
 * understood or not at all. "properties" is handed to librdkafka later
 * (src/kafka/conf.c), which names any property it refuses and reads the
 * values that are secret references ({"env": ...}, {"file": ...}).
 */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/kafka.h"
#include "kafka/kafka_int.h"
#include "util/kafka_conf.h"
#include "util/json.h"
#include "util/secret.h"

static int fail(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return -1;
}

static int get_str(const cJSON *o, const char *key, char **out, char *err, size_t n) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) return 0;
    if (!cJSON_IsString(v) || !v->valuestring[0]) return fail(err, n, "%s: expected a non-empty string", key);
    *out = strdup(v->valuestring);
    return *out ? 0 : fail(err, n, "out of memory");
}

static int get_ms(const cJSON *o, const char *key, int64_t min, int64_t *out, char *err, size_t n) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble < (double)min || v->valuedouble > 86400000.0 ||
        v->valuedouble != (double)(int64_t)v->valuedouble)
        return fail(err, n, "%s: expected a whole number of milliseconds from %lld to 86400000", key, (long long)min);
    *out = (int64_t)v->valuedouble;
    return 0;
}

static const char *const known[] = {"type",          "brokers",           "group",        "topics",
                                    "stage",         "repartition_topic", "state_topic",  "properties",
                                    "commit_ms",     "checkpoint_ms",     "heartbeat_ms", "max_pending_alerts",
                                    "flush_on_exit", "idle_ms",           "log_types",    NULL};

static int check_keys(const cJSON *o, char *err, size_t n) {
    for (const cJSON *m = o->child; m; m = m->next) {
        size_t i = 0;
        while (known[i] && strcmp(known[i], m->string) != 0) i++;
        if (!known[i]) return fail(err, n, "%s: unknown key", m->string);
    }
    return 0;
}

static int get_topics(const cJSON *o, kcfg *c, char *err, size_t n) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "topics");
    if (!v) return fail(err, n, "topics: required");
    if (cJSON_IsString(v)) {
        c->topics = calloc(1, sizeof *c->topics);
        if (!c->topics || !(c->topics[0] = strdup(v->valuestring))) return fail(err, n, "out of memory");
        c->ntopics = 1;
        return v->valuestring[0] ? 0 : fail(err, n, "topics: expected a non-empty string");
    }
    int cnt = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0;
    if (cnt <= 0) return fail(err, n, "topics: expected a topic name or a non-empty array of them");
    c->topics = calloc((size_t)cnt, sizeof *c->topics);
    if (!c->topics) return fail(err, n, "out of memory");
    for (const cJSON *t = v->child; t; t = t->next) {
        if (!cJSON_IsString(t) || !t->valuestring[0])
            return fail(err, n, "topics[%zu]: expected a non-empty string", c->ntopics);
        if (!(c->topics[c->ntopics++] = strdup(t->valuestring))) return fail(err, n, "out of memory");
    }
    return 0;
}

static int get_log_types(const cJSON *o, kcfg *c, char *err, size_t n) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "log_types");
    if (!v) return 0;
    if (!cJSON_IsObject(v)) return fail(err, n, "log_types: expected an object of topic -> log type");
    size_t cnt = (size_t)cJSON_GetArraySize(v);
    c->lt_topic = calloc(cnt ? cnt : 1, sizeof *c->lt_topic);
    c->lt_type = calloc(cnt ? cnt : 1, sizeof *c->lt_type);
    if (!c->lt_topic || !c->lt_type) return fail(err, n, "out of memory");
    for (const cJSON *t = v->child; t; t = t->next) {
        if (!cJSON_IsString(t) || !t->valuestring[0])
            return fail(err, n, "log_types.%s: expected a log type's name", t->string);
        c->lt_topic[c->nlt] = strdup(t->string);
        c->lt_type[c->nlt] = strdup(t->valuestring);
        if (!c->lt_topic[c->nlt] || !c->lt_type[c->nlt]) return fail(err, n, "out of memory");
        c->nlt++;
    }
    return 0;
}

static int parse_obj(const cJSON *o, kcfg *c, char *err, size_t n) {
    if (!cJSON_IsObject(o)) return fail(err, n, "expected a JSON object");
    if (check_keys(o, err, n) != 0) return -1;
    char *stage = NULL;
    int rc = get_str(o, "brokers", &c->brokers, err, n);
    if (rc == 0) rc = get_str(o, "group", &c->group, err, n);
    if (rc == 0) rc = get_topics(o, c, err, n);
    if (rc == 0) rc = get_log_types(o, c, err, n);
    if (rc == 0) rc = get_str(o, "stage", &stage, err, n);
    if (rc == 0) rc = get_str(o, "repartition_topic", &c->repartition_topic, err, n);
    if (rc == 0) rc = get_str(o, "state_topic", &c->state_topic, err, n);
    if (rc == 0) rc = get_ms(o, "commit_ms", 10, &c->commit_ms, err, n);
    if (rc == 0) rc = get_ms(o, "checkpoint_ms", 100, &c->checkpoint_ms, err, n);
    if (rc == 0) rc = get_ms(o, "heartbeat_ms", 10, &c->heartbeat_ms, err, n);
    if (rc == 0) rc = get_ms(o, "idle_ms", 0, &c->idle_ms, err, n);
    if (rc != 0) {
        free(stage);
        return -1;
    }
    if (!stage || strcmp(stage, "single") == 0)
        c->stage = KSTAGE_SINGLE;
    else if (strcmp(stage, "partition") == 0)
        c->stage = KSTAGE_PARTITION;
    else if (strcmp(stage, "aggregate") == 0)
        c->stage = KSTAGE_AGGREGATE;
    else
        rc = fail(err, n, "stage: expected single, partition or aggregate");
    free(stage);
    if (rc != 0) return -1;

    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "max_pending_alerts");
    if (v) {
        if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 1e9)
            return fail(err, n, "max_pending_alerts: expected a number from 1 to 1000000000");
        c->max_pending = (uint64_t)v->valuedouble;
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "flush_on_exit");
    if (v) {
        if (!cJSON_IsBool(v)) return fail(err, n, "flush_on_exit: expected true or false");
        c->flush_on_exit = cJSON_IsTrue(v);
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "properties");
    if (v) {
        if (!cJSON_IsObject(v)) return fail(err, n, "properties: expected an object of librdkafka properties");
        for (const cJSON *p = v->child; p; p = p->next)
            if (!cJSON_IsString(p) && !cJSON_IsNumber(p) && !cJSON_IsBool(p) && !sd_secret_is_ref(p))
                return fail(err, n,
                            "properties.%s: expected a string, number or boolean, or {\"env\": NAME} or "
                            "{\"file\": PATH}",
                            p->string);
        if (!(c->props = cJSON_Duplicate(v, 1))) return fail(err, n, "out of memory");
    }
    if (!c->brokers) return fail(err, n, "brokers: required");
    if (!c->group) return fail(err, n, "group: required");
    if (c->stage == KSTAGE_PARTITION && !c->repartition_topic)
        return fail(err, n, "repartition_topic: required when stage is partition");
    if (c->stage == KSTAGE_AGGREGATE && !c->state_topic)
        return fail(err, n, "state_topic: required when stage is aggregate");
    if (c->stage == KSTAGE_SINGLE && (c->repartition_topic || c->state_topic))
        return fail(err, n, "%s: only for stage partition or aggregate",
                    c->repartition_topic ? "repartition_topic" : "state_topic");
    if (c->stage != KSTAGE_AGGREGATE && c->flush_on_exit)
        return fail(err, n, "flush_on_exit: only for stage aggregate");
    return 0;
}

int sd_kcfg_parse(const char *json, size_t len, kcfg *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    out->commit_ms = 1000;
    out->checkpoint_ms = 5000;
    out->heartbeat_ms = 200;
    out->max_pending = 5000;
    out->idle_ms = 10000;
    cJSON *root = sd_json_parse(json ? json : "", len, 64, NULL);
    if (!root) return fail(err, errlen, "not valid JSON");
    int rc = parse_obj(root, out, err, errlen);
    cJSON_Delete(root);
    if (rc != 0) sd_kcfg_free(out);
    return rc;
}

void sd_kcfg_free(kcfg *c) {
    free(c->brokers);
    free(c->group);
    for (size_t i = 0; i < c->ntopics; i++) free(c->topics[i]);
    free(c->topics);
    free(c->repartition_topic);
    free(c->state_topic);
    for (size_t i = 0; i < c->nlt; i++) {
        free(c->lt_topic[i]);
        free(c->lt_type[i]);
    }
    free(c->lt_topic);
    free(c->lt_type);
    cJSON_Delete(c->props);
    memset(c, 0, sizeof *c);
}

int sd_kafka_input_check(const char *json, size_t len, bool properties, bool *aggregate, char *err, size_t errlen) {
    kcfg k;
    if (sd_kcfg_parse(json, len, &k, err, errlen) != 0) return -1;
    *aggregate = k.stage == KSTAGE_AGGREGATE;
    int rc = 0;
    if (properties) {
        rd_kafka_conf_t *conf = sd_kafka_conf_new(k.brokers, k.props, "secdet", err, errlen);
        if (conf)
            rd_kafka_conf_destroy(conf);
        else
            rc = -1;
    }
    sd_kcfg_free(&k);
    return rc;
}
