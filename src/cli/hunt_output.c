/*
 * hunt_output.c — what `secdet hunt` prints: a timeline (a table on a
 * terminal, JSON lines otherwise) sorted by event time, or with --count-by
 * a histogram, most frequent first.
 *
 * A CONDITION's row is the event's time and the cells its output template
 * rendered (hunt.h); its JSON line carries them by name with the event
 * itself. With --rules a row is an alert (scan's text line, or the alert's
 * JSON). Event fields come from attackers: the table writes them through
 * term_write_safe, and JSON is re-encoded by cJSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cli/hunt.h"
#include "util/buf.h"

#define CELL_MAX 48 /* a table cell's width at most: a long ARN must not push the rest off the screen */

static void format_time(char *out, size_t len, int64_t ns) {
    int64_t secs = ns / 1000000000;
    if (ns < 0 && ns % 1000000000 != 0) secs--;
    time_t t = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm)) snprintf(out, len, "-");
}

static void hold(hunt_ctx *h, int64_t t, char *text) {
    if (!text) {
        h->oom = 1;
        return;
    }
    if (h->nrows == h->caprows) {
        size_t cap = h->caprows ? h->caprows * 2 : 256;
        hunt_row *v = realloc(h->rows, cap * sizeof *v);
        if (!v) {
            free(text);
            h->oom = 1;
            return;
        }
        h->rows = v;
        h->caprows = cap;
    }
    h->rows[h->nrows] = (hunt_row){t, h->nrows, text};
    h->nrows++;
}

static uint64_t hash(const char *s) {
    uint64_t x = 1469598103934665603ull;
    for (; *s; s++) x = (x ^ (unsigned char)*s) * 1099511628211ull;
    return x;
}

static void count(hunt_ctx *h, const char *key) {
    if (h->ncounts * 2 >= h->capcounts) {
        size_t cap = h->capcounts ? h->capcounts * 2 : 64;
        hunt_count *v = calloc(cap, sizeof *v);
        if (!v) {
            h->oom = 1;
            return;
        }
        for (size_t i = 0; i < h->capcounts; i++) {
            if (!h->counts[i].key) continue;
            size_t j = hash(h->counts[i].key) & (cap - 1);
            while (v[j].key) j = (j + 1) & (cap - 1);
            v[j] = h->counts[i];
        }
        free(h->counts);
        h->counts = v;
        h->capcounts = cap;
    }
    size_t j = hash(key) & (h->capcounts - 1);
    while (h->counts[j].key && strcmp(h->counts[j].key, key) != 0) j = (j + 1) & (h->capcounts - 1);
    if (!h->counts[j].key) {
        h->counts[j].key = strdup(key);
        if (!h->counts[j].key) {
            h->oom = 1;
            return;
        }
        h->ncounts++;
    }
    h->counts[j].n++;
}

/* The rendered cells of a CONDITION's match, each summary cell reduced to
 * the first of its candidates an event has ("-" when none). */
static void cells_of(const secdet_alert *a, buf *out) {
    const char *msg = secdet_alert_message(a);
    size_t len = msg ? secdet_alert_message_len(a) : 0;
    for (size_t i = 0; i < len;) {
        const char *end = memchr(msg + i, HUNT_SEP, len - i);
        size_t n = end ? (size_t)(end - (msg + i)) : len - i;
        const char *cell = msg + i, *alt = memchr(cell, HUNT_ALT, n);
        if (!alt) {
            sd_buf_append(out, cell, n);
        } else {
            const char *pick = "-";
            size_t pn = 1;
            for (const char *c = cell; c < cell + n;) {
                const char *e = memchr(c, HUNT_ALT, (size_t)(cell + n - c));
                size_t cn = e ? (size_t)(e - c) : (size_t)(cell + n - c);
                if (!(cn == 1 && c[0] == '-')) {
                    pick = c;
                    pn = cn;
                    break;
                }
                c += cn + 1;
            }
            sd_buf_append(out, pick, pn);
        }
        i += n + 1;
        if (end) sd_buf_putc(out, HUNT_SEP);
    }
}

