/* limits.h — every limit of libsecdet in one place, each with its reason.
 *
 * A limit bounds what input (an event, a rule file, a client) can make the
 * library spend, or is the default of an option the header documents. The
 * defaults of the public options (secdet_engine_opts, secdet_sink_opts, the
 * inputs') are here too, and the header's comments give the same numbers.
 * (It is util/limits.h, not src/limits.h: src/ is an include directory, and
 * a src/limits.h would stand in for the C library's <limits.h>.)
 */
#ifndef SECDET_UTIL_LIMITS_H
#define SECDET_UTIL_LIMITS_H

/* ---- The engine's options (secdet_engine_opts_init) ---- */

/* VM instructions per event across all rules: a hostile event cannot make
 * evaluation slow; a realistic pack needs a few hundred. */
#define LIMIT_VM_BUDGET_DEFAULT 100000u
/* PCRE2 match limit per regex test: catastrophic backtracking stops. */
#define LIMIT_REGEX_MATCH_DEFAULT 100000u
/* JSON nesting of an event: CloudTrail needs about 10; recursion stays shallow. */
#define LIMIT_JSON_DEPTH_DEFAULT 64u
/* One event, bytes: CloudTrail records are at most ~256 KiB. */
#define LIMIT_EVENT_BYTES_DEFAULT ((size_t)1 << 20)
/* One rule file, bytes: a generated pack of thousands of rules fits. */
#define LIMIT_RULE_FILE_BYTES_DEFAULT ((size_t)16 << 20)
/* Sample events an aggregation alert carries: enough to see the pattern. */
#define LIMIT_SAMPLES_DEFAULT 5u
/* Out-of-order events, ms: CloudTrail's files, read in order, run up to ten
 * minutes behind each other. */
#define LIMIT_LATENESS_MS_DEFAULT 900000
/* Correlation state, bytes (least recently seen groups are evicted past it). */
#define LIMIT_STATE_BYTES_DEFAULT ((uint64_t)256 << 20)
/* A rendered alert message, bytes: an event cannot make a huge message. */
#define LIMIT_MESSAGE_BYTES_DEFAULT (64u * 1024u)

/* ---- Rules: the language (src/lang) and their loading ---- */

/* Nesting of parentheses, `not` and calls in a condition: the parser recurses. */
#define LIMIT_PARSE_DEPTH 128
/* Depth of macro and rule references: the checker and compiler follow them. */
#define LIMIT_RULE_REF_DEPTH 64
/* The compiler's own recursion over inlined conditions (references expanded). */
#define LIMIT_COMPILE_DEPTH 2048
/* Registers one program may use (register a is one byte, bank size bounded). */
#define LIMIT_VM_REGS 250
/* Characters of a number literal in a rule. */
#define LIMIT_NUMBER_LITERAL 64
/* A duration literal, ms: the largest integer a double holds exactly. */
#define LIMIT_DURATION_MS 9007199254740992.0
/* Errors reported for one ruleset: beyond, one "too many errors" line. */
#define LIMIT_DIAG_ERRORS 100
/* Words compared for "did you mean": longer ones get no suggestion. */
#define LIMIT_SUGGEST_WORD 64
/* Directory nesting below a rules directory (symlink loops end here). */
#define LIMIT_RULES_DIR_DEPTH 32
/* Rules followed into each other's code by the fingerprint. */
#define LIMIT_FINGERPRINT_RULE_DEPTH 16
/* Rule references followed at run time by the VM. */
#define LIMIT_VM_RULE_DEPTH 64u
/* any/all nested in each other: each level is a frame of the interpreter. */
#define LIMIT_VM_ELEM_DEPTH 32u
/* The budget a regex test costs per extra value of a many-valued field. */
#define LIMIT_VM_REGEX_VALUE_COST 64u
/* A regex's prefilter (lang/regex_lits.c): at most this many literals, one
 * of which every match holds; a larger set is dropped (no prefilter), as it
 * would filter little and cost a search per literal. */
#define LIMIT_PREFILTER_LITS 16
/* Bytes kept of one prefilter literal (longer ones are cut: a prefix of a
 * required string is required too); bounds the compiler's working sets. */
#define LIMIT_PREFILTER_LIT_LEN 32
/* Nesting of groups the literal extraction follows; deeper gives up. */
#define LIMIT_PREFILTER_DEPTH 32

/* ---- Events (src/event) ---- */

/* A CloudTrail document buffered whole (the record framer bounds memory to
 * one record; this bounds a document without Records), × max_event_bytes. */
#define LIMIT_DOCUMENT_EVENT_FACTOR 64
/* A CloudWatch Logs payload may decompress to this × max_event_bytes (at
 * least 8 MiB): one PutLogEvents batch is at most 1 MiB of messages. */
#define LIMIT_AWS_PAYLOAD_EVENT_FACTOR 8
/* Path segments the one-pass scanner tracks at once. */
#define LIMIT_SCAN_SEGMENTS 48
/* Characters of a number the scanner converts itself. */
#define LIMIT_SCAN_NUMBER 63
/* Depth cJSON's own printer and duplicate recurse to (the tree fallback). */
#define LIMIT_CJSON_DEPTH 1000

/* ---- Correlation (src/correlate) ---- */

/* Steps of a sequence (bits of the step mask). */
#define CORR_MAX_STEPS 64u
/* Partial sequences waiting at one counted step of one group (the oldest go first). */
#define LIMIT_SEQ_PARTIALS 64u
/* Values of a distinct path taken from one event (a hostile [*] array stops here). */
#define CORR_MAX_VALUES 1024u
/* Sample events an alert carries at most, whatever max_samples says. */
#define CORR_MAX_SAMPLES 1000u
/* Correlation groups whose samples stay as they came: the most recently seen.
 * Older (cold) groups keep theirs compressed, so a group seen again and again
 * (a brute force) never pays for compression; 1024 raw groups cost about
 * 1 MB of full CloudTrail records. */
