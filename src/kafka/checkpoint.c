/* checkpoint.c — stage 2's partition states on the state topic.
 *
 * The envelope (little-endian):
 *   "SDKS1", i64 next offset, u32 origins,
 *   per origin: u32 name length, name, u8 any, u8 idle, i64 time,
 *               u8 seen, i64 offset, u32 index,
 *   then the engine's snapshot (the snapshot file's format) to the end.
 * The key is "<group>/<topic>/<partition>" and the record goes to state
 * partition `partition % state partitions`, so a restore reads one state
 * partition from its start and keeps the last record with its key (the
 * topic being compacted, that is short).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/kafka_int.h"

#define MAGIC     "SDKS1"
#define MAGIC_LEN 5
#define READ_MS   30000

static void put_u64(buf *b, uint64_t v) {
    uint8_t x[8];
    for (int i = 0; i < 8; i++) x[i] = (uint8_t)(v >> (8 * i));
    sd_buf_append(b, x, 8);
}

static void put_u32(buf *b, uint32_t v) {
    uint8_t x[4];
    for (int i = 0; i < 4; i++) x[i] = (uint8_t)(v >> (8 * i));
    sd_buf_append(b, x, 4);
}

static void put_u8(buf *b, uint8_t v) { sd_buf_append(b, &v, 1); }

typedef struct rd {
    const uint8_t *p;
    size_t n, at;
    bool bad;
} rd;

static uint64_t get_n(rd *r, int bytes) {
    if (r->bad || r->n - r->at < (size_t)bytes) {
        r->bad = true;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) v |= (uint64_t)r->p[r->at + (size_t)i] << (8 * i);
    r->at += (size_t)bytes;
    return v;
}

static char *state_key(secdet_kafka *k, const kpart *kp) {
    size_t n = strlen(k->cfg.group) + strlen(kp->topic) + 24;
    char *key = malloc(n);
    if (key) snprintf(key, n, "%s/%s/%d", k->cfg.group, kp->topic, (int)kp->partition);
    return key;
}

static int envelope(secdet_kafka *k, const kpart *kp, buf *b) {
    const s2part *s = kp->s2;
    sd_buf_append(b, MAGIC, MAGIC_LEN);
    put_u64(b, (uint64_t)kp->next);
    put_u32(b, (uint32_t)s->no);
    for (size_t i = 0; i < s->no; i++) {
        const korigin *o = &s->o[i];
        size_t len = strlen(o->name);
        put_u32(b, (uint32_t)len);
        sd_buf_append(b, o->name, len);
        put_u8(b, o->pr.any);
        put_u8(b, o->pr.idle);
        put_u64(b, (uint64_t)o->pr.time);
        put_u8(b, o->seen);
        put_u64(b, (uint64_t)o->off);
        put_u32(b, o->idx);
    }
    if (sd_engine_snapshot_bytes(s->pe, b) != SECDET_OK || b->oom) return -1;
    return 0;
}

bool sd_stage2_checkpoint(secdet_kafka *k) {
    k->ckpt_failed = 0;
    bool ok = true;
    for (size_t i = 0; i < k->nparts; i++) {
        kpart *kp = &k->parts[i];
        if (!kp->s2 || (kp->s2->ckpt_done && kp->s2->ckpt_next == kp->next)) continue; /* nothing new */
        buf b;
        sd_buf_init(&b);
        char *key = state_key(k, kp);
        if (!key || envelope(k, kp, &b) != 0) {
            sd_kafka_report(k, "kafka: checkpoint of %s: out of memory", kp->origin);
            ok = false;
        } else {
            rd_kafka_resp_err_t err = rd_kafka_producev(
                k->producer, RD_KAFKA_V_TOPIC(k->cfg.state_topic), RD_KAFKA_V_PARTITION(kp->partition % k->state_n),
                RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE(b.data, b.len),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
            if (err) {
                sd_kafka_report(k, "kafka: checkpoint of %s: %s", kp->origin, rd_kafka_err2str(err));
                ok = false;
            } else {
                k->stats.checkpoints++;
                kp->s2->ckpt_next = kp->next; /* done once the flush below succeeds */
            }
        }
        free(key);
        sd_buf_free(&b);
    }
    if (rd_kafka_flush(k->producer, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        sd_kafka_report(k, "kafka: checkpoint to %s: not acknowledged within 30 s", k->cfg.state_topic);
        ok = false;
    }
    ok = ok && k->ckpt_failed == 0;
    for (size_t i = 0; i < k->nparts; i++)
        if (k->parts[i].s2) k->parts[i].s2->ckpt_done = ok && k->parts[i].s2->ckpt_next == k->parts[i].next;
    return ok;
}

