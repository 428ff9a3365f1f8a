/* test_vm.c — the interpreter: opcode semantics, bounds checks, budget, rule memo.
 *
 * Programs are built by hand (no compiler involved) so that each test pins
 * one instruction's behaviour exactly as LANGUAGE.md states it.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <pcre2.h>

#include "util/hash.h"
#include "util/severity.h"
#include "vm/vm.h"

/* ---- program builder ---- */

static void *grow(void *p, uint32_t n, size_t size) {
    void *q = realloc(p, (size_t)(n + 1) * size);
    assert_non_null(q);
    return q;
}

static program *prog_new(void) {
    program *p = calloc(1, sizeof *p);
    assert_non_null(p);
    p->max_regs = 8;
    return p;
}

static uint32_t emit(program *p, vm_opcode op, uint32_t a, uint32_t b, uint32_t c) {
    p->code = grow(p->code, p->ncode, sizeof *p->code);
    p->code[p->ncode] = (vm_insn){(uint8_t)op, (uint8_t)a, (uint16_t)b, c};
    return p->ncode++;
}

static code_span span_from(const program *p, uint32_t start) { return (code_span){start, p->ncode - start}; }

/* ".a.b[0][*]" with identifier keys. */
static uint32_t add_path(program *p, const char *spec) {
    p->paths = grow(p->paths, p->npaths, sizeof *p->paths);
    sd_path *path = &p->paths[p->npaths];
    memset(path, 0, sizeof *path);
    path->segs = calloc(strlen(spec) + 1, sizeof *path->segs);
    assert_non_null(path->segs);
    for (const char *s = spec; *s;) {
        path_seg *g = &path->segs[path->nsegs++];
        if (*s == '.') {
            size_t n = strcspn(s + 1, ".[");
            g->kind = SEG_KEY;
            g->key = strndup(s + 1, n);
            g->key_len = n;
            s += 1 + n;
        } else if (s[1] == '*') {
            g->kind = SEG_STAR;
            path->has_star = true;
            s += 3;
        } else {
            g->kind = SEG_INDEX;
            g->index = (uint32_t)strtoul(s + 1, NULL, 10);
            s = strchr(s, ']') + 1;
        }
    }
    path->text = strdup(spec);
    return p->npaths++;
}

static uint32_t add_const(program *p, sd_value v) {
    p->consts = grow(p->consts, p->nconsts, sizeof *p->consts);
    if (v.type == SD_STR) v.str = strndup(v.str, v.len);
    p->consts[p->nconsts] = v;
    return p->nconsts++;
}

static sd_value S(const char *s) { return (sd_value){.type = SD_STR, .str = s, .len = strlen(s)}; }
static sd_value N(double d) { return (sd_value){.type = SD_NUM, .num = d}; }
static sd_value B(int b) { return (sd_value){.type = SD_BOOL, .b = b}; }
static sd_value Z(void) { return (sd_value){.type = SD_NULL}; }

/* A set as the compiler builds it: strings hashed (FNV-1a, linear probing), all members in `members`. */
static uint32_t add_set(program *p, const sd_value *members, uint32_t n) {
    p->sets = grow(p->sets, p->nsets, sizeof *p->sets);
    const_set *s = &p->sets[p->nsets];
    s->members = calloc(n, sizeof *s->members);
    s->nmembers = n;
    s->nslots = 8;
    while (s->nslots < 2 * n) s->nslots *= 2;
    s->slots = malloc(s->nslots * sizeof *s->slots);
    for (uint32_t i = 0; i < s->nslots; i++) s->slots[i] = UINT32_MAX;
    for (uint32_t i = 0; i < n; i++) {
        s->members[i] = members[i];
        if (members[i].type != SD_STR) continue;
        s->members[i].str = strndup(members[i].str, members[i].len);
        uint32_t at = (uint32_t)(hash_bytes(members[i].str, members[i].len) & (s->nslots - 1));
        while (s->slots[at] != UINT32_MAX) at = (at + 1) & (s->nslots - 1);
        s->slots[at] = i;
    }
    return p->nsets++;
}

static uint32_t add_cidrs(program *p, const char *const *texts, uint32_t n) {
    p->cidrs = grow(p->cidrs, p->ncidrs, sizeof *p->cidrs);
    cidr_set *c = &p->cidrs[p->ncidrs];
    c->ranges = calloc(n, sizeof *c->ranges);
    c->n = n;
    for (uint32_t i = 0; i < n; i++) assert_int_equal(sd_cidr_parse(texts[i], strlen(texts[i]), &c->ranges[i]), 0);
    return p->ncidrs++;
}

static uint32_t add_glob(program *p, const char *g) {
    p->globs = grow(p->globs, p->nglobs, sizeof *p->globs);
    p->glob_lens = grow(p->glob_lens, p->nglobs, sizeof *p->glob_lens);
    p->globs[p->nglobs] = strdup(g);
    p->glob_lens[p->nglobs] = strlen(g);
    return p->nglobs++;
}

static uint32_t add_regex(program *p, const char *pattern, uint32_t options) {
    int err;
    PCRE2_SIZE off;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, options | PCRE2_UTF, &err, &off, NULL);
    assert_non_null(code);
    (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE); /* JIT when available; interpreter otherwise */
    p->regexes = grow(p->regexes, p->nregexes, sizeof *p->regexes);
    p->regexes[p->nregexes] = (vm_regex){.code = code, .pattern = strdup(pattern)};
    p->uses_regex = true;
    return p->nregexes++;
}

static uint32_t add_rule(program *p, const char *name, code_span where, const uint32_t *sources, uint32_t nsources) {
    p->rules = grow(p->rules, p->nrules, sizeof *p->rules);
    vm_rule *r = &p->rules[p->nrules];
    memset(r, 0, sizeof *r);
    r->name = strdup(name);
    r->where = where;
    if (nsources) {
        r->sources = malloc(nsources * sizeof *r->sources);
        memcpy(r->sources, sources, nsources * sizeof *sources);
        r->nsources = nsources;
    }
    return p->nrules++;
}

/* ---- running ---- */

typedef struct harness {
    program *p;
    vm_ctx vm;
    sd_event ev;
    cJSON *root;
} harness;

static void h_start(harness *h, program *p, uint64_t budget) {
    h->p = p;
    h->root = NULL;
    assert_int_equal(sd_vm_init(&h->vm, p, budget), 0);
    assert_int_equal(sd_event_init(&h->ev, p->paths, p->npaths), 0);
}

static void h_event(harness *h, const char *json) {
    cJSON_Delete(h->root);
    h->root = cJSON_Parse(json);
    assert_non_null(h->root);
    sd_event_begin(&h->ev, h->root);
    sd_vm_begin_event(&h->vm);
}

