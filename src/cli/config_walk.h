/*
 * config_walk.h — the walker that config.c, config_sources.c and
 * config_sinks.c check a `secdet run` configuration with (private to them).
 *
 * It keeps the JSON path of the value being checked ("sources[1].input.port")
 * so that every error names exactly where it is: enter a member or an
 * element, check it, leave. Each getter takes a member of the object at
 * hand and, when it is wrong, stops with cfg_fail: the message goes to
 * w->err as "FILE: JSON-PATH: what is wrong" and -1 comes back, which the
 * callers pass up (the first error stops the load).
 */
#ifndef SECDET_CLI_CONFIG_WALK_H
#define SECDET_CLI_CONFIG_WALK_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/config.h"

typedef struct cfg_walker {
    const char *file;
    char *dir;      /* the file's directory, for relative paths */
    char path[256]; /* JSON path of the value being looked at */
    size_t plen;
    char *err;
    size_t errlen;
    const char *spool_root; /* top-level "spool_dir", resolved; NULL when absent */
    size_t nsink;           /* index of the sink being loaded */
    cfg *c;                 /* for warnings */
} cfg_walker;

/* Sets w->err to "FILE: JSON-PATH: message"; returns -1. */
int cfg_fail(cfg_walker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Adds a warning ("FILE: JSON-PATH: warning: msg") to w->c (dropped when out of memory). */
void cfg_warn(cfg_walker *w, const char *msg);
/* Enters a member (".key", or "key" at the top) or an element ("[i]"); each
 * returns the old length for cfg_leave. */
size_t cfg_enter_key(cfg_walker *w, const char *key);
size_t cfg_enter_index(cfg_walker *w, size_t i);
void cfg_leave(cfg_walker *w, size_t old);
/* Every member of obj is one of allowed (NULL-terminated), else "unknown key". */
int cfg_check_keys(cfg_walker *w, const cJSON *obj, const char *const *allowed);
int cfg_want_object(cfg_walker *w, const cJSON *v);
/* A non-empty string member (a copy in *out); *out NULL when absent and not required. */
int cfg_get_string(cfg_walker *w, const cJSON *obj, const char *key, bool required, char **out);
/* A non-negative integer member up to max; *present says whether it was there. */
int cfg_get_uint(cfg_walker *w, const cJSON *obj, const char *key, double max, uint64_t *out, bool *present);
/* p made absolute against the configuration's directory (malloc'd; NULL when out of memory). */
char *cfg_resolve(cfg_walker *w, const char *p);
/* cfg_get_string, the value resolved as a path. */
int cfg_get_path(cfg_walker *w, const cJSON *obj, const char *key, bool required, char **out);
/* A true/false member into *out; left as it is when absent. */
int cfg_get_bool(cfg_walker *w, const cJSON *obj, const char *key, int *out);
/* A {"file": PATH} reference's relative PATH made absolute; arg is the walker. */
int cfg_absolute_ref(cJSON *ref, void *arg);
/* The secret at v (a string or a reference) read into *out (sd_secret_free it). */
int cfg_read_secret(cfg_walker *w, const cJSON *v, char **out);

/* ---- config_sources.c ---- */
/* A "sources" element: name, format, time_field, log_type and its input(s). */
int cfg_load_source(cfg_walker *w, const cJSON *v, cfg_source *s);

/* ---- config_sinks.c ---- */
/* A "sinks" element, completed (paths, name, spool_dir) and built once to check it. */
int cfg_load_sink(cfg_walker *w, const cJSON *v, cfg_sink *s);
/* The "limits" object, into c->opts and c's queue sizes. */
int cfg_load_limits(cfg_walker *w, const cJSON *v, cfg *c);

#endif