/* A CONDITION's match as a JSON line: time, type, the fields, the event. */
static char *json_row(const hunt_ctx *h, const secdet_alert *a, const char *when) {
    size_t len = 0;
    const char *aj = secdet_alert_json(a, &len);
    cJSON *alert = aj ? cJSON_ParseWithLength(aj, len) : NULL;
    cJSON *row = cJSON_CreateObject();
    char *out = NULL;
    if (alert && row) {
        cJSON_AddStringToObject(row, "time", when);
        buf cells;
        sd_buf_init(&cells);
        cells_of(a, &cells);
        const char *msg = cells.data ? cells.data : "";
        size_t mlen = cells.len;
        const char *p = msg;
        for (size_t i = 0; i < h->fields.count; i++) {
            const char *end = memchr(p, HUNT_SEP, (size_t)(msg + mlen - p));
            size_t n = end ? (size_t)(end - p) : (size_t)(msg + mlen - p);
            const char *name = h->fields.items[i];
            char *cell = strndup(p, n);
            const char *key = name[0] == '@' ? name + 1 : name;
            /* A field named like the row's own "time" (--fields @time) takes
             * its place, with the event's own precision: one key, once. */
            cJSON_DeleteItemFromObjectCaseSensitive(row, key);
            if (cell && strcmp(cell, "-") != 0)
                cJSON_AddStringToObject(row, key, cell);
            else
                cJSON_AddNullToObject(row, key);
            free(cell);
            p = end ? end + 1 : msg + mlen;
        }
        sd_buf_free(&cells);
        cJSON *events = cJSON_GetObjectItemCaseSensitive(alert, "events");
        cJSON *ev = cJSON_IsArray(events) ? cJSON_DetachItemFromArray(events, cJSON_GetArraySize(events) - 1) : NULL;
        if (ev) cJSON_AddItemToObject(row, "event", ev);
        out = cJSON_PrintUnformatted(row);
    }
    cJSON_Delete(alert);
    cJSON_Delete(row);
    return out;
}

void hunt_on_alert(void *user, const secdet_alert *a) {
    hunt_ctx *h = user;
    int64_t t = secdet_alert_time_ns(a);
    if (t < h->since || t > h->until) return;
    h->sc.alerts++;
    char when[40];
    format_time(when, sizeof when, t);
    if (h->count_by) {
        if (h->count_by_time) {
            when[h->count_by_time] = 0;
            count(h, when);
        } else {
            const char *m = secdet_alert_message(a);
            count(h, m ? m : "-");
        }
        return;
    }
    if (h->condition && !h->table) {
        hold(h, t, json_row(h, a, when));
        return;
    }
    if (!h->table) {
        size_t len = 0;
        const char *j = secdet_alert_json(a, &len);
        hold(h, t, j ? strndup(j, len) : NULL);
        return;
    }
    buf b;
    sd_buf_init(&b);
    sd_buf_puts(&b, when);
    if (h->condition) {
        sd_buf_putc(&b, HUNT_SEP);
        cells_of(a, &b);
    } else {
        const char *rule = secdet_alert_rule(a), *msg = secdet_alert_message(a);
        sd_buf_printf(&b, "%c%s%c%s%c", HUNT_SEP, rule ? rule : "-", HUNT_SEP,
                      secdet_severity_name(secdet_alert_severity(a)), HUNT_SEP);
        sd_buf_append(&b, msg, msg ? secdet_alert_message_len(a) : 0);
    }
    hold(h, t, b.oom ? (sd_buf_free(&b), NULL) : sd_buf_steal(&b));
}