#define CORR_WARM_GROUPS 1024u
/* Samples are compressed only once the state passes this share of its cap
 * (3/4): below it memory is not short, and deflate costs CPU. */
#define CORR_COLD_SHARE_NUM 3u
#define CORR_COLD_SHARE_DEN 4u
/* A rule's compression dictionary (a recent event of the rule) is renewed
 * after this many samples, so it follows the events' drift; a dictionary
 * stays raw, 1/256 of the samples. */
#define CORR_DICT_EVERY 256u

/* ---- Alerts (src/alert) ---- */

/* Deeper JSON than this is written as null (the decoder's own limit is far lower). */
#define LIMIT_ALERT_JSON_DEPTH 512

/* ---- Sinks (src/sink; secdet_sink_opts_init) ---- */

/* Alerts a sink holds in memory. */
#define LIMIT_SINK_QUEUE_DEFAULT 10000u
/* A sink's spool on disk (past it, it is full: alerts wait in memory). */
#define LIMIT_SPOOL_BYTES_DEFAULT ((uint64_t)1 << 30)
/* A spool segment file; fully delivered segments are deleted whole. */
#define LIMIT_SPOOL_SEGMENT_BYTES ((uint64_t)16 << 20)
/* Staged spool bytes written in one go. */
#define LIMIT_SPOOL_WRITE_BATCH 65536u
/* Attempts before the dead-letter file; retry delays (ms). */
#define LIMIT_SINK_ATTEMPTS_DEFAULT       10u
#define LIMIT_SINK_BACKOFF_MS_DEFAULT     500u
#define LIMIT_SINK_BACKOFF_MAX_MS_DEFAULT 60000u
/* What an HTTP error keeps of the response body for logs and dead letters. */
#define LIMIT_HTTP_BODY_EXCERPT 160
/* Characters of a Retry-After header value read. */
#define LIMIT_RETRY_AFTER_CHARS 64
/* A syslog record over UDP: RFC 5426 receivers take 2048 bytes. */
#define LIMIT_SYSLOG_UDP_MSG 1900
/* A syslog record over TCP or TLS, by default. */
#define LIMIT_SYSLOG_MSG_DEFAULT 8192
/* A webhook signing key after base64 decoding, bytes. */
#define LIMIT_WEBHOOK_KEY 256
/* Slack's own limits on Block Kit texts (longer ones are refused). */
#define LIMIT_SLACK_HEADER  150
#define LIMIT_SLACK_SECTION 3000
#define LIMIT_SLACK_FIELD   2000
#define LIMIT_SLACK_TEXT    3000
/* Fields in one section: Slack refuses a section with more. */
#define LIMIT_SLACK_FIELDS 10
/* requestParameters shown in a Slack message, bytes, by default. */
#define LIMIT_SLACK_PARAMS_DEFAULT 1500
/* The digest sink: a period's alerts, one message (src/sink/digest.c).
 * Alerts one digest holds by default (also the type's max_in_flight: they
 * are all outstanding until the digest is delivered), and at most; the
 * period by default; the headers of its webhook form; Slack sections, at
 * most (Slack takes 50 blocks a message). */
#define LIMIT_DIGEST_ALERTS_DEFAULT 10000u
#define LIMIT_DIGEST_ALERTS_MAX     100000u
#define LIMIT_DIGEST_PERIOD_MS      900000u
#define LIMIT_DIGEST_HEADERS        32
#define LIMIT_DIGEST_RULES_MAX      45
/* A secret file read for a configuration value. */
#define LIMIT_SECRET_FILE_BYTES 65536

/* ---- Inputs (src/io) ---- */

/* Messages and bytes waiting between the inputs and evaluation (bytes: at
 * least 4 × max_event_bytes). */
#define LIMIT_INPUT_QUEUE_MESSAGES 10000u
#define LIMIT_INPUT_QUEUE_BYTES    ((size_t)16 << 20)
/* One read of a stream input. */
#define LIMIT_IO_READ_BUF (64 * 1024)
/* Messages evaluated per loop turn, so I/O keeps being served under load. */
#define LIMIT_IO_DRAIN_BATCH 256
/* TCP clients served at once by one listener, by default. */
#define LIMIT_TCP_CONNECTIONS_DEFAULT 1024u
/* Time a TLS client has for its handshake, ms, by default. */
#define LIMIT_TLS_HANDSHAKE_MS_DEFAULT 10000u
/* Connections accepted per wake-up (the others wait for the next turn). */
#define LIMIT_TCP_ACCEPT_BATCH 64
/* The kernel's queue of connections not yet accepted. */
#define LIMIT_TCP_BACKLOG 128
/* Descriptors kept free beside max_connections before warning. */
#define LIMIT_FD_HEADROOM 64u
/* Digits of an octet count: anything longer cannot be a message length. */
#define LIMIT_OCTET_COUNT_DIGITS 19
/* Lines of one kind of trouble logged per interval (the rest counted). */
#define LIMIT_IO_LOG_BURST       5
#define LIMIT_IO_LOG_INTERVAL_MS 10000

/* ---- Kafka (src/kafka) ---- */

/* A rule, source or origin name in a repartition message. */
#define LIMIT_KAFKA_NAME 255

/* ---- The command (src/cli) ---- */

/* JSON nesting of a rule test line. */
#define LIMIT_TEST_JSON_DEPTH 128
/* Malformed-input lines shown per file by `secdet scan` (all are counted). */
#define LIMIT_SCAN_ERRORS_SHOWN 100

#endif