static void h_end(harness *h) {
    cJSON_Delete(h->root);
    sd_event_free(&h->ev);
    sd_vm_free(&h->vm);
    sd_program_free(h->p);
}

static bool h_cond(harness *h, code_span span) {
    bool r = false;
    assert_int_equal(sd_vm_run_cond(&h->vm, &h->ev, span, &r), VM_OK);
    return r;
}

/* One condition program, evaluated on one event; the program is freed. */
static bool eval(program *p, code_span span, const char *json) {
    harness h;
    h_start(&h, p, 0);
    h_event(&h, json);
    bool r = h_cond(&h, span);
    h_end(&h);
    return r;
}

static vm_status eval_status(program *p, code_span span, const char *json, uint64_t budget) {
    harness h;
    h_start(&h, p, budget);
    h_event(&h, json);
    bool r = true;
    vm_status st = sd_vm_run_cond(&h.vm, &h.ev, span, &r);
    if (st != VM_OK) assert_false(r);
    h_end(&h);
    return st;
}

/* `.path OP const` as the compiler emits it: LOADP r0; LOADK r1; OP r0 r1; RET. */
static bool cmp_path_const(const char *path, vm_opcode op, sd_value k, const char *json) {
    program *p = prog_new();
    uint32_t pid = add_path(p, path), kid = add_const(p, k);
    uint32_t s = emit(p, OP_LOADP, 0, 0, pid);
    emit(p, OP_LOADK, 1, 0, kid);
    emit(p, op, 0, 1, 0);
    emit(p, OP_RET, 0, 0, 0);
    return eval(p, span_from(p, s), json);
}

/* `.path == k` via EQK, negated when `ne` (the compiler's `!=`). */
static bool eqk(const char *path, sd_value k, bool ne, const char *json) {
    program *p = prog_new();
    uint32_t pid = add_path(p, path), kid = add_const(p, k);
    uint32_t s = emit(p, OP_LOADP, 0, 0, pid);
    emit(p, OP_EQK, 0, 0, kid);
    if (ne) emit(p, OP_NOT, 0, 0, 0);
    emit(p, OP_RET, 0, 0, 0);
    return eval(p, span_from(p, s), json);
}

/* ---- equality ---- */

static void test_eqk_matches_equal_string_only(void **state) {
    (void)state;
    assert_true(eqk(".a", S("x"), false, "{\"a\":\"x\"}"));
    assert_false(eqk(".a", S("x"), false, "{\"a\":\"X\"}"));
    assert_false(eqk(".a", S("x"), false, "{\"a\":\"xx\"}"));
}

static void test_eq_on_missing_field_is_false(void **state) {
    (void)state;
    assert_false(eqk(".a", S("x"), false, "{\"b\":\"x\"}"));
    assert_false(cmp_path_const(".a", OP_EQ, S("x"), "{}"));
}

static void test_ne_on_missing_field_is_true(void **state) {
    (void)state;
    assert_true(eqk(".a", S("Yes"), true, "{}"));
    assert_true(eqk(".a.b", S("Yes"), true, "{\"a\":\"scalar\"}"));
    assert_false(eqk(".a", S("Yes"), true, "{\"a\":\"Yes\"}"));
    assert_true(eqk(".a", S("Yes"), true, "{\"a\":\"No\"}"));
}

static void test_string_never_equals_number(void **state) {
    (void)state;
    assert_false(eqk(".a", N(1), false, "{\"a\":\"1\"}"));
    assert_false(eqk(".a", S("1"), false, "{\"a\":1}"));
    assert_false(eqk(".a", B(1), false, "{\"a\":1}"));
    assert_false(eqk(".a", Z(), false, "{\"a\":false}"));
}

static void test_numbers_compare_by_value(void **state) {
    (void)state;
    assert_true(eqk(".a", N(1), false, "{\"a\":1.0}"));
    assert_true(eqk(".a", N(100), false, "{\"a\":1e2}"));
    assert_false(eqk(".a", N(1), false, "{\"a\":1.5}"));
}

static void test_null_equals_null_and_bool_equals_bool(void **state) {
    (void)state;
    assert_true(eqk(".a", Z(), false, "{\"a\":null}"));
    assert_true(eqk(".a", B(0), false, "{\"a\":false}"));
    assert_false(eqk(".a", B(0), false, "{\"a\":true}"));
}

/* `.x == .y` on two paths. */
static bool eq_paths(const char *x, const char *y, const char *json) {
    program *p = prog_new();
    uint32_t px = add_path(p, x), py = add_path(p, y);
    uint32_t s = emit(p, OP_LOADP, 0, 0, px);
    emit(p, OP_LOADP, 1, 0, py);
    emit(p, OP_EQ, 0, 1, 0);
    emit(p, OP_RET, 0, 0, 0);
    return eval(p, span_from(p, s), json);
}

static void test_eq_of_two_paths_compares_values(void **state) {
    (void)state;
    assert_true(eq_paths(".a", ".b", "{\"a\":\"111\",\"b\":\"111\"}"));
    assert_false(eq_paths(".a", ".b", "{\"a\":\"111\",\"b\":\"222\"}"));
    assert_false(eq_paths(".a", ".b", "{\"a\":\"111\"}"));
    assert_false(eq_paths(".a", ".b", "{}")); /* missing == missing is false */
    assert_true(eq_paths(".a", ".b", "{\"a\":[1,{\"k\":2}],\"b\":[1,{\"k\":2}]}"));
    assert_false(eq_paths(".a", ".b", "{\"a\":[1,{\"k\":2}],\"b\":[1,{\"k\":3}]}"));
    assert_true(eq_paths(".a", ".b", "{\"a\":{\"p\":1,\"q\":2},\"b\":{\"q\":2,\"p\":1}}"));
}

static void test_star_is_existential_over_elements(void **state) {
    (void)state;
    const char *ev = "{\"r\":[{\"arn\":\"a1\"},{\"arn\":\"a2\"},{\"x\":1}]}";
    assert_true(eqk(".r[*].arn", S("a2"), false, ev));
    assert_false(eqk(".r[*].arn", S("a3"), false, ev));
    /* != is not(==): false as soon as one element equals. */
    assert_false(eqk(".r[*].arn", S("a2"), true, ev));
    assert_true(eqk(".r[*].arn", S("a3"), true, ev));
    assert_true(eqk(".r[*].arn", S("a3"), true, "{\"r\":[]}"));
}

