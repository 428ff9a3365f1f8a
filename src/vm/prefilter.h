/* prefilter.h — skipping a regex when a literal it needs is absent.
 *
 * The compiler (lang/regex_lits.c) finds for a regex a set of literals one
 * of which every match holds, and files them in one of the program's two
 * literal tables (exact bytes, or ASCII lower-cased for regexes with flag
 * i). At run time the first regex that asks about a string has the whole
 * table searched in that string in one pass (pairs of bytes looked up in a
 * bitmap of the literals' first two bytes), and the answer is remembered
 * for the event: the other regexes over the same string only read bits.
 *
 * Promise: sd_vm_prefilter() returns false only when the regex cannot match
 * the string — none of its literals occurs in it (and, for a lower-cased
 * table, the string is all ASCII; see lang/regex_lits.h). It never changes
 * a result, only whether PCRE2 is asked.
 */
#ifndef SECDET_VM_PREFILTER_H
#define SECDET_VM_PREFILTER_H

#include "vm/vm.h"

/* Files literal s[0..len) (len >= 2; lower-cased already for table 1) in t,
 * once; its id, or UINT32_MAX out of memory. */
uint32_t sd_lits_add(lit_table *t, const char *s, size_t len);
/* Builds t's index once the last literal is in; -1 out of memory. */
int sd_lits_finish(lit_table *t, bool fold);
void sd_lits_free(lit_table *t);
/* Indexes which of the rule guards of table `table` name each literal of t
 * (for sd_vm_guards); -1 out of memory. After the last literal and guard. */
int sd_lits_index_guards(lit_table *t, uint32_t table, const rule_guard *guards, uint32_t nguards);

/* The per-engine memory of what was found (sd_vm_init, sd_vm_free). */
int sd_vm_lits_init(vm_ctx *vm);
void sd_vm_lits_free(vm_ctx *vm);

/* False when none of literals lits[0..nlits) of table `table` occurs in
 * string x of event ev (for table 1: and x is all ASCII); true otherwise,
 * and whenever it cannot tell (no literals, no memory). */
bool sd_vm_lits_any(vm_ctx *vm, const sd_event *ev, uint32_t table, const uint32_t *lits, uint32_t nlits,
                    const sd_value *x);
/* Which rule guards (program.h) pass for event ev: bit g of vm->guard_pass
 * is set when a string value of guard g's field holds one of its literals
 * (for table 1, or is not all ASCII), or when that cannot be told. */
void sd_vm_guards(vm_ctx *vm, sd_event *ev);
/* False when regex re cannot match string x of event ev (see above). */
bool sd_vm_prefilter(vm_ctx *vm, const sd_event *ev, const vm_regex *re, const sd_value *x);

#endif
