/* decode_google.c — Pub/Sub push messages and Reports API activities →
 * events (see decode_google.h for the shapes and what is added).
 *
 * The base64 is decode_aws.c's (OpenSSL); the data is parsed under the
 * decoder's depth limit like any event. Copies keep strings holding U+0000
 * whole (util/json.h).
 */
#include "event/decode_google.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event/decode_int.h"
#include "event/span.h"
#include "util/buf.h"
#include "util/json.h"

static const char ACTIVITY_KIND[] = "admin#reports#activity";

dec_format sd_google_envelope_kind_text(const char *s, size_t n) {
    enum { SUBSCRIPTION, MESSAGE, KIND, EVENTS, NKEYS };
    static const char *const keys[NKEYS] = {"subscription", "message", "kind", "events"};
    span_member first[NKEYS];
    bool seen[NKEYS];
    if (sd_span_first_members(s, n, keys, NKEYS, first, seen) != 0) return DEC_AUTO;
    if (seen[SUBSCRIPTION] && seen[MESSAGE] && s[first[SUBSCRIPTION].value] == '"' && s[first[MESSAGE].value] == '{')
        return DEC_PUBSUB;
    if (seen[KIND] && seen[EVENTS] && s[first[EVENTS].value] == '[' &&
        first[KIND].value_len == sizeof ACTIVITY_KIND + 1 && s[first[KIND].value] == '"' &&
        memcmp(s + first[KIND].value + 1, ACTIVITY_KIND, sizeof ACTIVITY_KIND - 1) == 0)
        return DEC_GWS_ACTIVITY;
    return DEC_AUTO;
}

static int hand(cJSON *ev, uint64_t where, const decode_sink *sink) {
    int rc = sink && sink->on_event ? sink->on_event(sink->user, ev, where) : 0;
    cJSON_Delete(ev);
    return rc;
}

/* ---- Pub/Sub ------------------------------------------------------------------ */

static int pubsub_emit(const cJSON *root, const char *unit, uint64_t where, const aws_limits *lim,
                       const decode_sink *sink) {
    const cJSON *msg = sd_json_member(root, "message");
    const cJSON *data = sd_json_member(msg, "data");
    if (!cJSON_IsString(data)) {
        sd_decode_report(sink, where, "%s %llu: a Pub/Sub push message without message.data", unit,
                         (unsigned long long)where);
        return 0;
    }
    buf raw;
    sd_buf_init(&raw);
    if (!sd_decode_base64(data->valuestring, sd_json_string_len(data), &raw)) {
        bool oom = raw.oom;
        sd_buf_free(&raw);
        if (oom) return -1;
        sd_decode_report(sink, where, "%s %llu: message.data: invalid base64", unit, (unsigned long long)where);
        return 0;
    }
    const char *why = NULL;
    cJSON *ev = raw.len <= lim->max_event ? sd_decode_json_object(raw.data, raw.len, lim->max_depth, &why) : NULL;
    if (!ev) {
        if (raw.len > lim->max_event)
            sd_decode_report(sink, where, "%s %llu: message.data: longer than %zu bytes", unit,
                             (unsigned long long)where, lim->max_event);
        else
            sd_decode_report(sink, where, "%s %llu: message.data: %s", unit, (unsigned long long)where,
                             why ? why : "invalid JSON");
        sd_buf_free(&raw);
        return 0;
    }
    sd_buf_free(&raw);
    if (!sd_json_member(ev, "_pubsub")) {
        cJSON *env = sd_json_duplicate(msg);
        const cJSON *sub = sd_json_member(root, "subscription");
        cJSON *subc = sd_json_duplicate(sub);
        if (!env || !subc || !cJSON_AddItemToObject(env, "subscription", subc)) {
            cJSON_Delete(env);
            cJSON_Delete(subc);
            cJSON_Delete(ev);
            return -1;
        }
        cJSON_DeleteItemFromObjectCaseSensitive(env, "data");
        if (!cJSON_AddItemToObject(ev, "_pubsub", env)) {
            cJSON_Delete(env);
            cJSON_Delete(ev);
            return -1;
        }
    }
    return hand(ev, where, sink);
}

/* ---- Reports activities ------------------------------------------------------------ */

static cJSON *flatten_params(const cJSON *list, int depth);

