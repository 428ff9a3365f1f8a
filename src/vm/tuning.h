/* tuning.h — what tunes and severity clauses leave in a compiled rule
 * (vm_rule.tuning; NULL for a rule without either, so the hot path pays
 * one test of a pointer).
 *
 * Exceptions are condition programs run after the rule matched: the first
 * that holds (and whose date has not passed by the event's time) takes the
 * event out — no alert, no record for the correlator — and is counted.
 * Severity cases are condition programs run on the firing event, in order:
 * the first that holds gives the alert's severity, else the rule's. A
 * disabled rule never runs at the top level (like a private one). A tune's
 * severity, throttle and output are compiled into the rule itself.
 */
#ifndef SECDET_VM_TUNING_H
#define SECDET_VM_TUNING_H

#include <stdbool.h>
#include <stdint.h>

#include "vm/program.h"

typedef struct rule_except {
    code_span code;   /* condition program ending in RET */
    int64_t until_ns; /* events at or after it are not excepted; INT64_MAX: no date */
    char *until;      /* "YYYY-MM-DD", or NULL */
    char *reason;     /* or NULL */
    char *text;       /* the condition as written */
    char *file;       /* where the `except` is written */
    uint32_t line, col;
} rule_except;

typedef struct sev_case {
    secdet_severity level;
    code_span code; /* condition program ending in RET */
} sev_case;

typedef struct rule_tuning {
    rule_except *excepts;
    uint32_t nexcepts;
    sev_case *cases;
    uint32_t ncases;
    bool disabled;
    char *disabled_reason; /* or NULL */
    char *disabled_at;     /* "file:line:col" of the disable */
} rule_tuning;

void sd_rule_tuning_free(rule_tuning *t);

#endif
