/*
 * secdet.h — libsecdet, an embeddable security detection engine.
 *
 * The one public header. libsecdet reads security events (JSON: AWS
 * CloudTrail, JSON lines, ...), evaluates rules written in the secdet rule
 * language (docs/language.md) compiled to bytecode, and hands every alert to
 * your callback as one JSON object.
 *
 *     secdet_engine *e;
 *     secdet_engine_new(NULL, &e);                        // default options
 *     secdet_diagnostics *diag = NULL;
 *     if (secdet_load_rules_file(e, "rules/aws/cis.secdet", &diag) != SECDET_OK) {
 *         // every error: secdet_diagnostics_get(diag, i, &d) -> d.file:d.line:d.column: d.message
 *     }
 *     secdet_diagnostics_free(diag);
 *     secdet_set_alert_callback(e, on_alert, my_state);   // on_alert(my_state, alert)
 *     secdet_source_add(e, "cloudtrail", &(secdet_source_opts){ .format = SECDET_FMT_CLOUDTRAIL });
 *     secdet_push(e, "cloudtrail", file_bytes, file_len); // decode + evaluate; alerts delivered
 *     secdet_source_end(e, "cloudtrail");
 *     secdet_engine_free(e);
 *
 * Conventions, for every function here:
 * - Functions that can fail return a secdet_status; secdet_strerror() names it.
 *   Bad input (rules, events) never aborts the process; it is reported.
 * - Handles are opaque. Buffers passed in are borrowed for the duration of the
 *   call unless a comment says otherwise; every buffer has an explicit length
 *   (no NUL terminator required). Strings handed out (const char *) belong to
 *   the library and live as long as the object they came from; anything
 *   returned through a `char **` is the caller's to release with secdet_free().
 * - Callbacks take a `void *user` you provide, first argument, no varargs.
 * - Thread safety: the library has no global mutable state. One engine must
 *   be used by one thread at a time (calls on one engine are not synchronised
 *   by the library); different engines may be used from different threads
 *   concurrently. secdet_version(), secdet_strerror() and the diagnostics
 *   accessors are safe from any thread; so is secdet_stop() (also from a
 *   signal handler). Event loop inputs run everything on the loop's thread
 *   (see "Event loop inputs").
 */
#ifndef SECDET_H
#define SECDET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && !defined(SECDET_STATIC_BUILD)
#define SECDET_API __attribute__((visibility("default")))
#else
#define SECDET_API
#endif

/* ---- Version ------------------------------------------------------------ */

#define SECDET_VERSION_MAJOR  0
#define SECDET_VERSION_MINOR  1
#define SECDET_VERSION_PATCH  0
#define SECDET_VERSION_STRING "0.1.0"
/* (major << 16) | (minor << 8) | patch, for compile-time comparisons. */
#define SECDET_VERSION_NUMBER ((SECDET_VERSION_MAJOR << 16) | (SECDET_VERSION_MINOR << 8) | SECDET_VERSION_PATCH)

/* The version of the library linked at run time, e.g. "0.1.0". */
SECDET_API const char *secdet_version(void);

/* ---- Status codes ------------------------------------------------------- */

typedef enum secdet_status {
    SECDET_OK = 0,
    SECDET_ERR_INVALID_ARG = 1,    /* a NULL handle, bad option value, unknown enum */
    SECDET_ERR_NOMEM = 2,          /* allocation failed; the engine is unchanged */
    SECDET_ERR_IO = 3,             /* a file could not be read (errno is kept) */
    SECDET_ERR_RULES = 4,          /* the rules did not compile; see the diagnostics */
    SECDET_ERR_UNKNOWN_SOURCE = 5, /* push to a source that was never added */
    SECDET_ERR_EXISTS = 6,         /* a source of that name already exists */
    SECDET_ERR_DECODE = 7,         /* some input was malformed: counted, reported, the rest went on */
    SECDET_ERR_LIMIT = 8,          /* a configured limit was hit (rule file size, JSON depth, ...) */
    SECDET_ERR_TIMEOUT = 9,        /* secdet_drain: the time ran out before every alert was delivered */
    /* secdet_push, secdet_push_event: a sink cannot take more alerts now
     * (its spool cannot write and queue_max alerts wait in its memory);
     * nothing was consumed: retry the same call later (secdet_drain with a
     * short timeout is a way to wait). See "Backpressure" at secdet_push. */
    SECDET_ERR_BUSY = 10,
} secdet_status;

/* A short, static English description of a status ("rules did not compile"). */
SECDET_API const char *secdet_strerror(secdet_status status);

/* Releases memory the library handed to the caller (disassembly, ...). NULL is fine. */
SECDET_API void secdet_free(void *p);

/* ---- Engine ------------------------------------------------------------- */

typedef struct secdet_engine secdet_engine;

typedef struct secdet_engine_opts {
    /* VM instructions one event may execute across all rules; past it the
     * remaining rules count as not matching and stats.budget_exceeded grows.
     * Work inside one instruction counts too (every value pair a [*] test
     * compares, each step of comparing two objects, each regex test after
     * the first on a many-valued field), so a hostile event cannot make one
     * instruction slow. Default 100000. 0 = unlimited. */
    uint64_t vm_budget;
    /* PCRE2 match limit per regex test (PCRE2's own default when 0). Default 100000. */
    uint32_t regex_match_limit;
    /* Largest nesting depth of an event's JSON; deeper events are malformed. Default 64. */
    uint32_t max_json_depth;
    /* Largest size of one event (a JSON line, a CloudTrail record, an
     * EventBridge event, a CloudWatch Logs message, a message read by an
     * input), bytes. Default 1 MiB. */
    size_t max_event_bytes;
    /* Largest rule source file, bytes. Default 16 MiB. */
    size_t max_rule_file_bytes;
    /* Sample events carried by an aggregation alert. Default 5. */
    uint32_t max_samples;
    /* Allowed lateness of out-of-order events, ms (correlation). Default 900000 (15 min). */
    int64_t lateness_ms;
    /* ---- Correlation ---- */
    /* Cap on correlation state (groups, windows, sample events, events held
     * for ordering), bytes, counted at what malloc takes for them: the
     * process's memory for the state stays within about 1.25 x the cap.
     * Past it the least recently seen groups are evicted (stats.evicted).
     * Default 256 MiB. 0 = the default. */
    uint64_t max_state_bytes;
    /* ---- Alerts ---- */
    /* Largest rendered alert message (a rule's output template filled in),
     * bytes. A longer message is cut at a UTF-8 character boundary and ends
     * in an ellipsis (U+2026, 3 bytes, counted in the limit); the alert is
     * still delivered. Default 65536 (64 KiB). 0 = the default. */
    size_t max_message_bytes;
} secdet_engine_opts;

/* Fills *opts with the defaults above. Always start from this, then change fields. */
SECDET_API void secdet_engine_opts_init(secdet_engine_opts *opts);

/* Creates an engine. opts may be NULL (defaults). *out is set on SECDET_OK. */
SECDET_API secdet_status secdet_engine_new(const secdet_engine_opts *opts, secdet_engine **out);

/* Frees an engine and everything it owns. NULL is fine. Undelivered partial
 * input (see secdet_source_end) is discarded. Sinks stop at once (emits in
 * flight get up to 2 s): call secdet_drain first; what is not delivered
 * waits in the sinks' spools for the next start, except alerts a spool could
 * not take (a full disk), which get one more try and are otherwise lost, and
 * alerts of sinks without a spool. Each sink with alerts left says how many
 * and where in one line to the sink log (secdet_set_sink_log). */
SECDET_API void secdet_engine_free(secdet_engine *engine);

/* ---- Diagnostics (rule compile errors and warnings) --------------------- */

typedef struct secdet_diagnostics secdet_diagnostics;

typedef enum secdet_diag_severity {
    SECDET_DIAG_ERROR = 0,
    SECDET_DIAG_WARNING = 1,
} secdet_diag_severity;

typedef struct secdet_diagnostic {
    secdet_diag_severity severity;
    const char *file;    /* as given to the loader; "" when not tied to a file */
    unsigned line;       /* 1-based; 0 when unknown */
    unsigned column;     /* 1-based, in bytes; 0 when unknown */
    const char *message; /* e.g. "expected a condition after 'and', found 'output'" */
} secdet_diagnostic;

/* Number of entries: errors and warnings together, sorted by file (in the
 * order the files were loaded), line and column. */
SECDET_API size_t secdet_diagnostics_count(const secdet_diagnostics *diag);
/* Number of errors among them (0 means the rules loaded). */
SECDET_API size_t secdet_diagnostics_errors(const secdet_diagnostics *diag);
/* Entry i; the strings live until secdet_diagnostics_free. */
SECDET_API secdet_status secdet_diagnostics_get(const secdet_diagnostics *diag, size_t i, secdet_diagnostic *out);
/* Entry i formatted as "file:line:col: message" ("...: warning: message" for a warning). Caller frees with secdet_free. */
SECDET_API char *secdet_diagnostics_format(const secdet_diagnostics *diag, size_t i);
SECDET_API void secdet_diagnostics_free(secdet_diagnostics *diag);

