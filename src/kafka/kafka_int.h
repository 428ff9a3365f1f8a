/* kafka_int.h — the Kafka input's insides, shared by its files:
 * kconfig.c (the JSON configuration), driver.c (the consumer loop,
 * rebalances, commits, backpressure), stage1.c (forwards and watermark
 * heartbeats to the repartition topic), stage2.c (per-partition engines,
 * upstream watermarks, checkpoints to the state topic).
 *
 * Everything runs on the thread in secdet_kafka_run: librdkafka calls the
 * rebalance and delivery-report callbacks from inside the polls made there.
 * Only `stop` is touched from elsewhere (an atomic flag).
 *
 * The wire format between the stages (docs/scale-out.md; written and read
 * by wire.c):
 *   forward:   key   = rule name, NUL, group key bytes
 *              value = the event's compact JSON
 *              headers secdet-rule, secdet-source, secdet-time (ns, decimal),
 *                      secdet-origin ("topic/partition" it was read from),
 *                      secdet-seq ("offset:index" in that origin)
 *   heartbeat: no key, empty value, to every partition,
 *              headers secdet-watermark (origin), secdet-time (ns or "none"),
 *                      secdet-idle ("1" when the origin is at its end),
 *                      secdet-origins (every origin there is, comma-separated:
 *                      stage 2 then waits for the ones it has not heard of)
 */
#ifndef SECDET_KAFKA_KAFKA_INT_H
#define SECDET_KAFKA_KAFKA_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "engine/outer.h"
#include "kafka/wire.h"
#include "util/buf.h"

typedef struct cJSON cJSON;
typedef struct secdet_kafka secdet_kafka;

typedef enum { KSTAGE_SINGLE, KSTAGE_PARTITION, KSTAGE_AGGREGATE } kstage;

typedef struct kcfg {
    char *brokers;
    char *group;
    char **topics;
    size_t ntopics;
    kstage stage;
    char *repartition_topic; /* partition */
    char *state_topic;       /* aggregate */
    cJSON *props;            /* librdkafka properties (a copy), or NULL */
    int64_t commit_ms;       /* default 1000 */
    int64_t checkpoint_ms;   /* default 5000 */
    int64_t heartbeat_ms;    /* default 200 */
    uint64_t max_pending;    /* backpressure threshold; default 5000 */
    int64_t idle_ms;         /* at its end this long, a partition stops holding the watermark; default 10000 */
    bool flush_on_exit;      /* aggregate: secdet_flush each partition before leaving */
    /* "log_types": {topic: log type}: a listed topic's messages go to the
     * source named after its log type (added by secdet_kafka_new), the
     * others to the input's source. */
    char **lt_topic, **lt_type;
    size_t nlt;
} kcfg;

/* kconfig.c: 0, or -1 with the problem in err ("stage: expected ..."). */
int sd_kcfg_parse(const char *json, size_t len, kcfg *out, char *err, size_t errlen);
void sd_kcfg_free(kcfg *c);

/* How far a stream of events has got: a partition read here (single
 * stage), or an origin as stage 2 hears of it. */
typedef struct kprogress {
    bool any;     /* time is known */
    bool idle;    /* at its end (when it last reported) */
    int64_t time; /* the newest event time read from it */
} kprogress;

/* Moves e's watermark to the oldest `time` of the streams that are not
 * idle (of all of them when every one is) — n elements `stride` bytes apart
 * starting at *first — minus the lateness, when that is past *wm (the last
 * one set, valid with *wm_any); never back. Nothing moves while one of
 * those streams has no time yet: it holds everything back. */
void sd_kafka_follow(secdet_kafka *k, secdet_engine *e, const kprogress *first, size_t n, size_t stride, bool *wm_any,
                     int64_t *wm);

/* An upstream stream as seen by stage 2: one partition of a stage-1 input. */
typedef struct korigin {
    char *name; /* "topic/partition" */
    kprogress pr;
    bool seen;   /* off/idx valid */
    int64_t off; /* the last forward taken: its origin offset and index */
    uint32_t idx;
} korigin;

/* Stage 2's state of one owned partition. */
typedef struct s2part {
    secdet_engine *pe;
    korigin *o;
    size_t no, capo;
    bool wm_any;
    int64_t wm;     /* the watermark last set on pe */
    bool ckpt_done; /* the state topic holds this partition's state at ckpt_next */
    int64_t ckpt_next;
} s2part;

/* One assigned partition. */
typedef struct kpart {
    char *topic;
    int32_t partition;
    char *origin; /* "topic/partition" */
    int64_t next; /* offset after the last message evaluated; -1: none yet */
    int64_t committed;
    kprogress pr; /* single and stage 1: event times read from here; idle after idle_ms at_end */
    bool at_end;  /* read to its end (and nothing since) */
    int64_t end_since;
    bool beat_sent; /* stage 1: the last heartbeat said this */
    bool beat_idle, beat_any;
    int64_t beat_time;
    s2part *s2;
} kpart;

