/* vm.h — the bytecode interpreter.
 *
 * A vm_ctx is the mutable half of evaluation: registers, PCRE2 match data,
 * the per-event memo of rule results (for rules named by other rules), and the
 * instruction budget. One per engine (or per thread); the program is shared.
 */
#ifndef SECDET_VM_VM_H
#define SECDET_VM_VM_H

#include <stdbool.h>
#include <stdint.h>

#include "event/event.h"
#include "vm/program.h"

typedef enum {
    VM_OK = 0,
    VM_BUDGET, /* instruction budget exhausted: the rule counts as not matching */
    VM_ERROR,  /* malformed program (bounds); never on input */
} vm_status;

/* What the prefilter found in one string (vm/prefilter.c): valid for the
 * event `ev` at generation `gen` only, and for that string's bytes (the
 * event's values do not move or change while its generation lasts). */
typedef struct lit_memo {
    const sd_event *ev;
    uint64_t gen;
    const char *str;
    size_t len;
    bool non_ascii;
    uint64_t *found; /* a bit per literal of the table */
} lit_memo;

#define VM_LIT_MEMOS 4 /* strings remembered per table: a few fields hold the regexes' subjects */

typedef struct vm_ctx {
    const program *prog;
    sd_values *regs; /* prog->max_regs registers */
    uint8_t *memo;   /* per rule: 0 unknown, 1 false, 2 true (for this event) */
    uint64_t memo_gen;
    uint64_t *memo_gens;
    void *match_data;           /* pcre2_match_data_8 * */
    uint64_t budget;            /* instructions allowed per event; 0 = unlimited */
    uint64_t used;              /* instructions executed for the current event */
    uint64_t regex_match_limit; /* PCRE2 match limit; 0 = PCRE2 default */
    void *match_ctx;            /* pcre2_match_context_8 *: carries regex_match_limit (set per match) */
    struct buf *scratch;        /* text() writes a value here before it goes to the event's arena (made on use) */
    lit_memo lit_memo[2][VM_LIT_MEMOS]; /* per table of prog->lits */
    uint32_t lit_next[2];               /* the slot to reuse next */
    uint64_t *guard_pass;               /* a bit per rule guard, for the event (sd_vm_guards) */
} vm_ctx;

int sd_vm_init(vm_ctx *vm, const program *prog, uint64_t budget);
void sd_vm_free(vm_ctx *vm);
/* Call once per event before evaluating rules on it (resets memo and budget). */
void sd_vm_begin_event(vm_ctx *vm);
/* Runs a condition program; *result = f at RET. */
vm_status sd_vm_run_cond(vm_ctx *vm, sd_event *ev, code_span code, bool *result);
/* Runs a value program; *out = the register at RETV (valid until the next event). */
vm_status sd_vm_run_value(vm_ctx *vm, sd_event *ev, code_span code, sd_values *out);
/* Whether rule r matches the event statelessly: source check + where. Memoized per event. */
vm_status sd_vm_rule_matches(vm_ctx *vm, sd_event *ev, uint32_t r, bool *result);
/* The same for a rule the dispatch index picked for this event (its value of
 * the indexed field is one the rule is filed under): starts past the conjunct
 * the index settled (vm_rule.settled), charging the budget what running it
 * would have. Same answer, same budget; only for a rule the index picked. */
vm_status sd_vm_rule_matches_settled(vm_ctx *vm, sd_event *ev, uint32_t r, bool *result);

/* Value helpers shared with the alert stage. */
bool sd_value_equal(const sd_value *x, const sd_value *y);
/* sd_value_equal, adding the steps it takes to *work (1 for scalars; for
 * arrays and objects every node compared and member passed over). It stops,
 * false, once *work exceeds limit: the VM charges equality of large
 * containers to its instruction budget. */
bool sd_value_equal_counted(const sd_value *x, const sd_value *y, uint64_t *work, uint64_t limit);
bool sd_glob_match(const char *pat, size_t plen, const char *s, size_t slen);
bool sd_cidr_contains(const cidr_set *set, const char *s, size_t len);
/* Parses "10.0.0.0/8", "fd00::/8", or a bare address; 0 ok, -1 bad. */
int sd_cidr_parse(const char *s, size_t len, cidr_range *out);

#endif
