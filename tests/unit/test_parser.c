/* test_parser.c — the rule parser: declarations, every condition form,
 * precedence, rule clauses, normalised key text, node locations, and error
 * reporting (messages, positions, resynchronisation, limits). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lang/ast.h"
#include "lang/parser.h"
#include "util/buf.h"
#include "util/diag.h"

typedef struct parsed {
    ast_ruleset rs;
    diag_list d;
    size_t errors;
} parsed;

static parsed *parse(const char *src) {
    parsed *p = calloc(1, sizeof *p);
    assert_non_null(p);
    sd_ast_ruleset_init(&p->rs);
    sd_diag_init(&p->d);
    p->errors = sd_parse_source(&p->rs, "t.secdet", src, strlen(src), &p->d);
    return p;
}

static void done(parsed *p) {
    sd_ast_ruleset_free(&p->rs);
    sd_diag_free(&p->d);
    free(p);
}

static void print_diags(const parsed *p) {
    char line[600];
    for (size_t i = 0; i < p->d.count; i++) {
        sd_diag_format(&p->d.items[i], line, sizeof line);
        fprintf(stderr, "  diag: %s\n", line);
    }
}

/* Parses src and checks that it reports exactly the given diagnostics, in order. */
static void assert_diags(const char *src, const char *const *want) {
    parsed *p = parse(src);
    size_t n = 0;
    while (want[n]) n++;
    if (p->d.count != n) print_diags(p);
    assert_int_equal(p->d.count, n);
    assert_int_equal(p->errors, n);
    char line[600];
    for (size_t i = 0; i < n; i++) {
        sd_diag_format(&p->d.items[i], line, sizeof line);
        assert_string_equal(line, want[i]);
    }
    done(p);
}

static parsed *parse_ok(const char *src) {
    parsed *p = parse(src);
    if (p->errors) print_diags(p);
    assert_int_equal(p->errors, 0);
    return p;
}

/* ---- a compact rendering of conditions ------------------------------- */

static void put_cond(buf *b, const ast_cond *c) {
    static const char *const ops[] = {"==",        "!=",          "<",          "<=",       ">",
                                      ">=",        "contains",    "startswith", "endswith", "=~",
                                      "icontains", "istartswith", "iendswith",  "like",     "ilike"};
    char *l = c->lhs ? sd_ast_expr_text(c->lhs) : NULL;
    switch (c->kind) {
    case COND_OR:
    case COND_AND:
        sd_buf_printf(b, "(%s ", c->kind == COND_OR ? "or" : "and");
        put_cond(b, c->l);
        sd_buf_putc(b, ' ');
        put_cond(b, c->r);
        sd_buf_putc(b, ')');
        break;
    case COND_NOT:
        sd_buf_puts(b, "(not ");
        put_cond(b, c->l);
        sd_buf_putc(b, ')');
        break;
    case COND_CMP: {
        char *r = sd_ast_expr_text(c->rhs);
        sd_buf_printf(b, "(%s %s %s)", ops[c->op], l, r);
        free(r);
        break;
    }
    case COND_IN:
        if (c->name)
            sd_buf_printf(b, "(in %s @%s)", l, c->name);
        else
            sd_buf_printf(b, "(in %s [%zu])", l, c->lit.nitems);
        break;
    case COND_CIDR: sd_buf_printf(b, "(cidr %s [%zu])", l, c->lit.nitems); break;
    case COND_LIKE: sd_buf_printf(b, "(like %s \"%s\")", l, c->lit.str); break;
    case COND_MATCHES: sd_buf_printf(b, "(matches %s /%s/%s)", l, c->lit.str, c->lit.flags); break;
    case COND_EXISTS: sd_buf_printf(b, "(exists %s)", l); break;
    case COND_NAME: sd_buf_puts(b, c->name); break;
    case COND_ANY:
    case COND_ALL:
        sd_buf_printf(b, "(%s %s%s ", c->kind == COND_ANY ? "any" : "all", c->lhs->rooted ? "$" : "", l);
        put_cond(b, c->l);
        sd_buf_putc(b, ')');
        break;
    case COND_STRS:
        if (c->name)
            sd_buf_printf(b, "(%s %s @%s)", ops[c->op], l, c->name);
        else
            sd_buf_printf(b, "(%s %s [%zu])", ops[c->op], l, c->lit.nitems);
        break;
    }
    free(l);
}

