/* sink_int.h — the sink framework's insides, shared by the delivery layer
 * (sink.c, delivery.c, hub.c, sink_config.c) and the built-in sinks
 * (sink_file.c, webhook.c, slack.c, syslog.c).
 *
 * A built-in sink is a public secdet_sink_vtable plus `self`, made from a
 * JSON object by its create function (sink_cfg reads the keys), and, when it
 * does I/O on the loop, an `attach` hook that hands it the hub (the delivery
 * thread's libuv loop and HTTP client) before `open`. Every vtable function
 * and attach run on the delivery thread.
 */
#ifndef SECDET_SINK_SINK_INT_H
#define SECDET_SINK_SINK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "secdet.h"
#include "sink/http.h"

struct uv_loop_s;
typedef struct cJSON cJSON;

/* ---- The hub: one delivery thread per engine ---- */
typedef struct hub hub;
struct uv_loop_s *sd_hub_loop(hub *h);
http_client *sd_hub_http(hub *h);

/* ---- What a built-in type's create function fills in ---- */
typedef struct sink_def {
    const secdet_sink_vtable *vt;
    void *self;
    int (*attach)(void *self, hub *h); /* NULL when not needed; 0 or -1 */
    uint32_t max_in_flight;            /* the type's default (0: 1) */
    /* For a sink that holds emits before it sends them (a digest), on the
     * hub thread; NULL otherwise. hurry: a drain wants everything
     * delivered now. stopping: delivery stops; end every held emit that is
     * not in flight (RETRY: it stays in the spool for the next start). */
    void (*hurry)(void *self);
    void (*stopping)(void *self);
} sink_def;

/* ---- Reading a sink's JSON object ----
 * Each getter marks its key as known; after the create function, every key
 * neither it nor the delivery keys read is an error ("unknown key"). Each
 * returns 0 (absent keys leave *out unchanged, or NULL for strings) or -1
 * with the message already recorded (sd_sink_cfg_fail). Messages name the sink
 * and the key, never a value (values may be secrets). A string key, and
 * each value of sd_sink_cfg_headers and sd_sink_cfg_object, may be written as a
 * secret reference ({"env": ...}, {"file": ...}): the getter reads it and
 * returns the value as if it had been written out. */
typedef struct sink_cfg sink_cfg;
int sd_sink_cfg_str(sink_cfg *c, const char *key, bool required, const char **out);
int sd_sink_cfg_uint(sink_cfg *c, const char *key, uint64_t min, uint64_t max, uint64_t *out);
int sd_sink_cfg_bool(sink_cfg *c, const char *key, bool *out);
/* An object of string values -> "Key: value" lines (malloc'd array and
 * strings; the caller frees with sd_sink_cfg_free_lines). Names must be HTTP
 * tokens, values without CR/LF. */
int sd_sink_cfg_headers(sink_cfg *c, const char *key, char ***lines, size_t *n);
void sd_sink_cfg_free_lines(char **lines, size_t n);
/* A JSON object (members of any type; the caller checks them), or NULL
 * when absent. Valid as long as the configuration (during create). */
int sd_sink_cfg_object(sink_cfg *c, const char *key, const cJSON **out);
int sd_sink_cfg_fail(sink_cfg *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The sink's name (for messages). */
const char *sd_sink_cfg_name(const sink_cfg *c);

/* Built-in types; each returns 0 with *out filled, or -1 (after
 * sd_sink_cfg_fail) having freed what it made. */
int sd_sink_stdout_create(sink_cfg *c, sink_def *out);
int sd_sink_file_create(sink_cfg *c, sink_def *out);
int sd_sink_webhook_create(sink_cfg *c, sink_def *out);
int sd_sink_slack_create(sink_cfg *c, sink_def *out);
int sd_sink_syslog_create(sink_cfg *c, sink_def *out);
int sd_sink_kafka_create(sink_cfg *c, sink_def *out);
int sd_sink_digest_create(sink_cfg *c, sink_def *out);

/* ---- The sink object ---- */
struct secdet_sink {
    char *name;       /* NULL until add assigns "<type>-<n>" */
    const char *type; /* static: "webhook", "custom", ... */
    sink_def def;
    secdet_sink_opts opts; /* strings below are owned copies */
    char **tags, **rules, **sources, **log_types;
    char *spool_dir, *dead_letter, *spool_fsync;
    struct dq *dq; /* the delivery queue, once added */
    /* secdet_sink_from_json: SHA-256 of the resolved configuration (secret
     * references read), to tell whether a re-read changed it (sink_swap.c). */
    unsigned char conf_digest[32];
    bool has_conf_digest;
};

/* ---- One attempt (the public secdet_delivery) ---- */
struct secdet_delivery {
    struct dq *q;
    uint64_t seq;
    secdet_severity severity;
    char id[33];
    char *json; /* NUL-terminated */
    size_t len;
    unsigned attempt;             /* 1-based */
    bool waiting;                 /* failed, waiting for its retry (delivery.c) */
    struct secdet_delivery *next; /* queue links (delivery.c) */
    /* Filled by secdet_delivery_done. */
    secdet_sink_result result;
    int64_t retry_after_ms;
    char error[200];
};

/* sink_filter.c: the filter's lists copied from o (tags, rules, sources,
 * log types) into s (SECDET_ERR_INVALID_ARG for a NULL entry), freed;
 * whether s takes alert a (severity, tags, rules, sources, log types). */
secdet_status sd_sink_filter_copy(secdet_sink *s, const secdet_sink_opts *o);
void sd_sink_filter_free(secdet_sink *s);
bool sd_sink_filter_wants(const secdet_sink *s, const secdet_alert *a);

/* sink.c: a sink object around def (opts copied; NULL = defaults); frees
 * the strings of one (not def.self). */
secdet_status sd_sink_make(const char *type, const sink_def *def, const secdet_sink_opts *opts, secdet_sink **out);
void sd_sink_free_strings(secdet_sink *s);
/* sink_file.c: the file and stdout sinks (path NULL = stdout). */
int sd_sink_file_def(const char *path, uint64_t max_bytes, uint32_t keep, sink_def *out);

/* Ends an attempt: fills a secdet_delivery_result (error formatted, cut
 * to fit) and calls secdet_delivery_done(d, ...). */
void sd_sink_result(secdet_delivery *d, secdet_sink_result r, int64_t retry_after_ms, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