/* ---- Rules --------------------------------------------------------------- */

/*
 * Loading rules. Every rule source loaded into one engine shares one
 * namespace, so each load compiles what was loaded before together with the
 * new source. All or nothing: when any error is found, SECDET_ERR_RULES is
 * returned, the engine keeps the rules it had, and every error is in *diag.
 * `diag` may be NULL; when not, *diag receives a diagnostics object (also on
 * success, holding any warnings) that the caller frees.
 */
SECDET_API secdet_status secdet_load_rules_file(secdet_engine *engine, const char *path, secdet_diagnostics **diag);
/* `name` is the file name diagnostics show ("<string>" when NULL). */
SECDET_API secdet_status secdet_load_rules_string(secdet_engine *engine, const char *name, const char *text, size_t len,
                                                  secdet_diagnostics **diag);
/* Every *.secdet file below `dir`, recursively, in byte order of their paths. */
SECDET_API secdet_status secdet_load_rules_dir(secdet_engine *engine, const char *dir, secdet_diagnostics **diag);

typedef enum secdet_severity {
    SECDET_SEVERITY_INFO = 0,
    SECDET_SEVERITY_LOW = 1,
    SECDET_SEVERITY_MEDIUM = 2,
    SECDET_SEVERITY_HIGH = 3,
    SECDET_SEVERITY_CRITICAL = 4,
} secdet_severity;

typedef struct secdet_rule_info {
    const char *name;
    const char *title;
    secdet_severity severity;
    const char *file;
    unsigned line;
    int is_private;   /* 1 when the rule never alerts */
    int is_aggregate; /* 1 for count / distinct / sum / sequence rules */
} secdet_rule_info;

/* Number of loaded rules, and rule i's description (strings live until the next load). */
SECDET_API size_t secdet_rule_count(const secdet_engine *engine);
SECDET_API secdet_status secdet_rule_get(const secdet_engine *engine, size_t i, secdet_rule_info *out);
/* The k-th name of rule i's `on` clause, in the order written (NULL past
 * the last; a rule without `on` has none). Valid until the next load. */
SECDET_API const char *secdet_rule_source(const secdet_engine *engine, size_t i, size_t k);

/* The loaded rules' bytecode, one instruction a line with its source line.
 * *out is the caller's (secdet_free). */
SECDET_API secdet_status secdet_disasm(const secdet_engine *engine, char **out);

/* ---- Tuning and per-rule figures ------------------------------------------
 *
 * A ruleset may tune its rules without editing them, typically in a local
 * overlay file loaded after the packs (docs/language.md "Tuning"):
 *
 *     tune cis_aws_4_3_root_account_usage {
 *         except .sourceIPAddress in cidr("192.0.2.0/24") until 2027-01-31 "break-glass drill"
 *         severity = medium
 *         throttle 1h by .userIdentity.arn
 *     }
 *     disable cis_aws_4_1_* "GuardDuty covers these"
 *
 * An event an `except` holds for (on or before its date, by the event's
 * time) makes no alert for that rule; for a count, distinct or sequence
 * rule it does not enter the rule's correlation. Such events are counted
 * per rule and per exception. Load an overlay like any rule file
 * (secdet_load_rules_file); secdet_reload_rules reloads it with the rest.
 *
 * The figures count since the engine was made, on the thread that pushes;
 * a reload keeps those of every rule whose name stays (and of an exception
 * at the same file, line and column). Read them between pushes.
 */
typedef struct secdet_rule_stats {
    uint64_t alerts;     /* alerts the rule made (handed to the callback and the sinks, before their filters) */
    uint64_t suppressed; /* alerts its throttle held back */
    uint64_t excepted;   /* events its exceptions took out: each made no alert (or record) */
    size_t nexcepts;     /* how many exceptions it has (secdet_rule_except_get) */
    int disabled;        /* 1 when a `disable` declaration turned it off */
} secdet_rule_stats;

/* The figures of rule i (0 .. secdet_rule_count() - 1). */
SECDET_API secdet_status secdet_rule_stats_get(const secdet_engine *engine, size_t i, secdet_rule_stats *out);

/* One exception of a rule, in the order the tunes apply (file order). The
 * strings live until the next load. */
typedef struct secdet_rule_except {
    const char *file; /* where the `except` is written */
    unsigned line, column;
    const char *condition; /* its condition as written, on one line */
    const char *reason;    /* "" when none */
    const char *until;     /* "YYYY-MM-DD", "" when it has no date */
    int64_t until_ns;      /* events from this time on (ns since the epoch, UTC: the day after `until`) are
                              not excepted; INT64_MAX without a date, or for one past 2262-04-11 (where int64
                              ns end) */
    uint64_t excepted;     /* events it took out */
} secdet_rule_except;

/* Exception k (0 .. stats.nexcepts - 1) of rule i. */
SECDET_API secdet_status secdet_rule_except_get(const secdet_engine *engine, size_t i, size_t k,
                                                secdet_rule_except *out);

/* What every tune and disable of the loaded rules changes, for people: per
 * declaration a line "file:line:col: tune TARGET (N rules)", then a line
 * per rule and change ("    RULE: severity high -> medium"); "" when the
 * rules have none. *out is the caller's (secdet_free). */
SECDET_API secdet_status secdet_tuning_explain(const secdet_engine *engine, char **out);

/* ---- Sources and input --------------------------------------------------- */

typedef enum secdet_format {
    SECDET_FMT_AUTO = 0,       /* by the first key: CloudTrail, CloudWatch Logs, else JSON lines (see below) */
    SECDET_FMT_JSONL = 1,      /* one JSON object per line */
    SECDET_FMT_CLOUDTRAIL = 2, /* {"Records": [ event, ... ]} */
    /* ---- Sources ---- */
    /* {"awslogs": {"data": base64(gzip(JSON))}} or the JSON it decodes to,
     * {"messageType": "DATA_MESSAGE", "logGroup": ..., "logEvents": [...]}:
     * one event per logEvents[].message (a JSON object). */
    SECDET_FMT_CLOUDWATCH_LOGS = 3,
    /* An EventBridge event: the event is its "detail". */
    SECDET_FMT_EVENTBRIDGE = 4,
} secdet_format;

typedef struct secdet_source_opts {
    secdet_format format;
    /* Field path of the event time, e.g. ".eventTime": RFC 3339, the same
     * without a zone (read as UTC), or epoch seconds / milliseconds as a
     * number or a string of digits. NULL: the log type's time field, else
     * the format's default (".eventTime" for cloudtrail and jsonl); ""
     * none. An event without a readable time takes the time of the push. */
    const char *time_field;
    /* ---- Sources ---- */
    /* When not NULL, the format by name, overriding `format`: a built-in
     * name ("jsonl", "cloudwatch-logs", ...) or one registered on this engine
     * with secdet_format_register. */
    const char *format_name;
    /* ---- Log types ---- */
    /* The log type of the source's events (docs/log-types.md): a built-in
     * ("cloudtrail", "guardduty", "gcp-audit", "gworkspace", "okta",
     * "crowdstrike", "jsonl") or one defined with secdet_log_type_define;
     * "auto" to take each event's from its shape and give the event to the
     * source named after it (an okta event is then seen by `on okta` and its
     * alert says "source": "okta"; an event of no known shape stays with
     * this source, as jsonl). NULL: the log type of the source's name when
     * there is one, else jsonl (no profile). The log type says where the
     * event's time is (unless time_field is given) and what its common
     * fields (@ip, @user, ...) are. SECDET_ERR_INVALID_ARG for a name no
     * log type has. */
    const char *log_type;
} secdet_source_opts;

/* The name of a format ("jsonl", "cloudtrail", "cloudwatch-logs",
 * "eventbridge", "auto"); NULL for an unknown value. */
SECDET_API const char *secdet_format_name(secdet_format format);
/* Parses a format name; SECDET_ERR_INVALID_ARG when unknown. */
SECDET_API secdet_status secdet_format_parse(const char *name, secdet_format *out);

