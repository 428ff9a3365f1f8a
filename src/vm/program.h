/* program.h — a compiled ruleset: immutable once built, shareable by threads.
 *
 * Everything the VM needs to evaluate rules lives here: the code of every
 * rule, the constant pool, compiled regexes, CIDR and string sets, globs, the
 * interned field-path table, per-rule metadata and output templates, and the
 * dispatch index (which rules can match an event with a given constant field
 * value). Nothing in it changes after sd_compile_ruleset() returns; per-event
 * and per-engine mutable state (field cache, registers, PCRE2 match data,
 * correlation state) lives in vm.h's vm_ctx and in the engine.
 */
#ifndef SECDET_VM_PROGRAM_H
#define SECDET_VM_PROGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "secdet.h"
#include "event/path.h"
#include "event/value.h"
#include "vm/opcodes.h"

typedef struct vm_insn {
    uint8_t op;
    uint8_t a;
    uint16_t b;
    uint32_t c;
} vm_insn;

/* A span of code in prog->code: [start, start+len). */
typedef struct code_span {
    uint32_t start, len;
} code_span;

/* Constant: a JSON scalar. Strings are owned by the program (NUL-terminated). */
typedef sd_value vm_const;

/* A set of constants for `in`: open-addressed hash of strings plus a plain
 * array of non-strings (numbers, bools, null), compared by value. */
typedef struct const_set {
    uint32_t *slots; /* indices into members, UINT32_MAX = empty; capacity power of 2 */
    uint32_t nslots;
    vm_const *members; /* owned copies */
    uint32_t nmembers;
} const_set;

typedef struct cidr_range {
    uint8_t family; /* 4 or 6 */
    uint8_t prefix;
    uint8_t addr[16]; /* network bytes, host bits cleared */
} cidr_range;

typedef struct cidr_set {
    cidr_range *ranges;
    uint32_t n;
} cidr_set;

typedef struct vm_regex {
    void *code;    /* pcre2_code_8 *, JIT-compiled when available */
    char *pattern; /* for disasm */
    char flags[5];
    bool jit; /* JIT-compiled: matched with pcre2_jit_match */
    /* The prefilter (vm/prefilter.h): every match holds one of these
     * literals of prog->lits[lits_fold] (ids); nlits 0 = none known. */
    uint8_t lits_fold;
    uint32_t nlits;
    uint32_t *lits;
} vm_regex;

/* The literals of the regexes' prefilters, one table per way of comparing
 * (0: bytes as they are; 1: ASCII lower-cased, the literals stored so), and
 * an index by their first two bytes (vm/prefilter.c). */
typedef struct lit_table {
    char **s; /* owned */
    uint32_t *len;
    uint32_t n, cap;
    uint32_t *hash;      /* id + 1 of each literal, 0 empty, by content: for adding once (compiler) */
    uint32_t nhash;      /* a power of two */
    uint64_t *pairs;     /* 65536 bits: some literal starts with these two bytes; NULL when n == 0 */
    uint32_t *by_pair;   /* literal ids, sorted by their first two bytes */
    uint32_t *guard_at;  /* rule guards naming literal i: guard_ids[guard_at[i] .. guard_at[i + 1]) */
    uint32_t *guard_ids; /* (both NULL when no guard names a literal of the table) */
    uint8_t firsts[12];  /* the distinct first bytes (keyed), when at most 12 */
    uint8_t nfirsts;     /* 0: more than 12, the search tests every pair */
    uint8_t seconds[12]; /* the same of the second bytes */
    uint8_t nseconds;    /* 0: more than 12, the vector search looks at first bytes only */
} lit_table;

/* The strings a list test (STRS) takes: folded already when the test folds. */
typedef struct str_list {
    char **s; /* owned, NUL-terminated (and may hold no NUL) */
    size_t *len;
    uint32_t n;
} str_list;

/* A template: literal text and substitutions, parsed at compile time. */
typedef enum {
    TPL_TEXT,
    TPL_PATH,
    TPL_COUNT,
    TPL_DISTINCT,
    TPL_RULE,
    TPL_TITLE,
    TPL_SEVERITY,
    TPL_GROUP,
    TPL_SUM,
} tpl_kind;
typedef struct tpl_part {
    tpl_kind kind;
    char *text; /* TPL_TEXT (owned), with {{ }} already unescaped */
    size_t len;
    uint32_t path; /* TPL_PATH: path id */
} tpl_part;

typedef struct meta_kv {
    char *key;
    char *json; /* the value as compact JSON text (owned) */
} meta_kv;

typedef enum { RAGG_NONE, RAGG_COUNT, RAGG_DISTINCT, RAGG_SEQUENCE, RAGG_SUM } rule_agg;

typedef struct rule_key {
    code_span code; /* a value program ending in RETV */
    char *text;     /* normalised expression text: the key in the alert's group object */
} rule_key;