static void test_star_on_both_sides_matches_any_pair(void **state) {
    (void)state;
    assert_true(eq_paths(".a[*]", ".b[*]", "{\"a\":[1,2,3],\"b\":[9,8,3]}"));
    assert_false(eq_paths(".a[*]", ".b[*]", "{\"a\":[1,2,3],\"b\":[9,8,7]}"));
    assert_false(eq_paths(".a[*]", ".b[*]", "{\"a\":[1,2,3],\"b\":[]}"));
}

/* ---- ordering ---- */

static void test_ordering_numbers_and_strings(void **state) {
    (void)state;
    assert_true(cmp_path_const(".n", OP_LT, N(10), "{\"n\":9.5}"));
    assert_false(cmp_path_const(".n", OP_LT, N(10), "{\"n\":10}"));
    assert_true(cmp_path_const(".n", OP_LE, N(10), "{\"n\":10}"));
    assert_true(cmp_path_const(".n", OP_GT, N(-1), "{\"n\":0}"));
    assert_true(cmp_path_const(".n", OP_GE, N(0), "{\"n\":0}"));
    assert_false(cmp_path_const(".n", OP_GE, N(1), "{\"n\":0}"));
    assert_true(cmp_path_const(".s", OP_LT, S("b"), "{\"s\":\"a\"}"));
    assert_true(cmp_path_const(".s", OP_LT, S("ab"), "{\"s\":\"a\"}")); /* shorter prefix first */
    assert_false(cmp_path_const(".s", OP_LT, S("a"), "{\"s\":\"ab\"}"));
    assert_true(cmp_path_const(".s", OP_GT, S("Z"), "{\"s\":\"a\"}")); /* byte order */
    assert_true(cmp_path_const(".s", OP_GE, S("abc"), "{\"s\":\"abc\"}"));
    assert_true(cmp_path_const(".s", OP_GT, S("z"), "{\"s\":\"\xc3\xa9\"}"));
}

static void test_ordering_of_mixed_types_is_false(void **state) {
    (void)state;
    vm_opcode ops[] = {OP_LT, OP_LE, OP_GT, OP_GE};
    for (size_t i = 0; i < 4; i++) {
        assert_false(cmp_path_const(".n", ops[i], N(5), "{\"n\":\"5\"}"));
        assert_false(cmp_path_const(".n", ops[i], S("5"), "{\"n\":5}"));
        assert_false(cmp_path_const(".n", ops[i], N(0), "{\"n\":null}"));
        assert_false(cmp_path_const(".n", ops[i], N(0), "{\"n\":true}"));
        assert_false(cmp_path_const(".n", ops[i], N(0), "{}"));
    }
}

/* ---- string tests ---- */

static void test_contains_startswith_endswith(void **state) {
    (void)state;
    const char *ev = "{\"s\":\"arn:aws:iam::123:root\",\"n\":123}";
    assert_true(cmp_path_const(".s", OP_CONTAINS, S("::123:"), ev));
    assert_false(cmp_path_const(".s", OP_CONTAINS, S("::124:"), ev));
    assert_false(cmp_path_const(".s", OP_CONTAINS, S("ARN"), ev)); /* case-sensitive */
    assert_true(cmp_path_const(".s", OP_STARTSWITH, S("arn:aws"), ev));
    assert_false(cmp_path_const(".s", OP_STARTSWITH, S("aws"), ev));
    assert_true(cmp_path_const(".s", OP_ENDSWITH, S(":root"), ev));
    assert_false(cmp_path_const(".s", OP_ENDSWITH, S("arn:aws:iam::123:root!"), ev));
    assert_true(cmp_path_const(".s", OP_CONTAINS, S("root"), ev));
    assert_true(cmp_path_const(".s", OP_CONTAINS, S("rooa"), "{\"s\":\"rrooroorooa\"}"));
}

static void test_empty_needle_is_true_and_non_strings_false(void **state) {
    (void)state;
    const char *ev = "{\"s\":\"abc\",\"e\":\"\",\"n\":123}";
    assert_true(cmp_path_const(".s", OP_CONTAINS, S(""), ev));
    assert_true(cmp_path_const(".e", OP_STARTSWITH, S(""), ev));
    assert_true(cmp_path_const(".e", OP_ENDSWITH, S(""), ev));
    assert_false(cmp_path_const(".n", OP_CONTAINS, S("12"), ev));
    assert_false(cmp_path_const(".n", OP_CONTAINS, S(""), ev));
    assert_false(cmp_path_const(".missing", OP_CONTAINS, S(""), ev));
    assert_false(cmp_path_const(".s", OP_CONTAINS, N(1), ev));
}

static bool eqk_ci(const char *lowered, const char *json) {
    program *p = prog_new();
    uint32_t pid = add_path(p, strstr(json, "[") ? ".a[*]" : ".a"), kid = add_const(p, S(lowered));
    uint32_t s = emit(p, OP_LOADP, 0, 0, pid);
    emit(p, OP_EQK_CI, 0, 0, kid);
    emit(p, OP_RET, 0, 0, 0);
    return eval(p, span_from(p, s), json);
}

static void test_eqk_ci_ignores_ascii_case_only(void **state) {
    (void)state;
    assert_true(eqk_ci("consolelogin", "{\"a\":\"ConsoleLogin\"}"));
    assert_true(eqk_ci("consolelogin", "{\"a\":[\"x\",\"CONSOLELOGIN\"]}"));
    assert_false(eqk_ci("consolelogin", "{\"a\":\"ConsoleLogins\"}"));
    assert_false(eqk_ci("\xc3\xa9", "{\"a\":\"\xc3\x89\"}")); /* É is not ASCII */
    assert_false(eqk_ci("1", "{\"a\":1}"));
    assert_false(eqk_ci("x", "{}"));
}

/* ---- functions ---- */

/* LOADP r0; FN r1 r0; then `tail` decides: EXISTS r1 or EQK r1 k. */
static bool fn_then_eqk(vm_opcode fn, const char *path, const sd_value *k, const char *json) {
    program *p = prog_new();
    uint32_t pid = add_path(p, path);
    uint32_t kid = k ? add_const(p, *k) : 0;
    uint32_t s = emit(p, OP_LOADP, 0, 0, pid);
    emit(p, fn, 1, 0, 0);
    if (k)
        emit(p, OP_EQK, 1, 0, kid);
    else
        emit(p, OP_EXISTS, 1, 0, 0);
    emit(p, OP_RET, 0, 0, 0);
    return eval(p, span_from(p, s), json);
}

static void test_lower_and_upper_fold_ascii_only(void **state) {
    (void)state;
    sd_value k = S("adminrole\xc3\x89");
    assert_true(fn_then_eqk(OP_LOWER, ".a", &k, "{\"a\":\"AdminRole\xc3\x89\"}"));
    k = S("ADMIN-ROLE\xc3\xa9");
    assert_true(fn_then_eqk(OP_UPPER, ".a", &k, "{\"a\":\"admin-Role\xc3\xa9\"}"));
    k = S("b");
    assert_true(fn_then_eqk(OP_LOWER, ".a[*]", &k, "{\"a\":[1,\"A\",\"B\"]}"));
}

