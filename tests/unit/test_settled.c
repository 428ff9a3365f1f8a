/* test_settled.c — a settled conjunct never changes an answer or a budget.
 *
 * When the dispatch index picks a rule for an event because of the rule's
 * leading conjunct, the VM starts past that conjunct's code and charges its
 * steps (vm_rule.settled, sd_vm_rule_matches_settled). That is sound only if
 * "the index picked the rule" implies "the conjunct holds". Here every rule
 * the index picks for an event is run both ways, from the start and past its
 * settled conjunct, on the events that could tell them apart (arrays, other
 * case, numbers, null, missing fields, escapes, a NUL, nested objects), read
 * as a tree and as text, under every budget up to what the run costs and
 * with part of the budget already spent: the status, the answer and the
 * steps used must be the same. The rules whose conjunct the index did not
 * choose, or whose code is not straight-line, must have no settled entry.
 * Then through the public API, as the engine runs them: each rule beside a
 * twin under `not (not (...))`, which is in no index, must fire on the same
 * events, a tune's exception included.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "event/event.h"
#include "lang/compile.h"
#include "secdet.h"
#include "vm/vm.h"

#include "test_alerts_util.h"

/* name, condition, 1 when its leading conjunct must be settled */
static const struct {
    const char *name, *where;
    int settled;
} RULES[] = {
    {"eq", ".eventName == \"ConsoleLogin\" and not (.k == \"never\")", 1},
    {"eq_rev", "\"ConsoleLogin\" == .eventName and not (.k == \"never\")", 1},
    {"alone", ".eventName == \"ConsoleLogin\"", 1},
    {"in", ".eventName in [\"ConsoleLogin\", \"b\", \"C\"] and not (.k == \"never\")", 1},
    {"in_one", ".eventName in [\"Only\"] and not (.k == \"never\")", 1},
    {"list", ".eventName in names and not (.k == \"never\")", 1},
    {"macro", "is_login and not (.k == \"never\")", 1},
    {"nested", ".req.name == \"x\" and not (.k == \"never\")", 1},
    {"empty", ".eventName == \"\" and not (.k == \"never\")", 1},
    {"num", ".code in [\"1\", \"2\"] and not (.k == \"never\")", 1},
    {"ref", ".eventName == \"ConsoleLogin\" and helper", 1},
    {"deep", "((.eventName == \"ConsoleLogin\" and .k != \"never\") and .eventName != \"b\") or .k == \"x\"", 0},
    {"chain", ".eventName == \"ConsoleLogin\" and .k != \"a\" and .k != \"b\"", 1},
    {"or", "(.eventName == \"ConsoleLogin\" or .eventName == \"b\") and not (.k == \"never\")", 0},
    {"second", ".k == \"y\" and .eventName == \"ConsoleLogin\"", 0},
    {"macro_and", "login_y and .k != \"never\"", 0},
    {"lower", "lower(.eventName) == \"consolelogin\" and .eventName == \"ConsoleLogin\"", 0},
};
#define NRULES (sizeof RULES / sizeof *RULES)