/*
 * ---- Sources ----
 * What each format makes of the bytes, and its default time field:
 *
 *   jsonl            every line one event                    .eventTime
 *   cloudtrail       every Records[] element one event,      .eventTime
 *                    of one or more log files {"Records": [...]}
 *                    one after the other (as `cat` joins them,
 *                    or one per line); a document without
 *                    Records is itself one record (JSON lines
 *                    of records)
 *   cloudwatch-logs  every logEvents[].message one event,    ._cloudwatch.time
 *                    with "_cloudwatch": {logGroup, logStream, owner,
 *                    subscriptionFilters, id, timestamp, time} added
 *                    (time: the log event's timestamp, RFC 3339); a
 *                    CONTROL_MESSAGE yields nothing
 *   eventbridge      the envelope's "detail" is the event,   ._eventbridge.time
 *                    with "_eventbridge" added: the envelope without detail
 *                    (id, detail-type, source, account, time, region,
 *                    resources, version), so rules can test
 *                    ._eventbridge.account or ."_eventbridge"."detail-type"
 *   auto             by the first key of the stream: Records -> cloudtrail,
 *                    awslogs / messageType -> cloudwatch-logs, else JSON
 *                    lines, where a line that is an EventBridge event
 *                    ("detail-type" and "detail") or a CloudWatch Logs
 *                    payload is unwrapped as above              .eventTime
 *
 * cloudtrail, cloudwatch-logs and eventbridge read one or more JSON
 * documents (several may follow each other, e.g. one per line): a
 * CloudTrail record is evaluated as soon as its text is complete, an
 * envelope's events when its document is; what is left of a document at
 * secdet_source_end is decoded then (a truncated one is reported). An event
 * that already has the "_cloudwatch" / "_eventbridge" member keeps its own.
 * Every built-in format hands its events to the rules through the one-pass
 * scanner, without building a JSON tree for them (stats.text_events counts
 * them; the rare forms the scanner leaves to the full parser aside).
 * A CloudWatch Logs payload (awslogs.data) may decompress to at most
 * 8 x max_event_bytes, at least 8 MiB (but no more than the 64 x
 * max_event_bytes any document may be); a larger one is malformed
 * ("awslogs.data: decompresses to more than N bytes"), so a small gzip
 * bomb cannot make the engine hold 64 MiB.
 */

/* Adds a source. Its name is what a rule's `on` clause names. opts may be NULL (auto). */
SECDET_API secdet_status secdet_source_add(secdet_engine *engine, const char *name, const secdet_source_opts *opts);

/*
 * ---- Log types ----
 * A log type says how to recognise a kind of log's events by their shape,
 * where their time is, where each common field (@time @id @ip @user
 * @account @action @outcome @type) is, and which fields exist (rules that
 * name a field no such event has get a warning). Built in: cloudtrail,
 * guardduty, gcp-audit, gworkspace, okta, crowdstrike, and jsonl (no
 * profile); docs/log-types.md has every mapping. A source has a log type
 * (secdet_source_opts.log_type; by default the one of its name).
 *
 * Defines one from its JSON description, or overrides the members given of
 * one that exists (a built-in too):
 *   {"name": "idp",
 *    "detect": [{"exists": [".evt", ".ts"]}, {"equals": {".kind": "login"}}],
 *    "fields": {"time": ".ts", "ip": [".client.ip", ".ip"], "user": ".who", "action": ".evt"},
 *    "known_fields": [".evt", ".ts", ".client.ip", ".ip", ".who", ".extra.*"]}
 * Every member but "name" is optional; a field is a path or a list of paths
 * (the first present and not null gives the value); null removes a member.
 * "detect": any of the shapes, each all of its tests. Names are lower-case
 * letters, digits and '_', parts joined by '-'. Rules compiled afterwards
 * see it (the unknown-field warning); events at once. On
 * SECDET_ERR_INVALID_ARG, *error (when not NULL) says what is wrong
 * ("fields.ip: \"x y\" is not a field path"); the caller frees it with
 * secdet_free. Nothing changes on error.
 */
SECDET_API secdet_status secdet_log_type_define(secdet_engine *engine, const char *json, size_t len, char **error);
/* The log types the engine knows (built-ins first), and the name of log
 * type i (NULL when out of range; valid as long as the engine). */
SECDET_API size_t secdet_log_type_count(const secdet_engine *engine);
SECDET_API const char *secdet_log_type_name(const secdet_engine *engine, size_t i);
/* Log type `name` as it is now (a built-in's own description, with what was
 * defined over it), in the JSON secdet_log_type_define takes: its shapes,
 * the paths of each common field it has, its known fields. *out is the
 * caller's (secdet_free). SECDET_ERR_INVALID_ARG for an unknown name. */
SECDET_API secdet_status secdet_log_type_json(const secdet_engine *engine, const char *name, char **out);

/* What the engine makes of one event pushed to `source`, without evaluating it. */
typedef struct secdet_event_info {
    const char *source;   /* the source it would belong to (a routing source's event: its log type's name) */
    const char *log_type; /* its log type's name */
    int64_t time_ns;      /* its own time, ns since the Unix epoch (UTC), when has_time */
    int has_time;         /* 1 when the time was read from the event */
} secdet_event_info;
/* Fills *out for the JSON object json[0..len) as an event of `source`
 * (added or not). The strings live until the next call on the engine.
 * SECDET_ERR_DECODE when it is not a JSON object. */
SECDET_API secdet_status secdet_event_inspect(secdet_engine *engine, const char *source, const char *json, size_t len,
                                              secdet_event_info *out);

/*
 * Pushes raw bytes to a source: decoded by the source's format, each event
 * evaluated, alerts delivered to the alert callback before this returns.
 * gzip input (by its magic bytes) is inflated first; then a push holds the
 * whole gzip stream.
 * - jsonl: any number of lines; a trailing partial line is kept until the
 *   next push or secdet_source_end().
 * - cloudtrail: each record is evaluated when its text is complete (a
 *   record split across pushes waits for the rest); secdet_source_end()
 *   reports a document left unfinished.
 * - auto: decided from the first non-blank bytes.
 * Malformed events are counted (stats.malformed), reported to the error
 * callback with their line or record number, and skipped; the call then
 * returns SECDET_ERR_DECODE after processing everything else.
 *
 * Backpressure: when a sink cannot take more alerts — its spool cannot
 * write (a full disk, spool_max_bytes) and queue_max alerts that are in no
 * spool wait in its memory — secdet_push returns SECDET_ERR_BUSY at once,
 * before decoding anything: the bytes were not consumed; call again with
 * the same bytes later. It clears by itself as the delivery thread delivers
 * (or the spool takes the alerts); secdet_drain(engine, 100) is a simple
 * way to wait between tries. Alerts of a push that started are always
 * accepted, so a sink's memory may exceed queue_max by one push's alerts
 * (and by the alerts of secdet_source_end and secdet_flush, which are never
 * refused: they finish input that was accepted). Sinks without a spool
 * never refuse: when full they drop (see the Sinks section).
 */
SECDET_API secdet_status secdet_push(secdet_engine *engine, const char *source, const void *bytes, size_t len);

/* Ends a source's current stream: decodes what push buffered. The source can
 * be pushed to again afterwards (a new stream: line numbers restart).
 * Never SECDET_ERR_BUSY: it finishes what accepted pushes gave. */
SECDET_API secdet_status secdet_source_end(secdet_engine *engine, const char *source);

/* Evaluates one JSON object as one event of `source` (which need not be
 * added; then its time field is ".eventTime"). SECDET_ERR_BUSY as for
 * secdet_push: nothing evaluated, call again later. */
SECDET_API secdet_status secdet_push_event(secdet_engine *engine, const char *source, const char *json, size_t len);

/* Called for every malformed event: source name, 1-based line (jsonl) or
 * record (cloudtrail) number, and what was wrong. */
typedef void (*secdet_error_fn)(void *user, const char *source, uint64_t where, const char *message);
SECDET_API secdet_status secdet_set_error_callback(secdet_engine *engine, secdet_error_fn fn, void *user);

/* ---- Sources ---- */

/*
 * Custom formats. A decode function turns the bytes pushed to a source of
 * the format into events: it calls secdet_emit_event once per event with the
 * event's JSON text (a JSON object; the engine parses it under the engine's
 * size and depth limits and evaluates it before secdet_emit_event returns),
 * and may report a malformed part of the input with secdet_emit_error. It is
 * called with end_of_stream = 0 for each push (bytes, len: the pushed bytes,
 * unchanged, gzip included) and once with end_of_stream = 1, bytes NULL and
 * len 0 from secdet_source_end; keep partial input in `user` between calls
 * (one decode state per source: register one format per source if you need
 * separate states). The emitter is valid only during the call. Return
 * SECDET_OK to go on; anything else stops this stream (the rest of it is
 * ignored until secdet_source_end) and is counted as malformed.
 * Runs on the thread that pushed; it may not call back into the engine other
 * than through the emitter.
 */
typedef struct secdet_emitter secdet_emitter;
typedef secdet_status (*secdet_decode_fn)(void *user, const void *bytes, size_t len, int end_of_stream,
                                          secdet_emitter *emitter);