static void test_lower_of_number_is_missing(void **state) {
    (void)state;
    assert_false(fn_then_eqk(OP_LOWER, ".a", NULL, "{\"a\":5}"));
    assert_false(fn_then_eqk(OP_UPPER, ".a", NULL, "{\"a\":null}"));
    assert_false(fn_then_eqk(OP_LOWER, ".a", NULL, "{}"));
    assert_true(fn_then_eqk(OP_LOWER, ".a", NULL, "{\"a\":\"\"}"));
}

static void test_lower_of_bad_utf8_does_not_crash(void **state) {
    (void)state;
    /* cJSON keeps invalid bytes as they are. */
    sd_value k = S("ab\xff\xfe");
    assert_true(fn_then_eqk(OP_LOWER, ".a", &k, "{\"a\":\"AB\xff\xfe\"}"));
}

static void test_len_counts_code_points_elements_and_members(void **state) {
    (void)state;
    sd_value k = N(4);
    assert_true(fn_then_eqk(OP_LEN, ".a", &k, "{\"a\":\"caf\xc3\xa9\"}"));
    assert_true(fn_then_eqk(OP_LEN, ".a", &k, "{\"a\":[1,2,3,[4]]}"));
    assert_true(fn_then_eqk(OP_LEN, ".a", &k, "{\"a\":{\"a\":1,\"b\":2,\"c\":3,\"d\":4}}"));
    assert_false(fn_then_eqk(OP_LEN, ".a", &k, "{\"a\":\"cafe\xc3\xa9\"}"));
    k = N(0);
    assert_true(fn_then_eqk(OP_LEN, ".a", &k, "{\"a\":\"\"}"));
    assert_true(fn_then_eqk(OP_LEN, ".a", &k, "{\"a\":[]}"));
}

static void test_len_of_bad_utf8_counts_non_continuation_bytes(void **state) {
    (void)state;
    sd_value k = N(3); /* 'a', lone 0xff, and a truncated 3-byte lead */
    assert_true(fn_then_eqk(OP_LEN, ".a", &k, "{\"a\":\"a\xff\xe2\x82\"}"));
}

static void test_len_of_number_or_missing_is_missing(void **state) {
    (void)state;
    assert_false(fn_then_eqk(OP_LEN, ".a", NULL, "{\"a\":12345}"));
    assert_false(fn_then_eqk(OP_LEN, ".a", NULL, "{\"a\":true}"));
    assert_false(fn_then_eqk(OP_LEN, ".a", NULL, "{}"));
}

/* coalesce(.a, .b, .c) == k, or exists when k is NULL. */
static bool coalesce3(const sd_value *k, const char *json) {
    program *p = prog_new();
    uint32_t pa = add_path(p, ".a"), pb = add_path(p, ".b"), pc = add_path(p, ".c");
    uint32_t kid = k ? add_const(p, *k) : 0;
    uint32_t s = emit(p, OP_LOADP, 1, 0, pa);
    emit(p, OP_LOADP, 2, 0, pb);
    emit(p, OP_LOADP, 3, 0, pc);
    emit(p, OP_COALESCE, 0, 1, 3);
    emit(p, k ? OP_EQK : OP_EXISTS, 0, 0, kid);
    emit(p, OP_RET, 0, 0, 0);
    return eval(p, span_from(p, s), json);
}

static void test_coalesce_skips_null_and_missing(void **state) {
    (void)state;
    sd_value k = S("bob");
    assert_true(coalesce3(&k, "{\"a\":null,\"c\":\"bob\"}"));
    assert_true(coalesce3(&k, "{\"b\":\"bob\",\"c\":\"alice\"}"));
    assert_false(coalesce3(&k, "{\"a\":\"alice\",\"b\":\"bob\"}"));
    assert_false(coalesce3(NULL, "{\"a\":null,\"b\":null}"));
    assert_false(coalesce3(NULL, "{}"));
    assert_true(coalesce3(NULL, "{\"c\":false}"));
    /* A [*] list with nulls is present; its nulls are dropped. */
    sd_value z = Z();
    assert_false(coalesce3(&z, "{\"a\":null,\"b\":[null]}"));
}

static void test_coalesce_of_star_list_keeps_non_null_values(void **state) {
    (void)state;
    program *p = prog_new();
    uint32_t pa = add_path(p, ".a[*]"), pb = add_path(p, ".b");
    uint32_t kid = add_const(p, Z());
    uint32_t s = emit(p, OP_LOADP, 1, 0, pa);
    emit(p, OP_LOADP, 2, 0, pb);
    emit(p, OP_COALESCE, 0, 1, 2);
    emit(p, OP_RETV, 0, 0, 0);
    code_span val = span_from(p, s);
    uint32_t s2 = emit(p, OP_LOADK, 0, 0, kid);
    emit(p, OP_RETV, 0, 0, 0);
    code_span konst = span_from(p, s2);
    harness h;
    h_start(&h, p, 0);
    h_event(&h, "{\"a\":[null,\"x\",null,\"y\"],\"b\":\"z\"}");
    sd_values out;
    assert_int_equal(sd_vm_run_value(&h.vm, &h.ev, val, &out), VM_OK);
    assert_int_equal(out.n, 2);
    assert_memory_equal(out.v[0].str, "x", 1);
    assert_memory_equal(out.v[1].str, "y", 1);
    h_event(&h, "{\"a\":[null],\"b\":\"z\"}");
    assert_int_equal(sd_vm_run_value(&h.vm, &h.ev, val, &out), VM_OK);
    assert_int_equal(out.n, 1);
    assert_memory_equal(out.v[0].str, "z", 1);
    assert_int_equal(sd_vm_run_value(&h.vm, &h.ev, konst, &out), VM_OK);
    assert_int_equal(out.n, 1);
    assert_int_equal(out.v[0].type, SD_NULL);
    h_end(&h);
}

/* ---- exists ---- */

static bool exists(const char *path, const char *json) {
    program *p = prog_new();
    uint32_t pid = add_path(p, path);
    uint32_t s = emit(p, OP_LOADP, 0, 0, pid);
    emit(p, OP_EXISTS, 0, 0, 0);
    emit(p, OP_RET, 0, 0, 0);
    return eval(p, span_from(p, s), json);
}