static void assert_where(const char *cond, const char *want) {
    char src[4096];
    snprintf(src, sizeof src, "rule r {\n where %s\n}\n", cond);
    parsed *p = parse_ok(src);
    assert_int_equal(p->rs.nrules, 1);
    buf b;
    sd_buf_init(&b);
    put_cond(&b, p->rs.rules[0]->where);
    assert_string_equal(b.data, want);
    sd_buf_free(&b);
    done(p);
}

/* ---- declarations ------------------------------------------------------ */

static void test_empty_input_parses_to_nothing(void **state) {
    (void)state;
    parsed *p = parse_ok("");
    assert_int_equal(p->rs.nfiles, 1);
    assert_string_equal(p->rs.files[0], "t.secdet");
    assert_int_equal(p->rs.nrules + p->rs.nmacros + p->rs.nlists, 0);
    done(p);
    p = parse_ok("  # nothing but a comment\n\n");
    done(p);
}

static void test_list_declaration(void **state) {
    (void)state;
    parsed *p = parse_ok("list admin_actions = [\"AttachUserPolicy\", 42, -1.5, true, null,]\nlist empty = []");
    assert_int_equal(p->rs.nlists, 2);
    ast_list *l = p->rs.lists[0];
    assert_string_equal(l->name, "admin_actions");
    assert_int_equal(l->loc.line, 1);
    assert_int_equal(l->loc.col, 1);
    assert_int_equal(l->items.kind, LIT_LIST);
    assert_int_equal(l->items.nitems, 5);
    assert_int_equal(l->items.items[0].kind, LIT_STR);
    assert_string_equal(l->items.items[0].str, "AttachUserPolicy");
    assert_int_equal(l->items.items[0].loc.col, 23);
    assert_true(l->items.items[1].num == 42);
    assert_true(l->items.items[2].num == -1.5);
    assert_int_equal(l->items.items[3].kind, LIT_BOOL);
    assert_true(l->items.items[3].b);
    assert_int_equal(l->items.items[4].kind, LIT_NULL);
    assert_int_equal(p->rs.lists[1]->items.nitems, 0);
    done(p);
}

static void test_macro_declaration(void **state) {
    (void)state;
    parsed *p =
        parse_ok("macro console_login = .eventSource == \"signin.amazonaws.com\" and .eventName == \"ConsoleLogin\"\n");
    assert_int_equal(p->rs.nmacros, 1);
    assert_string_equal(p->rs.macros[0]->name, "console_login");
    assert_int_equal(p->rs.macros[0]->cond->kind, COND_AND);
    assert_int_equal(p->rs.macros[0]->cond->loc.col, 62);
    done(p);
}

static void test_contract_example_parses(void **state) {
    (void)state;
    const char *src =
        "# comment to end of line\n"
        "\n"
        "list admin_actions = [\"AttachUserPolicy\", \"PutUserPolicy\", \"CreateAccessKey\"]\n"
        "\n"
        "macro console_login = .eventSource == \"signin.amazonaws.com\" and .eventName == \"ConsoleLogin\"\n"
        "\n"
        "rule aws_console_login_without_mfa {\n"
        "    meta {\n"
        "        title = \"AWS Management Console sign-in without MFA\"\n"
        "        severity = high\n"
        "        tags = [\"cis-aws-4.2\", \"attack.initial_access\"]\n"
        "    }\n"
        "    on cloudtrail\n"
        "    where console_login\n"
        "      and .additionalEventData.MFAUsed != \"Yes\"\n"
        "      and .responseElements.ConsoleLogin == \"Success\"\n"
        "    output \"Console sign-in without MFA by {.userIdentity.arn} from {.sourceIPAddress}\"\n"
        "}\n";
    parsed *p = parse_ok(src);
    assert_int_equal(p->rs.nlists, 1);
    assert_int_equal(p->rs.nmacros, 1);
    assert_int_equal(p->rs.nrules, 1);
    ast_rule *r = p->rs.rules[0];
    assert_string_equal(r->name, "aws_console_login_without_mfa");
    assert_int_equal(r->loc.line, 7);
    assert_int_equal(r->nmeta, 3);
    assert_string_equal(r->meta[0].key, "title");
    assert_int_equal(r->meta[0].value.kind, LIT_STR);
    assert_string_equal(r->meta[1].key, "severity");
    assert_int_equal(r->meta[1].value.kind, LIT_IDENT);
    assert_string_equal(r->meta[1].value.str, "high");
    assert_int_equal(r->meta[2].value.kind, LIT_LIST);
    assert_int_equal(r->meta[2].value.nitems, 2);
    assert_int_equal(r->non, 1);
    assert_string_equal(r->on[0], "cloudtrail");
    assert_int_equal(r->on_loc[0].line, 13);
    assert_int_equal(r->on_loc[0].col, 8);
    assert_string_equal(r->output, "Console sign-in without MFA by {.userIdentity.arn} from {.sourceIPAddress}");
    assert_int_equal(r->output_loc.line, 17);
    assert_int_equal(r->output_loc.col, 12);
    assert_int_equal(r->agg, AGG_NONE);
    assert_false(r->has_throttle);
    assert_false(r->is_private);
    buf b;
    sd_buf_init(&b);
    put_cond(&b, r->where);
    assert_string_equal(b.data, "(and (and console_login (!= .additionalEventData.MFAUsed \"Yes\")) "
                                "(== .responseElements.ConsoleLogin \"Success\"))");
    sd_buf_free(&b);
    done(p);
}

