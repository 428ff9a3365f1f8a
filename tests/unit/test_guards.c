/* test_guards.c — literal guards (lang/compile_guard.c) never change an alert.
 *
 * Through the public API and the scanner, as events really arrive: each
 * guarded rule has an unguarded twin — the same condition under `not not`,
 * which the guard reader does not look into — and both must fire on
 * exactly the same events. The cases by name cover each kind of guard
 * (regex, caseless regex, contains, startswith, lower(...) contains, a
 * macro's conjunct) on the values that could fool one: U+212A and U+017F
 * under a caseless regex, JSON escapes, arrays, numbers, missing fields,
 * a literal with capitals under lower(), a literal test under `or`. Then a seeded property check of
 * random regexes against PCRE2 itself. Each part also checks the guards
 * spared rule runs, so it cannot pass with guards that never act.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <pcre2.h>

#include "secdet.h"

#include "test_alerts_util.h"

static secdet_engine *engine_with(const char *rules, collected *c) {
    secdet_engine *e = NULL;
    assert_int_equal(secdet_engine_new(NULL, &e), SECDET_OK);
    secdet_diagnostics *d = NULL;
    secdet_status st = secdet_load_rules_string(e, "test.secdet", rules, strlen(rules), &d);
    if (st != SECDET_OK)
        for (size_t i = 0; i < secdet_diagnostics_count(d); i++) {
            char *s = secdet_diagnostics_format(d, i);
            fprintf(stderr, "%s\n", s);
            secdet_free(s);
        }
    assert_int_equal(st, SECDET_OK);
    secdet_diagnostics_free(d);
    memset(c, 0, sizeof *c);
    assert_int_equal(secdet_set_alert_callback(e, on_alert, c), SECDET_OK);
    assert_int_equal(secdet_source_add(e, "jsonl", &(secdet_source_opts){.format = SECDET_FMT_JSONL}), SECDET_OK);
    return e;
}

/* The messages (event numbers) rule `name` alerted with, joined by spaces. */
static void fired(const collected *c, const char *name, char *out, size_t cap) {
    size_t at = 0;
    out[0] = 0;
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->rule[i], name) == 0 && at < cap) at += (size_t)snprintf(out + at, cap - at, "%s ", c->message[i]);
}

static const char *const KINDS[][2] = {
    {"re", ".ua matches /(kali|sqlmap)[-_ ]/i"},
    {"re_cs", ".ua matches /Kali[-_ ]/"},
    {"contains", ".ua contains \"kali\""},
    {"starts", ".ip startswith \"10.1.\""},
    {"lower", "lower(.ua) contains \"nikto\""},
    {"lower_caps", "lower(.ua) contains \"Nikto\""}, /* never true: lower() has no capitals */
    {"macro", "tool and .n == 1"},
    {"two", ".ua matches /nikto/ and .ip startswith \"10.\""},
    {"or", ".ua contains \"kali\" or .n == 2"}, /* no guard: either side suffices */
};
#define NKINDS (sizeof KINDS / sizeof *KINDS)

static void test_guarded_rules_fire_as_their_unguarded_twins(void **s) {
    (void)s;
    char rules[8192] = "macro tool = .ua contains \"nikto\"\n";
    for (size_t k = 0; k < NKINDS; k++)
        snprintf(rules + strlen(rules), sizeof rules - strlen(rules),
                 "rule g_%s {\n  where %s\n  output \"{.i}\"\n}\nrule u_%s {\n  where not (not (%s))\n  output "
                 "\"{.i}\"\n}\n",
                 KINDS[k][0], KINDS[k][1], KINDS[k][0], KINDS[k][1]);
    static const char *const events[] = {
        "{\"ua\":\"Mozilla kali-linux\",\"ip\":\"10.1.2.3\",\"n\":1}",
        "{\"ua\":\"\\u212Aali-linux\",\"ip\":\"10.1.2.3\"}", /* KELVIN SIGN, escaped */
        "{\"ua\":\"\342\204\252ALI_x\"}",                    /* and as UTF-8 */
        "{\"ua\":\"\xc5\xbfqlmap x\"}",                      /* LONG S */
        "{\"ua\":\"\\u006bali \",\"ip\":\"10.1.\"}",         /* escapes of ASCII */
        "{\"ua\":\"Kali-NIKTO\",\"ip\":\"10.2.0.1\",\"n\":1}",
        "{\"ua\":\"nikto\",\"ip\":\"10.1.0.1\",\"n\":1}",
        "{\"ua\":\"x nikto y\",\"ip\":\"10.9.0.1\",\"n\":2}",
        "{\"ua\":[\"kali-x\",\"nikto\"],\"ip\":[\"10.1.1.1\"],\"n\":1}", /* arrays: no string value */
        "{\"ua\":42,\"ip\":10}",
        "{\"ip\":\"10.1.1.1\"}",
        "{\"ua\":\"\",\"ip\":\"\"}",
        "{\"ua\":\"k\",\"ip\":\"1\"}",
        "{\"ua\":\"aws-cli/2.0 Python/3.8\",\"ip\":\"192.0.2.1\"}",
        "{\"ua\":\"NIKTO\\/2 kal\\u0069_\",\"ip\":\"10.1.9.9\",\"n\":1}",
    };
    size_t nev = sizeof events / sizeof *events;
    collected c;
    secdet_engine *e = engine_with(rules, &c);
    char line[512];
    for (size_t i = 0; i < nev; i++) {
        /* the event's number goes in as "i" */
        snprintf(line, sizeof line, "{\"i\":%zu,%s\n", i, events[i] + 1);
        assert_int_equal(secdet_push(e, "jsonl", line, strlen(line)), SECDET_OK);
    }
    size_t total = 0;
    for (size_t k = 0; k < NKINDS; k++) {
        char g[1024], u[1024], name[64];
        snprintf(name, sizeof name, "g_%s", KINDS[k][0]);
        fired(&c, name, g, sizeof g);
        snprintf(name, sizeof name, "u_%s", KINDS[k][0]);
        fired(&c, name, u, sizeof u);
        if (strcmp(g, u) != 0) fail_msg("%s: guarded fired on [%s], unguarded on [%s]", KINDS[k][1], g, u);
        total += strlen(g);
    }
    assert_true(total > 0);
    secdet_stats st;
    secdet_stats_get(e, &st);
    assert_true(st.rules_run < nev * NKINDS * 2); /* the guards spared some runs */
    collected_free(&c);
    secdet_engine_free(e);
}

