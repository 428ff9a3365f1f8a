/* alert.h — the alert stage: a matched rule and its event → one alert.
 *
 * An alert is one compact JSON object, shaped as LANGUAGE.md "Alerts" says
 * (rule, title, severity, tags, time, source, fields, message, group, count,
 * first_seen, last_seen, suppressed, id, events, meta), plus the few fields
 * the public accessors hand out. It is built into buffers owned by an
 * alert_ctx (one per engine) that are reused from alert to alert, so
 * building an alert allocates nothing once the buffers have grown; the
 * secdet_alert it fills points into those buffers and into the program, and
 * is valid until the next sd_alert_build on the same context.
 *
 * The id is the hex of the first 16 bytes of SHA-256 over the rule name, NUL,
 * the group object's JSON, NUL, and the firing events' compact JSON (NUL
 * between events): the same rule, group and event always give the same id,
 * on any engine, so a duplicated event is recognisable downstream.
 */
#ifndef SECDET_ALERT_ALERT_H
#define SECDET_ALERT_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "secdet.h"
#include "event/event.h"
#include "util/buf.h"
#include "vm/program.h"
#include "util/limits.h"

typedef struct cJSON cJSON;

/* The body of the public opaque handle. */
struct secdet_alert {
    const char *json; /* the alert object, compact, NUL-terminated */
    size_t json_len;
    const char *rule;
    const char *title;
    const char *message;
    size_t message_len; /* it may hold U+0000 (from event data) */
    const char *id;     /* 32 hex digits */
    const char *source;
    secdet_severity severity;
    int64_t time_ns;
    const char *const *tags; /* the rule's tags (program-owned) */
    uint32_t ntags;
    const char *log_type; /* the firing event's (its "fields" "type"); "" unknown */
};

/* What an alert is made of. For a stateless rule: count 1, first_seen =
 * last_seen = time, one event, no distinct. */
typedef struct alert_spec {
    const program *prog;
    uint32_t rule;      /* index into prog->rules */
    const char *source; /* source name of the firing event */
    /* Its log type's name (registry-owned; "jsonl" when none was
     * recognised), or NULL when it could not be told (out of memory). */
    const char *log_type;
    /* The alert's "fields" object (the firing event's common fields:
     * {"type": "okta", "ip": ..., ...}) as JSON text; NULL: {}. */
    const char *fields_json;
    size_t fields_json_len;
    int64_t time_ns; /* event time of the firing event */
    int64_t first_seen_ns, last_seen_ns;
    uint64_t count;
    bool has_distinct; /* a distinct rule: the alert carries `distinct` */
    uint64_t distinct;
    bool has_sum; /* a sum rule: the alert carries `sum` */
    double sum;
    uint64_t suppressed;
    /* Group keys (the rule's `by` keys, or its throttle keys) and their values
     * in the same order; a value list with n == 0 is missing (JSON null). */
    const rule_key *keys;
    const sd_values *key_vals;
    uint32_t nkeys;
    /* Sample events, the firing one last (at least one). */
    const cJSON *const *events;
    uint32_t nevents;
    /* Or the same events as compact JSON text already (aggregation alerts keep
     * their samples as text): when set, used instead of `events`. */
    const char *const *event_json;
    const size_t *event_json_len;
    /* The firing event under evaluation (its field cache serves {.path}). */
    sd_event *ev;
    /* Or, for an aggregation alert (ev NULL): the group's values as the
     * correlator keeps them — each key's JSON as sd_alert_group_value_json
     * writes it, then a NUL — used when key_vals is NULL, and the aux bytes
     * its firing record kept (the template's {.path} and {group} texts). */
    const char *group_json;
    uint32_t group_json_len;
    const char *aux;
    uint32_t aux_len;
    /* The severity a rule's severity cases gave this alert (else the rule's). */
    bool has_severity;
    secdet_severity severity;
} alert_spec;

/* The alert's severity: its severity case's, else its rule's. */
static inline secdet_severity sd_alert_spec_severity(const alert_spec *s, const vm_rule *r) {
    return s->has_severity ? s->severity : r->sev;
}

