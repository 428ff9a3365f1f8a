/* fuzz_decode.c — libFuzzer target: bytes of a source → JSON events.
 *
 * Two header bytes pick how the rest (the payload) is decoded:
 *   byte 0, bits 0-2  0 JSON lines, 1 CloudTrail, 2 auto, 3 sd_decode_json_object,
 *                     4 CloudWatch Logs, 5 EventBridge, 6 a custom format
 *                     (sd_decoder_new_custom: the payload's lines are handed to
 *                     sd_decoder_emit, an empty line reported with
 *                     sd_decoder_emit_error), 7 auto again
 *           bit 3     wrap the payload: gzip it first (so the fuzzer reaches
 *                     every format through the inflate layer; raw gzip in
 *                     the payload — corrupt, truncated, multi-member — goes
 *                     through the same layer when this bit is clear); for
 *                     CloudWatch Logs instead {"awslogs":{"data":
 *                     base64(gzip(payload))}}, the subscription envelope
 *           bits 4-5  limits: default, 64-byte events, depth 3, both
 *   byte 1, bits 0-3  feed in chunks of 2^k bytes (15: all at once), so
 *                     lines, gzip members and the auto-detection prefix
 *                     are split at every place
 *           bit 4     the sink stops decoding at the second event
 *           bit 5     decode the stream twice on one decoder (reset path)
 * Properties beyond "no crash, no leak, no hang": every event handed over
 * is a JSON object; every error message is non-empty; sd_decoder_feed and
 * sd_decoder_end return 0, the stop value, or -1 — nothing else.
 */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "event/decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define STOP_VALUE 7

typedef struct sink_state {
    unsigned events;
    unsigned stop_at; /* 0 = never */
} sink_state;

static int on_event(void *user, const cJSON *event, uint64_t where) {
    sink_state *st = user;
    (void)where;
    if (!cJSON_IsObject(event)) __builtin_trap();
    st->events++;
    return st->stop_at && st->events >= st->stop_at ? STOP_VALUE : 0;
}

static void on_error(void *user, uint64_t where, const char *message) {
    (void)user;
    (void)where;
    if (!message || !message[0]) __builtin_trap();
}

static void check_rc(int rc) {
    if (rc != 0 && rc != STOP_VALUE && rc != -1) __builtin_trap();
}

/* The custom format: one event per line; its partial last line waits in
 * `carry` for the next call, as a real line-oriented decoder would keep it. */
typedef struct custom_state {
    char *carry;
    size_t len;
} custom_state;

static int custom_lines(void *user, const void *bytes, size_t len, int end, dec_emit *em) {
    custom_state *cs = user;
    if (len) {
        char *p = realloc(cs->carry, cs->len + len);
        if (!p) return -1;
        memcpy(p + cs->len, bytes, len);
        cs->carry = p;
        cs->len += len;
    }
    size_t start = 0;
    int rc = 0;
    for (size_t i = 0; i < cs->len && rc == 0; i++) {
        if (cs->carry[i] != '\n') continue;
        if (i == start)
            sd_decoder_emit_error(em, 0, "empty line");
        else
            rc = sd_decoder_emit(em, cs->carry + start, i - start);
        if (rc == 1) rc = 0; /* malformed: reported, go on */
        start = i + 1;
    }
    if (rc == 0 && end && start < cs->len) {
        rc = sd_decoder_emit(em, cs->carry + start, cs->len - start);
        if (rc == 1) rc = 0;
        start = cs->len;
    }
    if (end) start = cs->len;
    if (start) memmove(cs->carry, cs->carry + start, cs->len - start);
    cs->len -= start;
    return rc;
}

/* The payload as one gzip member; NULL when zlib fails (never on valid input). */
static unsigned char *gzip_bytes(const uint8_t *p, size_t n, size_t *out_len) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return NULL;
    uLong cap = deflateBound(&zs, (uLong)n) + 32;
    unsigned char *out = malloc(cap);
    if (!out) {
        deflateEnd(&zs);
        return NULL;
    }
    zs.next_in = (Bytef *)(uintptr_t)p;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    int rc = deflate(&zs, Z_FINISH);
    *out_len = zs.total_out;
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

