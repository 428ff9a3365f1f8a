/* format_digest.c — many alerts as one digest message (format.h).
 *
 * The alerts are read once into a flat table (their fields, their group as
 * compact JSON), then sorted by rule — and, within a rule, by group — so
 * counting rules and groups is a sort and a walk, whatever the number of
 * alerts (a digest may hold ten thousand). Rules come out loudest first,
 * then by name, so the same alerts give the same digest. A rule's severity
 * is the highest of its alerts' (severity cases may differ alert by
 * alert); its message is that of its latest alert by event time.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert.h"
#include "event/time.h"
#include "sink/format.h"
#include "util/json.h"
#include "util/limits.h"
#include "util/severity.h"

typedef struct d_alert {
    const char *rule, *title, *message, *id;
    size_t message_len;
    int sev; /* -1 unknown */
    int64_t t;
    char *group; /* compact JSON of the alert's group, owned */
    size_t idx;  /* arrival order */
} d_alert;

typedef struct d_group {
    const char *json;
    uint64_t count;
    size_t first; /* arrival of its first alert */
} d_group;

typedef struct d_rule {
    size_t from, n; /* its alerts: by_rule[from .. from + n) */
    int sev;
    int64_t first, last;
    size_t latest; /* index (into by_rule) of its latest alert */
    d_group *top;
    size_t ntop;
} d_rule;

typedef struct digest {
    cJSON **trees;
    d_alert *a;        /* parsed alerts, arrival order */
    d_alert **by_rule; /* sorted by rule, then arrival */
    size_t n, unreadable;
    d_rule *rules;
    size_t nrules;
    int64_t first, last;
    int sev;
} digest;

static const char *str_of(const cJSON *obj, const char *key, size_t *len) {
    const cJSON *v = sd_json_member(obj, key);
    if (!cJSON_IsString(v) || !v->valuestring) {
        if (len) *len = 1;
        return "-";
    }
    if (len) *len = sd_json_string_len(v);
    return v->valuestring;
}

static int cmp_rule(const void *pa, const void *pb) {
    const d_alert *a = *(d_alert *const *)pa, *b = *(d_alert *const *)pb;
    int c = strcmp(a->rule, b->rule);
    return c ? c : (a->idx > b->idx) - (a->idx < b->idx);
}

static int cmp_group(const void *pa, const void *pb) {
    const d_alert *a = *(d_alert *const *)pa, *b = *(d_alert *const *)pb;
    int c = strcmp(a->group, b->group);
    return c ? c : (a->idx > b->idx) - (a->idx < b->idx);
}

static int cmp_top(const void *pa, const void *pb) {
    const d_group *a = pa, *b = pb;
    if (a->count != b->count) return a->count > b->count ? -1 : 1;
    return (a->first > b->first) - (a->first < b->first);
}

static int cmp_loudest(const void *pa, const void *pb, const digest *d) {
    const d_rule *a = pa, *b = pb;
    if (a->n != b->n) return a->n > b->n ? -1 : 1;
    return strcmp(d->by_rule[a->from]->rule, d->by_rule[b->from]->rule);
}

static void digest_free(digest *d) {
    for (size_t i = 0; i < d->n; i++) free(d->a[i].group);
    for (size_t i = 0; d->trees && i < d->n + d->unreadable; i++) cJSON_Delete(d->trees[i]);
    for (size_t i = 0; d->rules && i < d->nrules; i++) free(d->rules[i].top);
    free(d->trees);
    free(d->a);
    free(d->by_rule);
    free(d->rules);
}

