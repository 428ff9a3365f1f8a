/* test_prefilter.c — a regex's literal prefilter never changes a result.
 *
 * Two parts. The literals read from patterns (lang/regex_lits.c), case by
 * case: what each construct requires, and the constructs that must give up
 * (inline options, \Q..\E, lookarounds, optional parts, alternations with a
 * branch that requires nothing). Then a property check through the whole
 * pipeline (compiler, literal tables, the VM's search and its memory of the
 * event): random patterns over an alphabet built to trip it (ASCII letters
 * whose caseless twins are not ASCII — U+212A KELVIN SIGN for k, U+017F
 * LONG S for s —, alternations, optional groups, classes, anchors) are
 * compiled as rules, several to a program so that they share the memory,
 * and every rule's answer on random subjects is compared with PCRE2's own,
 * asked directly. The check also counts that the prefilter did skip PCRE2,
 * so it cannot pass by never filtering. Deterministic (a fixed seed).
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

#include "event/event.h"
#include "lang/compile.h"
#include "lang/regex_lits.h"
#include "vm/prefilter.h"
#include "vm/vm.h"

/* ---- the literals of a pattern ---- */

/* "a|b|c" as the sorted literal set, or "-" when none. */
static void lits_text(const char *pat, const char *flags, char *out, size_t cap) {
    regex_lits l;
    if (!sd_regex_literals(pat, strlen(pat), flags, &l)) {
        snprintf(out, cap, "-");
        return;
    }
    /* sort for a stable text */
    char items[LIMIT_PREFILTER_LITS][LIMIT_PREFILTER_LIT_LEN + 1];
    for (uint32_t i = 0; i < l.n; i++) {
        memcpy(items[i], l.s[i], l.len[i]);
        items[i][l.len[i]] = 0;
    }
    for (uint32_t i = 1; i < l.n; i++)
        for (uint32_t j = i; j > 0 && strcmp(items[j - 1], items[j]) > 0; j--) {
            char t[LIMIT_PREFILTER_LIT_LEN + 1];
            memcpy(t, items[j], sizeof t);
            memcpy(items[j], items[j - 1], sizeof t);
            memcpy(items[j - 1], t, sizeof t);
        }
    size_t at = 0;
    out[0] = 0;
    for (uint32_t i = 0; i < l.n; i++) at += (size_t)snprintf(out + at, cap - at, "%s%s", i ? "|" : "", items[i]);
}

static void expect(const char *pat, const char *flags, const char *want) {
    char got[1024];
    lits_text(pat, flags, got, sizeof got);
    if (strcmp(got, want) != 0) fail_msg("/%s/%s: literals %s, expected %s", pat, flags, got, want);
}

static void test_literals_required(void **s) {
    (void)s;
    expect("(nikto|scoutsuite|kali)[-_ ]", "i", "kali|nikto|scoutsuite");
    expect("(NIKTO|Kali)", "i", "kali|nikto");
    expect("^(Delete|Stop|Disable)[A-Z]\\w*(Trail|Logging|Detector|Recorder)$", "", "Detector|Logging|Recorder|Trail");
    expect("abc?", "", "ab");
    expect("foo(bar)?baz", "", "foo");
    expect("(abc){0,3}def", "", "def");
    expect("(abc)+x", "", "abc");
    expect("(abc){2}", "", "abc");
    expect("(foo|)bar", "", "bar|foobar");
    expect("(a|b)(c|d)x", "", "acx|adx|bcx|bdx");
    expect("\\.com\\b", "", ".com");
    expect("[(]foo|bar", "", "bar|foo"); /* the ( in the class is no group */
    expect("[]|]foo", "", "foo");        /* nor the | after a leading ] */
    expect("caf\xc3\xa9", "", "caf\xc3\xa9");
    expect("caf\xc3\xa9", "i", "caf"); /* a caseless non-ASCII letter ends the literal */
    expect("ab*cd", "", "cd");
}