/* Registers a format under `name` on this engine (sources then name it in
 * secdet_source_opts.format_name). SECDET_ERR_EXISTS when a built-in or
 * registered format has that name. `user` is borrowed until the engine is freed. */
SECDET_API secdet_status secdet_format_register(secdet_engine *engine, const char *name, secdet_decode_fn fn,
                                                void *user);
/* Hands one event's JSON text to the engine. SECDET_OK when it was
 * evaluated; SECDET_ERR_DECODE when it is not a JSON object (or too deep),
 * SECDET_ERR_LIMIT when larger than max_event_bytes: then it was counted as
 * malformed and reported to the error callback, and the decoder may go on. */
SECDET_API secdet_status secdet_emit_event(secdet_emitter *emitter, const char *json, size_t len);
/* Reports a malformed part of the input: counted (stats.malformed) and handed
 * to the error callback with `where` and the message (len bytes, no NUL needed). */
SECDET_API void secdet_emit_error(secdet_emitter *emitter, uint64_t where, const char *message, size_t len);

/*
 * Replaces every loaded rule with the rules in paths[0..npaths) (files, or
 * directories: every *.secdet below, in byte order), loaded in that order as
 * secdet_load_rules_file/_dir would. All or nothing: on any error the engine
 * keeps running the rules it had and *diag holds every error. Correlation
 * state (windows, partial sequences, throttles) of each rule whose name and
 * compiled form are unchanged is kept; that of changed or removed rules is
 * dropped. Events are not lost: call it between pushes (with the event loop
 * inputs below, from any callback on the loop thread: the queue is drained
 * between events). `diag` as for secdet_load_rules_file.
 */
SECDET_API secdet_status secdet_reload_rules(secdet_engine *engine, const char *const *paths, size_t npaths,
                                             secdet_diagnostics **diag);

/* ---- Alerts -------------------------------------------------------------- */

typedef struct secdet_alert secdet_alert;

/*
 * Called synchronously, on the thread that pushed, for every alert. The alert
 * and its strings are valid only during the call: copy what you keep.
 * The JSON shape is in docs/language.md ("Alerts").
 */
typedef void (*secdet_alert_fn)(void *user, const secdet_alert *alert);
SECDET_API secdet_status secdet_set_alert_callback(secdet_engine *engine, secdet_alert_fn fn, void *user);

/* The alert as one line of compact JSON (no newline), and its length. */
SECDET_API const char *secdet_alert_json(const secdet_alert *alert, size_t *len);
SECDET_API const char *secdet_alert_rule(const secdet_alert *alert);
SECDET_API const char *secdet_alert_title(const secdet_alert *alert);
SECDET_API const char *secdet_alert_message(const secdet_alert *alert);
/* The message's length in bytes. A message may hold U+0000 (a template
 * rendered an event string that holds it), where the C string above stops;
 * the "message" of secdet_alert_json has it whole (escaped as \u0000). */
SECDET_API size_t secdet_alert_message_len(const secdet_alert *alert);
SECDET_API const char *secdet_alert_id(const secdet_alert *alert);
SECDET_API const char *secdet_alert_source(const secdet_alert *alert);
/* The log type of the firing event (docs/log-types.md): "cloudtrail",
 * "okta", "gcp-audit", ..., or one your program defined — the source's log
 * type, or for a source of log type "auto" the one its shape was
 * recognised as; "jsonl" when it had none (an event of no known shape, or
 * a source without a log type). The same as the "type" of the alert's
 * "fields" (secdet_alert_json). Never NULL for an alert (NULL only when
 * alert is NULL); "" in the one case it could not be told: memory ran out
 * while an aggregation alert was made (its "fields" is then {}). */
SECDET_API const char *secdet_alert_log_type(const secdet_alert *alert);
SECDET_API secdet_severity secdet_alert_severity(const secdet_alert *alert);
/* Event time of the firing event, ns since the Unix epoch (UTC). */
SECDET_API int64_t secdet_alert_time_ns(const secdet_alert *alert);
/* The rule's tags (meta tags): how many, and tag i (NULL when out of range). */
SECDET_API size_t secdet_alert_tag_count(const secdet_alert *alert);
SECDET_API const char *secdet_alert_tag(const secdet_alert *alert, size_t i);
/* "info", "low", "medium", "high", "critical". */
SECDET_API const char *secdet_severity_name(secdet_severity severity);

/* ---- Sinks: delivering alerts ------------------------------------------- */

/*
 * A sink receives every alert that passes its filter (severity, tags,
 * rules, sources, log types: routing), on the engine's delivery thread, never on the thread that pushed:
 * a slow or dead endpoint never slows evaluation or the other sinks.
 *
 * Behind every sink is the same delivery layer (docs/sinks.md):
 *  - a bounded in-memory queue (opts.queue_max alerts);
 *  - with opts.spool_dir set, a write-ahead spool: every alert is appended to
 *    a checksummed journal in that directory before secdet_push returns, and
 *    marked delivered once the sink took it. A process that is killed, or a
 *    sink that is down for hours, loses nothing: alerts wait on disk and are
 *    delivered in order (on the next start, too). When the spool cannot
 *    write (a full disk, or spool_max_bytes reached), alerts wait in the
 *    memory queue, in order, and are written as soon as it can (delivered
 *    segments are deleted, which makes room); once queue_max of them wait,
 *    pushes are refused with SECDET_ERR_BUSY until there is room
 *    (backpressure: nothing is dropped). Only alerts held in memory that way
 *    are lost if the process is killed meanwhile. The sink log says when
 *    the spool fails and when it writes again. Without a spool, an alert
 *    that finds the queue full is dropped, counted (stats.dropped) and
 *    logged (at most a line per 10 s): such a sink never holds up input;
 *  - retries with exponential backoff and full jitter
 *    (min(backoff_max_ms, backoff_ms * 2^(attempt-1)) * random[0.5, 1]), or
 *    the delay the endpoint asked for (HTTP Retry-After), whichever is longer;
 *  - after max_attempts attempts, or a permanent failure (an HTTP 4xx other
 *    than 408 and 429, say), the alert goes to the dead-letter file with the
 *    reason, and delivery goes on with the next.
 * Delivery is at least once: an alert can be delivered twice when the
 * process dies, or a request times out, after the endpoint took it but
 * before the sink knew. Every alert carries a stable `id` to de-duplicate.
 *
 * Built-in sinks: stdout, file (JSON lines, size-based rotation), callback,
 * webhook (JSON POST, Standard Webhooks signature), slack (incoming webhook,
 * Block Kit), syslog (RFC 5424 over UDP, TCP or TLS), kafka (a topic, keyed
 * by rule and group; idempotent producer). Create them with
 * secdet_sink_from_json (every type, the keys of docs/sinks.md, the same
 * objects as `secdet run`'s "sinks"), or secdet_sink_stdout/_file/_callback;
 * write your own with secdet_sink_new and a secdet_sink_vtable.
 *
 * A sink's URLs, secrets and headers never appear in any log, error message
 * or stats: sinks are named by their `name`. They may be kept out of the
 * configuration too, as references to environment variables or files
 * (secdet_sink_from_json).
 */
typedef struct secdet_sink secdet_sink;         /* a sink; the engine owns it once added */
typedef struct secdet_delivery secdet_delivery; /* one alert on its way to one sink */

/* What became of one attempt to deliver. */
typedef enum secdet_sink_result {
    SECDET_SINK_OK = 0,        /* delivered */
    SECDET_SINK_RETRY = 1,     /* failed for now: try again after a backoff */
    SECDET_SINK_PERMANENT = 2, /* can never succeed: to the dead-letter file */
} secdet_sink_result;

/* How an attempt went, passed to secdet_delivery_done. */
typedef struct secdet_delivery_result {
    secdet_sink_result result;
    /* RETRY: the endpoint asked to wait this long (ms), or 0 (backoff only). */
    int64_t retry_after_ms;
    /* Why it failed, for logs, stats and the dead-letter file; NULL when none.
     * Copied. Never put a URL or secret here. */
    const char *error;
} secdet_delivery_result;

/* The alert as one line of compact JSON (no newline) and its length. Valid
 * until secdet_delivery_done. */
SECDET_API const char *secdet_delivery_json(const secdet_delivery *d, size_t *len);
/* The alert's id (32 hex digits). */
SECDET_API const char *secdet_delivery_id(const secdet_delivery *d);
SECDET_API secdet_severity secdet_delivery_severity(const secdet_delivery *d);
/* 1 on the first attempt, 2 on the first retry, ... */
SECDET_API unsigned secdet_delivery_attempt(const secdet_delivery *d);
/* Ends an attempt. Call it exactly once per emit, from any thread, during
 * emit or later; `d` is invalid afterwards. */
SECDET_API void secdet_delivery_done(secdet_delivery *d, const secdet_delivery_result *result);