/* One alert's fields into a (its tree kept in d->trees). false on OOM. */
static bool read_alert(digest *d, const char *json, size_t len, size_t idx) {
    cJSON *root = json ? sd_json_parse(json, len, 0, NULL) : NULL;
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        d->unreadable++;
        return true;
    }
    d->trees[d->n + d->unreadable] = root;
    d_alert *a = &d->a[d->n];
    a->idx = idx;
    a->rule = str_of(root, "rule", NULL);
    a->title = str_of(root, "title", NULL);
    a->id = str_of(root, "id", NULL);
    a->message = str_of(root, "message", &a->message_len);
    secdet_severity level;
    a->sev = sd_severity_parse(str_of(root, "severity", NULL), false, &level) ? (int)level : -1;
    size_t tlen;
    const char *t = str_of(root, "time", &tlen);
    if (!sd_time_parse_rfc3339(t, tlen, &a->t)) a->t = 0;
    buf g;
    sd_buf_init(&g);
    const cJSON *group = sd_json_member(root, "group");
    if (group)
        sd_alert_json_write(&g, group);
    else
        sd_buf_puts(&g, "{}");
    if (g.oom) return false;
    a->group = sd_buf_steal(&g);
    d->n++;
    return true;
}

/* The top groups of rule r (its alerts sorted by group in tmp). */
static bool top_groups(digest *d, d_rule *r, size_t k, d_alert **tmp) {
    memcpy(tmp, d->by_rule + r->from, r->n * sizeof *tmp);
    qsort(tmp, r->n, sizeof *tmp, cmp_group);
    d_group *all = malloc(r->n * sizeof *all);
    if (!all) return false;
    size_t ng = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (ng && strcmp(all[ng - 1].json, tmp[i]->group) == 0) {
            all[ng - 1].count++;
        } else {
            all[ng++] = (d_group){tmp[i]->group, 1, tmp[i]->idx};
        }
    }
    qsort(all, ng, sizeof *all, cmp_top);
    r->top = all;
    r->ntop = ng < k ? ng : k;
    return true;
}

/* Insertion sort of the rules, loudest first (few rules; no qsort_r in C11). */
static void sort_rules(digest *d) {
    for (size_t i = 1; i < d->nrules; i++) {
        d_rule x = d->rules[i];
        size_t j = i;
        while (j > 0 && cmp_loudest(&x, &d->rules[j - 1], d) < 0) {
            d->rules[j] = d->rules[j - 1];
            j--;
        }
        d->rules[j] = x;
    }
}

static bool summarise(digest *d, const char *const *alerts, const size_t *lens, size_t n, size_t k) {
    memset(d, 0, sizeof *d);
    d->sev = -1;
    d->trees = calloc(n ? n : 1, sizeof *d->trees);
    d->a = calloc(n ? n : 1, sizeof *d->a);
    d->by_rule = calloc(n ? n : 1, sizeof *d->by_rule);
    d->rules = calloc(n ? n : 1, sizeof *d->rules);
    d_alert **tmp = calloc(n ? n : 1, sizeof *tmp);
    bool ok = d->trees && d->a && d->by_rule && d->rules && tmp;
    for (size_t i = 0; ok && i < n; i++) ok = read_alert(d, alerts[i], lens[i], i);
    for (size_t i = 0; ok && i < d->n; i++) d->by_rule[i] = &d->a[i];
    if (ok) qsort(d->by_rule, d->n, sizeof *d->by_rule, cmp_rule);
    for (size_t i = 0; ok && i < d->n; i++) {
        const d_alert *a = d->by_rule[i];
        if (!d->nrules || strcmp(d->by_rule[d->rules[d->nrules - 1].from]->rule, a->rule) != 0)
            d->rules[d->nrules++] = (d_rule){.from = i, .sev = -1, .first = a->t, .last = a->t, .latest = i};
        d_rule *r = &d->rules[d->nrules - 1];
        r->n++;
        if (a->sev > r->sev) r->sev = a->sev;
        if (a->t < r->first) r->first = a->t;
        if (a->t >= r->last) {
            r->last = a->t;
            r->latest = i;
        }
        if (a->sev > d->sev) d->sev = a->sev;
        if (i == 0 || a->t < d->first) d->first = a->t;
        if (i == 0 || a->t > d->last) d->last = a->t;
    }
    for (size_t i = 0; ok && i < d->nrules; i++) ok = top_groups(d, &d->rules[i], k, tmp);
    if (ok) sort_rules(d);
    free(tmp);
    return ok;
}