typedef struct rule_step {
    char *name;
    code_span code; /* a condition program ending in RET */
    bool negated;   /* `not`: an absence */
    uint64_t count; /* counted: completes at the count-th match within count_ms (0: one match completes it) */
    int64_t count_ms;
    rule_key *by; /* per-step keys (the group is their tuple); NULL: the rule's */
    uint32_t nby;
    /* A count rule named as the step: its keys, whose groups count apart
     * inside the sequence's (count and count_ms are that rule's). */
    rule_key *sub;
    uint32_t nsub;
} rule_step;

typedef struct vm_rule {
    char *name;
    char *file; /* where it was declared */
    uint32_t line;
    char *title; /* defaults to name */
    secdet_severity sev;
    char **tags;
    uint32_t ntags;
    meta_kv *meta; /* every meta key, title/severity/tags included, in source order */
    uint32_t nmeta;
    uint32_t *sources; /* indices into prog->source_names; NULL/0 = any source */
    uint32_t nsources;
    code_span where; /* condition program ending in RET; len 0 for a sequence rule */
    /* The length of where's leading conjunct when the dispatch index files
     * the rule under it and its code is straight-line (lang/compile_index.c):
     * an event the index picked the rule for holds that conjunct, so the VM
     * may start past it (sd_vm_rule_matches_settled). 0: no such entry. */
    uint32_t settled;
    bool is_private;

    rule_agg agg;
    uint64_t threshold; /* count/distinct: alert at >= threshold */
    int64_t within_ms;
    code_span distinct; /* value program for distinct P, and for sum P */
    rule_key *by;
    uint32_t nby;
    rule_step *steps;
    uint32_t nsteps;
    bool unordered;  /* sequence unordered */
    bool seq_ext;    /* a sequence with a counted or a `not` step (correlate/seqx.c), or unordered */
    bool step_keys;  /* the steps have their own keys (`by` is the first step's, for the alert) */
    double sum_min;  /* sum: the threshold */
    bool sum_strict; /* sum P > N */
    bool has_throttle;
    int64_t throttle_ms;
    rule_key *throttle_by;
    uint32_t nthrottle_by;

    tpl_part *output; /* NULL = message is the title */
    uint32_t noutput;
    uint32_t nregs; /* registers its programs need */
    /* Exceptions, severity cases, disabled (vm/tuning.h); NULL when none. */
    struct rule_tuning *tuning;
} vm_rule;

/* Dispatch index: rules that require `path == one of these strings`.
 * For each indexed path, a hash from string value to a list of rule ids.
 * Rules not in any index are in `always` and run for every event. */
typedef struct index_entry {
    char *value;
    size_t len;
    uint32_t *rules;
    uint32_t nrules;
} index_entry;

typedef struct path_index {
    uint32_t path;
    index_entry *slots; /* open addressing, value == NULL = empty */
    uint32_t nslots;
} path_index;

/* A rule in no index that needs a literal in one field (lang/compile_guard.c):
 * it can match only when one of lits (ids in prog->lits[table]) occurs in a
 * string value of path, so the engine runs it only then. */
typedef struct rule_guard {
    uint32_t path;
    uint8_t table;
    uint32_t group; /* its (path, table) in prog->guard_groups */
    uint32_t nlits;
    uint32_t *lits;
} rule_guard;

/* A field and a table some guards share: searched once per event for all. */
typedef struct guard_group {
    uint32_t path;
    uint8_t table;
} guard_group;

typedef struct program {
    vm_insn *code;
    uint32_t *lines; /* source line of each instruction */
    uint32_t *files; /* file index of each instruction's rule (into file_names) */
    uint32_t ncode;
    char **file_names;
    uint32_t nfiles;

    vm_const *consts;
    uint32_t nconsts;
    const_set *sets;
    uint32_t nsets;
    cidr_set *cidrs;
    uint32_t ncidrs;
    char **globs;
    size_t *glob_lens;
    uint32_t nglobs;
    vm_regex *regexes;
    uint32_t nregexes;
    lit_table lits[2];
    sd_path *paths;
    uint32_t npaths;
    sd_path *epaths; /* paths read from an element (any/all): not in the event's field cache */
    uint32_t nepaths;
    str_list *strs;
    uint32_t nstrs;
    char **source_names;
    uint32_t nsources;

    vm_rule *rules;
    uint32_t nrules;
    path_index *indexes;
    uint32_t nindexes;
    uint32_t *always;
    uint32_t nalways;
    rule_guard *guards;
    uint32_t nguards;
    uint32_t *guard_of; /* per rule: its guard, UINT32_MAX none; NULL when no rule is in `always` */
    guard_group *guard_groups;
    uint32_t nguard_groups;
    uint32_t max_regs;
    bool uses_regex;
    /* What the tunes change, for people (secdet_tuning_explain); NULL when none. */
    char *tuning_text;
} program;

void sd_program_free(program *p);
/* How many entries the pool an operand of kind k indexes has (paths,
 * constants, sets, CIDR sets, globs, regexes, rules, element paths, string
 * lists); 0 for kinds that
 * index no pool. An operand c of a pool kind is valid when c < this. */
uint32_t sd_program_pool_size(const program *p, vm_operand k);
/* The textual disassembly of the whole program (one instruction a line). Caller frees. */
char *sd_program_disasm(const program *p);

#endif