/* {"awslogs":{"data":"<base64(gzip(payload))>"}} */
static unsigned char *awslogs_envelope(const uint8_t *p, size_t n, size_t *out_len) {
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const char head[] = "{\"awslogs\":{\"data\":\"", tail[] = "\"}}";
    size_t glen = 0;
    unsigned char *g = gzip_bytes(p, n, &glen);
    if (!g) return NULL;
    unsigned char *out = malloc(sizeof head + (glen + 2) / 3 * 4 + sizeof tail);
    if (!out) {
        free(g);
        return NULL;
    }
    size_t o = 0;
    memcpy(out, head, sizeof head - 1);
    o += sizeof head - 1;
    for (size_t i = 0; i < glen; i += 3) {
        uint32_t v =
            (uint32_t)g[i] << 16 | (i + 1 < glen ? (uint32_t)g[i + 1] << 8 : 0) | (i + 2 < glen ? g[i + 2] : 0);
        out[o++] = (unsigned char)b64[v >> 18 & 63];
        out[o++] = (unsigned char)b64[v >> 12 & 63];
        out[o++] = i + 1 < glen ? (unsigned char)b64[v >> 6 & 63] : '=';
        out[o++] = i + 2 < glen ? (unsigned char)b64[v & 63] : '=';
    }
    memcpy(out + o, tail, sizeof tail - 1);
    o += sizeof tail - 1;
    free(g);
    *out_len = o;
    return out;
}

static void run_stream(decoder *d, const uint8_t *p, size_t n, size_t chunk, const decode_sink *sink) {
    for (size_t off = 0; off < n; off += chunk) {
        size_t len = n - off < chunk ? n - off : chunk;
        check_rc(sd_decoder_feed(d, p + off, len, sink));
    }
    check_rc(sd_decoder_end(d, sink));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    unsigned mode = data[0] & 7u;
    bool wrap = data[0] & 8u;
    unsigned lim_sel = (data[0] >> 4) & 3u;
    unsigned chunk_log = data[1] & 15u;
    bool stop_early = data[1] & 16u;
    bool twice = data[1] & 32u;
    const uint8_t *payload = data + 2;
    size_t plen = size - 2;

    decode_limits lim = {0};
    if (lim_sel & 1u) lim.max_event_bytes = 64;
    if (lim_sel & 2u) lim.max_depth = 3;

    unsigned char *packed = NULL;
    if (wrap) {
        size_t glen = 0;
        packed = mode == 4 ? awslogs_envelope(payload, plen, &glen) : gzip_bytes(payload, plen, &glen);
        if (!packed) return 0;
        payload = packed;
        plen = glen;
    }

    if (mode == 3) {
        const char *err = NULL;
        cJSON *obj = sd_decode_json_object((const char *)payload, plen, lim.max_depth ? lim.max_depth : 64, &err);
        if (obj) {
            if (!cJSON_IsObject(obj)) __builtin_trap();
            cJSON_Delete(obj);
        } else if (!err || !err[0]) {
            __builtin_trap();
        }
        free(packed);
        return 0;
    }

    static const dec_format formats[8] = {DEC_JSONL,           DEC_CLOUDTRAIL,  DEC_AUTO,   DEC_AUTO,
                                          DEC_CLOUDWATCH_LOGS, DEC_EVENTBRIDGE, DEC_CUSTOM, DEC_AUTO};
    custom_state cs = {0};
    decoder *d = mode == 6 ? sd_decoder_new_custom(custom_lines, &cs, &lim) : sd_decoder_new(formats[mode], &lim);
    if (!d) {
        free(packed);
        return 0;
    }
    sink_state st = {.stop_at = stop_early ? 2 : 0};
    decode_sink sink = {.on_event = on_event, .on_error = on_error, .user = &st};
    size_t chunk = chunk_log == 15 ? (plen ? plen : 1) : (size_t)1 << chunk_log;
    run_stream(d, payload, plen, chunk, &sink);
    if (twice) {
        st.events = 0;
        run_stream(d, payload, plen, chunk, &sink);
    }
    sd_decoder_free(d);
    free(cs.carry);
    free(packed);
    return 0;
}