/* ---- conditions ------------------------------------------------------- */

static void test_precedence_or_and_not(void **state) {
    (void)state;
    assert_where("a or b and not c", "(or a (and b (not c)))");
    assert_where("not a and b or c", "(or (and (not a) b) c)");
    assert_where("(a or b) and c", "(and (or a b) c)");
    assert_where("not not a", "(not (not a))");
    assert_where("not (a or b)", "(not (or a b))");
}

static void test_every_comparison_form(void **state) {
    (void)state;
    assert_where(".a == \"x\"", "(== .a \"x\")");
    assert_where(".a != 1", "(!= .a 1)");
    assert_where(".a < 1.5", "(< .a 1.5)");
    assert_where(".a <= -2", "(<= .a -2)");
    assert_where(".a > .b", "(> .a .b)");
    assert_where(".a >= 10", "(>= .a 10)");
    assert_where(".a contains \"x\"", "(contains .a \"x\")");
    assert_where(".a startswith \"x\"", "(startswith .a \"x\")");
    assert_where(".a endswith \"x\"", "(endswith .a \"x\")");
    assert_where(".a in [\"x\", \"y\", 3]", "(in .a [3])");
    assert_where(".a in admin_actions", "(in .a @admin_actions)");
    assert_where(".ip in cidr(\"10.0.0.0/8\", \"fd00::/8\")", "(cidr .ip [2])");
    assert_where(".a like \"Access*Denied?\"", "(like .a \"Access*Denied?\")");
    assert_where(".a matches /^adm(in)?$/i", "(matches .a /^adm(in)?$/i)");
    assert_where("exists .a.b", "(exists .a.b)");
    assert_where("exists lower(.a)", "(exists lower(.a))");
    assert_where("some_macro", "some_macro");
    assert_where(".a == null", "(== .a null)");
    assert_where(".a == true", "(== .a true)");
    assert_where("\"x\" == .a", "(== \"x\" .a)");
    assert_where(".userIdentity.accountId != .recipientAccountId", "(!= .userIdentity.accountId .recipientAccountId)");
}

static void test_functions_in_expressions(void **state) {
    (void)state;
    assert_where("lower(.a) == \"x\"", "(== lower(.a) \"x\")");
    assert_where("upper( .a )== \"X\"", "(== upper(.a) \"X\")");
    assert_where("len(.resources) > 2", "(> len(.resources) 2)");
    assert_where("coalesce(.a,.b ,  .c) == \"x\"", "(== coalesce(.a, .b, .c) \"x\")");
    assert_where("lower(coalesce(.a, .b)) in [\"x\"]", "(in lower(coalesce(.a, .b)) [1])");
}

static void test_path_forms_in_conditions(void **state) {
    (void)state;
    assert_where(".resources[0].ARN == \"x\"", "(== .resources[0].ARN \"x\")");
    assert_where(".resources[*].ARN == \"x\"", "(== .resources[*].ARN \"x\")");
    assert_where(".\"key with spaces\" == 1", "(== .\"key with spaces\" 1)");
    assert_where(".requestParameters.\"bucket-name\" == 1", "(== .requestParameters.\"bucket-name\" 1)");
}