/*
 * A sink of your own. Every function is called on the delivery thread, one
 * at a time for a given sink; any may be NULL except emit.
 */
typedef struct secdet_sink_vtable {
    /* Once, before the first emit. Not SECDET_OK: every emit is retried later
     * as a failure (open is tried again before each attempt until it works). */
    secdet_status (*open)(void *self);
    /* Deliver one alert, then (now or later) secdet_delivery_done. Up to
     * opts.max_in_flight emits may be outstanding at once. */
    void (*emit)(void *self, secdet_delivery *d);
    /* Make what was delivered durable (fflush, fsync); called by secdet_drain. */
    void (*flush)(void *self);
    /* Last call, when no emit is outstanding (engine freed): free self. */
    void (*close)(void *self);
} secdet_sink_vtable;

/* The delivery layer's settings for one sink. */
typedef struct secdet_sink_opts {
    /* Name in stats and logs; unique per engine. NULL: "<type>-<n>". Copied. */
    const char *name;
    /* Only alerts of at least this severity. Default SECDET_SEVERITY_INFO (all). */
    secdet_severity min_severity;
    /* When ntags > 0, only alerts with at least one of these tags (exact
     * match; a trailing '*' matches a prefix: "attack.*"). Copied. */
    const char *const *tags;
    size_t ntags;
    /* Alerts held in memory, waiting or in flight. Default 10000. With a
     * spool, more wait on disk; when the spool cannot write, this many in
     * memory make the engine refuse pushes (SECDET_ERR_BUSY). */
    uint32_t queue_max;
    /* Write-ahead spool directory (created if missing; one per sink), or
     * NULL for none. Copied. */
    const char *spool_dir;
    /* When the spool reaches the disk: "never" (the kernel writes it; a
     * killed process loses nothing, a power cut may lose seconds),
     * "interval" (fsync at most every spool_fsync_ms; the default), "always"
     * (every alert, slowest). Copied; NULL = "interval". */
    const char *spool_fsync;
    uint32_t spool_fsync_ms; /* default 1000 */
    /* Cap on the spool's size. Reaching it is like a full disk: alerts wait
     * in memory, then pushes are refused (SECDET_ERR_BUSY) until delivered
     * segments are deleted. Default 1 GiB. */
    uint64_t spool_max_bytes;
    /* Attempts per alert before it is dead-lettered. Default 10. 0 = forever. */
    uint32_t max_attempts;
    uint32_t backoff_ms;     /* first retry delay, default 500 */
    uint32_t backoff_max_ms; /* cap on the delay, default 60000 */
    uint32_t max_in_flight;  /* concurrent emits, default 1 (webhook: 4, syslog tcp/tls: 16, kafka: 1000) */
    /* Dead-letter file (JSON lines: sink, id, attempts, error, alert); NULL:
     * "<spool_dir>/dead-letter.jsonl", or none without a spool (then only
     * counted and logged). Copied. */
    const char *dead_letter;
    /* ---- Routing: more of what a sink takes (each list: any of these) ---- */
    /* Only alerts of these severities: a bit (1u << level) per severity
     * wanted; 0 = every severity. min_severity applies too. (JSON:
     * "max_severity": "medium" sets the bits of info..medium.) */
    unsigned severities;
    /* When nrules > 0, only alerts of a rule whose name matches one of
     * these globs ('*' any run of characters, '?' one); a glob starting
     * with '!' instead leaves out the rules it matches (["!noisy_*"] takes
     * every other rule). Copied. */
    const char *const *rules;
    size_t nrules;
    /* When nsources > 0, only alerts whose source — the name of the source
     * the firing event came from (secdet_alert_source) — matches one of
     * these globs. Copied. */
    const char *const *sources;
    size_t nsources;
    /* When nlog_types > 0, only alerts whose log type — that of the firing
     * event (secdet_alert_log_type: "okta", "cloudtrail", ..., "jsonl" for
     * none) — matches one of these globs ("gcp-*"). Copied. */
    const char *const *log_types;
    size_t nlog_types;
} secdet_sink_opts;

/* Fills *opts with the defaults above. */
SECDET_API void secdet_sink_opts_init(secdet_sink_opts *opts);

/* A sink of your own: vt (kept by pointer: static storage) and self. On
 * failure self is not closed. */
SECDET_API secdet_status secdet_sink_new(const secdet_sink_vtable *vt, void *self, const secdet_sink_opts *opts,
                                         secdet_sink **out);

/* Alerts as JSON lines on stdout. */
SECDET_API secdet_status secdet_sink_stdout(const secdet_sink_opts *opts, secdet_sink **out);

/* Alerts appended as JSON lines to `path`; when it would pass max_bytes (0:
 * never) it is renamed path.1 (path.1 to path.2, ... keeping `keep` old files). */
SECDET_API secdet_status secdet_sink_file(const char *path, uint64_t max_bytes, uint32_t keep,
                                          const secdet_sink_opts *opts, secdet_sink **out);

/* Calls fn(user, d) on the delivery thread for every alert; its return value
 * is the result (see secdet_sink_result). */
typedef secdet_sink_result (*secdet_sink_fn)(void *user, const secdet_delivery *d);
SECDET_API secdet_status secdet_sink_callback(secdet_sink_fn fn, void *user, const secdet_sink_opts *opts,
                                              secdet_sink **out);

/*
 * Any built-in sink from one JSON object (len bytes; NUL not needed), e.g.
 *   {"type": "webhook", "url": "https://...", "secret": "whsec_...",
 *    "min_severity": "high", "spool_dir": "/var/lib/secdet/spool/hook"}
 * Keys per type and the delivery keys (those of secdet_sink_opts) are in
 * docs/sinks.md. On error, SECDET_ERR_INVALID_ARG and *diag (when diag is
 * not NULL) says which key is wrong; secrets are never quoted.
 *
 * Secret references: every string key of the sink's type (url, secret,
 * channel, host, brokers, topic, path...) and each value in "headers" and
 * "properties" may be written as {"env": "NAME"} (an environment variable)
 * or {"file": "/run/secrets/x"} (a file's contents, one trailing "\n" or
 * "\r\n" removed; a relative path is relative to the working directory)
 * instead of the value:
 *   {"type": "webhook", "url": {"env": "HOOK_URL"},
 *    "secret": {"file": "/run/secrets/hook"},
 *    "headers": {"Authorization": {"env": "HOOK_TOKEN"}}}
 * They are read during this call, every time it is called (make the sink
 * again to pick up a rotated secret), and are refused when the variable is
 * not set, the file cannot be read, is not a regular file or is larger
 * than 64 KiB, or the value is empty: the message names the key and the
 * variable or file ("sink 'hook': url: environment variable HOOK_URL is
 * not set"), never the value, also when the value is read but invalid.
 * The keys every sink takes (type, name, min_severity, tags, spool_dir,
 * spool_fsync, dead_letter), numbers and booleans must be written out.
 *
 * On success *diag is NULL, or holds warnings only (a secret file every
 * user can read or write: the sink is made all the same); free it with
 * secdet_diagnostics_free either way.
 */
SECDET_API secdet_status secdet_sink_from_json(const char *json, size_t len, secdet_sink **out,
                                               secdet_diagnostics **diag);

/* Frees a sink that was never added (closing its vtable self). NULL is fine. */
SECDET_API void secdet_sink_free(secdet_sink *sink);

/*
 * Adds a sink to the engine, which owns it from now on (also on failure).
 * Starts the delivery thread on the first sink, opens the spool and replays
 * what an earlier run left in it. SECDET_ERR_EXISTS when the name is taken;
 * SECDET_ERR_IO when the spool cannot be opened. Not during a push.
 */
SECDET_API secdet_status secdet_sink_add(secdet_engine *engine, secdet_sink *sink);

/*
 * Waits until every alert handed to the sinks so far is delivered or
 * dead-lettered — with a spool as without: a failing sink's spool keeps its
 * alerts, it does not deliver them — then fsyncs the spools and calls each
 * sink's flush. SECDET_ERR_TIMEOUT when timeout_ms (< 0: no limit) ran out
 * first; what was not delivered is still queued (stats.pending), in the
 * spools as far as they could take it. Call it before secdet_engine_free:
 * freeing stops delivery at once (what is in a spool waits for the next
 * start; what is only in memory is lost). A short timeout is also how to
 * wait after SECDET_ERR_BUSY.
 */
SECDET_API secdet_status secdet_drain(secdet_engine *engine, int64_t timeout_ms);