static void test_exists_counts_null_as_present(void **state) {
    (void)state;
    assert_true(exists(".a", "{\"a\":null}"));
    assert_true(exists(".a", "{\"a\":false}"));
    assert_false(exists(".a", "{\"b\":1}"));
    assert_false(exists(".a[*]", "{\"a\":[]}"));
    assert_true(exists(".a[*]", "{\"a\":[null]}"));
}

/* ---- sets, CIDR, glob, regex ---- */

static bool inset(const char *json) {
    program *p = prog_new();
    sd_value members[] = {S("AttachUserPolicy"), S("PutUserPolicy"), S("CreateAccessKey"), N(42), B(1), Z()};
    uint32_t pid = add_path(p, ".a"), sid = add_set(p, members, 6);
    uint32_t s = emit(p, OP_LOADP, 0, 0, pid);
    emit(p, OP_INSET, 0, 0, sid);
    emit(p, OP_RET, 0, 0, 0);
    return eval(p, span_from(p, s), json);
}

static void test_inset_finds_strings_by_hash_and_scalars_by_value(void **state) {
    (void)state;
    assert_true(inset("{\"a\":\"PutUserPolicy\"}"));
    assert_true(inset("{\"a\":\"CreateAccessKey\"}"));
    assert_false(inset("{\"a\":\"putuserpolicy\"}"));
    assert_false(inset("{\"a\":\"PutUserPolicyX\"}"));
    assert_true(inset("{\"a\":42.0}"));
    assert_false(inset("{\"a\":\"42\"}"));
    assert_true(inset("{\"a\":true}"));
    assert_false(inset("{\"a\":false}"));
    assert_true(inset("{\"a\":null}"));
    assert_false(inset("{}"));
    assert_false(inset("{\"a\":[\"x\",\"AttachUserPolicy\"]}")); /* .a is the array itself, not [*] */
}

static bool cidr_op(const char *json) {
    program *p = prog_new();
    const char *ranges[] = {"10.0.0.0/8", "fd00::/8"};
    uint32_t pid = add_path(p, ".ip"), cid = add_cidrs(p, ranges, 2);
    uint32_t s = emit(p, OP_LOADP, 0, 0, pid);
    emit(p, OP_CIDR, 0, 0, cid);
    emit(p, OP_RET, 0, 0, 0);
    return eval(p, span_from(p, s), json);
}

static void test_cidr_op_matches_strings_in_range(void **state) {
    (void)state;
    assert_true(cidr_op("{\"ip\":\"10.9.8.7\"}"));
    assert_true(cidr_op("{\"ip\":\"fd01::2\"}"));
    assert_false(cidr_op("{\"ip\":\"11.0.0.1\"}"));
    assert_false(cidr_op("{\"ip\":\"::ffff:10.0.0.1\"}"));
    assert_false(cidr_op("{\"ip\":167772161}"));
    assert_false(cidr_op("{\"ip\":\"AWS Internal\"}"));
    assert_false(cidr_op("{}"));
}

static bool like_op(const char *glob, const char *json) {
    program *p = prog_new();
    uint32_t pid = add_path(p, strstr(json, "[") ? ".s[*]" : ".s"), gid = add_glob(p, glob);
    uint32_t s = emit(p, OP_LOADP, 0, 0, pid);
    emit(p, OP_LIKE, 0, 0, gid);
    emit(p, OP_RET, 0, 0, 0);
    return eval(p, span_from(p, s), json);
}

static void test_like_op_uses_glob_on_strings(void **state) {
    (void)state;
    assert_true(like_op("Access*Denied?", "{\"s\":\"AccessIsDenied!\"}"));
    assert_false(like_op("Access*Denied?", "{\"s\":\"AccessDenied\"}"));
    assert_true(like_op("caf?", "{\"s\":[\"x\",\"caf\xc3\xa9\"]}"));
    assert_false(like_op("*", "{\"s\":5}"));
    assert_false(like_op("*", "{}"));
}

static bool match_op(const char *re, uint32_t options, uint64_t limit, const char *json) {
    program *p = prog_new();
    uint32_t pid = add_path(p, strstr(json, "[") ? ".s[*]" : ".s"), rid = add_regex(p, re, options);
    uint32_t s = emit(p, OP_LOADP, 0, 0, pid);
    emit(p, OP_MATCH, 0, 0, rid);
    emit(p, OP_RET, 0, 0, 0);
    harness h;
    h_start(&h, p, 0);
    h.vm.regex_match_limit = limit;
    h_event(&h, json);
    bool r = h_cond(&h, span_from(p, s));
    h_end(&h);
    return r;
}

static void test_match_op_finds_regex_anywhere(void **state) {
    (void)state;
    assert_true(match_op("^AKIA[0-9A-Z]{16}$", 0, 0, "{\"s\":\"AKIAABCDEFGHIJKLMNOP\"}"));
    assert_false(match_op("^AKIA[0-9A-Z]{16}$", 0, 0, "{\"s\":\"akiaABCDEFGHIJKLMNOP\"}"));
    assert_true(match_op("denied", PCRE2_CASELESS, 0, "{\"s\":\"Access DENIED\"}"));
    assert_true(match_op("x", 0, 0, "{\"s\":[1,\"abc\",\"yxz\"]}"));
    assert_false(match_op(".*", 0, 0, "{\"s\":12}"));
    assert_false(match_op(".*", 0, 0, "{}"));
    assert_true(match_op("^$", 0, 0, "{\"s\":\"\"}"));
}

static void test_match_limit_exceeded_counts_as_no_match(void **state) {
    (void)state;
    /* Nested quantifiers backtrack exponentially before the `x` branch matches. */
    const char *ev = "{\"s\":\"aaaaaaaaaaaaaaaa!x\"}";
    assert_true(match_op("(a+)+$|x", 0, 0, ev));
    assert_false(match_op("(a+)+$|x", 0, 1000, ev));
}

static void test_match_on_bad_utf8_subject_is_no_match(void **state) {
    (void)state;
    /* The regex is compiled with PCRE2_UTF: invalid subjects are an error, i.e. no match. */
    assert_false(match_op("a", 0, 0, "{\"s\":\"a\xff\"}"));
}

/* ---- bounds and budget ---- */

static void test_budget_exhaustion_returns_vm_budget(void **state) {
    (void)state;
    program *p = prog_new();
    uint32_t s = emit(p, OP_SETF, 1, 0, 0);
    for (int i = 0; i < 8; i++) emit(p, OP_NOT, 0, 0, 0);
    emit(p, OP_RET, 0, 0, 0); /* 10 instructions */
    code_span span = span_from(p, s);
    harness h;
    h_start(&h, p, 25);
    h_event(&h, "{}");
    bool r = false;
    assert_int_equal(sd_vm_run_cond(&h.vm, &h.ev, span, &r), VM_OK);
    assert_true(r);
    assert_int_equal(sd_vm_run_cond(&h.vm, &h.ev, span, &r), VM_OK);
    /* The budget is per event across runs: the third run needs 10 more but only 5 are left. */
    assert_int_equal(sd_vm_run_cond(&h.vm, &h.ev, span, &r), VM_BUDGET);
    assert_false(r);
    h_event(&h, "{}"); /* a new event has a fresh budget */
    assert_int_equal(sd_vm_run_cond(&h.vm, &h.ev, span, &r), VM_OK);
    assert_true(r);
    h_end(&h);
}