static void test_condition_locations_are_the_operators(void **state) {
    (void)state;
    parsed *p = parse_ok("rule r {\n  where .a == 1 or not exists .b\n}");
    ast_cond *c = p->rs.rules[0]->where;
    assert_int_equal(c->kind, COND_OR);
    assert_int_equal(c->loc.line, 2);
    assert_int_equal(c->loc.col, 17);
    assert_int_equal(c->l->loc.col, 12);     /* == */
    assert_int_equal(c->l->lhs->loc.col, 9); /* .a */
    assert_int_equal(c->l->rhs->loc.col, 15);
    assert_int_equal(c->r->kind, COND_NOT);
    assert_int_equal(c->r->loc.col, 20);
    assert_int_equal(c->r->l->kind, COND_EXISTS);
    assert_int_equal(c->r->l->loc.col, 24);
    assert_int_equal(c->loc.file, 0);
    done(p);
}

static int tree_depth(const ast_cond *c) {
    if (!c) return 0;
    int l = tree_depth(c->l), r = tree_depth(c->r);
    return 1 + (l > r ? l : r);
}

static void collect_names(const ast_cond *c, buf *b) {
    if (c->kind == COND_OR) {
        collect_names(c->l, b);
        collect_names(c->r, b);
    } else {
        sd_buf_puts(b, c->name);
        sd_buf_putc(b, ' ');
    }
}

static void test_long_or_chain_is_balanced_and_keeps_order(void **state) {
    (void)state;
    buf src, want;
    sd_buf_init(&src);
    sd_buf_init(&want);
    sd_buf_puts(&src, "macro m = ");
    for (int i = 0; i < 5000; i++) {
        sd_buf_printf(&src, "%sn%d", i ? " or " : "", i);
        sd_buf_printf(&want, "n%d ", i);
    }
    parsed *p = parse_ok(src.data);
    ast_cond *c = p->rs.macros[0]->cond;
    assert_true(tree_depth(c) <= 14);
    buf got;
    sd_buf_init(&got);
    collect_names(c, &got);
    assert_string_equal(got.data, want.data);
    /* the root joins n2499 and n2500: its location is the 'or' between them */
    assert_int_equal(c->loc.col, (int)(strstr(src.data, " n2499 or") - src.data) + 7 + 1);
    sd_buf_free(&got);
    sd_buf_free(&src);
    sd_buf_free(&want);
    done(p);
}

/* ---- rule clauses ------------------------------------------------------ */

static void test_on_accepts_hyphenated_names_and_strings(void **state) {
    (void)state;
    parsed *p = parse_ok("rule r {\n on cloudtrail, cloudwatch-logs ,\"my source\"\n where a\n}");
    ast_rule *r = p->rs.rules[0];
    assert_int_equal(r->non, 3);
    assert_string_equal(r->on[0], "cloudtrail");
    assert_string_equal(r->on[1], "cloudwatch-logs");
    assert_int_equal(r->on_loc[1].col, 17);
    assert_string_equal(r->on[2], "my source");
    done(p);
}

static void test_meta_values(void **state) {
    (void)state;
    parsed *p = parse_ok("rule r {\n meta { title = \"T\", severity = critical; score = 7.5 enabled = false\n"
                         "  window = 10m tags = [\"a\", b, 3] }\n where a\n}");
    ast_rule *r = p->rs.rules[0];
    assert_int_equal(r->nmeta, 6);
    assert_int_equal(r->meta[1].value.kind, LIT_IDENT);
    assert_int_equal(r->meta[2].value.kind, LIT_NUM);
    assert_true(r->meta[2].value.num == 7.5);
    assert_int_equal(r->meta[3].value.kind, LIT_BOOL);
    assert_false(r->meta[3].value.b);
    assert_int_equal(r->meta[4].value.kind, LIT_DURATION);
    assert_true(r->meta[4].value.num == 600000);
    assert_int_equal(r->meta[5].value.nitems, 3);
    assert_int_equal(r->meta[5].value.items[1].kind, LIT_IDENT);
    assert_int_equal(r->meta[5].loc.line, 3);
    assert_int_equal(r->meta[5].loc.col, 16);
    done(p);
}