static void test_literals_give_up(void **s) {
    (void)s;
    expect("foo|b", "", "-");           /* one branch needs only one byte */
    expect("foo|", "", "-");            /* an empty branch needs nothing */
    expect("(foo)?", "", "-");          /* optional */
    expect("(?i)kali", "", "-");        /* inline options */
    expect("(?=kali)", "", "-");        /* lookaround */
    expect("(?<n>kali)", "", "-");      /* named group: not read */
    expect("\\Qa|b(\\E", "", "-");      /* quoted text */
    expect("\\x41BC", "", "-");         /* escapes not read */
    expect("(kali)\\1", "", "-");       /* back-reference */
    expect("kali", "x", "-");           /* extended: spaces and # are not literal */
    expect("a{,3}kali", "", "-");       /* a brace form not read */
    expect("[[:alpha:]]kali", "", "-"); /* POSIX class */
    expect("(*UTF)kali", "", "-");      /* verbs */
    expect("a.b", "", "-");
}

static void test_literals_optional_tail(void **s) {
    (void)s;
    /* "(foo)*bar?" needs "ba": the star drops foo, the ? only the r. */
    expect("(foo)*bar?x", "", "ba");
}

/* ---- the property: the prefilter never changes an answer ---- */

static uint64_t rng = 0x9E3779B97F4A7C15u;
static uint32_t next_rand(uint32_t n) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static const char *const LETTERS[] = {"k",        "K",        "s", "S", "a", "b", "ka", "sk", "ab", "\xe2\x84\xaa",
                                      "\xc5\xbf", "\xc3\xa9", "-", "."};
#define NLETTERS (sizeof LETTERS / sizeof *LETTERS)

static void gen_alt(char *out, size_t cap, int depth);

static void gen_atom(char *out, size_t cap, int depth) {
    static const char *const plain[] = {
        "k",        "K",        "s",   "S", "a", "b",    "ka",   "kA",  "sk", "SK", "ab", "\xe2\x84\xaa",
        "\xc5\xbf", "\xc3\xa9", "\\.", "-", ".", "[ab]", "[kK]", "\\w", "^",  "$",  "\\b"};
    uint32_t pick = next_rand(depth < 2 ? 10 : 8);
    if (pick >= 8) {
        char inner[256] = "";
        gen_alt(inner, sizeof inner, depth + 1);
        snprintf(out + strlen(out), cap - strlen(out), "%s%s)", next_rand(2) ? "(" : "(?:", inner);
    } else {
        strncat(out, plain[next_rand(sizeof plain / sizeof *plain)], cap - strlen(out) - 1);
    }
    static const char *const quant[] = {"", "", "", "", "?", "*", "+", "{2}", "{1,2}", "{0,1}"};
    strncat(out, quant[next_rand(sizeof quant / sizeof *quant)], cap - strlen(out) - 1);
}

static void gen_concat(char *out, size_t cap, int depth) {
    uint32_t n = next_rand(5);
    for (uint32_t i = 0; i < n; i++) gen_atom(out, cap, depth);
}

static void gen_alt(char *out, size_t cap, int depth) {
    gen_concat(out, cap, depth);
    uint32_t more = next_rand(3) == 0 ? 1 + next_rand(2) : 0;
    for (uint32_t i = 0; i < more; i++) {
        strncat(out, "|", cap - strlen(out) - 1);
        gen_concat(out, cap, depth);
    }
}

static void gen_subject(char *out, size_t cap) {
    out[0] = 0;
    uint32_t n = next_rand(8);
    for (uint32_t i = 0; i < n; i++) strncat(out, LETTERS[next_rand(NLETTERS)], cap - strlen(out) - 1);
}

#define RULES 8

typedef struct prop_counts {
    uint32_t programs, filtered_regexes, answers, skipped;
} prop_counts;

static bool pcre_says(pcre2_code *re, const char *subj) {
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    assert_non_null(md);
    int rc = pcre2_match(re, (PCRE2_SPTR)subj, strlen(subj), 0, 0, md, NULL);
    pcre2_match_data_free(md);
    return rc >= 0;
}

