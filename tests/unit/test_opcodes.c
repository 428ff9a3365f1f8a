/* test_opcodes.c — the opcode table (vm/opcodes.h) drives the disassembler
 * and the rule fingerprint: every kind of operand is spelt out by content,
 * and fingerprints stay what they were when the table replaced the
 * hand-written switches (snapshots taken before must still load). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "correlate/correlate.h"
#include "lang/compile.h"

/* Uses an instruction of every opcode that takes an operand from a pool. */
static const char *const ALL_OPS =
    "list l = [\"a\", \"b\", 1, null, true]\n"
    "rule helper { on src1 where .x == 1 private }\n"
    "rule r1 {\n"
    "  where lower(.a) == \"x\" and upper(.b) == \"Y\" and len(.c) > 2 and coalesce(.d, .e, .f) == \"z\"\n"
    "    and .g == .h and .i < .j and .k <= 3 and .l > \"m\" and .n >= 4 and .o contains \"p\" and .q startswith .r\n"
    "    and .s endswith \"t\" and .u in l and .v in cidr(\"10.0.0.0/8\", \"fd00::/8\") and .w like \"a*b?\"\n"
    "    and .y matches /ab+c/i and exists .z and helper and not .aa == false\n"
    "  count >= 3 within 10m by lower(.user), coalesce(.a, .b)\n"
    "  throttle 1h by .ip\n"
    "}\n";

static program *compile_all_ops(void) {
    compile_input in = {"t.secdet", ALL_OPS, strlen(ALL_OPS)};
    diag_list d;
    sd_diag_init(&d);
    program *p = sd_compile_sources(&in, 1, NULL, &d);
    sd_diag_free(&d);
    assert_non_null(p);
    return p;
}

static void test_every_opcode_has_a_name_and_operand_kinds(void **state) {
    (void)state;
    for (int op = 0; op < OP__COUNT; op++) {
        const vm_op_info *info = &sd_vm_op_info_table[op];
        assert_non_null(info->name);
        assert_true(info->name[0] != 0);
        /* a register run is only ever counted from a register in b */
        if (info->c == VM_OPND_NREGS) assert_int_equal(info->b, VM_OPND_REG);
        /* only operand c is wide enough to index a pool or jump */
        assert_true(sd_program_pool_size(&(program){0}, info->a) == 0 && info->a != VM_OPND_JUMP);
        assert_true(info->b != VM_OPND_JUMP && info->b != VM_OPND_NREGS);
    }
    assert_string_equal(sd_vm_op_info_table[OP_CIDR].name, "CIDR");
    assert_int_equal(sd_vm_op_info_table[OP_MATCH].c, VM_OPND_REGEX);
}

static void test_disassembly_spells_out_every_pooled_operand(void **state) {
    (void)state;
    program *p = compile_all_ops();
    char *text = sd_program_disasm(p);
    assert_non_null(text);
    const char *want[] = {"LOADP      r0 .a",
                          "EQK_CI",
                          "COALESCE   r0 r1..r3",
                          "INSET      r0 {\"a\", \"b\", 1, null, true}",
                          "CIDR       r0 cidr(10.0.0.0/8, fd00::/8)",
                          "LIKE       r0 \"a*b?\"",
                          "MATCH      r0 /ab+c/i",
                          "RULE       helper",
                          "JMPF       -> ",
                          "RETV       r0"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        if (!strstr(text, want[i])) print_error("missing %s in:\n%s", want[i], text);
        assert_non_null(strstr(text, want[i]));
    }
    free(text);
    sd_program_free(p);
}

static void fp_hex(const program *p, uint32_t r, char out[33]) {
    corr_fp fp;
    sd_corr_fingerprint(p, r, &fp);
    for (int i = 0; i < CORR_FP_BYTES; i++) snprintf(out + 2 * i, 3, "%02x", fp.b[i]);
}

static void test_fingerprints_are_unchanged_by_the_table(void **state) {
    (void)state;
    /* Computed by the hand-written fingerprint switch this table replaced:
     * snapshots written before keep their state. */
    program *p = compile_all_ops();
    char hex[33];
    assert_string_equal(p->rules[0].name, "helper");
    fp_hex(p, 0, hex);
    assert_string_equal(hex, "823787191f667c132828cd136b64ae99");
    assert_string_equal(p->rules[1].name, "r1");
    fp_hex(p, 1, hex);
    assert_string_equal(hex, "b5870f12c93ca5d826301f5856c229fd");
    sd_program_free(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_opcode_has_a_name_and_operand_kinds),
        cmocka_unit_test(test_disassembly_spells_out_every_pooled_operand),
        cmocka_unit_test(test_fingerprints_are_unchanged_by_the_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