static void test_count_aggregation(void **state) {
    (void)state;
    parsed *p = parse_ok("rule r {\n where a\n count >= 5 within 10m by .sourceIPAddress\n}\n"
                         "rule s {\n where a\n count > 3 within 30s\n}");
    ast_rule *r = p->rs.rules[0];
    assert_int_equal(r->agg, AGG_COUNT);
    assert_int_equal(r->agg_loc.line, 3);
    assert_int_equal(r->agg_loc.col, 2);
    assert_false(r->agg_gt);
    assert_true(r->threshold == 5);
    assert_int_equal(r->within_ms, 600000);
    assert_int_equal(r->nby, 1);
    assert_string_equal(r->by[0].text, ".sourceIPAddress");
    r = p->rs.rules[1];
    assert_true(r->agg_gt);
    assert_true(r->threshold == 3);
    assert_int_equal(r->within_ms, 30000);
    assert_int_equal(r->nby, 0);
    done(p);
}

static void test_distinct_aggregation(void **state) {
    (void)state;
    parsed *p = parse_ok("rule r {\n where a\n distinct .userIdentity.userName >= 10 within 1h by .sourceIPAddress\n}");
    ast_rule *r = p->rs.rules[0];
    assert_int_equal(r->agg, AGG_DISTINCT);
    char *t = sd_ast_expr_text(r->distinct);
    assert_string_equal(t, ".userIdentity.userName");
    free(t);
    assert_true(r->threshold == 10);
    assert_int_equal(r->within_ms, 3600000);
    assert_string_equal(r->by[0].text, ".sourceIPAddress");
    done(p);
}

static void test_sequence_aggregation(void **state) {
    (void)state;
    parsed *p = parse_ok("rule r {\n sequence within 1h by .userIdentity.arn {\n"
                         "   recon: .eventName in [\"ListBuckets\", \"GetCallerIdentity\"];\n"
                         "   escalate: .eventName == \"AttachUserPolicy\" or admin_rule;\n }\n}\n"
                         "rule s { sequence within 5m { one: a; two: b } }");
    ast_rule *r = p->rs.rules[0];
    assert_int_equal(r->agg, AGG_SEQUENCE);
    assert_null(r->where);
    assert_int_equal(r->within_ms, 3600000);
    assert_string_equal(r->by[0].text, ".userIdentity.arn");
    assert_int_equal(r->nsteps, 2);
    assert_string_equal(r->steps[0].name, "recon");
    assert_int_equal(r->steps[0].loc.line, 3);
    assert_int_equal(r->steps[0].loc.col, 4);
    assert_int_equal(r->steps[0].cond->kind, COND_IN);
    assert_string_equal(r->steps[1].name, "escalate");
    assert_int_equal(r->steps[1].cond->kind, COND_OR);
    assert_int_equal(p->rs.rules[1]->nsteps, 2);
    done(p);
}

static void test_throttle_output_private(void **state) {
    (void)state;
    parsed *p =
        parse_ok("rule r {\n private\n output \"x {count}\"\n throttle 1h by .sourceIPAddress, lower(.u)\n where a\n}");
    ast_rule *r = p->rs.rules[0];
    assert_true(r->is_private);
    assert_true(r->has_throttle);
    assert_int_equal(r->throttle_loc.line, 4);
    assert_int_equal(r->throttle_ms, 3600000);
    assert_int_equal(r->nthrottle_by, 2);
    assert_string_equal(r->throttle_by[1].text, "lower(.u)");
    assert_string_equal(r->output, "x {count}");
    done(p);
}

static void test_key_text_is_normalised(void **state) {
    (void)state;
    parsed *p = parse_ok("rule r {\n where a\n count >= 2 within 1m by lower( coalesce( .a ,.b ) ),"
                         " .\"x y\"  ,  .\"plain\", len(.r[*]), coalesce(.a, \"dflt\", 1.25)\n}");
    ast_rule *r = p->rs.rules[0];
    assert_int_equal(r->nby, 5);
    assert_string_equal(r->by[0].text, "lower(coalesce(.a, .b))");
    assert_string_equal(r->by[1].text, ".\"x y\"");
    assert_string_equal(r->by[2].text, ".plain");
    assert_string_equal(r->by[3].text, "len(.r[*])");
    assert_string_equal(r->by[4].text, "coalesce(.a, \"dflt\", 1.25)");
    done(p);
}