/* ---- random regexes against PCRE2 ---- */

static uint64_t rng = 0x2545F4914F6CDD1Du;
static uint32_t next_rand(uint32_t n) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static void gen_pattern(char *out, size_t cap, int depth) {
    static const char *const atoms[] = {"k",        "K", "s", "a",    "ka",  "sk", "ab", "\xe2\x84\xaa",
                                        "\xc5\xbf", "-", ".", "[ab]", "\\w", "^",  "$"};
    static const char *const quant[] = {"", "", "", "?", "*", "+", "{2}"};
    uint32_t n = 1 + next_rand(4);
    for (uint32_t i = 0; i < n; i++) {
        if (depth < 2 && next_rand(5) == 0) {
            strncat(out, "(", cap - strlen(out) - 1);
            gen_pattern(out, cap, depth + 1);
            if (next_rand(2)) {
                strncat(out, "|", cap - strlen(out) - 1);
                gen_pattern(out, cap, depth + 1);
            }
            strncat(out, ")", cap - strlen(out) - 1);
        } else {
            strncat(out, atoms[next_rand(sizeof atoms / sizeof *atoms)], cap - strlen(out) - 1);
        }
        strncat(out, quant[next_rand(sizeof quant / sizeof *quant)], cap - strlen(out) - 1);
    }
}

static void test_guarded_regex_rules_agree_with_pcre2(void **s) {
    (void)s;
    static const char *const letters[] = {"k",        "K", "s", "S", "a", "b", "ka", "SK", "ab", "\xe2\x84\xaa",
                                          "\xc5\xbf", "-", "."};
    uint64_t runs = 0, events = 0, rules_total = 0;
    for (int round = 0; round < 120; round++) {
        char pat[256] = "";
        gen_pattern(pat, sizeof pat, 0);
        const char *flags = next_rand(2) ? "i" : "";
        int err;
        PCRE2_SIZE off;
        pcre2_code *re =
            pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
                          PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | (*flags ? PCRE2_CASELESS : 0), &err, &off, NULL);
        if (!re) continue;
        char rules[1024];
        snprintf(rules, sizeof rules, "rule g {\n  where .s matches /%s/%s\n  output \"{.i}\"\n}\n", pat, flags);
        collected c;
        secdet_engine *e = engine_with(rules, &c);
        pcre2_match_data *md = pcre2_match_data_create(1, NULL);
        char want[1024] = "", got[1024];
        for (int i = 0; i < 30; i++) {
            char subj[128] = "";
            for (uint32_t k = next_rand(7); k > 0; k--)
                strncat(subj, letters[next_rand(sizeof letters / sizeof *letters)], sizeof subj - strlen(subj) - 1);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "i", i);
            cJSON_AddStringToObject(o, "s", subj);
            char *text = cJSON_PrintUnformatted(o); /* non-ASCII as UTF-8, as written */
            char line[512];
            snprintf(line, sizeof line, "%s\n", text);
            assert_int_equal(secdet_push(e, "jsonl", line, strlen(line)), SECDET_OK);
            cJSON_free(text);
            cJSON_Delete(o);
            if (pcre2_match(re, (PCRE2_SPTR)subj, strlen(subj), 0, 0, md, NULL) >= 0)
                snprintf(want + strlen(want), sizeof want - strlen(want), "%d ", i);
        }
        fired(&c, "g", got, sizeof got);
        if (strcmp(want, got) != 0) fail_msg("/%s/%s: fired on [%s], PCRE2 matches [%s]", pat, flags, got, want);
        secdet_stats st;
        secdet_stats_get(e, &st);
        runs += st.rules_run;
        events += st.events;
        rules_total++;
        pcre2_match_data_free(md);
        pcre2_code_free(re);
        collected_free(&c);
        secdet_engine_free(e);
    }
    assert_true(rules_total > 60);
    assert_true(runs < events * 9 / 10); /* guards spared runs: the check had something to check */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guarded_rules_fire_as_their_unguarded_twins),
        cmocka_unit_test(test_guarded_regex_rules_agree_with_pcre2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
