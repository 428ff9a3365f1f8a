/* test_disasm_part2.c — `secdet disasm` shows what Part 2 added to a rule:
 * a sum (its name and its threshold, which is a number, not a count), an
 * unordered sequence, `not` steps, counted steps and per-step keys. The
 * name of a sum rule's aggregation used to be read past the end of the
 * names table (UBSan: index 4 out of bounds), found by fuzz_compile's seed
 * of the fuzz ruleset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lang/compile.h"
#include "vm/program.h"

static const char RULES[] =
    "rule bytes { where exists .n sum .n > 1.5e9 within 1h by .user }\n"
    "rule bytes_ge { where exists .n sum .n >= 10 within 1m by .user }\n"
    "rule set { sequence unordered within 5m by .u { a: .k == 1; b: .k == 2 count >= 3 within 1m } }\n"
    "rule gone { sequence within 1h { f: .k == 3 by .ip; not q: .k == 4 by .addr } }\n";

static void test_part2_rules_disassemble(void **state) {
    (void)state;
    diag_list d;
    sd_diag_init(&d);
    compile_input in = {.name = "t.secdet", .text = RULES, .len = sizeof RULES - 1};
    program *p = sd_compile_sources(&in, 1, NULL, &d);
    assert_non_null(p);
    char *dis = sd_program_disasm(p);
    assert_non_null(dis);
    assert_non_null(strstr(dis, "sum>1500000000 within 3600000ms"));
    assert_non_null(strstr(dis, "sum>=10 within 60000ms"));
    assert_non_null(strstr(dis, "\n  sum:"));
    assert_non_null(strstr(dis, "within 300000ms  unordered"));
    assert_non_null(strstr(dis, "step b count>=3 within 60000ms:"));
    assert_non_null(strstr(dis, "step not q:"));
    assert_non_null(strstr(dis, "step by .ip:"));
    assert_non_null(strstr(dis, "step by .addr:"));
    free(dis);
    sd_program_free(p);
    sd_diag_free(&d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_part2_rules_disassemble),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