/* ---- errors ------------------------------------------------------------ */

static void test_expected_a_condition_after_and(void **state) {
    (void)state;
    const char *want[] = {"t.secdet:3:9: expected a condition after 'and', found 'output'", NULL};
    assert_diags("rule r {\n where .a == 1 and\n        output \"x\"\n}", want);
}

static void test_missing_closing_brace_names_the_rule(void **state) {
    (void)state;
    const char *want[] = {"t.secdet:4:1: expected '}' to close rule 'x' opened at 3:1, found end of file", NULL};
    assert_diags("\n\nrule x {\n", want);
    const char *want2[] = {"t.secdet:3:1: expected '}' to close rule 'x' opened at 1:1, found 'rule'", NULL};
    parsed *p = parse("rule x {\n where a\nrule y {\n where b\n}\n");
    assert_int_equal(p->errors, 1);
    char line[300];
    sd_diag_format(&p->d.items[0], line, sizeof line);
    assert_string_equal(line, want2[0]);
    assert_int_equal(p->rs.nrules, 2); /* x is a stub, y survives whole */
    assert_string_equal(p->rs.rules[0]->name, "x");
    assert_true(p->rs.rules[0]->broken);
    assert_string_equal(p->rs.rules[1]->name, "y");
    assert_false(p->rs.rules[1]->broken);
    done(p);
}

static void test_lexical_errors_are_reported_once_without_cascade(void **state) {
    (void)state;
    const char *want[] = {"t.secdet:2:16: invalid escape '\\q' in string", NULL};
    assert_diags("rule r {\n where .a == \"a\\qb\"\n output \"x\"\n}", want);
    const char *want2[] = {"t.secdet:2:16: invalid UTF-8 byte 0xFF in string", NULL};
    assert_diags("rule r {\n where .a == \"a\xFF\"\n}", want2);
}

static void test_many_errors_in_one_file_are_all_reported(void **state) {
    (void)state;
    const char *src = "list l = [1, 2\n"         /* 1 */
                      "macro m = .a ==\n"        /* 2 */
                      "rule ok1 { where a }\n"   /* 3 */
                      "rule bad {\n"             /* 4 */
                      "  where .a = 1\n"         /* 5 */
                      "  count >= 5 within 10\n" /* 6 */
                      "  output 42\n"            /* 7 */
                      "}\n"                      /* 8 */
                      "bogus\n"                  /* 9 */
                      "rule ok2 {\n where b\n}\n";
    const char *want[] = {
        "t.secdet:2:1: expected ',' or ']' after '2', found 'macro'",
        "t.secdet:3:1: expected a field path or a value after '==', found 'rule'",
        "t.secdet:5:12: expected a comparison operator (==, !=, <, <=, >, >=, =~, in, contains, startswith, endswith, "
        "like, matches, icontains, istartswith, iendswith, ilike) after '.a', found '='",
        "t.secdet:6:21: expected a duration (like 500ms, 30s, 10m, 1h or 7d) after 'within', found '10'",
        "t.secdet:7:10: expected a template string after 'output', found '42'",
        "t.secdet:9:1: expected 'list', 'macro' or 'rule', found 'bogus'",
        NULL};
    parsed *p = parse(src);
    size_t n = 0;
    while (want[n]) n++;
    if (p->d.count != n) print_diags(p);
    assert_int_equal(p->d.count, n);
    char line[600];
    for (size_t i = 0; i < n; i++) {
        sd_diag_format(&p->d.items[i], line, sizeof line);
        assert_string_equal(line, want[i]);
    }
    /* the good declarations survive; the broken ones are stubs: name and place only */
    assert_int_equal(p->rs.nlists, 1);
    assert_true(p->rs.lists[0]->broken);
    assert_int_equal(p->rs.lists[0]->items.nitems, 0);
    assert_int_equal(p->rs.nmacros, 1);
    assert_true(p->rs.macros[0]->broken);
    assert_null(p->rs.macros[0]->cond);
    assert_int_equal(p->rs.nrules, 3);
    assert_string_equal(p->rs.rules[0]->name, "ok1");
    assert_false(p->rs.rules[0]->broken);
    assert_string_equal(p->rs.rules[1]->name, "bad");
    assert_true(p->rs.rules[1]->broken);
    assert_null(p->rs.rules[1]->where);
    assert_string_equal(p->rs.rules[2]->name, "ok2");
    assert_false(p->rs.rules[2]->broken);
    done(p);
}