static int by_time(const void *x, const void *y) {
    const hunt_row *a = x, *b = y;
    if (a->t != b->t) return a->t < b->t ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int by_count(const void *x, const void *y) {
    const hunt_count *a = x, *b = y;
    if (a->n != b->n) return a->n > b->n ? -1 : 1;
    return strcmp(a->key, b->key);
}

/* Display width of a cell: code points, capped. */
static size_t cell_width(const char *s, size_t n) {
    size_t w = 0;
    for (size_t i = 0; i < n; i++) w += ((unsigned char)s[i] & 0xc0) != 0x80;
    return w > CELL_MAX ? CELL_MAX : w;
}

static void put_cell(const char *s, size_t n, size_t width, int last) {
    size_t w = 0, i = 0;
    for (; i < n; i++) {
        if (((unsigned char)s[i] & 0xc0) != 0x80) {
            if (w == CELL_MAX - 1 && cell_width(s, n) >= CELL_MAX && !last) break;
            w++;
        }
    }
    term_write_safe_n(stdout, s, i);
    if (i < n) {
        fputs("…", stdout);
        w++;
    }
    if (!last)
        for (; w < width + 2; w++) putc(' ', stdout);
}

static void print_table(hunt_ctx *h) {
    size_t ncols = h->condition ? 1 + h->fields.count : 4;
    size_t *width = calloc(ncols, sizeof *width);
    if (!width) return;
    const char *rule_heads[] = {"time", "rule", "severity", "message"};
    for (size_t c = 0; c < ncols; c++) {
        const char *head = h->condition ? (c == 0 ? "time" : h->fields.items[c - 1]) : rule_heads[c];
        width[c] = cell_width(head + (head[0] == '@'), strlen(head) - (head[0] == '@'));
    }
    for (size_t r = 0; r < h->nrows; r++) {
        const char *p = h->rows[r].text;
        for (size_t c = 0; c < ncols && p; c++) {
            const char *end = strchr(p, HUNT_SEP);
            size_t n = end ? (size_t)(end - p) : strlen(p);
            size_t w = cell_width(p, n);
            if (w > width[c]) width[c] = w;
            p = end ? end + 1 : NULL;
        }
    }
    for (size_t c = 0; c < ncols; c++) {
        const char *head = h->condition ? (c == 0 ? "time" : h->fields.items[c - 1]) : rule_heads[c];
        if (head[0] == '@') head++;
        put_cell(head, strlen(head), width[c], c + 1 == ncols);
    }
    putc('\n', stdout);
    for (size_t r = 0; r < h->nrows; r++) {
        const char *p = h->rows[r].text;
        for (size_t c = 0; c < ncols; c++) {
            const char *end = p ? strchr(p, HUNT_SEP) : NULL;
            size_t n = p ? (end ? (size_t)(end - p) : strlen(p)) : 0;
            put_cell(p ? p : "", n, width[c], c + 1 == ncols);
            p = p && end ? end + 1 : NULL;
        }
        putc('\n', stdout);
    }
    free(width);
}

void hunt_print(hunt_ctx *h) {
    if (h->count_by) {
        hunt_count *v = malloc((h->ncounts ? h->ncounts : 1) * sizeof *v);
        if (!v) return;
        size_t n = 0;
        for (size_t i = 0; i < h->capcounts; i++)
            if (h->counts[i].key) v[n++] = h->counts[i];
        qsort(v, n, sizeof *v, by_count);
        for (size_t i = 0; i < n; i++) {
            if (h->table) {
                printf("%10llu  ", v[i].n);
                term_write_safe(stdout, v[i].key);
                putc('\n', stdout);
            } else {
                buf b;
                sd_buf_init(&b);
                sd_buf_puts(&b, "{\"value\":");
                sd_buf_json_string(&b, v[i].key, strlen(v[i].key));
                sd_buf_printf(&b, ",\"count\":%llu}\n", v[i].n);
                if (b.data) fputs(b.data, stdout);
                sd_buf_free(&b);
            }
        }
        free(v);
        return;
    }
    if (h->nrows) qsort(h->rows, h->nrows, sizeof *h->rows, by_time);
    if (h->table) {
        print_table(h);
        return;
    }
    for (size_t r = 0; r < h->nrows; r++) {
        fputs(h->rows[r].text, stdout);
        putc('\n', stdout);
    }
}

void hunt_free_rows(hunt_ctx *h) {
    for (size_t i = 0; i < h->nrows; i++) free(h->rows[i].text);
    free(h->rows);
    for (size_t i = 0; i < h->capcounts; i++) free(h->counts[i].key);
    free(h->counts);
}