/* A parameter's value: the first value member it has; null when none. */
static cJSON *param_value(const cJSON *p, int depth) {
    const cJSON *v;
    if ((v = sd_json_member(p, "value"))) return sd_json_duplicate(v);
    if ((v = sd_json_member(p, "intValue"))) {
        if (cJSON_IsString(v)) {
            char *end = NULL;
            double d = strtod(v->valuestring, &end);
            if (end && *end == 0 && end != v->valuestring && d == floor(d) && fabs(d) <= 9007199254740992.0)
                return cJSON_CreateNumber(d);
        }
        return sd_json_duplicate(v);
    }
    static const char *const plain[] = {"boolValue", "multiValue", "multiIntValue"};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        if ((v = sd_json_member(p, plain[i]))) return sd_json_duplicate(v);
    if ((v = sd_json_member(p, "messageValue"))) return flatten_params(sd_json_member(v, "parameter"), depth + 1);
    if ((v = sd_json_member(p, "multiMessageValue")) && cJSON_IsArray(v)) {
        cJSON *arr = cJSON_CreateArray();
        for (const cJSON *m = v->child; arr && m; m = m->next) {
            cJSON *o = flatten_params(sd_json_member(m, "parameter"), depth + 1);
            if (!o || !cJSON_AddItemToArray(arr, o)) {
                cJSON_Delete(o);
                cJSON_Delete(arr);
                return NULL;
            }
        }
        return arr;
    }
    return cJSON_CreateNull();
}

/* [{"name": n, <value>}, ...] -> {n: value, ...}; items without a name are skipped. */
static cJSON *flatten_params(const cJSON *list, int depth) {
    cJSON *obj = cJSON_CreateObject();
    if (!obj || depth > 16 || !cJSON_IsArray(list)) return obj;
    for (const cJSON *p = list->child; p; p = p->next) {
        const cJSON *name = sd_json_member(p, "name");
        if (!cJSON_IsString(name) || sd_json_member(obj, name->valuestring)) continue;
        cJSON *v = param_value(p, depth);
        if (!v || !cJSON_AddItemToObject(obj, name->valuestring, v)) {
            cJSON_Delete(v);
            cJSON_Delete(obj);
            return NULL;
        }
    }
    return obj;
}

/* The activity's members but events, then the element's (parameters flattened). */
static cJSON *activity_event(const cJSON *activity, const cJSON *element) {
    cJSON *ev = cJSON_CreateObject();
    for (const cJSON *m = activity->child; ev && m; m = m->next) {
        if (strcmp(m->string, "events") == 0) continue;
        cJSON *c = sd_json_duplicate(m);
        if (!c || !cJSON_AddItemToObject(ev, m->string, c)) {
            cJSON_Delete(c);
            goto oom;
        }
    }
    for (const cJSON *m = cJSON_IsObject(element) ? element->child : NULL; ev && m; m = m->next) {
        cJSON *c = strcmp(m->string, "parameters") == 0 ? flatten_params(m, 0) : sd_json_duplicate(m);
        if (!c) goto oom;
        cJSON_DeleteItemFromObjectCaseSensitive(ev, m->string); /* the event's own member wins */
        if (!cJSON_AddItemToObject(ev, m->string, c)) {
            cJSON_Delete(c);
            goto oom;
        }
    }
    return ev;
oom:
    cJSON_Delete(ev);
    return NULL;
}

static int activity_emit(const cJSON *root, const char *unit, uint64_t where, const decode_sink *sink) {
    const cJSON *events = sd_json_member(root, "events");
    uint64_t i = 0;
    for (const cJSON *el = events ? events->child : NULL; el; el = el->next, i++) {
        if (!cJSON_IsObject(el)) {
            sd_decode_report(sink, where, "%s %llu: events[%llu]: not a JSON object", unit, (unsigned long long)where,
                             (unsigned long long)i);
            continue;
        }
        cJSON *ev = activity_event(root, el);
        if (!ev) return -1;
        int rc = hand(ev, where, sink);
        if (rc) return rc;
    }
    return 0;
}

int sd_google_emit(dec_format kind, cJSON *root, const char *unit, uint64_t where, const aws_limits *lim,
                   const decode_sink *sink) {
    int rc = 0;
    if (kind == DEC_PUBSUB)
        rc = pubsub_emit(root, unit, where, lim, sink);
    else if (kind == DEC_GWS_ACTIVITY)
        rc = activity_emit(root, unit, where, sink);
    cJSON_Delete(root);
    return rc;
}