static void test_resync_skips_nested_braces_in_a_broken_rule(void **state) {
    (void)state;
    const char *want[] = {"t.secdet:2:17: expected a value after '=', found '}'",
                          "t.secdet:5:42: expected ';' or '}' after 'b', found 'c'", NULL};
    assert_diags("rule r {\n meta { title = }\n where a\n}\n"
                 "rule s { sequence within 1m { x: a; y: b c } }\nrule t { where a }\n",
                 want);
}

static void test_duplicate_clauses_are_errors(void **state) {
    (void)state;
    const char *want[] = {"t.secdet:3:2: duplicate 'where' in rule 'r' (first at 2:2)",
                          "t.secdet:7:2: rule 's' already has an aggregation (count, distinct, sum or sequence) at 6:2",
                          NULL};
    assert_diags("rule r {\n where a\n where b\n}\n"
                 "rule s {\n count >= 1 within 1m\n distinct .x >= 2 within 1m\n where a\n}\n"
                 "rule t { meta { a = 1 b = 2 a = 3 } where a }\n",
                 want); /* a meta key given twice is the checker's to report */
}

static void test_where_and_sequence_presence_is_left_to_the_checker(void **state) {
    (void)state;
    parsed *p = parse_ok("rule r { on cloudtrail }\nrule s { where a  sequence within 1m { x: a } }\n");
    assert_int_equal(p->rs.nrules, 2);
    assert_null(p->rs.rules[0]->where);
    assert_non_null(p->rs.rules[1]->where);
    assert_int_equal(p->rs.rules[1]->agg, AGG_SEQUENCE);
    assert_int_equal(p->rs.rules[1]->agg_loc.col, 19);
    done(p);
}

static void test_keywords_cannot_be_names(void **state) {
    (void)state;
    const char *want[] = {"t.secdet:1:7: 'where' is a keyword and cannot name a macro",
                          "t.secdet:2:17: expected a condition after 'and', found 'or'", NULL};
    assert_diags("macro where = a\nmacro m = a and or b\n", want);
}

static void test_bare_name_compared_suggests_a_path(void **state) {
    (void)state;
    const char *want[] = {
        "t.secdet:1:11: 'eventName' is a macro or rule name, not a field; write '.eventName' for the field", NULL};
    assert_diags("macro m = eventName == \"x\"", want);
}

static void test_matches_requires_a_regex(void **state) {
    (void)state;
    const char *want[] = {"t.secdet:1:22: expected a regex /.../ after 'matches', found '\"x\"'",
                          "t.secdet:2:25: invalid regex flag 'g' (allowed: i, m, s, x)", NULL};
    assert_diags("macro m = .a matches \"x\"\nmacro n = .a matches /x/g\n", want);
}

static void test_function_arity(void **state) {
    (void)state;
    const char *want[] = {"t.secdet:1:11: lower() takes exactly one argument, not 2", NULL};
    assert_diags("macro m = lower(.a, .b) == \"x\"", want);
}

static void test_unclosed_parenthesis(void **state) {
    (void)state;
    const char *want[] = {"t.secdet:1:20: expected ')' to close '(' opened at 1:11, found end of file", NULL};
    assert_diags("macro m = (a or b  ", want);
}