static void put_time(buf *b, int64_t ns) {
    char t[40];
    sd_buf_append(b, t, sd_time_format_rfc3339(ns, t));
}

static void put_qtime(buf *b, int64_t ns) {
    sd_buf_putc(b, '"');
    put_time(b, ns);
    sd_buf_putc(b, '"');
}

static void put_str(buf *b, const char *s) { sd_buf_json_string(b, s, strlen(s)); }

static const char *sev_name(int sev) { return sev < 0 ? "-" : sd_severity_name((secdet_severity)sev); }

static size_t top_k(const digest_fmt_opts *o) { return o && o->top_groups ? o->top_groups : 3; }

static int finish(buf *out, size_t start, digest *d, bool ok) {
    digest_free(d);
    if (ok && !out->oom) return 0;
    out->len = start;
    if (out->data) out->data[start] = 0;
    return -1;
}

int sd_digest_format_json(buf *out, const char *const *alerts, const size_t *lens, size_t n, const digest_fmt_opts *o) {
    size_t start = out->len;
    digest d;
    if (!summarise(&d, alerts, lens, n, top_k(o))) return finish(out, start, &d, false);
    sd_buf_puts(out, "{\"type\":\"digest\",\"sink\":");
    put_str(out, o && o->sink ? o->sink : "");
    sd_buf_printf(out, ",\"alerts\":%zu,\"rules\":%zu", d.n, d.nrules);
    if (d.unreadable) sd_buf_printf(out, ",\"unreadable\":%zu", d.unreadable);
    sd_buf_puts(out, ",\"first_seen\":");
    put_qtime(out, d.first);
    sd_buf_puts(out, ",\"last_seen\":");
    put_qtime(out, d.last);
    sd_buf_puts(out, ",\"by_rule\":[");
    for (size_t i = 0; i < d.nrules; i++) {
        const d_rule *r = &d.rules[i];
        const d_alert *latest = d.by_rule[r->latest];
        sd_buf_puts(out, i ? ",{\"rule\":" : "{\"rule\":");
        put_str(out, latest->rule);
        sd_buf_puts(out, ",\"title\":");
        put_str(out, latest->title);
        sd_buf_puts(out, ",\"severity\":");
        put_str(out, sev_name(r->sev));
        sd_buf_printf(out, ",\"count\":%zu,\"first_seen\":", r->n);
        put_qtime(out, r->first);
        sd_buf_puts(out, ",\"last_seen\":");
        put_qtime(out, r->last);
        sd_buf_puts(out, ",\"message\":");
        sd_buf_json_string(out, latest->message, latest->message_len);
        sd_buf_puts(out, ",\"top_groups\":[");
        for (size_t g = 0; g < r->ntop; g++)
            sd_buf_printf(out, "%s{\"group\":%s,\"count\":%llu}", g ? "," : "", r->top[g].json,
                          (unsigned long long)r->top[g].count);
        sd_buf_puts(out, "],\"ids\":[");
        for (size_t k = 0; k < r->n; k++) {
            if (k) sd_buf_putc(out, ',');
            put_str(out, d.by_rule[r->from + k]->id);
        }
        sd_buf_puts(out, "]}");
    }
    sd_buf_puts(out, "]}");
    return finish(out, start, &d, true);
}

/* ---- Slack ------------------------------------------------------------------------ */

/* Appends raw text escaped, at most limit units, into t. */
static void mrk(buf *t, const char *s, size_t n, size_t limit) { sd_slack_mrkdwn(t, s, n, limit); }

static void put_span_text(buf *t, int64_t first, int64_t last) {
    put_time(t, first);
    if (last != first) {
        sd_buf_puts(t, " – ");
        put_time(t, last);
    }
}

