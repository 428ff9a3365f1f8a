/* framer.c — lines and octet counting over a byte stream (framer.h).
 *
 * Both modes keep only the message being built, so one input's partial
 * line, garbage or oversized message never touches another's (each TCP
 * connection has its own framer). The size check is made on the bytes held
 * so far plus the part in hand, never after buffering, so an endless line
 * costs at most max + 1 bytes.
 */
#include "io/framer.h"
#include "util/limits.h"

#include <stdio.h>
#include <string.h>

void sd_framer_init(framer *f, secdet_framing mode, size_t max, const framer_out *out, void *user) {
    memset(f, 0, sizeof *f);
    f->mode = mode;
    f->max = max;
    f->out = out;
    f->user = user;
    sd_buf_init(&f->msg);
}

void sd_framer_free(framer *f) { sd_buf_free(&f->msg); }

bool sd_framer_holds_partial(const framer *f) { return f->msg.len > 0 || f->oc != OC_LEN || f->oc_digits > 0; }

static void problem(framer *f, framer_problem what, const char *text) { f->out->problem(f->user, what, text); }

static void oversized(framer *f) {
    char text[96];
    snprintf(text, sizeof text, "message longer than %zu bytes dropped", f->max);
    problem(f, FRAMER_OVERSIZED, text);
}

/* One complete line without its '\n'. */
static void line_done(framer *f, const char *p, size_t n) {
    if (n > 0 && p[n - 1] == '\r') n--;
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r')) i++;
    if (i == n) return; /* blank */
    /* Up to max + 1 bytes are held so that a '\r' can follow a line of
     * exactly max bytes; without that '\r' the line is one byte too long. */
    if (n > f->max) {
        oversized(f);
        return;
    }
    f->out->message(f->user, p, n);
}

static void lines_feed(framer *f, const char *p, size_t n) {
    size_t max = f->max + 1; /* + a '\r' */
    const char *end = p + n;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (f->skipping) {
            if (!nl) return;
            f->skipping = false;
            p = nl + 1;
            continue;
        }
        size_t part = (size_t)((nl ? nl : end) - p);
        if (f->msg.len + part > max) {
            oversized(f);
            sd_buf_reset(&f->msg);
            f->msg.oom = false;
            f->skipping = true;
            continue;
        }
        if (!nl) {
            sd_buf_append(&f->msg, p, part);
            return;
        }
        if (f->msg.len || f->msg.oom) {
            sd_buf_append(&f->msg, p, part);
            if (f->msg.oom)
                problem(f, FRAMER_NOMEM, "out of memory: message dropped");
            else
                line_done(f, f->msg.data, f->msg.len);
            sd_buf_reset(&f->msg);
            f->msg.oom = false;
        } else {
            line_done(f, p, part);
        }
        p = nl + 1;
    }
}

/* The count and its space: "LEN SP". */
static void octets_count(framer *f, char c) {
    if (f->oc_digits == 0 && (c == '\n' || c == '\r')) return; /* a stray newline between frames */
    if (c >= '0' && c <= '9' && f->oc_digits < LIMIT_OCTET_COUNT_DIGITS) {
        f->oc_len = f->oc_len * 10 + (uint64_t)(c - '0');
        f->oc_digits++;
    } else if (c == ' ' && f->oc_digits > 0) {
        f->oc_digits = 0;
        if (f->oc_len > f->max) {
            oversized(f);
            f->oc = OC_SKIP;
        } else {
            f->oc = OC_BODY;
            sd_buf_reset(&f->msg);
            f->msg.oom = false;
        }
        if (f->oc_len == 0) f->oc = OC_LEN;
    } else {
        char text[128];
        snprintf(text, sizeof text, "octet-counted framing: expected a count and a space, found byte 0x%02x",
                 (unsigned char)c);
        f->broken = true;
        problem(f, FRAMER_BAD_COUNT, text);
    }
}

static bool octets_feed(framer *f, const char *p, size_t n) {
    const char *end = p + n;
    while (p < end && !f->broken) {
        if (f->oc == OC_LEN) {
            octets_count(f, *p++);
            continue;
        }
        size_t take = (size_t)(end - p);
        if (take > f->oc_len) take = (size_t)f->oc_len;
        if (f->oc == OC_BODY) sd_buf_append(&f->msg, p, take);
        p += take;
        f->oc_len -= take;
        if (f->oc_len == 0) {
            if (f->oc == OC_BODY) {
                if (f->msg.oom)
                    problem(f, FRAMER_NOMEM, "out of memory: message dropped");
                else
                    f->out->message(f->user, f->msg.data ? f->msg.data : "", f->msg.len);
            }
            sd_buf_reset(&f->msg);
            f->msg.oom = false;
            f->oc = OC_LEN;
        }
    }
    return !f->broken;
}

bool sd_framer_feed(framer *f, const char *p, size_t n) {
    if (f->mode == SECDET_FRAMING_OCTET_COUNTED) return octets_feed(f, p, n);
    lines_feed(f, p, n);
    return true;
}

void sd_framer_end(framer *f) {
    if (f->mode == SECDET_FRAMING_LINES) {
        if (f->msg.oom)
            problem(f, FRAMER_NOMEM, "out of memory: message dropped");
        else if (!f->skipping && f->msg.len)
            line_done(f, f->msg.data, f->msg.len);
    } else if (!f->broken && (f->oc != OC_LEN || f->oc_digits)) {
        problem(f, FRAMER_PARTIAL, "stream ended inside an octet-counted frame");
    }
    sd_buf_reset(&f->msg);
    f->msg.oom = false;
    f->skipping = false;
    f->oc = OC_LEN;
    f->oc_len = 0;
    f->oc_digits = 0;
}
