/* path.c — field path helpers: release, canonical text, equality.
 *
 * The canonical text is what users see in alerts (`group` keys), in
 * diagnostics and in the disassembler, and what the compiler interns paths
 * by, so it must be deterministic: identifier keys bare (`.a`), every other
 * key as a JSON string (`."key with spaces"`), indexes `[3]`, wildcard `[*]`.
 */
#include "event/path.h"

#include <stdlib.h>
#include <string.h>

#include "event/common.h"
#include "util/buf.h"

void sd_path_free(sd_path *p) {
    if (!p) return;
    for (uint32_t i = 0; i < p->nsegs; i++) free(p->segs[i].key);
    free(p->segs);
    free(p->text);
    memset(p, 0, sizeof *p);
}

static bool key_is_identifier(const char *k, size_t n) {
    if (n == 0) return false;
    unsigned char c = (unsigned char)k[0];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_')) return false;
    for (size_t i = 1; i < n; i++) {
        c = (unsigned char)k[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    }
    return true;
}

char *sd_path_to_text(const sd_path *p) {
    buf b;
    sd_buf_init(&b);
    if (p && p->common) {
        sd_buf_putc(&b, '@');
        sd_buf_puts(&b, sd_common_names[(p->common - 1) % SD_NCOMMON]);
    }
    for (uint32_t i = 0; p && i < p->nsegs; i++) {
        const path_seg *s = &p->segs[i];
        switch (s->kind) {
        case SEG_KEY:
            sd_buf_putc(&b, '.');
            if (key_is_identifier(s->key, s->key_len))
                sd_buf_append(&b, s->key, s->key_len);
            else
                sd_buf_json_string(&b, s->key ? s->key : "", s->key_len);
            break;
        case SEG_INDEX: sd_buf_printf(&b, "[%u]", (unsigned)s->index); break;
        case SEG_STAR: sd_buf_puts(&b, "[*]"); break;
        }
    }
    if (b.oom) {
        sd_buf_free(&b);
        return NULL;
    }
    return sd_buf_steal(&b);
}

bool sd_path_equal(const sd_path *a, const sd_path *b) {
    if (a->nsegs != b->nsegs || a->common != b->common) return false;
    for (uint32_t i = 0; i < a->nsegs; i++) {
        const path_seg *x = &a->segs[i], *y = &b->segs[i];
        if (x->kind != y->kind) return false;
        if (x->kind == SEG_KEY && (x->key_len != y->key_len || (x->key_len && memcmp(x->key, y->key, x->key_len) != 0)))
            return false;
        if (x->kind == SEG_INDEX && x->index != y->index) return false;
    }
    return true;
}