typedef struct secdet_sink_stats {
    uint64_t accepted;      /* alerts that passed the filter and were queued */
    uint64_t filtered;      /* alerts its filter left (severity, tags, rules, sources, log types) */
    uint64_t delivered;     /* delivered (SECDET_SINK_OK) */
    uint64_t retries;       /* failed attempts that were retried */
    uint64_t dead_lettered; /* given up on (attempts or permanent failure) */
    uint64_t dropped;       /* lost: queue full without a spool; out of memory */
    uint64_t pending;       /* accepted, not yet delivered or dead-lettered (now) */
    uint64_t spool_bytes;   /* size of the spool on disk (now) */
    uint64_t spool_corrupt; /* damaged spool records skipped on replay */
    uint32_t in_flight;     /* emits outstanding (now) */
    int failing;            /* 1 while the last attempt failed */
    /* The last failure, "" when none; redacted. While the spool cannot
     * write: "spool: <reason>: N alert(s) held in memory". */
    char last_error[200];
} secdet_sink_stats;

/* Number of sinks added; they are numbered 0.. in order of secdet_sink_add. */
SECDET_API size_t secdet_sink_count(const secdet_engine *engine);
/* The name of sink i, NULL when out of range. */
SECDET_API const char *secdet_sink_name(const secdet_engine *engine, size_t i);
/* Counters of sink i, read under its lock (any thread). */
SECDET_API secdet_status secdet_sink_stats_get(const secdet_engine *engine, size_t i, secdet_sink_stats *out);

/* A line about delivery, on the delivery thread: a failure and its retry,
 * a dead letter, a spool replayed, the spool failing ("spool: No space left
 * on device: N alert(s) held in memory") and writing again ("spool: writing
 * again: ..."), the memory queue full ("memory queue full: ...; inputs
 * wait ..."), drops without a spool (at most one line per 10 s); and from
 * secdet_engine_free, on its thread, what each sink left undelivered and
 * where ("N alert(s) not delivered; kept in the spool DIR for the next
 * start"). `sink` is the sink's name. */
typedef void (*secdet_sink_log_fn)(void *user, const char *sink, const char *message);
/* Set before the first secdet_sink_add. Default: none. */
SECDET_API secdet_status secdet_set_sink_log(secdet_engine *engine, secdet_sink_log_fn fn, void *user);

/* ---- Stats --------------------------------------------------------------- */

typedef struct secdet_stats {
    uint64_t events;          /* events evaluated */
    uint64_t malformed;       /* events that could not be decoded (skipped) */
    uint64_t alerts;          /* alerts delivered */
    uint64_t rules_run;       /* rule programs run (after the dispatch index and the literal guards) */
    uint64_t budget_exceeded; /* events that hit the instruction budget */
    uint64_t late;            /* events older than the lateness allows (correlation) */
    uint64_t bytes;           /* bytes pushed */
    /* ---- Correlation ---- */
    uint64_t evicted;     /* groups evicted to stay under max_state_bytes */
    uint64_t groups;      /* groups held now (count, distinct, sequence, throttle) */
    uint64_t state_bytes; /* bytes of correlation state held now */
    /* ---- Event loop inputs ---- */
    uint64_t udp_dropped;         /* datagrams dropped because the input queue was full */
    uint64_t input_paused;        /* times the inputs were paused because the input queue was full */
    uint64_t queued;              /* messages waiting in the input queue now */
    uint64_t oversized;           /* messages longer than max_event_bytes rejected by inputs (also malformed) */
    uint64_t connections;         /* TCP clients connected now */
    uint64_t connections_refused; /* TCP clients closed as soon as accepted: max_connections
                                     reached, no file descriptor left, or out of memory */
    uint64_t accept_errors;       /* accept() failures on TCP listeners (no file descriptor left, ...) */
    uint64_t idle_closed;         /* TCP connections closed after idle_timeout_ms without data */
    uint64_t tls_failed;          /* TLS handshakes that failed or ran out of time (connection closed) */
    /* ---- Decoding ---- */
    /* Of `events`, those evaluated straight from their JSON text by the
     * one-pass scanner, without building a JSON tree (the fast path): every
     * event of every built-in format unless it uses a rare form the scanner
     * leaves to the full parser (numbers longer than 63 bytes, leading
     * zeros, bad hex in \u escapes, whitespace other than space, tab, CR
     * and LF), or no rules are loaded. */
    uint64_t text_events;
    /* ---- Log types ---- */
    /* Events whose time could not be read — present but not a time, or
     * missing where the event's log type has a time field — and that took
     * the time of the push instead; the error callback is told once per
     * source. Per source name: secdet_source_stats_get. */
    uint64_t time_unreadable;
} secdet_stats;

SECDET_API secdet_status secdet_stats_get(const secdet_engine *engine, secdet_stats *out);

/* ---- Log types ---- */
/* Counters of one source name (an event routed by its shape counts under
 * the source it was given to: its log type's name). */
typedef struct secdet_source_stats {
    uint64_t time_unreadable; /* events whose time could not be read (see secdet_stats) */
} secdet_source_stats;
/* The counters of `source`; all zero for a name that has seen none. */
SECDET_API secdet_status secdet_source_stats_get(const secdet_engine *engine, const char *source,
                                                 secdet_source_stats *out);

/* ---- Correlation ---- */

/*
 * Aggregation rules (count, distinct, sequence) see events in event-time
 * order: an event that matches one is held until the newest event time seen
 * minus the lateness (opts.lateness_ms) has passed it, so events that arrive
 * out of order within the lateness give the same alerts as in order. Their
 * alerts are therefore delivered from a later push (or from secdet_flush),
 * not from the push of the event that completed them.
 *
 * End of input: releases every event held for ordering and delivers the
 * alerts that are then due. Correlation state (open windows, partial
 * sequences, throttles) is kept, but from now on an event older than the
 * newest event time seen so far counts as late. Call it once after the last
 * input (`secdet scan` calls it after its last file).
 */
SECDET_API secdet_status secdet_flush(secdet_engine *engine);

/*
 * ---- Scanning one file on several threads ----
 *
 * Reads the file at `path` as the stream of `source` (added before, with
 * secdet_source_add) and evaluates it, like secdet_push of the whole file
 * followed by secdet_source_end, on up to `jobs` engines on as many threads
 * (0: one per online CPU, at most 256). The alerts are those one engine
 * would give, ids included, in another order: each is handed to this
 * engine's alert callback and sinks, from the scan's threads but one at a
 * time (never two callbacks at once); malformed events go to its error
 * callback the same way, with their line numbers in the whole file. The
 * counters of every engine add up in this one's secdet_stats_get.
 *
 * How: the file is cut at line ends into ranges (1 MiB at least, up to 8
 * per thread), read in file order (mapped a window at a time) by whichever
 * thread is free, each thread with its own engine with this engine's
 * options, rules, log types and source. Stateless rules alert there. The matches of the rules
 * that keep state (count, distinct, sum, sequence, throttles) are handed to
 * `jobs` correlator engines partitioned by the rule and group key, as the
 * Kafka stages are (docs/scale-out.md); each correlator takes its matches
 * in file order, its event time moved as one engine's would have been, so
 * event-time order, lateness, windows, sequences across log types and
 * throttles give the same alerts. Differences from one engine: the state
 * cap (opts.max_state_bytes) applies to each correlator; `late` counts only
 * the late matches of stateful rules; `rules_run` counts the correlators'
 * runs too; the per-rule figures (secdet_rule_stats_get) and per-source
 * counters (secdet_source_stats_get) stay this engine's own and leave out
 * the split scan's events.
 *
 * The file is split only when all of these hold, else this engine reads it
 * alone (info->jobs 1, info->not_split says why): jobs is not 1; it is a
 * regular, uncompressed file of at least 1 MiB per engine (a smaller file
 * gets fewer engines); the source's format is jsonl, or auto and the
 * file's first object starts with none of "Records", "awslogs" and
 * "messageType" (then every line is taken as a JSON line); and, when a rule
 * keeps state, this engine holds no correlation state yet (no group, no
 * held event: it would have to meet the file's events). A split scan of
 * stateful rules ends as secdet_flush does, and its correlation state is
 * not kept in this engine afterwards: scan with jobs 1 to correlate the
 * file with input that comes later.
 *
 * The file must not shrink while it is read: a mapped read of a truncated
 * file raises SIGBUS (`secdet scan` catches it). `info` may be NULL.
 * Returns SECDET_OK, SECDET_ERR_DECODE when something was malformed
 * (reported; the rest was evaluated), SECDET_ERR_UNKNOWN_SOURCE,
 * SECDET_ERR_IO when the file cannot be opened or read (errno kept),
 * SECDET_ERR_NOMEM, SECDET_ERR_INVALID_ARG (NULL arguments, or called from
 * a callback of this engine). Waits for sinks that take no more alerts
 * (SECDET_ERR_BUSY of secdet_push) rather than returning it.
 */
typedef struct secdet_scan_info {
    unsigned jobs;         /* engines that read the file: 1 when it was not split */
    const char *not_split; /* why not (static text), when jobs was not 1 and the file was not split; else NULL */
    uint64_t bytes;        /* the file's size */
} secdet_scan_info;
SECDET_API secdet_status secdet_scan_file(secdet_engine *engine, const char *source, const char *path, unsigned jobs,
                                          secdet_scan_info *info);

