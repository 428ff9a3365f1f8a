/* fuzz_framing.c — libFuzzer target: the framing of the stream inputs (TCP
 * connections, stdin, file tails): lines and RFC 6587 octet counting
 * (src/io/framer.c), without sockets or a loop.
 *
 * Input: byte 0 picks the mode (bit 0: 0 lines, 1 octet counting) and the
 * longest message (bits 1-3: 1, 2, 3, 8, 16, 64, 1000 or 65536 bytes);
 * byte 1 seeds the chunking; the rest is the stream.
 * Properties:
 *  - the stream in one feed, split in two at a point the seed picks, one
 *    byte per feed, and in chunks of sizes the seed draws give the same
 *    messages and problems, in the same order;
 *  - those equal what a plain reference reading of the whole stream (below,
 *    written from the framing rules, not from framer.c) finds;
 *  - every message is at most the longest allowed; a line has no '\n' and
 *    is not blank;
 *  - once octet counting breaks, feed returns false and nothing more comes.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/framer.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (!(cond)) __builtin_trap();                                                                                 \
    } while (0)

/* What came out: each event is a kind byte ('M' message, or 'O' 'B' 'P'
 * for a problem), then for messages a 4-byte length and the bytes. */
typedef struct record {
    buf events;
    size_t max;
    bool lines;
    bool broken; /* a FRAMER_BAD_COUNT was seen */
} record;

static void put_u32(buf *b, size_t n) {
    unsigned char x[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8),
                          (unsigned char)n};
    sd_buf_append(b, x, 4);
}

static bool blank(const char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') return false;
    return true;
}

static void on_message(void *user, const char *p, size_t n) {
    record *r = user;
    CHECK(!r->broken);
    CHECK(n <= r->max);
    if (r->lines) CHECK(!memchr(p, '\n', n) && n > 0 && !blank(p, n)); /* one '\r' of "\r\r\n" stays */
    sd_buf_putc(&r->events, 'M');
    put_u32(&r->events, n);
    sd_buf_append(&r->events, p, n);
}

static void on_problem(void *user, framer_problem what, const char *text) {
    record *r = user;
    CHECK(text && text[0]);
    CHECK(what != FRAMER_NOMEM);
    if (what == FRAMER_BAD_COUNT) r->broken = true;
    sd_buf_putc(&r->events, what == FRAMER_OVERSIZED ? 'O' : what == FRAMER_BAD_COUNT ? 'B' : 'P');
}

static const framer_out out = {on_message, on_problem};

static uint32_t next_rand(uint32_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Feeds p[0..n) in chunks: chunk(i) gives the size of the next one. */
typedef enum { WHOLE, SPLIT, BYTES, RANDOM } chunking;

static void run(record *r, secdet_framing mode, const char *p, size_t n, chunking how, uint8_t seed) {
    framer f;
    sd_framer_init(&f, mode, r->max, &out, r);
    size_t at = 0, split = n ? (size_t)seed * 257 % (n + 1) : 0;
    uint32_t s = 0x9e3779b9u ^ seed;
    while (at < n) {
        size_t take = n - at;
        if (how == SPLIT && at < split) take = split - at;
        if (how == BYTES) take = 1;
        if (how == RANDOM) take = 1 + next_rand(&s) % 97;
        if (take > n - at) take = n - at;
        bool ok = sd_framer_feed(&f, p + at, take);
        CHECK(ok == !(mode == SECDET_FRAMING_OCTET_COUNTED && r->broken));
        at += take;
    }
    sd_framer_end(&f);
    sd_framer_free(&f);
}

/* ---- The reference: the whole stream at once ---------------------------------------- */

static void ref_lines(record *r, const char *p, size_t n) {
    size_t pos = 0;
    while (pos < n) {
        const char *nl = memchr(p + pos, '\n', n - pos);
        size_t raw = (size_t)((nl ? nl : p + n) - (p + pos));
        const char *line = p + pos;
        pos += raw + (nl ? 1 : 0);
        size_t len = raw && line[raw - 1] == '\r' ? raw - 1 : raw;
        if (raw > r->max + 1)
            on_problem(r, FRAMER_OVERSIZED, "o"); /* known too long before its end */
        else if (!blank(line, len) && len > r->max)
            on_problem(r, FRAMER_OVERSIZED, "o");
        else if (!blank(line, len))
            on_message(r, line, len);
    }
}

static void ref_octets(record *r, const char *p, size_t n) {
    size_t pos = 0;
    while (pos < n) {
        if (p[pos] == '\n' || p[pos] == '\r') {
            pos++;
            continue;
        }
        uint64_t len = 0;
        unsigned digits = 0;
        while (pos < n && p[pos] >= '0' && p[pos] <= '9' && digits < 19) {
            len = len * 10 + (uint64_t)(p[pos++] - '0');
            digits++;
        }
        if (pos == n) { /* inside the count */
            if (digits) on_problem(r, FRAMER_PARTIAL, "p");
            return;
        }
        if (p[pos] != ' ' || digits == 0) {
            on_problem(r, FRAMER_BAD_COUNT, "b");
            return;
        }
        pos++;
        bool too_long = len > r->max;
        if (too_long) on_problem(r, FRAMER_OVERSIZED, "o");
        if (len > n - pos) {
            if (len > 0) on_problem(r, FRAMER_PARTIAL, "p");
            return;
        }
        if (!too_long && len > 0) on_message(r, p + pos, (size_t)len);
        pos += (size_t)len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2 || size > 1 << 20) return 0;
    static const size_t maxes[] = {1, 2, 3, 8, 16, 64, 1000, 65536};
    secdet_framing mode = data[0] & 1 ? SECDET_FRAMING_OCTET_COUNTED : SECDET_FRAMING_LINES;
    size_t max = maxes[(data[0] >> 1) & 7];
    uint8_t seed = data[1];
    const char *p = (const char *)data + 2;
    size_t n = size - 2;

    record ref = {.max = max, .lines = mode == SECDET_FRAMING_LINES};
    sd_buf_init(&ref.events);
    if (ref.lines)
        ref_lines(&ref, p, n);
    else
        ref_octets(&ref, p, n);
    CHECK(!ref.events.oom);

    static const chunking ways[] = {WHOLE, SPLIT, BYTES, RANDOM};
    for (size_t i = 0; i < sizeof ways / sizeof ways[0]; i++) {
        if (ways[i] == BYTES && n > 4096) continue; /* the same as RANDOM, slower */
        record got = {.max = max, .lines = ref.lines};
        sd_buf_init(&got.events);
        run(&got, mode, p, n, ways[i], seed);
        CHECK(!got.events.oom);
        CHECK(got.events.len == ref.events.len);
        CHECK(got.events.len == 0 || memcmp(got.events.data, ref.events.data, got.events.len) == 0);
        sd_buf_free(&got.events);
    }
    sd_buf_free(&ref.events);
    return 0;
}