static void test_budget_of_exactly_program_length_suffices(void **state) {
    (void)state;
    program *p = prog_new();
    uint32_t s = emit(p, OP_SETF, 1, 0, 0);
    emit(p, OP_RET, 0, 0, 0);
    assert_int_equal(eval_status(p, span_from(p, s), "{}", 2), VM_OK);
    p = prog_new();
    s = emit(p, OP_SETF, 1, 0, 0);
    emit(p, OP_RET, 0, 0, 0);
    assert_int_equal(eval_status(p, span_from(p, s), "{}", 1), VM_BUDGET);
}

/* A program whose instruction `bad` is inserted before a RET. */
static vm_status run_one_bad(vm_opcode op, uint32_t a, uint32_t b, uint32_t c) {
    program *p = prog_new();
    add_path(p, ".a");
    add_const(p, S("k"));
    uint32_t s = emit(p, OP_SETF, 0, 0, 0);
    emit(p, op, a, b, c);
    emit(p, OP_RET, 0, 0, 0);
    return eval_status(p, span_from(p, s), "{\"a\":1}", 0);
}

static void test_out_of_range_jump_returns_vm_error(void **state) {
    (void)state;
    assert_int_equal(run_one_bad(OP_JMPF, 0, 0, 3), VM_ERROR); /* past the span's end */
    assert_int_equal(run_one_bad(OP_JMPT, 0, 0, 1000), VM_ERROR);
    assert_int_equal(run_one_bad(OP_JMPF, 0, 0, 0), VM_ERROR); /* backwards */
    assert_int_equal(run_one_bad(OP_JMPF, 0, 0, 1), VM_ERROR); /* onto itself: a loop */
    assert_int_equal(run_one_bad(OP_JMPF, 0, 0, 2), VM_OK);    /* to the next instruction */
}

static void test_jump_outside_own_span_is_rejected(void **state) {
    (void)state;
    program *p = prog_new();
    emit(p, OP_SETF, 1, 0, 0);
    emit(p, OP_RET, 0, 0, 0);
    uint32_t s = emit(p, OP_JMPT, 0, 0, 5); /* beyond ncode */
    emit(p, OP_RET, 0, 0, 0);
    uint32_t s2 = emit(p, OP_SETF, 1, 0, 0);
    code_span first = {s, 2};
    (void)s2;
    assert_int_equal(eval_status(p, first, "{}", 0), VM_ERROR);
}

static void test_bad_indexes_return_vm_error(void **state) {
    (void)state;
    assert_int_equal(run_one_bad(OP_LOADP, 8, 0, 0), VM_ERROR); /* register */
    assert_int_equal(run_one_bad(OP_LOADP, 0, 0, 1), VM_ERROR); /* path */
    assert_int_equal(run_one_bad(OP_LOADK, 0, 0, 1), VM_ERROR); /* constant */
    assert_int_equal(run_one_bad(OP_EQ, 0, 8, 0), VM_ERROR);
    assert_int_equal(run_one_bad(OP_LOWER, 0, 300, 0), VM_ERROR);
    assert_int_equal(run_one_bad(OP_COALESCE, 0, 6, 3), VM_ERROR);
    assert_int_equal(run_one_bad(OP_COALESCE, 0, 1, UINT32_MAX), VM_ERROR);
    assert_int_equal(run_one_bad(OP_INSET, 0, 0, 0), VM_ERROR);
    assert_int_equal(run_one_bad(OP_CIDR, 0, 0, 0), VM_ERROR);
    assert_int_equal(run_one_bad(OP_LIKE, 0, 0, 0), VM_ERROR);
    assert_int_equal(run_one_bad(OP_MATCH, 0, 0, 0), VM_ERROR);
    assert_int_equal(run_one_bad(OP_RULE, 0, 0, 0), VM_ERROR);
    assert_int_equal(run_one_bad(OP_EXISTS, 200, 0, 0), VM_ERROR);
    assert_int_equal(run_one_bad((vm_opcode)OP__COUNT, 0, 0, 0), VM_ERROR);
    assert_int_equal(run_one_bad((vm_opcode)255, 0, 0, 0), VM_ERROR);
    assert_int_equal(run_one_bad(OP_RETV, 0, 0, 0), VM_ERROR); /* RETV in a condition */
    assert_int_equal(run_one_bad(OP_COALESCE, 0, 1, 0), VM_OK);
}

static void test_falling_off_the_end_or_bad_span_is_vm_error(void **state) {
    (void)state;
    program *p = prog_new();
    uint32_t s = emit(p, OP_SETF, 1, 0, 0);
    assert_int_equal(eval_status(p, span_from(p, s), "{}", 0), VM_ERROR);
    p = prog_new();
    emit(p, OP_SETF, 1, 0, 0);
    emit(p, OP_RET, 0, 0, 0);
    assert_int_equal(eval_status(p, (code_span){1, 5}, "{}", 0), VM_ERROR);
    p = prog_new();
    emit(p, OP_RET, 0, 0, 0);
    assert_int_equal(eval_status(p, (code_span){0, 0}, "{}", 0), VM_ERROR);
    p = prog_new();
    emit(p, OP_RET, 0, 0, 0);
    assert_int_equal(eval_status(p, (code_span){UINT32_MAX, 2}, "{}", 0), VM_ERROR);
}

static void test_ret_in_value_program_is_vm_error(void **state) {
    (void)state;
    program *p = prog_new();
    uint32_t s = emit(p, OP_RET, 0, 0, 0);
    harness h;
    h_start(&h, p, 0);
    h_event(&h, "{}");
    sd_values out;
    assert_int_equal(sd_vm_run_value(&h.vm, &h.ev, span_from(p, s), &out), VM_ERROR);
    assert_int_equal(out.n, 0);
    h_end(&h);
}