/*
 * Writes the engine's correlation state (events held for ordering, every
 * group, throttles, the watermark) to `path`, replacing it atomically (a
 * temporary file beside it, then rename). The format is versioned and
 * checksummed; each rule's state is tagged with the rule's name and a
 * fingerprint of its compiled form.
 */
SECDET_API secdet_status secdet_snapshot_save(secdet_engine *engine, const char *path);

/*
 * Replaces the engine's correlation state with the one saved in `path`. Load
 * the rules first: the state of a rule is restored only when a rule of the
 * same name and the same fingerprint is loaded now; the others are dropped
 * and each is named by a warning in *report ("rule 'x' changed since the
 * snapshot; its state was dropped"). A file that is not a snapshot, of
 * another version, truncated or failing its checksum is refused with
 * SECDET_ERR_DECODE (and an error in *report); the engine is then unchanged.
 * SECDET_ERR_IO when it cannot be read. `report` may be NULL; when not, it
 * receives a diagnostics object the caller frees (also on success).
 */
SECDET_API secdet_status secdet_snapshot_load(secdet_engine *engine, const char *path, secdet_diagnostics **report);

/* ---- Event loop inputs ---- */

/*
 * Inputs read events from files, stdin and sockets on a libuv event loop:
 * the engine's own (pass loop = NULL, then run it with secdet_run_loop) or
 * yours (a `uv_loop_t *`, which you run). All inputs of one engine use the
 * same loop: the first input's choice; another loop is SECDET_ERR_INVALID_ARG.
 *
 * Each input cuts its bytes into messages (a line; an octet-counted frame; a
 * datagram). A message is one complete unit of the source's format (a JSON
 * line, a CloudTrail document, an EventBridge event, a CloudWatch Logs
 * payload; gzip allowed), pushed with secdet_push + secdet_source_end, so
 * messages of different inputs or TCP clients never mix. A message longer
 * than max_event_bytes is rejected (stats.oversized and .malformed, the
 * error callback) without being buffered.
 *
 * Backpressure: messages wait in a bounded queue (secdet_set_queue_limits)
 * that the loop drains between I/O. When it is full, TCP connections, stdin
 * and file tails stop reading (stats.input_paused) until it is half empty;
 * UDP datagrams that find it full are dropped (stats.udp_dropped). While
 * the sinks cannot take more alerts (SECDET_ERR_BUSY, see secdet_push) the
 * loop stops draining the queue and looks again every 20 ms, so it fills
 * and the inputs pause; secdet_stop still evaluates everything queued.
 *
 * Threading: everything — reading, decoding, evaluation, the alert and
 * error callbacks — runs on the thread running the loop. While the loop runs,
 * call the engine only from that thread (e.g. from a callback or another
 * handle on the loop; secdet_reload_rules there is safe: no message is in
 * the middle of evaluation). secdet_stop is the exception: any thread, and
 * signal handlers, may call it.
 *
 * Ownership: inputs belong to the engine: secdet_stop closes them all, and
 * secdet_engine_free closes what is still open. On your own loop, run it
 * until it has no more work after either (uv_run(loop, UV_RUN_DEFAULT) or a
 * few UV_RUN_NOWAIT turns) so the closed handles are released.
 */
struct uv_loop_s; /* libuv's uv_loop_t; include <uv.h> to make one */

typedef enum secdet_framing {
    SECDET_FRAMING_LINES = 0,         /* one message per line ('\n', optional '\r') */
    SECDET_FRAMING_OCTET_COUNTED = 1, /* RFC 6587 style "LEN SP MSG", LEN in decimal */
} secdet_framing;

/* Bounds of the input queue: messages and bytes. Defaults 10000 and
 * 16 MiB (at least 4 x max_event_bytes). Values 0 keep the default. */
SECDET_API secdet_status secdet_set_queue_limits(secdet_engine *engine, size_t max_messages, size_t max_bytes);

/* Follows the file at `path`, one message per line: from its end when
 * from_start is 0 (like tail -F), else from its start; a file that does not
 * exist yet is waited for. Rotation is followed: when `path` names another
 * file (renamed away and re-created) the old one is read to its end, then
 * the new one from its start; a file truncated below the read offset is read
 * again from its start. Checks `path` every poll_ms milliseconds (0: 250). */
SECDET_API secdet_status secdet_input_file_tail(secdet_engine *engine, const char *source, const char *path,
                                                int from_start, unsigned poll_ms, struct uv_loop_s *loop);

/* Reads stdin (a pipe, a terminal or a file), one message per line, until its end. */
SECDET_API secdet_status secdet_input_stdin(secdet_engine *engine, const char *source, struct uv_loop_s *loop);

/* Listens on TCP `host` (an IPv4 or IPv6 literal) : `port` (0: any free
 * port; secdet_input_port tells which). Each connection has its own framing
 * state: a client that sends garbage or disconnects mid-message affects only
 * its own messages (garbage is malformed; an unparsable octet count closes
 * that connection). *id (may be NULL) receives the input's id.
 * The same as secdet_input_tcp_ex with the default options and `framing`. */
SECDET_API secdet_status secdet_input_tcp(secdet_engine *engine, const char *source, const char *host, uint16_t port,
                                          secdet_framing framing, struct uv_loop_s *loop, unsigned *id);

/*
 * Options of a TCP input. Initialise with secdet_tcp_opts_init (an all-zero
 * struct means the same: every 0 or NULL below is the default).
 *
 * Connections. At most max_connections clients are served at once; the
 * next one is accepted and closed at once (stats.connections_refused, and a
 * line in the input log), never left half served. When the process runs out
 * of file descriptors, a client that cannot be accepted is refused the same
 * way (stats.accept_errors and .connections_refused, and the log); a
 * reserved descriptor makes that possible. Keep max_connections below the
 * process's descriptor limit (RLIMIT_NOFILE, `ulimit -n`) minus what the
 * rest of the program uses (sinks, files, spools): a listener whose limit is
 * within 64 of the descriptor limit, or above it, logs a warning when it
 * starts.
 *
 * idle_timeout_ms closes a connection that sent nothing for that long
 * (stats.idle_closed; a message it had half sent is dropped and reported).
 * 0, the default, lets connections stay open without sending: log shippers
 * (rsyslog, syslog-ng, Vector, Fluent Bit) hold one connection for days and
 * write in bursts, and one whose connection was closed while it was quiet
 * loses what it writes next on plain TCP. Set it when clients are many and
 * short-lived, or untrusted (an idle client holds one of max_connections).
 * Time spent paused because the input queue is full does not count.
 *
 * TLS. With tls_cert and tls_key set, every connection is TLS (1.2 or
 * later): a client that does not complete the handshake within
 * tls_handshake_timeout_ms, or fails it (a plain-TCP client, a certificate
 * that does not verify), is closed, counted in stats.tls_failed and logged;
 * nothing it sent is evaluated, and no other connection is affected. With
 * tls_client_ca, clients are asked for a certificate, and one that is
 * presented must verify against those CAs; with tls_require_client_cert
 * (mutual TLS) a client without one is refused too. A client that
 * connects and leaves without sending a byte (a port check) is neither
 * counted nor logged. A client ends its stream with a TLS close_notify;
 * only then is a last line without '\n' a message (a connection that just
 * ends could have been cut by someone in between: that line is reported and
 * dropped). The files are read once, by secdet_input_tcp_ex; the strings
 * are not kept, so they may be freed after the call.
 */
typedef struct secdet_tcp_opts {
    secdet_framing framing;            /* default SECDET_FRAMING_LINES */
    unsigned max_connections;          /* clients served at once; 0: 1024 */
    uint64_t idle_timeout_ms;          /* 0: none */
    const char *tls_cert;              /* PEM: the server's certificate, then its chain; NULL: plain TCP */
    const char *tls_key;               /* PEM: its private key (required with tls_cert) */
    const char *tls_key_passphrase;    /* when the key is encrypted; NULL: none */
    const char *tls_client_ca;         /* PEM: CAs that client certificates must chain to; NULL: none asked */
    int tls_require_client_cert;       /* non-zero: a client without a valid certificate is refused
                                       (needs tls_client_ca) */
    uint64_t tls_handshake_timeout_ms; /* 0: 10000 */
} secdet_tcp_opts;

/* The defaults: lines, 1024 connections, no idle timeout, plain TCP. */
SECDET_API void secdet_tcp_opts_init(secdet_tcp_opts *opts);