typedef struct alert_ctx {
    buf json;    /* the alert */
    buf message; /* rendered template */
    buf group;   /* group object JSON */
    buf events;  /* events JSON, comma-separated (inside the "events" array) */
    buf scratch;
    /* The events buffer caches the last single event serialised, so several
     * rules firing on one event serialise it once. */
    const cJSON *cached_root;
    uint64_t cached_gen;
    const sd_event *cached_ev;
    void *md_ctx;       /* EVP_MD_CTX *, reused */
    void *md;           /* EVP_MD * (SHA-256), fetched once */
    size_t max_message; /* 0 = LIMIT_MESSAGE_BYTES_DEFAULT */
    char id[33];
    char time_buf[40];
} alert_ctx;

void sd_alert_ctx_init(alert_ctx *ac);
void sd_alert_ctx_free(alert_ctx *ac);
/* Builds the alert into ac and fills *out. 0 on success, -1 on OOM or a bad spec. */
int sd_alert_build(alert_ctx *ac, const alert_spec *spec, secdet_alert *out);
/* Forget the cached event serialisation (call when an event's memory may be reused
 * without its generation changing, e.g. after swapping the sd_event). */
void sd_alert_ctx_forget_event(alert_ctx *ac);

/* ---- JSON and value text, shared by the alert and the template ------------ */

/* Appends a cJSON node as compact JSON (numbers in their shortest exact form). */
void sd_alert_json_write(buf *b, const cJSON *node);
/* Appends the JSON text of an event that sd_scan_run (event/scan.h) accepted,
 * byte for byte as sd_alert_json_write writes cJSON's parse of it (the alert
 * id depends on it). -1 when it leaves the text to the tree (nesting deeper
 * than LIMIT_ALERT_JSON_DEPTH) or on OOM; b then holds a partial write. */
int sd_alert_json_from_text(buf *b, const char *text, size_t len);
/* Whether sd_alert_json_from_text would write text (which sd_scan_run
 * accepted) back byte for byte: then it copies it (alert_text.c). */
bool sd_alert_text_compact(const char *text, size_t len);
/* Appends a number: integers without a fraction, others in the shortest
 * form that reads back to the same double; NaN and infinities as null. */
void sd_alert_number_write(buf *b, double d);
/* Appends one value as JSON. */
void sd_alert_value_json(buf *b, const sd_value *v);
/* Appends a group key's value as the alert's `group` object holds it:
 * missing → null, one value as itself, several as an array. */
void sd_alert_group_value_json(buf *b, const sd_values *vals);
/* Appends one value as template text: strings raw, null/true/false as words,
 * numbers as sd_alert_number_write, arrays and objects as compact JSON. */
void sd_alert_value_text(buf *b, const sd_value *v);

/* ---- What an aggregation alert needs of its firing event (template.c) -----
 * An aggregation rule's alert is built when the watermark passes its firing
 * event, long after that event was evaluated, from what the correlator
 * kept. So when an event becomes a record, the engine writes here all the
 * alert will need of it and nothing else: the text of each {.path} and
 * {group} part of the rule's output template. Layout (it never leaves the
 * process; snapshots leave it out): u32 number of parts, then each part's
 * u32 length and text. */

/* Whether rule r's records need aux at all (its template reads the event). */
bool sd_alert_aux_needed(const vm_rule *r);
/* Appends the aux of event ev (group: the rule's group key values). */
void sd_alert_aux_write(buf *b, const vm_rule *r, sd_event *ev, const sd_values *group, uint32_t ngroup);

/* ---- Templates (template.c) ----------------------------------------------- */

/* Renders the rule's output template for the alert into out (appending),
 * at most max_len bytes (0 = LIMIT_MESSAGE_BYTES_DEFAULT; longer text is cut at
 * a UTF-8 boundary and ends in "…"). A rule without a template renders its
 * title. */
void sd_template_render(buf *out, const alert_spec *spec, size_t max_len);

#endif