/* One program of RULES random regex rules over .s, 40 random subjects. */
static void one_program(prop_counts *c) {
    char pats[RULES][256];
    const char *flags[RULES];
    pcre2_code *direct[RULES];
    char src[RULES * 320] = "";
    uint32_t n = 0;
    while (n < RULES) {
        pats[n][0] = 0;
        gen_alt(pats[n], sizeof pats[n], 0);
        flags[n] = next_rand(2) ? "i" : "";
        int err;
        PCRE2_SIZE off;
        uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | (flags[n][0] ? PCRE2_CASELESS : 0);
        direct[n] = pcre2_compile((PCRE2_SPTR)pats[n], PCRE2_ZERO_TERMINATED, opts, &err, &off, NULL);
        if (!direct[n]) continue; /* e.g. a quantifier after an anchor */
        snprintf(src + strlen(src), sizeof src - strlen(src), "rule r%u {\n  where .s matches /%s/%s\n}\n", n, pats[n],
                 flags[n]);
        n++;
    }
    compile_input in = {.name = "t.secdet", .text = src, .len = strlen(src)};
    diag_list d;
    sd_diag_init(&d);
    program *p = sd_compile_sources(&in, 1, NULL, &d);
    if (!p) fail_msg("did not compile:\n%s", src);
    sd_diag_free(&d);
    c->programs++;
    for (uint32_t i = 0; i < p->nregexes; i++) c->filtered_regexes += p->regexes[i].nlits > 0;
    sd_event ev;
    vm_ctx vm;
    assert_int_equal(sd_event_init(&ev, p->paths, p->npaths), 0);
    assert_int_equal(sd_vm_init(&vm, p, 0), 0);
    for (int k = 0; k < 40; k++) {
        char subj[128];
        gen_subject(subj, sizeof subj);
        cJSON *root = cJSON_CreateObject();
        assert_non_null(cJSON_AddStringToObject(root, "s", subj));
        sd_event_begin(&ev, root);
        sd_vm_begin_event(&vm);
        sd_value x = {.type = SD_STR, .str = subj, .len = strlen(subj)};
        for (uint32_t r = 0; r < RULES; r++) {
            bool got = false;
            assert_int_equal(sd_vm_rule_matches(&vm, &ev, r, &got), VM_OK);
            bool want = pcre_says(direct[r], subj);
            if (got != want)
                fail_msg("/%s/%s on \"%s\": the rule says %d, PCRE2 %d", pats[r], flags[r], subj, got, want);
            c->answers++;
            /* the regex of rule r is regex r: rules compile in order */
            if (!sd_vm_prefilter(&vm, &ev, &p->regexes[r], &x)) {
                if (want) fail_msg("/%s/%s on \"%s\": skipped, but it matches", pats[r], flags[r], subj);
                c->skipped++;
            }
        }
        cJSON_Delete(root);
    }
    for (uint32_t r = 0; r < RULES; r++) pcre2_code_free(direct[r]);
    sd_vm_free(&vm);
    sd_event_free(&ev);
    sd_program_free(p);
}

static void test_prefilter_never_changes_an_answer(void **s) {
    (void)s;
    prop_counts c = {0};
    for (int i = 0; i < 300; i++) one_program(&c);
    /* The check means something only if the prefilter was at work. */
    assert_true(c.filtered_regexes > c.programs);
    assert_true(c.skipped > c.answers / 20);
}

/* The program of rule text src (which must compile). */
static program *compile_src(const char *src) {
    compile_input in = {.name = "t.secdet", .text = src, .len = strlen(src)};
    diag_list d;
    sd_diag_init(&d);
    program *p = sd_compile_sources(&in, 1, NULL, &d);
    sd_diag_free(&d);
    assert_non_null(p);
    return p;
}

/* The tricky subjects by name: each would be skipped by a prefilter that
 * forgot what PCRE2's caseless UTF matching allows. */