/*
 * Listens on TCP host:port with `opts` (NULL: the defaults). On failure,
 * nothing listens and secdet_input_error(engine) says why in words, e.g.
 * "tcp address 127.0.0.1:9000 is already in use" (SECDET_ERR_IO), "tls.key
 * /etc/secdet/key.pem: cannot read the private key: bad decrypt (is
 * key_passphrase right?)" (SECDET_ERR_INVALID_ARG), "source \"app\" was
 * never added (secdet_source_add)" (SECDET_ERR_UNKNOWN_SOURCE). A listener on an address other
 * than loopback (127.0.0.0/8, ::1) without TLS starts, with a warning in
 * the input log: anyone who can reach it can send events.
 */
SECDET_API secdet_status secdet_input_tcp_ex(secdet_engine *engine, const char *source, const char *host, uint16_t port,
                                             const secdet_tcp_opts *opts, struct uv_loop_s *loop, unsigned *id);

/* Listens on UDP host:port; every datagram is one message. UDP has no TLS
 * and no sender authentication: on an address other than loopback it starts
 * with a warning in the input log. On failure, secdet_input_error says why. */
SECDET_API secdet_status secdet_input_udp(secdet_engine *engine, const char *source, const char *host, uint16_t port,
                                          struct uv_loop_s *loop, unsigned *id);

/* Why the last secdet_input_* call on this engine failed, in words ("" after
 * one that succeeded, or none yet). Valid until the next input call. */
SECDET_API const char *secdet_input_error(const secdet_engine *engine);

/*
 * The input log: what an input has to say that is not about one event —
 * warnings when it starts (a plain listener on a non-loopback address, a
 * connection limit above the descriptor limit), clients refused, accept()
 * failures, failed TLS handshakes. Each line starts with the input
 * ("tcp 0.0.0.0:5140: ..." or "... client 7 (192.0.2.1:40522): ...").
 * Trouble that can repeat is logged at most 5 times in 10 seconds per kind
 * (refusals, accept errors, TLS failures) and listener, the next line
 * logged saying how many more there were; the stats count every one.
 * Called on the loop's thread, and for the start warnings from within the
 * secdet_input_* call. Set it before adding the inputs; default: none
 * (nothing is printed).
 */
typedef void (*secdet_input_log_fn)(void *user, const char *source, const char *message);
SECDET_API secdet_status secdet_set_input_log(secdet_engine *engine, secdet_input_log_fn fn, void *user);

/* The local port input `id` is bound to (TCP, UDP); 0 when unknown. */
SECDET_API uint16_t secdet_input_port(const secdet_engine *engine, unsigned id);

/* The engine's own loop (created on first use), e.g. to add your own handles
 * (signals, timers) beside the inputs. NULL when out of memory. */
SECDET_API struct uv_loop_s *secdet_loop(secdet_engine *engine);

/* Runs the engine's own loop until secdet_stop (or until no input is left:
 * stdin ended and nothing listens). Call it from one thread. */
SECDET_API secdet_status secdet_run_loop(secdet_engine *engine);

/*
 * Stops the inputs: on the loop thread, soon after this call, every input is
 * closed, the messages already queued are evaluated, and secdet_run_loop
 * returns. Call secdet_flush afterwards for the events held for ordering.
 * Safe from any thread and from a signal handler (it only wakes the loop).
 * SECDET_ERR_INVALID_ARG when the engine has no inputs.
 */
SECDET_API secdet_status secdet_stop(secdet_engine *engine);

/* ---- Kafka: consumer groups and the two-stage scale-out ---------------- */

/*
 * A Kafka input joins a consumer group and evaluates every message it is
 * given (one message = one complete unit of the source's format, as for the
 * event loop inputs). It is configured by one JSON object (docs/scale-out.md
 * lists every key), the same one `secdet run` takes as a source's input:
 *
 *   {"type": "kafka", "brokers": "host:9092", "group": "secdet",
 *    "topics": ["cloudtrail"], "stage": "single" | "partition" | "aggregate",
 *    "repartition_topic": "...", "state_topic": "...", "properties": {...}}
 *
 * - "single" (default): every rule runs here. The input then moves the
 *   engine's correlation watermark itself — from the slowest of its
 *   partitions, not the newest event — and stateless rules with `throttle`
 *   wait for it like aggregations (event-time order); the engine keeps
 *   this mode.
 * - "partition" (stage 1): stateless rules alert here; every event an
 *   aggregation (or a throttled stateless rule) takes is produced to
 *   repartition_topic, keyed by the rule and its group key, so that all the
 *   events of one group reach one stage-2 instance.
 * - "aggregate" (stage 2): consumes repartition_topic (as its "topics") and
 *   runs the aggregations. The state of each partition it owns is
 *   checkpointed to state_topic (a compacted topic) with the offset it
 *   covers; when the partition moves to another instance (a rebalance, or
 *   this one dying), that instance restores it and carries on.
 *
 * At least once: offsets are committed only after the events are evaluated,
 * their alerts handed to the sinks (journaled, with a spool_dir) and, in
 * stage 1, their forwards acknowledged by the brokers. After a crash, what
 * followed the last commit (stage 2: the last checkpoint) is evaluated
 * again, so alerts may be repeated, with the same ids; none is lost.
 * Backpressure: when a sink's pending alerts reach max_pending_alerts, the
 * input pauses its partitions until they are down to half.
 *
 * secdet_kafka_run blocks the calling thread: it polls the consumer,
 * evaluates, commits, and returns after secdet_kafka_stop (any thread,
 * signal handlers included) once the partitions are committed (stage 2:
 * checkpointed) and the group is left. While it runs, do not call the
 * engine from other threads. The engine's rules, sources, sinks and
 * callbacks are used as they are; load and add them first.
 */
typedef struct secdet_kafka secdet_kafka;

/* Makes a Kafka input for `engine`'s source `source` (added already). On a
 * bad configuration: SECDET_ERR_INVALID_ARG and *error (may be NULL;
 * secdet_free it) says what is wrong ("stage: expected single, partition or
 * aggregate"); librdkafka's own refusals name the property, never its value. */
SECDET_API secdet_status secdet_kafka_new(secdet_engine *engine, const char *source, const char *json, size_t len,
                                          secdet_kafka **out, char **error);

/* Where the input reports what goes wrong with Kafka (a commit refused, a
 * broker unreachable, a checkpoint not acknowledged, a partition restored
 * without its state): one line each, never a property's value. Without
 * one, these go to the engine's error callback with `where` 0. Set it
 * before secdet_kafka_run. */
typedef void (*secdet_kafka_log_fn)(void *user, const char *message);
SECDET_API void secdet_kafka_set_log(secdet_kafka *kafka, secdet_kafka_log_fn fn, void *user);

/* Calls fn(user) on secdet_kafka_run's thread, between two messages, about
 * every interval_ms (0: 100): where a program reads the engine's stats or
 * reloads its rules while the input runs (the engine belongs to that
 * thread). Set it before secdet_kafka_run. */
typedef void (*secdet_kafka_tick_fn)(void *user);
SECDET_API void secdet_kafka_set_tick(secdet_kafka *kafka, unsigned interval_ms, secdet_kafka_tick_fn fn, void *user);

/* Runs until secdet_kafka_stop. SECDET_ERR_IO when the consumer fails for
 * good (the reason went to secdet_kafka_set_log's function, else to the
 * engine's error callback). */
SECDET_API secdet_status secdet_kafka_run(secdet_kafka *kafka);

/* Asks secdet_kafka_run to finish. Async-signal-safe. */
SECDET_API void secdet_kafka_stop(secdet_kafka *kafka);

typedef struct secdet_kafka_stats {
    uint64_t messages;    /* messages consumed and evaluated */
    uint64_t commits;     /* offset commits that succeeded */
    uint64_t forwarded;   /* stage 1: events produced to the repartition topic */
    uint64_t heartbeats;  /* stage 1: watermark messages produced */
    uint64_t duplicates;  /* stage 2: forwarded events seen before (dropped) */
    uint64_t checkpoints; /* stage 2: partition states written to the state topic */
    uint64_t restored;    /* stage 2: partition states restored on assignment */
    uint64_t rebalances;  /* assignments and revocations */
    uint64_t paused;      /* times the partitions were paused for backpressure */
    uint64_t partitions;  /* partitions assigned now */
    /* Stage 2 keeps an engine per partition; their counters, summed (for
     * the other stages, see the engine's own secdet_stats): */
    uint64_t events; /* forwarded events evaluated */
    uint64_t late;   /* of those, older than their partition's watermark (kept out of state) */
    uint64_t groups; /* correlation groups held now */
} secdet_kafka_stats;

SECDET_API secdet_status secdet_kafka_stats_get(const secdet_kafka *kafka, secdet_kafka_stats *out);

/* Frees the input (stop and run first; the engine is not freed). */
SECDET_API void secdet_kafka_free(secdet_kafka *kafka);

#ifdef __cplusplus
}
#endif

#endif /* SECDET_H */