static void test_nesting_depth_is_bounded(void **state) {
    (void)state;
    buf b;
    sd_buf_init(&b);
    sd_buf_puts(&b, "macro m = ");
    for (int i = 0; i < 100; i++) sd_buf_putc(&b, '(');
    sd_buf_puts(&b, "a");
    for (int i = 0; i < 100; i++) sd_buf_putc(&b, ')');
    parsed *p = parse_ok(b.data);
    done(p);

    sd_buf_reset(&b);
    sd_buf_puts(&b, "macro m = ");
    for (int i = 0; i < 100000; i++) sd_buf_putc(&b, '(');
    sd_buf_puts(&b, "a\nmacro ok = b\n");
    p = parse(b.data);
    assert_int_equal(p->errors, 1);
    assert_int_equal(p->d.items[0].column, 11 + 128); /* the first '(' past the limit */
    assert_string_equal(p->d.items[0].message, "nesting deeper than 128");
    assert_int_equal(p->rs.nmacros, 2); /* m is a stub */
    assert_true(p->rs.macros[0]->broken);
    assert_false(p->rs.macros[1]->broken);
    done(p);

    sd_buf_reset(&b);
    sd_buf_puts(&b, "macro m = ");
    for (int i = 0; i < 300; i++) sd_buf_puts(&b, "not ");
    sd_buf_puts(&b, "a");
    p = parse(b.data);
    assert_int_equal(p->errors, 1);
    assert_string_equal(p->d.items[0].message, "nesting deeper than 128");
    done(p);

    sd_buf_reset(&b);
    sd_buf_puts(&b, "macro m = ");
    for (int i = 0; i < 300; i++) sd_buf_puts(&b, "lower(");
    sd_buf_puts(&b, ".a");
    p = parse(b.data);
    assert_int_equal(p->errors, 1);
    assert_string_equal(p->d.items[0].message, "nesting deeper than 128");
    done(p);
    sd_buf_free(&b);
}

static void test_bad_utf8_outside_strings_is_reported(void **state) {
    (void)state;
    const char *want[] = {"t.secdet:2:8: invalid UTF-8 byte 0xFF", NULL};
    assert_diags("rule r {\n where \xFF a\n}\nrule s { where b }", want);
}

static void test_errors_only_in_a_later_file_use_its_index(void **state) {
    (void)state;
    ast_ruleset rs;
    diag_list d;
    sd_ast_ruleset_init(&rs);
    sd_diag_init(&d);
    assert_int_equal(sd_parse_source(&rs, "a.secdet", "rule a { where x }", 18, &d), 0);
    assert_int_equal(sd_parse_source(&rs, "b.secdet", "rule b { where y }\nrule", 23, &d), 1);
    assert_int_equal(rs.nfiles, 2);
    assert_int_equal(rs.rules[1]->loc.file, 1);
    assert_string_equal(d.items[0].file, "b.secdet");
    assert_string_equal(d.items[0].message, "expected a rule name after 'rule', found end of file");
    sd_ast_ruleset_free(&rs);
    sd_diag_free(&d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_input_parses_to_nothing),
        cmocka_unit_test(test_list_declaration),
        cmocka_unit_test(test_macro_declaration),
        cmocka_unit_test(test_contract_example_parses),
        cmocka_unit_test(test_precedence_or_and_not),
        cmocka_unit_test(test_every_comparison_form),
        cmocka_unit_test(test_functions_in_expressions),
        cmocka_unit_test(test_path_forms_in_conditions),
        cmocka_unit_test(test_condition_locations_are_the_operators),
        cmocka_unit_test(test_long_or_chain_is_balanced_and_keeps_order),
        cmocka_unit_test(test_on_accepts_hyphenated_names_and_strings),
        cmocka_unit_test(test_meta_values),
        cmocka_unit_test(test_count_aggregation),
        cmocka_unit_test(test_distinct_aggregation),
        cmocka_unit_test(test_sequence_aggregation),
        cmocka_unit_test(test_throttle_output_private),
        cmocka_unit_test(test_key_text_is_normalised),
        cmocka_unit_test(test_expected_a_condition_after_and),
        cmocka_unit_test(test_missing_closing_brace_names_the_rule),
        cmocka_unit_test(test_lexical_errors_are_reported_once_without_cascade),
        cmocka_unit_test(test_many_errors_in_one_file_are_all_reported),
        cmocka_unit_test(test_resync_skips_nested_braces_in_a_broken_rule),
        cmocka_unit_test(test_duplicate_clauses_are_errors),
        cmocka_unit_test(test_where_and_sequence_presence_is_left_to_the_checker),
        cmocka_unit_test(test_keywords_cannot_be_names),
        cmocka_unit_test(test_bare_name_compared_suggests_a_path),
        cmocka_unit_test(test_matches_requires_a_regex),
        cmocka_unit_test(test_function_arity),
        cmocka_unit_test(test_unclosed_parenthesis),
        cmocka_unit_test(test_nesting_depth_is_bounded),
        cmocka_unit_test(test_bad_utf8_outside_strings_is_reported),
        cmocka_unit_test(test_errors_only_in_a_later_file_use_its_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
