/*
 * config.h — the configuration file of `secdet run` (schema: docs/config.md).
 *
 * One JSON object: rule paths, sources with their inputs, sinks, limits and
 * the stats interval. Loading checks everything the schema says — every
 * unknown key, wrong type or bad value is an error naming its JSON path
 * ("secdet.json: sources[1].frmat: unknown key") — so `secdet run` either
 * starts with a configuration it fully understood or not at all. Relative
 * paths (rules, files) are taken relative to the configuration file's
 * directory and stored resolved.
 *
 * Secret references ({"env": NAME}, {"file": PATH}) stay references: the
 * sinks' JSON keeps them (file paths made absolute) and the library reads
 * them each time a sink is made, so a SIGHUP sees rotated secrets. Loading
 * reads each once, to refuse a missing one with the key named.
 */
#ifndef SECDET_CLI_CONFIG_H
#define SECDET_CLI_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "secdet.h"

typedef enum { CFG_IN_FILE, CFG_IN_STDIN, CFG_IN_TCP, CFG_IN_UDP, CFG_IN_KAFKA } cfg_input_type;

typedef struct cfg_input {
    cfg_input_type type;
    char *path;                               /* file */
    int from_start;                           /* file: "start": "beginning" */
    unsigned poll_ms;                         /* file */
    char *address;                            /* tcp, udp */
    uint16_t port;                            /* tcp, udp; 0 = any free port */
    secdet_framing framing;                   /* tcp */
    unsigned max_connections;                 /* tcp; 0 = the library's default (1024) */
    uint64_t idle_timeout_ms;                 /* tcp; 0 = none */
    char *tls_cert, *tls_key, *tls_client_ca; /* tcp "tls": paths, resolved; cert NULL = plain TCP */
    char *tls_key_passphrase;                 /* tcp "tls": secret (cleared when freed) */
    int tls_require_client_cert;
    uint64_t tls_handshake_timeout_ms; /* 0 = the library's default (10000) */
    char *kafka_json;                  /* kafka: the input's object, checked (secdet_kafka_new takes it) */
    int kafka_stage2;                  /* kafka: "stage": "aggregate" */
} cfg_input;

typedef struct cfg_source {
    char *name;
    char *format;     /* a format name; NULL = auto */
    char *time_field; /* NULL = the format's default */
    char *log_type;   /* NULL = the one of its name (docs/log-types.md) */
    cfg_input *inputs;
    size_t ninputs;
} cfg_source;

/* A sink: its JSON object for secdet_sink_from_json, completed (paths
 * resolved, name and spool_dir filled in) and already checked. */
typedef struct cfg_sink {
    char *json;
    char *name;
} cfg_sink;

typedef struct cfg {
    char **rules;
    size_t nrules;
    cfg_source *sources;
    size_t nsources;
    cfg_sink *sinks;
    size_t nsinks;
    secdet_engine_opts opts; /* defaults, then "limits" */
    size_t queue_messages;   /* 0 = the library's default */
    size_t queue_bytes;
    double stats_interval;    /* seconds; 0 = only on SIGUSR1 */
    char *spool_dir;          /* top-level "spool_dir", resolved, or NULL */
    int64_t drain_timeout_ms; /* at exit, how long to wait for delivery; default 10000 */
    const cfg_source *kafka;  /* the source whose (only) input is kafka, or NULL */
    char **log_types;         /* "log_types": each a log type's JSON description, checked */
    size_t nlog_types;
    char **warnings; /* "PATH: JSON-PATH: warning: ..." lines for the caller to print */
    size_t nwarnings;
} cfg;

/* Reads and checks `path`. 0 on success; -1 with the first problem in err
 * ("PATH: JSON-PATH: what is wrong"). */
int cfg_load(const char *path, cfg *out, char *err, size_t errlen);
/* The same on text already read: `path` names it in messages and its
 * directory resolves relative paths. (Also the config fuzz target's entry.) */
int cfg_parse(const char *path, const char *text, size_t len, cfg *out, char *err, size_t errlen);
void cfg_free(cfg *c);

/* ---- config_logtypes.c ---- */
/* Checks "log_types" (each defined on an engine of its own) and every
 * source's "log_type", keeping the descriptions in c. -1 with the JSON path
 * in where and what is wrong in msg. */
typedef struct cJSON cJSON;
int cfg_log_types_load(const cJSON *root, cfg *c, char *where, size_t wlen, char *msg, size_t mlen);
/* Defines the configuration's log types on e (before its rules load). -1
 * with msg set. */
int cfg_define_log_types(const cfg *c, secdet_engine *e, char *msg, size_t mlen);

/* ---- run_check.c: `secdet run --check` ---- */
/* After cfg_load: compiles the rules with the configured limits, adds each
 * source, checks each Kafka input's librdkafka properties; starts nothing
 * (no port, input file, spool or connection). Prints every problem and a
 * closing line on stderr; returns the exit status (0 or 2). */
int cfg_check(const cfg *c, const char *path);

/* ---- run_sinks.c: the sinks again, on SIGHUP ---- */
/* Prints a sink's diagnostics as "secdet: sinks[i]: ..." lines (warnings as
 * "secdet: sinks[i]: warning: ..."); whether one was an error. */
bool cfg_sink_diagnostics(const secdet_diagnostics *d, size_t i);
/* Makes every sink of c again from its JSON (reading its secret references
 * anew) and gives each one of the engine's sinks (added in configuration
 * order) whose configuration changed the new one; all or nothing, with
 * every error printed. Returns the number of errors; *changed, the number
 * of sinks that took a new configuration. */
size_t cfg_sinks_reload(const cfg *c, secdet_engine *engine, size_t *changed);

#endif
