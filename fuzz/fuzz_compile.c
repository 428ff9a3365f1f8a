/* fuzz_compile.c — libFuzzer target: rule source text → compiled program.
 *
 * The whole front end on hostile rule text: lexer, parser (with its error
 * resynchronisation), checker, compiler (pools, templates, PCRE2 compile,
 * dispatch index) and the disassembler, then everything freed. A NUL byte
 * in the input splits it into two files compiled as one ruleset, so the
 * cross-file namespace (duplicate names, references between files) is
 * reached too. Properties checked beyond "no crash, no leak":
 *  - a ruleset either compiles (a program, no errors) or does not (NULL and
 *    at least one error) — never both, never neither;
 *  - every diagnostic formats to a non-empty "file:line:col: message" line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/compile.h"
#include "util/diag.h"
#include "vm/program.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    compile_input files[2];
    size_t nfiles = 1;
    const char *nul = size ? memchr(text, 0, size) : NULL;
    if (nul) {
        size_t first = (size_t)(nul - text);
        files[0] = (compile_input){.name = "a.secdet", .text = text, .len = first};
        files[1] = (compile_input){.name = "b.secdet", .text = nul + 1, .len = size - first - 1};
        nfiles = 2;
    } else {
        files[0] = (compile_input){.name = "fuzz.secdet", .text = text, .len = size};
    }

    diag_list d;
    sd_diag_init(&d);
    compile_limits lim = {.max_source_bytes = 1u << 20};
    program *p = sd_compile_sources(files, nfiles, &lim, &d);

    if ((p != NULL) == (d.errors != 0)) __builtin_trap();
    for (size_t i = 0; i < d.count; i++) {
        char line[512];
        line[0] = 0;
        sd_diag_format(&d.items[i], line, sizeof line);
        if (!line[0]) __builtin_trap();
    }
    if (p) {
        char *dis = sd_program_disasm(p);
        free(dis);
        sd_program_free(p);
    }
    sd_diag_free(&d);
    return 0;
}