static const char *const EVENTS[] = {
    "{\"eventName\":\"ConsoleLogin\",\"k\":\"y\",\"code\":\"1\",\"req\":{\"name\":\"x\"}}",
    "{\"eventName\":\"consolelogin\",\"k\":\"y\"}",
    "{\"eventName\":\"CONSOLELOGIN\"}",
    "{\"eventName\":\"ConsoleLogin \",\"k\":\"y\"}",
    "{\"eventName\":\"Console\\u004cogin\",\"k\":\"z\"}",
    "{\"eventName\":\"ConsoleLogin\\u0000\"}",
    "{\"eventName\":[\"ConsoleLogin\",\"b\"],\"k\":\"y\"}",
    "{\"eventName\":[\"x\",\"b\"],\"k\":\"y\"}",
    "{\"eventName\":[[\"ConsoleLogin\"]],\"k\":\"y\"}",
    "{\"eventName\":{\"a\":\"ConsoleLogin\"}}",
    "{\"eventName\":1,\"code\":1}",
    "{\"eventName\":null,\"code\":null}",
    "{\"code\":2,\"k\":\"y\"}",
    "{\"code\":[\"2\",2],\"req\":[{\"name\":\"x\"},{\"name\":\"y\"}]}",
    "{\"eventName\":\"\",\"k\":\"\"}",
    "{\"eventName\":\"Only\",\"k\":\"never\"}",
    "{\"eventName\":\"only\"}",
    "{\"eventName\":\"C\",\"k\":\"b\"}",
    "{\"eventName\":\"c\"}",
    "{\"eventName\":\"b\",\"k\":\"x\"}",
    "{\"req\":{\"name\":\"X\"},\"eventName\":\"ConsoleLogin\",\"k\":\"a\"}",
    "{\"req\":{\"name\":[\"x\"]},\"k\":\"y\"}",
    "{}",
};
#define NEVENTS (sizeof EVENTS / sizeof *EVENTS)

static const char PRELUDE[] = "list names = [\"C\", \"ConsoleLogin\", \"Only\"]\n"
                              "macro is_login = .eventName == \"ConsoleLogin\"\n"
                              "macro login_y = .eventName == \"ConsoleLogin\" and .k == \"y\"\n"
                              "rule helper {\n  where .k == \"y\" or .k == \"z\"\n}\n";

/* The ruleset: PRELUDE, then each rule of RULES (on cloudtrail when `on`),
 * and when twins, each one's twin in no index. */
static char *ruleset(bool on, bool twins) {
    size_t cap = 16384, at = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    at += (size_t)snprintf(s, cap, "%s", PRELUDE);
    for (size_t i = 0; i < NRULES; i++) {
        at += (size_t)snprintf(s + at, cap - at, "rule s_%s {\n%s  where %s\n  output \"{.i}\"\n}\n", RULES[i].name,
                               on ? "  on cloudtrail\n" : "", RULES[i].where);
        if (twins)
            at += (size_t)snprintf(s + at, cap - at, "rule u_%s {\n  where not (not (%s))\n  output \"{.i}\"\n}\n",
                                   RULES[i].name, RULES[i].where);
        assert_true(at < cap);
    }
    return s;
}

static program *compile_or_fail(const char *text) {
    diag_list d;
    sd_diag_init(&d);
    compile_input in = {.name = "t.secdet", .text = text, .len = strlen(text)};
    program *p = sd_compile_sources(&in, 1, NULL, &d);
    if (!p) {
        for (size_t i = 0; i < d.count; i++) {
            char line[512];
            sd_diag_format(&d.items[i], line, sizeof line);
            print_error("%s\n", line);
        }
        fail_msg("rules did not compile");
    }
    sd_diag_free(&d);
    return p;
}

static uint32_t rule_named(const program *p, const char *prefix, const char *name) {
    char full[128];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    for (uint32_t i = 0; i < p->nrules; i++)
        if (strcmp(p->rules[i].name, full) == 0) return i;
    fail_msg("no rule %s", full);
    return 0;
}

/* Whether the dispatch index picks rule r for the event: one of the event's
 * string values of an indexed path is filed with r (read slot by slot here,
 * not through the engine's lookup). */
static bool index_picks(const program *p, sd_event *ev, uint32_t r) {
    for (uint32_t i = 0; i < p->nindexes; i++) {
        const path_index *ix = &p->indexes[i];
        const sd_values *vals = sd_event_field(ev, ix->path);
        for (uint32_t k = 0; k < vals->n; k++) {
            const sd_value *v = &vals->v[k];
            if (v->type != SD_STR) continue;
            for (uint32_t s = 0; s < ix->nslots; s++) {
                const index_entry *en = &ix->slots[s];
                if (!en->value || en->len != v->len || memcmp(en->value, v->str, v->len) != 0) continue;
                for (uint32_t j = 0; j < en->nrules; j++)
                    if (en->rules[j] == r) return true;
            }
        }
    }
    return false;
}

