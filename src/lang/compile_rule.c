/* compile_rule.c — a rule's metadata and output template.
 *
 * Meta values become compact JSON text once, here, so building an alert
 * only copies bytes. The template is split into literal text and
 * substitutions at load time; a lone brace or an unknown substitution is a
 * compile error pointing into the template.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/compile_int.h"
#include "util/buf.h"
#include "util/severity.h"

static void lit_json(buf *b, const ast_lit *l, int depth) {
    switch (l->kind) {
    case LIT_NULL: sd_buf_puts(b, "null"); break;
    case LIT_BOOL: sd_buf_puts(b, l->b ? "true" : "false"); break;
    case LIT_NUM:
    case LIT_DURATION:
        if (isfinite(l->num) && l->num == (double)(long long)l->num && fabs(l->num) < 1e15)
            sd_buf_printf(b, "%lld", (long long)l->num);
        else
            sd_buf_printf(b, "%.17g", l->num);
        break;
    case LIT_STR:
    case LIT_IDENT: sd_buf_json_string(b, l->str, l->len); break;
    case LIT_REGEX: {
        buf tmp;
        sd_buf_init(&tmp);
        sd_buf_printf(&tmp, "/%s/%s", l->str, l->flags);
        sd_buf_json_string(b, tmp.data, tmp.len);
        sd_buf_free(&tmp);
        break;
    }
    case LIT_LIST:
        sd_buf_putc(b, '[');
        for (size_t i = 0; i < l->nitems && depth < 32; i++) {
            if (i) sd_buf_putc(b, ',');
            lit_json(b, &l->items[i], depth + 1);
        }
        sd_buf_putc(b, ']');
        break;
    }
}

/* The checker refused any other name; medium is the default. */
static secdet_severity parse_severity(const char *s) {
    secdet_severity sev = SECDET_SEVERITY_MEDIUM;
    (void)sd_severity_parse(s, false, &sev);
    return sev;
}

void sd_compile_rule_meta(compiler *c, const ast_rule *r, vm_rule *out) {
    out->sev = SECDET_SEVERITY_MEDIUM;
    if (r->nmeta) {
        out->meta = calloc(r->nmeta, sizeof *out->meta);
        if (!out->meta) {
            c->oom = true;
            return;
        }
    }
    for (size_t i = 0; i < r->nmeta; i++) {
        const ast_meta *m = &r->meta[i];
        buf b;
        sd_buf_init(&b);
        lit_json(&b, &m->value, 0);
        if (b.oom) c->oom = true;
        out->meta[out->nmeta].key = strdup(m->key);
        out->meta[out->nmeta].json = sd_buf_steal(&b);
        out->nmeta++;
        if (strcmp(m->key, "title") == 0 && m->value.kind == LIT_STR) {
            free(out->title);
            out->title = strdup(m->value.str);
        } else if (strcmp(m->key, "severity") == 0 && m->value.str) {
            out->sev = parse_severity(m->value.str);
        } else if (strcmp(m->key, "tags") == 0 && m->value.kind == LIT_LIST && !out->tags) {
            out->tags = calloc(m->value.nitems ? m->value.nitems : 1, sizeof *out->tags);
            for (size_t k = 0; out->tags && k < m->value.nitems; k++)
                if (m->value.items[k].kind == LIT_STR) out->tags[out->ntags++] = strdup(m->value.items[k].str);
        }
    }
    if (!out->title) out->title = strdup(r->name);
    if (!out->title) c->oom = true;
}

/* ---- templates ---------------------------------------------------------- */

static int add_part(compiler *c, vm_rule *out, size_t *cap, tpl_part part) {
    if (out->noutput == *cap) {
        size_t n = *cap ? *cap * 2 : 8;
        tpl_part *p = realloc(out->output, n * sizeof *p);
        if (!p) {
            c->oom = true;
            free(part.text);
            return -1;
        }
        out->output = p;
        *cap = n;
    }
    out->output[out->noutput++] = part;
    return 0;
}

static int add_text(compiler *c, vm_rule *out, size_t *cap, buf *text) {
    if (!text->len) return 0;
    tpl_part part = {.kind = TPL_TEXT, .len = text->len};
    part.text = sd_buf_steal(text);
    return add_part(c, out, cap, part);
}

static const struct {
    const char *name;
    tpl_kind kind;
} tpl_names[] = {{"count", TPL_COUNT},       {"distinct", TPL_DISTINCT}, {"rule", TPL_RULE}, {"title", TPL_TITLE},
                 {"severity", TPL_SEVERITY}, {"group", TPL_GROUP},       {"sum", TPL_SUM}};

void sd_compile_template(compiler *c, const ast_rule *r, vm_rule *out) {
    if (!r->output) return;
    const char *s = r->output;
    size_t n = strlen(s), cap = 0;
    buf text;
    sd_buf_init(&text);
    src_loc at = r->output_loc;
    uint32_t col0 = at.col + 1; /* the first byte inside the quotes */
    for (size_t i = 0; i < n; i++) {
        at.col = col0 + (uint32_t)i;
        if (s[i] == '}') {
            if (i + 1 < n && s[i + 1] == '}') {
                sd_buf_putc(&text, '}');
                i++;
            } else {
                CERR(c, at, "a lone '}' in output: write '}}' for a literal brace");
            }
            continue;
        }
        if (s[i] != '{') {
            sd_buf_putc(&text, s[i]);
            continue;
        }
        if (i + 1 < n && s[i + 1] == '{') {
            sd_buf_putc(&text, '{');
            i++;
            continue;
        }
        const char *close = memchr(s + i + 1, '}', n - i - 1);
        if (!close) {
            CERR(c, at, "a lone '{' in output: write '{{' for a literal brace");
            continue;
        }
        size_t len = (size_t)(close - (s + i + 1));
        const char *name = s + i + 1;
        tpl_part part = {0};
        bool ok = false;
        if (len && (name[0] == '.' || name[0] == '@')) { /* a field path or a common field */
            sd_path path;
            const char *err;
            if (sd_path_parse(name, len, &path, &err) == len) {
                part.kind = TPL_PATH;
                part.path = sd_pool_path(c, &path);
                sd_path_free(&path);
                ok = true;
            } else {
                if (path.segs || path.text) sd_path_free(&path);
                CERR(c, at, "bad field path in output '{%.*s}': %s", (int)len, name,
                     err ? err : "unexpected character");
                i += len + 1;
                continue;
            }
        } else {
            for (size_t k = 0; k < sizeof tpl_names / sizeof tpl_names[0]; k++)
                if (strlen(tpl_names[k].name) == len && memcmp(tpl_names[k].name, name, len) == 0) {
                    part.kind = tpl_names[k].kind;
                    ok = true;
                }
        }
        if (!ok) {
            CERR(c, at,
                 "unknown substitution '{%.*s}' in output: expected {.field.path}, {@ip} (a common field), {count}, "
                 "{distinct}, {sum}, "
                 "{rule}, {title}, {severity} or {group}",
                 (int)len, name);
        } else {
            if (add_text(c, out, &cap, &text)) break;
            if (add_part(c, out, &cap, part)) break;
        }
        i += len + 1;
    }
    add_text(c, out, &cap, &text);
    sd_buf_free(&text);
}