struct secdet_kafka {
    secdet_engine *e;
    char *source;
    kcfg cfg;
    secdet_kafka_log_fn log;
    void *log_user;
    secdet_kafka_tick_fn tick;
    void *tick_user;
    int64_t tick_ms, last_tick;
    rd_kafka_t *consumer;
    rd_kafka_t *producer; /* stage 1: forwards, heartbeats; stage 2: checkpoints */
    rd_kafka_t *reader;   /* stage 2: reads the state topic on assignment */
    kpart *parts;
    size_t nparts, capparts;
    atomic_bool stop;
    secdet_kafka_stats stats;
    bool paused;
    bool failed; /* a fatal error: run returns SECDET_ERR_IO */
    int64_t last_commit, last_beat, last_ckpt;
    bool wm_any; /* single stage: the watermark last set on the engine */
    int64_t wm;
    /* stage 1 */
    int32_t repart_n; /* partitions of the repartition topic */
    char *origins;    /* every partition of the input topics, "t/0,t/1,...": in each heartbeat */
    kpart *cur;       /* partition of the message under evaluation */
    int64_t cur_off;
    uint32_t cur_idx;
    buf keybuf;
    uint64_t fwd_failed; /* forwards the brokers refused for good */
    /* stage 2 */
    int32_t state_n;                 /* partitions of the state topic */
    uint64_t ckpt_failed;            /* checkpoints not acknowledged since the last try */
    uint64_t gone_events, gone_late; /* counters of partition engines already freed */
};

/* driver.c */
int64_t sd_kafka_now_ms(void);
/* A NUL-terminated copy of len bytes (which need no NUL); NULL on OOM. */
char *sd_kafka_memdup(const void *p, size_t len);
/* Reports to the log (secdet_kafka_set_log), else the engine's error callback. */
void sd_kafka_report(secdet_kafka *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
kpart *sd_kafka_part_find(secdet_kafka *k, const char *topic, int32_t partition);
/* Partitions of `topic` (metadata); -1 on failure (reported). */
int32_t sd_kafka_topic_partitions(secdet_kafka *k, rd_kafka_t *rk, const char *topic);
/* Commits every partition's `next` that moved. sync: wait for the answer. */
void sd_kafka_commit(secdet_kafka *k, bool sync);

/* stage1.c */
int sd_stage1_init(secdet_kafka *k, char *err, size_t errlen);
void sd_stage1_forward(void *user, const engine_forward *f);
/* Heartbeats for the partitions whose report changed (all with force). */
void sd_stage1_heartbeat(secdet_kafka *k, bool force);
/* Waits until every forward is acknowledged; false when any failed (then
 * nothing must be committed). */
bool sd_stage1_settle(secdet_kafka *k);

/* stage2.c (checkpoint.c: sd_stage2_assign, sd_stage2_checkpoint) */
int sd_stage2_init(secdet_kafka *k, char *err, size_t errlen);
/* A fresh partition state: an engine with the main engine's rules. */
s2part *sd_stage2_part_new(secdet_kafka *k);
/* On assignment: a fresh engine for kp, its state restored from the state
 * topic when there is one; *offset receives where to resume
 * (RD_KAFKA_OFFSET_INVALID: the committed offset). 0 or -1. */
int sd_stage2_assign(secdet_kafka *k, kpart *kp, int64_t *offset);
void sd_stage2_message(secdet_kafka *k, kpart *kp, const rd_kafka_message_t *m);
/* One message read by sd_kwire_read (a forward with its value, or a heartbeat)
 * applied to partition state s: origins met, duplicates dropped
 * (stats.duplicates), the event evaluated, the watermark moved. Uses of k:
 * its engine (lateness, hand-out), stats and log. */
void sd_stage2_apply(secdet_kafka *k, s2part *s, const kwire_msg *w, const char *payload, size_t len);
/* Writes every partition's state to the state topic and waits for it;
 * false when it was not all acknowledged. */
bool sd_stage2_checkpoint(secdet_kafka *k);
/* The partition engines' counters into out (events, late, groups). */
void sd_stage2_stats(const secdet_kafka *k, secdet_kafka_stats *out);
/* Flushes every partition engine (end of input). */
void sd_stage2_flush(secdet_kafka *k);
void sd_stage2_release(secdet_kafka *k, kpart *kp);
/* checkpoint.c: parses a checkpoint envelope's header and origins into s
 * (which has none yet; on failure it may hold some, freed with it); *next
 * gets the offset to resume at, *snap_at where the engine snapshot starts.
 * 0, or -1 when malformed. (Also the checkpoint fuzz target's entry.) */
int sd_kafka_envelope_read(s2part *s, const uint8_t *p, size_t n, int64_t *next, size_t *snap_at);

#endif