typedef struct outcome {
    vm_status st;
    bool matched;
    uint64_t used;
} outcome;

/* Rule r on the event with `budget`, after rule `pre` (UINT32_MAX: none)
 * spent part of it; from the start or past its settled conjunct. */
static outcome run(const program *p, sd_event *ev, uint32_t pre, uint32_t r, uint64_t budget, bool settled) {
    vm_ctx vm;
    assert_int_equal(sd_vm_init(&vm, p, budget), 0);
    sd_vm_begin_event(&vm);
    outcome o = {VM_OK, false, 0};
    bool ignored = false;
    if (pre != UINT32_MAX) o.st = sd_vm_rule_matches(&vm, ev, pre, &ignored);
    if (o.st == VM_OK)
        o.st =
            settled ? sd_vm_rule_matches_settled(&vm, ev, r, &o.matched) : sd_vm_rule_matches(&vm, ev, r, &o.matched);
    o.used = vm.used;
    sd_vm_free(&vm);
    return o;
}

/* Both ways agree on rule r for every budget; returns whether it matched. */
static bool same_both_ways(const program *p, sd_event *ev, uint32_t pre, uint32_t r, const char *what) {
    outcome full = run(p, ev, pre, r, 0, false);
    assert_int_equal(full.st, VM_OK);
    for (uint64_t b = 0; b <= full.used + 1; b++) {
        outcome a = run(p, ev, pre, r, b, false), s = run(p, ev, pre, r, b, true);
        if (a.st != s.st || a.matched != s.matched || a.used != s.used)
            fail_msg("%s, budget %llu: from the start %d/%d/%llu, settled %d/%d/%llu", what, (unsigned long long)b,
                     (int)a.st, a.matched, (unsigned long long)a.used, (int)s.st, s.matched,
                     (unsigned long long)s.used);
    }
    return full.matched;
}

static void test_settled_runs_agree_with_full_runs(void **state) {
    (void)state;
    size_t compared = 0, matched = 0, unpicked_matches = 0;
    for (int on = 0; on < 2; on++) {
        char *text = ruleset(on, false);
        program *p = compile_or_fail(text);
        free(text);
        for (size_t i = 0; i < NRULES; i++) {
            uint32_t r = rule_named(p, "s_", RULES[i].name);
            if ((p->rules[r].settled > 0) != (RULES[i].settled != 0))
                fail_msg("rule %s: settled %u", RULES[i].name, p->rules[r].settled);
        }
        uint32_t cloudtrail = UINT32_MAX;
        for (uint32_t k = 0; k < p->nsources; k++)
            if (strcmp(p->source_names[k], "cloudtrail") == 0) cloudtrail = k;
        for (int textual = 0; textual < 2; textual++)
            for (int src = 0; src < 1 + on; src++)
                for (size_t e = 0; e < NEVENTS; e++) {
                    sd_event ev;
                    assert_int_equal(sd_event_init(&ev, p->paths, p->npaths), 0);
                    cJSON *root = NULL;
                    if (textual) {
                        assert_int_equal(sd_event_scan_setup(&ev, NULL, 0, 1), 0);
                        int rc = sd_event_begin_text(&ev, EVENTS[e], strlen(EVENTS[e]), 64);
                        assert_true(rc == 0 || rc == 1);
                        if (rc == 1) { /* a form the scanner leaves to cJSON */
                            root = cJSON_Parse(EVENTS[e]);
                            assert_non_null(root);
                            sd_event_begin(&ev, root);
                        }
                    } else {
                        root = cJSON_Parse(EVENTS[e]);
                        assert_non_null(root);
                        sd_event_begin(&ev, root);
                    }
                    ev.source = src == 0 && on ? cloudtrail : UINT32_MAX;
                    for (size_t i = 0; i < NRULES; i++) {
                        uint32_t r = rule_named(p, "s_", RULES[i].name);
                        char what[256];
                        snprintf(what, sizeof what, "rule %s on %s", RULES[i].name, EVENTS[e]);
                        if (!index_picks(p, &ev, r)) {
                            /* not picked: it cannot match, or it is in no index */
                            outcome o = run(p, &ev, UINT32_MAX, r, 0, false);
                            unpicked_matches += o.matched;
                            if (o.matched && p->rules[r].settled) fail_msg("%s: matched, not picked", what);
                            continue;
                        }
                        for (uint32_t pre = 0; pre < 2; pre++) {
                            uint32_t before = pre ? rule_named(p, "s_", "chain") : UINT32_MAX;
                            matched += same_both_ways(p, &ev, before, r, what);
                            compared++;
                        }
                    }
                    sd_event_free(&ev);
                    cJSON_Delete(root);
                }
        sd_program_free(p);
    }
    /* Not vacuous: many picks, some matching, some not. */
    assert_true(compared > 200);
    assert_true(matched > 40 && matched < compared);
    (void)unpicked_matches;
}