static void test_jmpf_and_jmpt_follow_the_flag(void **state) {
    (void)state;
    /* `.a == "x" and .b == "y"` / `or`, as short-circuit code. */
    for (int is_or = 0; is_or < 2; is_or++) {
        program *p = prog_new();
        uint32_t pa = add_path(p, ".a"), pb = add_path(p, ".b"), kx = add_const(p, S("x")), ky = add_const(p, S("y"));
        uint32_t s = emit(p, OP_LOADP, 0, 0, pa);
        emit(p, OP_EQK, 0, 0, kx);
        uint32_t j = emit(p, is_or ? OP_JMPT : OP_JMPF, 0, 0, 0);
        emit(p, OP_LOADP, 0, 0, pb);
        emit(p, OP_EQK, 0, 0, ky);
        uint32_t ret = emit(p, OP_RET, 0, 0, 0);
        p->code[j].c = ret; /* not in one expression: emit may move p->code */
        code_span sp = span_from(p, s);
        harness h;
        h_start(&h, p, 0);
        h_event(&h, "{\"a\":\"x\",\"b\":\"y\"}");
        assert_true(h_cond(&h, sp));
        h_event(&h, "{\"a\":\"x\",\"b\":\"n\"}");
        assert_int_equal(h_cond(&h, sp), is_or);
        h_event(&h, "{\"a\":\"n\",\"b\":\"y\"}");
        assert_int_equal(h_cond(&h, sp), is_or);
        h_event(&h, "{\"a\":\"n\",\"b\":\"n\"}");
        assert_false(h_cond(&h, sp));
        h_end(&h);
    }
}

/* ---- rules ---- */

static void test_rule_source_check_and_any_source(void **state) {
    (void)state;
    program *p = prog_new();
    uint32_t s = emit(p, OP_SETF, 1, 0, 0);
    emit(p, OP_RET, 0, 0, 0);
    const uint32_t only1[] = {1, 3};
    add_rule(p, "only_1_or_3", span_from(p, s), only1, 2);
    add_rule(p, "any", span_from(p, s), NULL, 0);
    harness h;
    h_start(&h, p, 0);
    bool r;
    for (uint32_t src = 0; src < 5; src++) {
        h.ev.source = src;
        h_event(&h, "{}");
        assert_int_equal(sd_vm_rule_matches(&h.vm, &h.ev, 0, &r), VM_OK);
        assert_int_equal(r, src == 1 || src == 3);
        assert_int_equal(sd_vm_rule_matches(&h.vm, &h.ev, 1, &r), VM_OK);
        assert_true(r);
    }
    assert_int_equal(sd_vm_rule_matches(&h.vm, &h.ev, 2, &r), VM_ERROR);
    h_end(&h);
}

static void test_rule_result_is_memoized_per_event(void **state) {
    (void)state;
    program *p = prog_new();
    uint32_t pid = add_path(p, ".a"), k = add_const(p, S("x"));
    uint32_t s = emit(p, OP_LOADP, 0, 0, pid);
    emit(p, OP_EQK, 0, 0, k);
    emit(p, OP_RET, 0, 0, 0);
    add_rule(p, "r", span_from(p, s), NULL, 0);
    harness h;
    h_start(&h, p, 0);
    bool r;
    h_event(&h, "{\"a\":\"x\"}");
    assert_int_equal(sd_vm_rule_matches(&h.vm, &h.ev, 0, &r), VM_OK);
    assert_true(r);
    uint64_t used = h.vm.used;
    assert_int_equal(used, 3);
    assert_int_equal(sd_vm_rule_matches(&h.vm, &h.ev, 0, &r), VM_OK);
    assert_true(r);
    assert_int_equal(h.vm.used, used); /* no instruction ran the second time */
    h_event(&h, "{\"a\":\"y\"}");
    assert_int_equal(sd_vm_rule_matches(&h.vm, &h.ev, 0, &r), VM_OK);
    assert_false(r);
    assert_int_equal(h.vm.used, 3);
    h_end(&h);
}

static void test_sequence_rule_never_matches_statelessly(void **state) {
    (void)state;
    program *p = prog_new();
    emit(p, OP_SETF, 1, 0, 0);
    emit(p, OP_RET, 0, 0, 0);
    add_rule(p, "seq", (code_span){0, 0}, NULL, 0);
    harness h;
    h_start(&h, p, 0);
    h_event(&h, "{}");
    bool r = true;
    assert_int_equal(sd_vm_rule_matches(&h.vm, &h.ev, 0, &r), VM_OK);
    assert_false(r);
    h_end(&h);
}

static void test_rule_op_evaluates_named_rule_and_keeps_caller_registers(void **state) {
    (void)state;
    program *p = prog_new();
    uint32_t pa = add_path(p, ".a"), pb = add_path(p, ".b");
    uint32_t kx = add_const(p, S("x")), ky = add_const(p, S("y"));
    /* rule 0 (source 2 only): .b == "y", loading into r0 */
    uint32_t s0 = emit(p, OP_LOADP, 0, 0, pb);
    emit(p, OP_EQK, 0, 0, ky);
    emit(p, OP_RET, 0, 0, 0);
    const uint32_t src2[] = {2};
    add_rule(p, "inner", span_from(p, s0), src2, 1);
    /* rule 1: r0 = .a; inner; JMPF end; .a (still in r0) == "x" */
    uint32_t s1 = emit(p, OP_LOADP, 0, 0, pa);
    emit(p, OP_RULE, 0, 0, 0);
    uint32_t j = emit(p, OP_JMPF, 0, 0, 0);
    emit(p, OP_EQK, 0, 0, kx);
    uint32_t ret = emit(p, OP_RET, 0, 0, 0);
    p->code[j].c = ret;
    add_rule(p, "outer", span_from(p, s1), NULL, 0);
    harness h;
    h_start(&h, p, 0);
    bool r;
    h.ev.source = 2;
    h_event(&h, "{\"a\":\"x\",\"b\":\"y\"}");
    assert_int_equal(sd_vm_rule_matches(&h.vm, &h.ev, 1, &r), VM_OK);
    assert_true(r);
    h_event(&h, "{\"a\":\"x\",\"b\":\"n\"}");
    assert_int_equal(sd_vm_rule_matches(&h.vm, &h.ev, 1, &r), VM_OK);
    assert_false(r);
    h.ev.source = 1; /* inner is for source 2 only */
    h_event(&h, "{\"a\":\"x\",\"b\":\"y\"}");
    assert_int_equal(sd_vm_rule_matches(&h.vm, &h.ev, 1, &r), VM_OK);
    assert_false(r);
    h_end(&h);
}

static void test_rule_cycle_is_bounded_and_reports_vm_error(void **state) {
    (void)state;
    program *p = prog_new();
    uint32_t s = emit(p, OP_RULE, 0, 0, 0);
    emit(p, OP_RET, 0, 0, 0);
    add_rule(p, "self", span_from(p, s), NULL, 0);
    harness h;
    h_start(&h, p, 0);
    h_event(&h, "{}");
    bool r = true;
    assert_int_equal(sd_vm_rule_matches(&h.vm, &h.ev, 0, &r), VM_ERROR);
    assert_false(r);
    h_end(&h);
}

