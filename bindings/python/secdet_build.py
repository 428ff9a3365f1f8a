"""secdet_build.py — the cffi extension `secdet._secdet` (API mode, out of line): its C source.

CMakeLists.txt (beside this file) runs `python secdet_build.py OUT.c` at
build time: cffi writes the extension's C source, which CMake compiles and
links with libsecdet — the static library built from this checkout, or the
installed one found with pkg-config (docs/python.md, "Installing").

Besides the declarations of the public API (CDEF), the module carries a few
lines of C (SOURCE): the synchronous alert and error callbacks collect what
they are given into a buffer in C, so a push or a scan runs from start to end
without the GIL and without calling into Python once per alert; Python reads
the buffer after the call returns.
"""
import sys

from cffi import FFI

CDEF = r"""
typedef enum secdet_status {
    SECDET_OK = 0, SECDET_ERR_INVALID_ARG = 1, SECDET_ERR_NOMEM = 2, SECDET_ERR_IO = 3,
    SECDET_ERR_RULES = 4, SECDET_ERR_UNKNOWN_SOURCE = 5, SECDET_ERR_EXISTS = 6,
    SECDET_ERR_DECODE = 7, SECDET_ERR_LIMIT = 8, SECDET_ERR_TIMEOUT = 9
} secdet_status;
const char *secdet_version(void);
const char *secdet_strerror(secdet_status status);
void secdet_free(void *p);

typedef struct secdet_engine secdet_engine;
typedef struct secdet_engine_opts {
    uint64_t vm_budget;
    uint32_t regex_match_limit;
    uint32_t max_json_depth;
    size_t max_event_bytes;
    size_t max_rule_file_bytes;
    uint32_t max_samples;
    int64_t lateness_ms;
    uint64_t max_state_bytes;
    size_t max_message_bytes;
} secdet_engine_opts;
void secdet_engine_opts_init(secdet_engine_opts *opts);
secdet_status secdet_engine_new(const secdet_engine_opts *opts, secdet_engine **out);
void secdet_engine_free(secdet_engine *engine);

typedef struct secdet_diagnostics secdet_diagnostics;
typedef enum secdet_diag_severity { SECDET_DIAG_ERROR = 0, SECDET_DIAG_WARNING = 1 } secdet_diag_severity;
typedef struct secdet_diagnostic {
    secdet_diag_severity severity;
    const char *file;
    unsigned line;
    unsigned column;
    const char *message;
} secdet_diagnostic;
size_t secdet_diagnostics_count(const secdet_diagnostics *diag);
size_t secdet_diagnostics_errors(const secdet_diagnostics *diag);
secdet_status secdet_diagnostics_get(const secdet_diagnostics *diag, size_t i, secdet_diagnostic *out);
char *secdet_diagnostics_format(const secdet_diagnostics *diag, size_t i);
void secdet_diagnostics_free(secdet_diagnostics *diag);

secdet_status secdet_load_rules_file(secdet_engine *engine, const char *path, secdet_diagnostics **diag);
secdet_status secdet_load_rules_string(secdet_engine *engine, const char *name, const char *text, size_t len,
                                       secdet_diagnostics **diag);
secdet_status secdet_load_rules_dir(secdet_engine *engine, const char *dir, secdet_diagnostics **diag);
secdet_status secdet_reload_rules(secdet_engine *engine, const char *const *paths, size_t npaths,
                                  secdet_diagnostics **diag);

typedef enum secdet_severity {
    SECDET_SEVERITY_INFO = 0, SECDET_SEVERITY_LOW = 1, SECDET_SEVERITY_MEDIUM = 2,
    SECDET_SEVERITY_HIGH = 3, SECDET_SEVERITY_CRITICAL = 4
} secdet_severity;
typedef struct secdet_rule_info {
    const char *name;
    const char *title;
    secdet_severity severity;
    const char *file;
    unsigned line;
    int is_private;
    int is_aggregate;
} secdet_rule_info;
size_t secdet_rule_count(const secdet_engine *engine);
secdet_status secdet_rule_get(const secdet_engine *engine, size_t i, secdet_rule_info *out);
secdet_status secdet_disasm(const secdet_engine *engine, char **out);
typedef struct secdet_rule_stats {
    uint64_t alerts;
    uint64_t suppressed;
    uint64_t excepted;
    size_t nexcepts;
    int disabled;
} secdet_rule_stats;
secdet_status secdet_rule_stats_get(const secdet_engine *engine, size_t i, secdet_rule_stats *out);
typedef struct secdet_rule_except {
    const char *file;
    unsigned line, column;
    const char *condition;
    const char *reason;
    const char *until;
    int64_t until_ns;
    uint64_t excepted;
} secdet_rule_except;
secdet_status secdet_rule_except_get(const secdet_engine *engine, size_t i, size_t k, secdet_rule_except *out);
secdet_status secdet_tuning_explain(const secdet_engine *engine, char **out);

typedef enum secdet_format {
    SECDET_FMT_AUTO = 0, SECDET_FMT_JSONL = 1, SECDET_FMT_CLOUDTRAIL = 2,
    SECDET_FMT_CLOUDWATCH_LOGS = 3, SECDET_FMT_EVENTBRIDGE = 4
} secdet_format;
typedef struct secdet_source_opts {
    secdet_format format;
    const char *time_field;
    const char *format_name;
    const char *log_type;
} secdet_source_opts;
secdet_status secdet_log_type_define(secdet_engine *engine, const char *json, size_t len, char **error);
size_t secdet_log_type_count(const secdet_engine *engine);
const char *secdet_log_type_name(const secdet_engine *engine, size_t i);
secdet_status secdet_log_type_json(const secdet_engine *engine, const char *name, char **out);
typedef struct secdet_event_info {
    const char *source;
    const char *log_type;
    int64_t time_ns;
    int has_time;
} secdet_event_info;
secdet_status secdet_event_inspect(secdet_engine *engine, const char *source, const char *json, size_t len,
                                   secdet_event_info *out);
typedef struct secdet_source_stats {
    uint64_t time_unreadable;
} secdet_source_stats;
secdet_status secdet_source_stats_get(const secdet_engine *engine, const char *source, secdet_source_stats *out);
secdet_status secdet_source_add(secdet_engine *engine, const char *name, const secdet_source_opts *opts);
secdet_status secdet_push(secdet_engine *engine, const char *source, const void *bytes, size_t len);
secdet_status secdet_source_end(secdet_engine *engine, const char *source);
secdet_status secdet_push_event(secdet_engine *engine, const char *source, const char *json, size_t len);
typedef struct secdet_scan_info {
    unsigned jobs;
    const char *not_split;
    uint64_t bytes;
} secdet_scan_info;
secdet_status secdet_scan_file(secdet_engine *engine, const char *source, const char *path, unsigned jobs,
                               secdet_scan_info *info);

const char *secdet_severity_name(secdet_severity severity);

typedef struct secdet_sink secdet_sink;
typedef struct secdet_delivery secdet_delivery;
typedef enum secdet_sink_result { SECDET_SINK_OK = 0, SECDET_SINK_RETRY = 1, SECDET_SINK_PERMANENT = 2 } secdet_sink_result;
const char *secdet_delivery_json(const secdet_delivery *d, size_t *len);
unsigned secdet_delivery_attempt(const secdet_delivery *d);
typedef struct secdet_sink_opts {
    const char *name;
    secdet_severity min_severity;
    const char *const *tags;
    size_t ntags;
    uint32_t queue_max;
    const char *spool_dir;
    const char *spool_fsync;
    uint32_t spool_fsync_ms;
    uint64_t spool_max_bytes;
    uint32_t max_attempts;
    uint32_t backoff_ms;
    uint32_t backoff_max_ms;
    uint32_t max_in_flight;
    const char *dead_letter;
    unsigned severities;
    const char *const *rules;
    size_t nrules;
    const char *const *sources;
    size_t nsources;
    const char *const *log_types;
    size_t nlog_types;
} secdet_sink_opts;
void secdet_sink_opts_init(secdet_sink_opts *opts);
typedef secdet_sink_result (*secdet_sink_fn)(void *user, const secdet_delivery *d);
secdet_status secdet_sink_callback(secdet_sink_fn fn, void *user, const secdet_sink_opts *opts, secdet_sink **out);
secdet_status secdet_sink_from_json(const char *json, size_t len, secdet_sink **out, secdet_diagnostics **diag);
void secdet_sink_free(secdet_sink *sink);
secdet_status secdet_sink_add(secdet_engine *engine, secdet_sink *sink);
secdet_status secdet_drain(secdet_engine *engine, int64_t timeout_ms);
typedef struct secdet_sink_stats {
    uint64_t accepted;
    uint64_t filtered;
    uint64_t delivered;
    uint64_t retries;
    uint64_t dead_lettered;
    uint64_t dropped;
    uint64_t pending;
    uint64_t spool_bytes;
    uint64_t spool_corrupt;
    uint32_t in_flight;
    int failing;
    char last_error[200];
} secdet_sink_stats;
size_t secdet_sink_count(const secdet_engine *engine);
const char *secdet_sink_name(const secdet_engine *engine, size_t i);
secdet_status secdet_sink_stats_get(const secdet_engine *engine, size_t i, secdet_sink_stats *out);
typedef void (*secdet_sink_log_fn)(void *user, const char *sink, const char *message);
secdet_status secdet_set_sink_log(secdet_engine *engine, secdet_sink_log_fn fn, void *user);

typedef struct secdet_stats {
    uint64_t events;
    uint64_t malformed;
    uint64_t alerts;
    uint64_t rules_run;
    uint64_t budget_exceeded;
    uint64_t late;
    uint64_t bytes;
    uint64_t evicted;
    uint64_t groups;
    uint64_t state_bytes;
    uint64_t udp_dropped;
    uint64_t input_paused;
    uint64_t queued;
    uint64_t oversized;
    uint64_t connections;
    uint64_t connections_refused;
    uint64_t accept_errors;
    uint64_t idle_closed;
    uint64_t tls_failed;
    uint64_t text_events;
    uint64_t time_unreadable;
} secdet_stats;
secdet_status secdet_stats_get(const secdet_engine *engine, secdet_stats *out);
secdet_status secdet_flush(secdet_engine *engine);
secdet_status secdet_snapshot_save(secdet_engine *engine, const char *path);
secdet_status secdet_snapshot_load(secdet_engine *engine, const char *path, secdet_diagnostics **report);

/* ---- this module's own C (SOURCE below) ---- */
typedef struct pysd_batch {
    char *buf;      /* records, see SOURCE */
    size_t len;
    size_t cap;
    size_t alerts;  /* alert records in buf */
    size_t errors;  /* error records in buf */
    int oom;        /* a record did not fit in memory (it was dropped) */
    ...;
} pysd_batch;
pysd_batch *pysd_batch_new(void);
void pysd_batch_free(pysd_batch *b);
void pysd_batch_reset(pysd_batch *b);
secdet_status pysd_attach(secdet_engine *engine, pysd_batch *b);

extern "Python" secdet_sink_result pysd_sink_cb(void *user, const secdet_delivery *d);
extern "Python" void pysd_sink_log_cb(void *user, const char *sink, const char *message);
"""