static void test_prefilter_caseless_non_ascii(void **s) {
    (void)s;
    const char *src = "rule r { where .s matches /(kali|sqlmap)[-_ ]/i }\n";
    program *p = compile_src(src);
    assert_int_equal(p->regexes[0].nlits, 2);
    sd_event ev;
    vm_ctx vm;
    assert_int_equal(sd_event_init(&ev, p->paths, p->npaths), 0);
    assert_int_equal(sd_vm_init(&vm, p, 0), 0);
    static const struct {
        const char *json;
        bool match;
    } cases[] = {
        {"{\"s\":\"KALI-linux\"}", true},
        {"{\"s\":\"\\u212Aali-linux\"}", true},  /* KELVIN SIGN, written as an escape */
        {"{\"s\":\"\342\204\252ali_x\"}", true}, /* and as UTF-8 */
        {"{\"s\":\"\xc5\xbfqlmap x\"}", true},   /* LONG S */
        {"{\"s\":\"\\u006bali \"}", true},       /* an escaped ASCII k */
        {"{\"s\":\"curl/7.1\"}", false},
        {"{\"s\":\"k\\u0061li\"}", false}, /* kali, but no separator after it */
        {"{\"s\":\"\xc3\xa9 nothing\"}", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cJSON *root = cJSON_Parse(cases[i].json);
        assert_non_null(root);
        sd_event_begin(&ev, root);
        sd_vm_begin_event(&vm);
        bool got = false;
        assert_int_equal(sd_vm_rule_matches(&vm, &ev, 0, &got), VM_OK);
        if (got != cases[i].match) fail_msg("%s: %d", cases[i].json, got);
        cJSON_Delete(root);
    }
    sd_vm_free(&vm);
    sd_event_free(&ev);
    sd_program_free(p);
}

/* Long subjects go through the vector search (16 bytes at a time, the
 * second bytes read one further): a literal at every offset, across the
 * blocks' edges and at the very end, among bytes that start other literals. */
static void test_prefilter_literal_at_every_offset(void **s) {
    (void)s;
    const char *src = "rule a { where .s matches /(nikto|kali|sqlmap)[-_ ]/i }\n"
                      "rule b { where .s matches /Trail|Logging/ }\n";
    program *p = compile_src(src);
    pcre2_code *direct[2];
    int err;
    PCRE2_SIZE off;
    direct[0] = pcre2_compile((PCRE2_SPTR) "(nikto|kali|sqlmap)[-_ ]", PCRE2_ZERO_TERMINATED,
                              PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_CASELESS, &err, &off, NULL);
    direct[1] = pcre2_compile((PCRE2_SPTR) "Trail|Logging", PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF,
                              &err, &off, NULL);
    assert_non_null(direct[0]);
    assert_non_null(direct[1]);
    sd_event ev;
    vm_ctx vm;
    assert_int_equal(sd_event_init(&ev, p->paths, p->npaths), 0);
    assert_int_equal(sd_vm_init(&vm, p, 0), 0);
    static const char *const lits[] = {"KALI-", "nikto_",  "SqlMap ", "kali",
                                       "Trail", "Logging", "Loggin",  "\342\204\252ali-"};
    static const char filler[] = "ksnKSN kal nikt sqlma TrailLoggin ";
    uint32_t matched = 0, total = 0;
    for (size_t li = 0; li < sizeof lits / sizeof *lits; li++)
        for (size_t len = 0; len < 70; len++)
            for (size_t at = 0; at <= len; at++) {
                char subj[160];
                for (size_t k = 0; k < len; k++) subj[k] = filler[(k * 7 + len) % (sizeof filler - 1)];
                size_t ll = strlen(lits[li]);
                memcpy(subj + at, lits[li], ll);
                subj[at + ll] = 0;
                cJSON *root = cJSON_CreateObject();
                assert_non_null(cJSON_AddStringToObject(root, "s", subj));
                sd_event_begin(&ev, root);
                sd_vm_begin_event(&vm);
                for (uint32_t r = 0; r < 2; r++) {
                    bool got = false;
                    assert_int_equal(sd_vm_rule_matches(&vm, &ev, r, &got), VM_OK);
                    bool want = pcre_says(direct[r], subj);
                    if (got != want) fail_msg("rule %u on \"%s\": %d, PCRE2 %d", r, subj, got, want);
                    matched += want;
                    total++;
                }
                cJSON_Delete(root);
            }
    assert_true(matched > total / 4);
    pcre2_code_free(direct[0]);
    pcre2_code_free(direct[1]);
    sd_vm_free(&vm);
    sd_event_free(&ev);
    sd_program_free(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literals_required),
        cmocka_unit_test(test_literals_give_up),
        cmocka_unit_test(test_literals_optional_tail),
        cmocka_unit_test(test_prefilter_caseless_non_ascii),
        cmocka_unit_test(test_prefilter_never_changes_an_answer),
        cmocka_unit_test(test_prefilter_literal_at_every_offset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