int sd_kafka_envelope_read(s2part *s, const uint8_t *p, size_t n, int64_t *next, size_t *snap_at) {
    rd r = {.p = p, .n = n, .at = 0, .bad = false};
    if (n < MAGIC_LEN || memcmp(p, MAGIC, MAGIC_LEN) != 0) return -1;
    r.at = MAGIC_LEN;
    *next = (int64_t)get_n(&r, 8);
    uint32_t no = (uint32_t)get_n(&r, 4);
    for (uint32_t i = 0; i < no && !r.bad; i++) {
        uint32_t len = (uint32_t)get_n(&r, 4);
        if (r.bad || r.n - r.at < len || memchr(p + r.at, 0, len)) return -1;
        korigin o = {0};
        o.name = sd_kafka_memdup(p + r.at, len);
        r.at += len;
        o.pr.any = get_n(&r, 1) != 0;
        o.pr.idle = get_n(&r, 1) != 0;
        o.pr.time = (int64_t)get_n(&r, 8);
        o.seen = get_n(&r, 1) != 0;
        o.off = (int64_t)get_n(&r, 8);
        o.idx = (uint32_t)get_n(&r, 4);
        if (!o.name) return -1;
        if (s->no == s->capo) {
            size_t cap = s->capo ? s->capo * 2 : 8;
            korigin *q = realloc(s->o, cap * sizeof *q);
            if (!q) {
                free(o.name);
                return -1;
            }
            s->o = q;
            s->capo = cap;
        }
        s->o[s->no++] = o;
    }
    if (r.bad) return -1;
    *snap_at = r.at;
    return 0;
}

/* Reads the envelope into a fresh partition state; -1 when malformed. */
static int restore(secdet_kafka *k, kpart *kp, const uint8_t *p, size_t n, int64_t *offset) {
    int64_t next = -1;
    size_t at = 0;
    if (sd_kafka_envelope_read(kp->s2, p, n, &next, &at) != 0) return -1;
    diag_list d;
    sd_diag_init(&d);
    secdet_status st = sd_engine_restore_bytes(kp->s2->pe, (const char *)p + at, n - at, kp->origin, &d);
    for (size_t i = 0; i < d.count; i++) sd_kafka_report(k, "kafka: restore of %s: %s", kp->origin, d.items[i].message);
    sd_diag_free(&d);
    if (st != SECDET_OK) return -1;
    *offset = next >= 0 ? next : RD_KAFKA_OFFSET_INVALID;
    kp->next = kp->committed = next;
    kp->s2->ckpt_done = true; /* the state topic holds exactly this */
    kp->s2->ckpt_next = next;
    return 0;
}

/* The newest record with `key` in state partition sp, into out; 1 found, 0 none, -1 error. */
static int read_state(secdet_kafka *k, int32_t sp, const char *key, buf *out) {
    int64_t lo = 0, hi = 0;
    rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(k->reader, k->cfg.state_topic, sp, &lo, &hi, 10000);
    if (err) {
        sd_kafka_report(k, "kafka: state topic %s: %s", k->cfg.state_topic, rd_kafka_err2str(err));
        return -1;
    }
    if (hi <= lo) return 0;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, k->cfg.state_topic, sp)->offset = lo;
    rd_kafka_assign(k->reader, l);
    rd_kafka_topic_partition_list_destroy(l);
    int found = 0;
    size_t klen = strlen(key);
    int64_t deadline = sd_kafka_now_ms() + READ_MS;
    for (;;) {
        if (sd_kafka_now_ms() > deadline) {
            sd_kafka_report(k, "kafka: state topic %s: not read to its end within %d s", k->cfg.state_topic,
                            READ_MS / 1000);
            found = -1;
            break;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(k->reader, 500);
        if (!m) continue;
        bool end = m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF || (!m->err && m->offset >= hi - 1);
        if (!m->err && m->key_len == klen && memcmp(m->key, key, klen) == 0) {
            sd_buf_reset(out);
            sd_buf_append(out, m->payload ? m->payload : "", m->len);
            found = out->oom ? -1 : 1;
        } else if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            sd_kafka_report(k, "kafka: state topic %s: %s", k->cfg.state_topic, rd_kafka_message_errstr(m));
        }
        rd_kafka_message_destroy(m);
        if (end || found < 0) break;
    }
    rd_kafka_assign(k->reader, NULL);
    return found;
}

int sd_stage2_assign(secdet_kafka *k, kpart *kp, int64_t *offset) {
    *offset = RD_KAFKA_OFFSET_INVALID;
    if (!(kp->s2 = sd_stage2_part_new(k))) {
        sd_kafka_report(k, "kafka: %s: cannot make its engine", kp->origin);
        return -1;
    }
    char *key = state_key(k, kp);
    buf b;
    sd_buf_init(&b);
    int rc = key ? read_state(k, kp->partition % k->state_n, key, &b) : -1;
    if (rc == 1) {
        if (restore(k, kp, (const uint8_t *)b.data, b.len, offset) == 0) {
            k->stats.restored++;
        } else {
            sd_kafka_report(k, "kafka: %s: its checkpoint is damaged; starting without state", kp->origin);
            sd_stage2_release(k, kp);
            kp->s2 = sd_stage2_part_new(k);
            *offset = RD_KAFKA_OFFSET_INVALID;
        }
    }
    free(key);
    sd_buf_free(&b);
    return rc < 0 || !kp->s2 ? -1 : 0;
}
