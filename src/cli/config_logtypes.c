/*
 * config_logtypes.c — the log types of a `secdet run` configuration: its
 * top-level "log_types" (each a log type's JSON description, as
 * secdet_log_type_define takes it: new ones, or overrides of built-in ones)
 * and each source's "log_type".
 *
 * They are checked when the configuration is read, on an engine of their
 * own, so that a mistake names its place ("log_types[1]: fields.ip: ...",
 * "sources[0].log_type: unknown log type \"octa\"") before anything starts;
 * the running engine then gets the same descriptions (cfg_define_log_types).
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/config.h"

static int defined(secdet_engine *e, const char *name) {
    if (strcmp(name, "auto") == 0) return 1;
    for (size_t i = 0; i < secdet_log_type_count(e); i++)
        if (strcmp(secdet_log_type_name(e, i), name) == 0) return 1;
    return 0;
}

static int check_topics(secdet_engine *e, const cfg_source *src, size_t s, size_t j, char *where, size_t wlen,
                        char *msg, size_t mlen) {
    cJSON *k = cJSON_Parse(src->inputs[j].kafka_json);
    const cJSON *lt = cJSON_GetObjectItemCaseSensitive(k, "log_types");
    int rc = 0;
    for (const cJSON *t = cJSON_IsObject(lt) ? lt->child : NULL; rc == 0 && t; t = t->next) {
        if (cJSON_IsString(t) && !defined(e, t->valuestring)) {
            snprintf(where, wlen, "sources[%zu].input[%zu].log_types.%.40s", s, j, t->string);
            snprintf(msg, mlen, "unknown log type \"%.60s\" (a built-in, one of log_types, or \"auto\")",
                     t->valuestring);
            rc = -1;
        }
    }
    cJSON_Delete(k);
    return rc;
}

int cfg_log_types_load(const cJSON *root, cfg *c, char *where, size_t wlen, char *msg, size_t mlen) {
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "log_types");
    secdet_engine *e = NULL;
    if (secdet_engine_new(NULL, &e) != SECDET_OK) {
        snprintf(where, wlen, "log_types");
        snprintf(msg, mlen, "out of memory");
        return -1;
    }
    int rc = 0;
    if (arr && !cJSON_IsArray(arr)) {
        snprintf(where, wlen, "log_types");
        snprintf(msg, mlen, "expected an array of log type descriptions");
        rc = -1;
    }
    size_t n = arr && rc == 0 ? (size_t)cJSON_GetArraySize(arr) : 0;
    c->log_types = n ? calloc(n, sizeof *c->log_types) : NULL;
    size_t i = 0;
    for (const cJSON *item = n ? arr->child : NULL; rc == 0 && item; item = item->next, i++) {
        snprintf(where, wlen, "log_types[%zu]", i);
        char *text = cJSON_IsObject(item) ? cJSON_PrintUnformatted(item) : NULL;
        char *why = NULL;
        if (!c->log_types || !text) {
            snprintf(msg, mlen, "%s", cJSON_IsObject(item) ? "out of memory" : "expected an object");
            rc = -1;
        } else if (secdet_log_type_define(e, text, strlen(text), &why) != SECDET_OK) {
            snprintf(msg, mlen, "%s", why ? why : "cannot be defined");
            rc = -1;
        }
        secdet_free(why);
        if (rc == 0) {
            c->log_types[c->nlog_types++] = text;
        } else {
            cJSON_free(text);
        }
    }
    for (size_t s = 0; rc == 0 && s < c->nsources; s++) {
        const char *lt = c->sources[s].log_type;
        if (lt && !defined(e, lt)) {
            snprintf(where, wlen, "sources[%zu].log_type", s);
            snprintf(msg, mlen, "unknown log type \"%.60s\" (a built-in, one of log_types, or \"auto\")", lt);
            rc = -1;
        }
    }
    /* A Kafka input's topics may name log types too (docs/scale-out.md). */
    for (size_t s = 0; rc == 0 && s < c->nsources; s++)
        for (size_t j = 0; rc == 0 && j < c->sources[s].ninputs; j++)
            if (c->sources[s].inputs[j].kafka_json) rc = check_topics(e, &c->sources[s], s, j, where, wlen, msg, mlen);
    secdet_engine_free(e);
    return rc;
}

int cfg_define_log_types(const cfg *c, secdet_engine *e, char *msg, size_t mlen) {
    for (size_t i = 0; i < c->nlog_types; i++) {
        char *why = NULL;
        if (secdet_log_type_define(e, c->log_types[i], strlen(c->log_types[i]), &why) != SECDET_OK) {
            snprintf(msg, mlen, "log_types[%zu]: %s", i, why ? why : "cannot be defined");
            secdet_free(why);
            return -1;
        }
    }
    return 0;
}