SOURCE = r"""
#include <stdlib.h>
#include <string.h>
#include <secdet.h>

/*
 * One buffer of records, filled by the engine's synchronous callbacks during
 * one call (push, source end, flush) and read by Python afterwards. All
 * integers little-endian as the host writes them (Python reads them with the
 * native byte order). A record starts with a uint32 kind and the uint32 size
 * of the whole record (header included), so Python steps from record to
 * record without reading the rest (an Alert decodes its record when first
 * read: _alert.py):
 *   kind 1, an alert: int64 time_ns, uint32 severity, then uint32 lengths of
 *     rule, title, message, id, source, json and tags; then the bytes of
 *     those strings in that order, the tags joined by NUL bytes (a C string
 *     holds none).
 *   kind 2, a malformed event: uint64 where, uint32 len(source),
 *     uint32 len(message), then the bytes.
 */
typedef struct pysd_batch {
    char *buf;
    size_t len;
    size_t cap;
    size_t alerts;
    size_t errors;
    int oom;
} pysd_batch;

static pysd_batch *pysd_batch_new(void) { return calloc(1, sizeof(pysd_batch)); }

static void pysd_batch_free(pysd_batch *b) {
    if (b != NULL) {
        free(b->buf);
        free(b);
    }
}

/* Forgets the records; gives back a buffer that a big batch made large. */
static void pysd_batch_reset(pysd_batch *b) {
    b->len = 0;
    b->alerts = 0;
    b->errors = 0;
    b->oom = 0;
    if (b->cap > ((size_t)16 << 20)) {
        free(b->buf);
        b->buf = NULL;
        b->cap = 0;
    }
}

static int pysd_reserve(pysd_batch *b, size_t more) {
    if (more > SIZE_MAX / 2 - b->len) {
        return -1;
    }
    size_t need = b->len + more;
    if (need <= b->cap) {
        return 0;
    }
    size_t cap = b->cap ? b->cap : 65536;
    while (cap < need) {
        cap *= 2;
    }
    char *p = realloc(b->buf, cap);
    if (p == NULL) {
        return -1;
    }
    b->buf = p;
    b->cap = cap;
    return 0;
}

static void pysd_put(pysd_batch *b, const void *p, size_t n) {
    if (n) {
        memcpy(b->buf + b->len, p, n);
        b->len += n;
    }
}

static void pysd_put_u32(pysd_batch *b, size_t v) {
    uint32_t u = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
    pysd_put(b, &u, sizeof u);
}

static size_t pysd_strlen(const char *s) { return s ? strlen(s) : 0; }

static void pysd_on_alert(void *user, const secdet_alert *a) {
    pysd_batch *b = user;
    const char *str[6];
    size_t len[7];
    str[0] = secdet_alert_rule(a);
    str[1] = secdet_alert_title(a);
    str[2] = secdet_alert_message(a);
    str[3] = secdet_alert_id(a);
    str[4] = secdet_alert_source(a);
    len[5] = 0;
    str[5] = secdet_alert_json(a, &len[5]);
    if (str[5] == NULL) {
        len[5] = 0;
    }
    for (int i = 0; i < 5; i++) {
        len[i] = pysd_strlen(str[i]);
    }
    len[2] = str[2] ? secdet_alert_message_len(a) : 0; /* a message may hold U+0000 */
    size_t ntags = secdet_alert_tag_count(a);
    len[6] = ntags ? ntags - 1 : 0; /* the separators */
    for (size_t i = 0; i < ntags; i++) {
        len[6] += pysd_strlen(secdet_alert_tag(a, i));
    }
    size_t total = 4 + 4 + 8 + 4 + 7 * 4;
    for (int i = 0; i < 7; i++) {
        total += len[i];
    }
    if (total > UINT32_MAX) {
        b->oom = 1; /* cannot be represented; never happens with the library's limits */
        return;
    }
    if (pysd_reserve(b, total) != 0) {
        b->oom = 1;
        return;
    }
    uint32_t kind = 1;
    pysd_put(b, &kind, sizeof kind);
    pysd_put_u32(b, total);
    int64_t t = secdet_alert_time_ns(a);
    pysd_put(b, &t, sizeof t);
    pysd_put_u32(b, (size_t)secdet_alert_severity(a));
    for (int i = 0; i < 7; i++) {
        pysd_put_u32(b, len[i]);
    }
    for (int i = 0; i < 6; i++) {
        pysd_put(b, str[i], len[i]);
    }
    for (size_t i = 0; i < ntags; i++) {
        const char *tag = secdet_alert_tag(a, i);
        if (i > 0) {
            pysd_put(b, "", 1);
        }
        pysd_put(b, tag, pysd_strlen(tag));
    }
    b->alerts++;
}

static void pysd_on_error(void *user, const char *source, uint64_t where, const char *message) {
    pysd_batch *b = user;
    size_t ls = pysd_strlen(source), lm = pysd_strlen(message);
    size_t total = 4 + 4 + 8 + 4 + 4 + ls + lm;
    if (ls > UINT32_MAX || lm > UINT32_MAX || total > UINT32_MAX || pysd_reserve(b, total) != 0) {
        b->oom = 1;
        return;
    }
    uint32_t kind = 2;
    pysd_put(b, &kind, sizeof kind);
    pysd_put_u32(b, total);
    pysd_put(b, &where, sizeof where);
    pysd_put_u32(b, ls);
    pysd_put_u32(b, lm);
    pysd_put(b, source, ls);
    pysd_put(b, message, lm);
    b->errors++;
}

static secdet_status pysd_attach(secdet_engine *engine, pysd_batch *b) {
    secdet_status st = secdet_set_alert_callback(engine, pysd_on_alert, b);
    if (st == SECDET_OK) {
        st = secdet_set_error_callback(engine, pysd_on_error, b);
    }
    return st;
}
"""


ffibuilder = FFI()
ffibuilder.cdef(CDEF)
ffibuilder.set_source("secdet._secdet", SOURCE)

if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: secdet_build.py OUT.c")
    ffibuilder.emit_c_code(sys.argv[1])