/* One rule's section text (raw mrkdwn, escaped where it holds alert data). */
static void rule_text(buf *t, const digest *d, const d_rule *r) {
    const d_alert *latest = d->by_rule[r->latest];
    sd_buf_puts(t, "*");
    mrk(t, latest->title, strlen(latest->title), LIMIT_SLACK_HEADER);
    sd_buf_puts(t, "*  `");
    mrk(t, latest->rule, strlen(latest->rule), 200);
    sd_buf_printf(t, "`  %s\n*%zu* alert%s, ", sev_name(r->sev), r->n, r->n == 1 ? "" : "s");
    put_span_text(t, r->first, r->last);
    sd_buf_puts(t, "\n");
    mrk(t, latest->message, latest->message_len, 500);
    for (size_t g = 0; g < r->ntop; g++) {
        sd_buf_puts(t, g ? ", `" : "\nTop groups: `");
        mrk(t, r->top[g].json, strlen(r->top[g].json), 300);
        sd_buf_printf(t, "` ×%llu", (unsigned long long)r->top[g].count);
    }
}

static void put_mrkdwn_block(buf *out, const char *type, const buf *t) {
    sd_buf_printf(out, ",{\"type\":\"%s\",", type);
    sd_buf_puts(out, strcmp(type, "context") == 0 ? "\"elements\":[{\"type\":\"mrkdwn\",\"text\":"
                                                  : "\"text\":{\"type\":\"mrkdwn\",\"text\":");
    sd_buf_json_string(out, t->data ? t->data : "", t->len);
    sd_buf_puts(out, strcmp(type, "context") == 0 ? "}]}" : "}}");
}

static void put_option(buf *out, const char *key, const char *value) {
    if (!value) return;
    sd_buf_printf(out, ",\"%s\":", key);
    put_str(out, value);
}

int sd_digest_format_slack(buf *out, const char *const *alerts, const size_t *lens, size_t n,
                           const digest_fmt_opts *o) {
    size_t start = out->len;
    digest d;
    if (!summarise(&d, alerts, lens, n, top_k(o))) return finish(out, start, &d, false);
    size_t max_rules = o && o->max_rules ? o->max_rules : 20;
    buf t;
    sd_buf_init(&t);
    sd_buf_printf(&t, "secdet digest: %zu alert%s, %zu rule%s", d.n, d.n == 1 ? "" : "s", d.nrules,
                  d.nrules == 1 ? "" : "s");
    sd_buf_puts(out, "{\"text\":");
    sd_buf_json_string(out, t.data, t.len);
    if (o) {
        put_option(out, "username", o->username);
        put_option(out, "icon_emoji", o->icon_emoji);
        put_option(out, "channel", o->channel);
    }
    sd_buf_printf(out, ",\"attachments\":[{\"color\":\"%s\",\"blocks\":[", sd_slack_color(sev_name(d.sev)));
    sd_buf_puts(out, "{\"type\":\"header\",\"text\":{\"type\":\"plain_text\",\"text\":");
    sd_buf_json_string(out, t.data, t.len);
    sd_buf_puts(out, "}}");
    sd_buf_reset(&t);
    sd_buf_puts(&t, "event time ");
    put_span_text(&t, d.first, d.last);
    if (o && o->sink) {
        sd_buf_puts(&t, " · sink ");
        mrk(&t, o->sink, strlen(o->sink), 100);
    }
    if (d.unreadable) sd_buf_printf(&t, " · %zu unreadable", d.unreadable);
    put_mrkdwn_block(out, "context", &t);
    for (size_t i = 0; i < d.nrules && i < max_rules; i++) {
        sd_buf_reset(&t);
        rule_text(&t, &d, &d.rules[i]);
        put_mrkdwn_block(out, "section", &t);
    }
    if (d.nrules > max_rules) {
        size_t rest = 0;
        for (size_t i = max_rules; i < d.nrules; i++) rest += d.rules[i].n;
        sd_buf_reset(&t);
        sd_buf_printf(&t, "and %zu more rule%s (%zu alert%s)", d.nrules - max_rules,
                      d.nrules - max_rules == 1 ? "" : "s", rest, rest == 1 ? "" : "s");
        put_mrkdwn_block(out, "context", &t);
    }
    sd_buf_puts(out, "]}]}");
    bool ok = !t.oom;
    sd_buf_free(&t);
    return finish(out, start, &d, ok);
}