/* ---- through the public API ---- */

/* The messages (event numbers) rule `name` alerted with, joined by spaces. */
static void fired(const collected *c, const char *name, char *out, size_t cap) {
    size_t at = 0;
    out[0] = 0;
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->rule[i], name) == 0 && at < cap) at += (size_t)snprintf(out + at, cap - at, "%s ", c->message[i]);
}

static void test_settled_rules_fire_as_their_twins(void **state) {
    (void)state;
    char *text = ruleset(false, true);
    size_t len = strlen(text);
    const char tune[] = "tune s_* {\n  except .k == \"z\"\n}\ntune u_* {\n  except .k == \"z\"\n}\n";
    text = realloc(text, len + sizeof tune);
    assert_non_null(text);
    memcpy(text + len, tune, sizeof tune);
    secdet_engine *e = NULL;
    assert_int_equal(secdet_engine_new(NULL, &e), SECDET_OK);
    secdet_diagnostics *d = NULL;
    assert_int_equal(secdet_load_rules_string(e, "test.secdet", text, strlen(text), &d), SECDET_OK);
    secdet_diagnostics_free(d);
    free(text);
    collected c;
    memset(&c, 0, sizeof c);
    assert_int_equal(secdet_set_alert_callback(e, on_alert, &c), SECDET_OK);
    assert_int_equal(secdet_source_add(e, "jsonl", &(secdet_source_opts){.format = SECDET_FMT_JSONL}), SECDET_OK);
    char line[512];
    for (size_t i = 0; i < NEVENTS; i++) {
        /* the event's number goes in as "i" */
        snprintf(line, sizeof line, "{\"i\":%zu%s%s\n", i, strcmp(EVENTS[i], "{}") ? "," : "", EVENTS[i] + 1);
        assert_int_equal(secdet_push(e, "jsonl", line, strlen(line)), SECDET_OK);
    }
    size_t total = 0;
    for (size_t k = 0; k < NRULES; k++) {
        char s[1024], u[1024], name[64];
        snprintf(name, sizeof name, "s_%s", RULES[k].name);
        fired(&c, name, s, sizeof s);
        snprintf(name, sizeof name, "u_%s", RULES[k].name);
        fired(&c, name, u, sizeof u);
        if (strcmp(s, u) != 0) fail_msg("%s: fired on [%s], its twin on [%s]", RULES[k].where, s, u);
        total += strlen(s);
    }
    assert_true(total > 0);
    collected_free(&c);
    secdet_engine_free(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_settled_runs_agree_with_full_runs),
        cmocka_unit_test(test_settled_rules_fire_as_their_twins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