static void test_budget_spent_inside_named_rule_propagates(void **state) {
    (void)state;
    program *p = prog_new();
    uint32_t s0 = emit(p, OP_SETF, 1, 0, 0);
    for (int i = 0; i < 10; i++) emit(p, OP_NOT, 0, 0, 0);
    emit(p, OP_RET, 0, 0, 0);
    add_rule(p, "long", span_from(p, s0), NULL, 0);
    uint32_t s1 = emit(p, OP_RULE, 0, 0, 0);
    emit(p, OP_RET, 0, 0, 0);
    add_rule(p, "caller", span_from(p, s1), NULL, 0);
    harness h;
    h_start(&h, p, 5);
    h_event(&h, "{}");
    bool r;
    assert_int_equal(sd_vm_rule_matches(&h.vm, &h.ev, 1, &r), VM_BUDGET);
    h_end(&h);
}

static void test_value_program_returns_register(void **state) {
    (void)state;
    program *p = prog_new();
    uint32_t pid = add_path(p, ".user.name");
    uint32_t s = emit(p, OP_LOADP, 0, 0, pid);
    emit(p, OP_LOWER, 0, 0, 0);
    emit(p, OP_RETV, 0, 0, 0);
    harness h;
    h_start(&h, p, 0);
    h_event(&h, "{\"user\":{\"name\":\"Bob\"}}");
    sd_values out;
    assert_int_equal(sd_vm_run_value(&h.vm, &h.ev, span_from(p, s), &out), VM_OK);
    assert_int_equal(out.n, 1);
    assert_int_equal(out.v[0].len, 3);
    assert_memory_equal(out.v[0].str, "bob", 3);
    h_event(&h, "{}");
    assert_int_equal(sd_vm_run_value(&h.vm, &h.ev, span_from(p, s), &out), VM_OK);
    assert_int_equal(out.n, 0);
    h_end(&h);
}

static void test_severity_names(void **state) {
    (void)state;
    static const char *const want[] = {"info", "low", "medium", "high", "critical"};
    for (int s = SECDET_SEVERITY_INFO; s <= SECDET_SEVERITY_CRITICAL; s++) {
        secdet_severity back;
        assert_string_equal(sd_severity_name((secdet_severity)s), want[s]);
        assert_true(sd_severity_parse(want[s], false, &back));
        assert_int_equal(back, s);
    }
    assert_string_equal(sd_severity_name((secdet_severity)9), "unknown");
    secdet_severity any;
    assert_false(sd_severity_parse("High", false, &any));
    assert_true(sd_severity_parse("High", true, &any));
    assert_int_equal(any, SECDET_SEVERITY_HIGH);
    /* syslog and Slack take their mappings from the same table */
    assert_int_equal(sd_severity_get(SECDET_SEVERITY_CRITICAL)->syslog, 2);
    assert_int_equal(sd_severity_get(SECDET_SEVERITY_INFO)->syslog, 6);
}

static void test_program_free_accepts_null_and_empty(void **state) {
    (void)state;
    sd_program_free(NULL);
    sd_program_free(calloc(1, sizeof(program)));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eqk_matches_equal_string_only),
        cmocka_unit_test(test_eq_on_missing_field_is_false),
        cmocka_unit_test(test_ne_on_missing_field_is_true),
        cmocka_unit_test(test_string_never_equals_number),
        cmocka_unit_test(test_numbers_compare_by_value),
        cmocka_unit_test(test_null_equals_null_and_bool_equals_bool),
        cmocka_unit_test(test_eq_of_two_paths_compares_values),
        cmocka_unit_test(test_star_is_existential_over_elements),
        cmocka_unit_test(test_star_on_both_sides_matches_any_pair),
        cmocka_unit_test(test_ordering_numbers_and_strings),
        cmocka_unit_test(test_ordering_of_mixed_types_is_false),
        cmocka_unit_test(test_contains_startswith_endswith),
        cmocka_unit_test(test_empty_needle_is_true_and_non_strings_false),
        cmocka_unit_test(test_eqk_ci_ignores_ascii_case_only),
        cmocka_unit_test(test_lower_and_upper_fold_ascii_only),
        cmocka_unit_test(test_lower_of_number_is_missing),
        cmocka_unit_test(test_lower_of_bad_utf8_does_not_crash),
        cmocka_unit_test(test_len_counts_code_points_elements_and_members),
        cmocka_unit_test(test_len_of_bad_utf8_counts_non_continuation_bytes),
        cmocka_unit_test(test_len_of_number_or_missing_is_missing),
        cmocka_unit_test(test_coalesce_skips_null_and_missing),
        cmocka_unit_test(test_coalesce_of_star_list_keeps_non_null_values),
        cmocka_unit_test(test_exists_counts_null_as_present),
        cmocka_unit_test(test_inset_finds_strings_by_hash_and_scalars_by_value),
        cmocka_unit_test(test_cidr_op_matches_strings_in_range),
        cmocka_unit_test(test_like_op_uses_glob_on_strings),
        cmocka_unit_test(test_match_op_finds_regex_anywhere),
        cmocka_unit_test(test_match_limit_exceeded_counts_as_no_match),
        cmocka_unit_test(test_match_on_bad_utf8_subject_is_no_match),
        cmocka_unit_test(test_budget_exhaustion_returns_vm_budget),
        cmocka_unit_test(test_budget_of_exactly_program_length_suffices),
        cmocka_unit_test(test_out_of_range_jump_returns_vm_error),
        cmocka_unit_test(test_jump_outside_own_span_is_rejected),
        cmocka_unit_test(test_bad_indexes_return_vm_error),
        cmocka_unit_test(test_falling_off_the_end_or_bad_span_is_vm_error),
        cmocka_unit_test(test_ret_in_value_program_is_vm_error),
        cmocka_unit_test(test_jmpf_and_jmpt_follow_the_flag),
        cmocka_unit_test(test_rule_source_check_and_any_source),
        cmocka_unit_test(test_rule_result_is_memoized_per_event),
        cmocka_unit_test(test_sequence_rule_never_matches_statelessly),
        cmocka_unit_test(test_rule_op_evaluates_named_rule_and_keeps_caller_registers),
        cmocka_unit_test(test_rule_cycle_is_bounded_and_reports_vm_error),
        cmocka_unit_test(test_budget_spent_inside_named_rule_propagates),
        cmocka_unit_test(test_value_program_returns_register),
        cmocka_unit_test(test_severity_names),
        cmocka_unit_test(test_program_free_accepts_null_and_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
