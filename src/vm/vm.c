/* vm.c — the bytecode interpreter.
 *
 * A switch in a loop over the instructions of opcodes.h. The program is
 * treated as untrusted: every pc, jump target, register, constant, set, glob,
 * CIDR set and regex index is checked before use, and a malformed program
 * yields VM_ERROR, never a crash. Jumps must go forward, and every executed
 * instruction is counted against the per-event budget (VM_BUDGET when spent),
 * so evaluation of one event is bounded however the program looks. An
 * instruction over multi-valued registers ([*] paths) does work the data
 * decides, so that work is charged too: each value pair of a comparison
 * beyond the first counts as one instruction (plus the steps of comparing
 * arrays and objects), and each regex test beyond the first as
 * LIMIT_VM_REGEX_VALUE_COST — however large the event, the budget bounds it.
 *
 * Semantics follow LANGUAGE.md: every test is existential over the value lists
 * of its registers (any x, any y); an empty list (a missing path) makes every
 * test false; equality never coerces; `!=` is compiled as EQ + NOT.
 *
 * Registers: a rule named inside another rule's condition (OP_RULE) runs in
 * its own bank of registers, so the caller's registers survive the call; the
 * nesting depth is bounded by LIMIT_VM_RULE_DEPTH (the checker forbids cycles;
 * the bound is a second line of defence).
 */
#define _GNU_SOURCE           /* memmem: a linear-time substring search */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "vm/vm.h"

#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/hash.h"
#include "util/limits.h"
#include "vm/prefilter.h"
#include "vm/vm_int.h"

#define VM_BANKS (LIMIT_VM_RULE_DEPTH + 1u)

enum { MEMO_UNKNOWN = 0, MEMO_FALSE = 1, MEMO_TRUE = 2 };

int sd_vm_init(vm_ctx *vm, const program *prog, uint64_t budget) {
    memset(vm, 0, sizeof *vm);
    vm->prog = prog;
    vm->budget = budget;
    vm->memo_gen = 1;
    if (prog->max_regs > 0) {
        vm->regs = calloc((size_t)prog->max_regs * VM_BANKS, sizeof *vm->regs);
        if (!vm->regs) goto oom;
    }
    if (prog->nrules > 0) {
        vm->memo = calloc(prog->nrules, sizeof *vm->memo);
        vm->memo_gens = calloc(prog->nrules, sizeof *vm->memo_gens);
        if (!vm->memo || !vm->memo_gens) goto oom;
    }
    if (prog->nregexes > 0) {
        /* One pair is enough: we only ask whether there is a match. */
        vm->match_data = pcre2_match_data_create(1, NULL);
        vm->match_ctx = pcre2_match_context_create(NULL);
        if (!vm->match_data || !vm->match_ctx) goto oom;
    }
    if (sd_vm_lits_init(vm) != 0) goto oom;
    return 0;
oom:
    sd_vm_free(vm);
    return -1;
}

void sd_vm_free(vm_ctx *vm) {
    if (!vm) return;
    free(vm->regs);
    free(vm->memo);
    free(vm->memo_gens);
    pcre2_match_data_free((pcre2_match_data *)vm->match_data);
    pcre2_match_context_free((pcre2_match_context *)vm->match_ctx);
    sd_vm_lits_free(vm);
    if (vm->scratch) sd_buf_free(vm->scratch);
    free(vm->scratch);
    memset(vm, 0, sizeof *vm);
}

void sd_vm_begin_event(vm_ctx *vm) {
    vm->memo_gen++;
    vm->used = 0;
}

/* ---- value tests --------------------------------------------------------- */

static bool is_str(const sd_value *v) { return v->type == SD_STR; }

/* Byte order, shorter prefix first. */
static int str_cmp(const sd_value *x, const sd_value *y) {
    size_t n = x->len < y->len ? x->len : y->len;
    int c = n ? memcmp(x->str, y->str, n) : 0;
    if (c) return c;
    return x->len < y->len ? -1 : (x->len > y->len ? 1 : 0);
}

/* Ordering of two values when both are numbers or both strings; false otherwise. */
static bool order(const sd_value *x, const sd_value *y, int *cmp) {
    if (x->type == SD_NUM && y->type == SD_NUM) {
        if (x->num != x->num || y->num != y->num) return false; /* NaN: no order */
        *cmp = x->num < y->num ? -1 : (x->num > y->num ? 1 : 0);
        return true;
    }
    if (is_str(x) && is_str(y)) {
        *cmp = str_cmp(x, y);
        return true;
    }
    return false;
}

/* memmem, not a first-byte scan: with both sides from the event (a path
 * `contains` a path) the naive search is quadratic in the event size. */
static bool bytes_contain(const char *h, size_t hn, const char *n, size_t nn) {
    if (nn == 0) return true;
    if (nn > hn) return false;
    return memmem(h, hn, n, nn) != NULL;
}

static bool pair_holds(sd_event *ev, uint8_t op, const sd_value *x, const sd_value *y, uint64_t *work, uint64_t limit) {
    int c;
    ++*work;
    switch (op) {
    case OP_FEQ:
    case OP_FCONTAINS:
    case OP_FSTARTSWITH:
    case OP_FENDSWITH: return is_str(x) && is_str(y) && sd_vm_fold_pair(ev, op, x, y);
    case OP_EQ: --*work; return sd_value_equal_counted(x, y, work, limit);
    case OP_LT: return order(x, y, &c) && c < 0;
    case OP_LE: return order(x, y, &c) && c <= 0;
    case OP_GT: return order(x, y, &c) && c > 0;
    case OP_GE: return order(x, y, &c) && c >= 0;
    case OP_CONTAINS: return is_str(x) && is_str(y) && bytes_contain(x->str, x->len, y->str, y->len);
    case OP_STARTSWITH:
        return is_str(x) && is_str(y) && y->len <= x->len && (y->len == 0 || memcmp(x->str, y->str, y->len) == 0);
    case OP_ENDSWITH:
        return is_str(x) && is_str(y) && y->len <= x->len &&
               (y->len == 0 || memcmp(x->str + (x->len - y->len), y->str, y->len) == 0);
    }
    return false;
}

/* Whether the test holds for any pair (x from a, y from b). The instruction
 * has paid for one step; the rest (more pairs, container equality) is
 * charged to the budget as it goes, VM_BUDGET when it runs out. */
static vm_status any_pair(vm_ctx *vm, sd_event *ev, uint8_t op, const sd_values *a, const sd_values *b, bool *f) {
    *f = false;
    uint64_t work = 0;
    uint64_t limit = vm->budget ? (vm->budget > vm->used ? vm->budget - vm->used : 0) + 1 : UINT64_MAX;
    vm_status st = VM_OK;
    for (uint32_t i = 0; i < a->n && !*f && st == VM_OK; i++)
        for (uint32_t j = 0; j < b->n && !*f; j++) {
            *f = pair_holds(ev, op, &a->v[i], &b->v[j], &work, limit);
            if (work > limit) {
                *f = false;
                st = VM_BUDGET;
                break;
            }
        }
    if (work > 1) vm->used += work - 1;
    if (vm->budget && vm->used > vm->budget) st = VM_BUDGET;
    return st;
}

static unsigned char ascii_lower(unsigned char c) { return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c; }

static bool eq_ci(const sd_value *x, const sd_value *k) {
    if (!is_str(x) || x->len != k->len) return false;
    for (size_t i = 0; i < x->len; i++)
        if (ascii_lower((unsigned char)x->str[i]) != ascii_lower((unsigned char)k->str[i])) return false;
    return true;
}

static bool set_has(const const_set *s, const sd_value *x) {
    bool hashed = s->slots && s->nslots > 0 && (s->nslots & (s->nslots - 1)) == 0;
    if (is_str(x) && hashed) {
        uint32_t mask = s->nslots - 1;
        uint32_t at = (uint32_t)(hash_bytes(x->str, x->len) & mask);
        for (uint32_t probes = 0; probes < s->nslots; probes++, at = (at + 1) & mask) {
            uint32_t m = s->slots[at];
            if (m == UINT32_MAX) return false;
            if (m < s->nmembers && sd_value_equal(&s->members[m], x)) return true;
        }
        return false;
    }
    /* Non-strings (few: numbers, bools, null), or a set built without a hash. */
    for (uint32_t i = 0; i < s->nmembers; i++)
        if (sd_value_equal(&s->members[i], x)) return true;
    return false;
}

bool sd_vm_set_has(const const_set *s, const sd_value *x) { return set_has(s, x); }

static size_t utf8_count(const char *s, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) k++;
    return k;
}

/* ---- the interpreter ----------------------------------------------------- */

static vm_status rule_matches(vm_ctx *vm, sd_event *ev, uint32_t r, unsigned depth, bool *result);

/* The strings of src folded to lower or upper case (ASCII only); non-strings
 * dropped. The event caches the fold of a path's value, so rules lowering
 * the same field fold it once. Out of memory is VM_ERROR: the rule then
 * counts as not matching. */
static vm_status fold_strings(sd_event *ev, const sd_values *src, bool upper, sd_values *dst) {
    return sd_event_fold(ev, src, upper, dst) == 0 ? VM_OK : VM_ERROR;
}

static vm_status lengths(sd_event *ev, const sd_values *src, sd_values *dst) {
    uint32_t k = 0;
    for (uint32_t i = 0; i < src->n; i++) {
        sd_type t = src->v[i].type;
        k += (t == SD_STR || t == SD_ARR || t == SD_OBJ);
    }
    if (k == 0) {
        *dst = (sd_values){0, NULL};
        return VM_OK;
    }
    sd_value *out = sd_arena_alloc(&ev->arena, (size_t)k * sizeof *out);
    if (!out) return VM_ERROR;
    uint32_t j = 0;
    for (uint32_t i = 0; i < src->n; i++) {
        const sd_value *x = &src->v[i];
        double n;
        if (x->type == SD_STR)
            n = (double)utf8_count(x->str, x->len);
        else if (x->type == SD_ARR || x->type == SD_OBJ)
            n = (double)x->len;
        else
            continue;
        out[j++] = (sd_value){.type = SD_NUM, .num = n};
    }
    *dst = (sd_values){j, out};
    return VM_OK;
}

/* The first of regs[0..n) with a non-null value, without its nulls. */
static vm_status coalesce(sd_event *ev, const sd_values *regs, uint32_t n, sd_values *dst) {
    for (uint32_t i = 0; i < n; i++) {
        const sd_values *r = &regs[i];
        uint32_t nonnull = 0;
        for (uint32_t j = 0; j < r->n; j++) nonnull += r->v[j].type != SD_NULL;
        if (nonnull == 0) continue;
        if (nonnull == r->n) {
            *dst = *r;
            return VM_OK;
        }
        sd_value *out = sd_arena_alloc(&ev->arena, (size_t)nonnull * sizeof *out);
        if (!out) return VM_ERROR;
        uint32_t k = 0;
        for (uint32_t j = 0; j < r->n; j++)
            if (r->v[j].type != SD_NULL) out[k++] = r->v[j];
        *dst = (sd_values){k, out};
        return VM_OK;
    }
    *dst = (sd_values){0, NULL};
    return VM_OK;
}

/* Whether the regex matches any string of a. Each string tested after the
 * first costs LIMIT_VM_REGEX_VALUE_COST instructions; VM_BUDGET when they run
 * out. A string without any of the regex's required literals is not given
 * to PCRE2 (vm/prefilter.h), but costs the same: the budget does not depend
 * on the prefilter. */
static vm_status regex_any(vm_ctx *vm, const sd_event *ev, const vm_regex *re, const sd_values *a, bool *f) {
    pcre2_match_context *mctx = NULL;
    if (vm->regex_match_limit > 0 && vm->match_ctx) {
        uint32_t lim = vm->regex_match_limit > UINT32_MAX ? UINT32_MAX : (uint32_t)vm->regex_match_limit;
        mctx = vm->match_ctx;
        pcre2_set_match_limit(mctx, lim);
        pcre2_set_depth_limit(mctx, lim);
    }
    *f = false;
    bool tested = false;
    for (uint32_t i = 0; i < a->n; i++) {
        const sd_value *x = &a->v[i];
        if (!is_str(x)) continue;
        if (tested) {
            if (vm->budget && vm->budget - (vm->used < vm->budget ? vm->used : vm->budget) < LIMIT_VM_REGEX_VALUE_COST)
                return VM_BUDGET;
            vm->used += LIMIT_VM_REGEX_VALUE_COST;
        }
        tested = true;
        if (!sd_vm_prefilter(vm, ev, re, x)) continue;
        PCRE2_SPTR subj = (PCRE2_SPTR)(x->str ? x->str : "");
        /* pcre2_jit_match: the same answer as pcre2_match, without its checks of the options */
        int rc = re->jit ? pcre2_jit_match((const pcre2_code *)re->code, subj, x->len, 0, 0, vm->match_data, mctx)
                         : pcre2_match((const pcre2_code *)re->code, subj, x->len, 0, 0, vm->match_data, mctx);
        /* rc == 0 means "matched, ovector too small" — still a match. Errors
         * (match limit, bad UTF) count as no match. */
        if (rc >= 0) {
            *f = true;
            return VM_OK;
        }
    }
    return VM_OK;
}

/* Where code runs: its registers (bank `bank`), the end of its span, and
 * inside an any/all body the element and how deep such bodies nest. A body
 * ends when pc reaches `end` (its value is f there); a program ends at RET
 * or RETV. */
typedef struct frame {
    sd_values *R;
    uint32_t end;
    unsigned bank;
    const sd_value *elem; /* NULL outside any/all */
    unsigned nest;
    bool body;
} frame;

static vm_status exec(vm_ctx *vm, sd_event *ev, const frame *fr, uint32_t pc, bool f, bool want_value, bool *result,
                      sd_values *out);

/* ANY / ALL: the body [pc, in.c) runs once per value of R[a] (that value
 * the element) until the answer is known. */
static vm_status each_element(vm_ctx *vm, sd_event *ev, const frame *fr, const vm_insn *in, uint32_t pc, bool *f) {
    const sd_values arr = fr->R[in->a]; /* the body may reuse the register */
    bool all = in->op == OP_ALL;
    frame inner = {fr->R, in->c, fr->bank, NULL, fr->nest + 1, true};
    *f = all && arr.n > 0;
    for (uint32_t i = 0; i < arr.n; i++) {
        inner.elem = &arr.v[i];
        bool g = false;
        vm_status st = exec(vm, ev, &inner, pc, false, false, &g, NULL);
        if (st != VM_OK) return st;
        if (g != all) {
            *f = g;
            break;
        }
    }
    return VM_OK;
}

/* Runs code in register bank `depth`. Condition programs end in RET (want_value
 * false, *result set), value programs in RETV (*out set). */
static vm_status run_from(vm_ctx *vm, sd_event *ev, code_span code, uint32_t skip, unsigned depth, bool want_value,
                          bool *result, sd_values *out) {
    const program *prog = vm->prog;
    const uint32_t nregs = prog->max_regs;
    if (code.len == 0 || code.start > prog->ncode || code.len > prog->ncode - code.start) return VM_ERROR;
    if (depth >= VM_BANKS) return VM_ERROR;
    sd_values *R = vm->regs ? vm->regs + (size_t)depth * nregs : NULL;
    /* Stale registers may point into the previous event's arena. */
    if (R) memset(R, 0, (size_t)nregs * sizeof *R);
    frame fr = {R, code.start + code.len, depth, NULL, 0, false};
    /* Past a settled conjunct f is what its code left: true. */
    return exec(vm, ev, &fr, code.start + skip, skip > 0, want_value, result, out);
}

static vm_status run(vm_ctx *vm, sd_event *ev, code_span code, unsigned depth, bool want_value, bool *result,
                     sd_values *out) {
    return run_from(vm, ev, code, 0, depth, want_value, result, out);
}

static vm_status exec(vm_ctx *vm, sd_event *ev, const frame *fr, uint32_t pc, bool f, bool want_value, bool *result,
                      sd_values *out) {
    const program *prog = vm->prog;
    const uint32_t nregs = prog->max_regs;
    const uint32_t end = fr->end;
    sd_values *R = fr->R;

#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (!(cond)) return VM_ERROR;                                                                                  \
    } while (0)
#define REG(x) CHECK((uint32_t)(x) < nregs)

    for (;;) {
        if (fr->body && pc == end) {
            *result = f;
            return VM_OK;
        }
        CHECK(pc < end);
        if (vm->budget && vm->used >= vm->budget) return VM_BUDGET;
        vm->used++;
        const vm_insn in = prog->code[pc++];
        switch ((vm_opcode)in.op) {
        case OP_LOADP:
            REG(in.a);
            CHECK(in.c < prog->npaths);
            R[in.a] = *sd_event_field(ev, in.c);
            break;
        case OP_LOADK:
            REG(in.a);
            CHECK(in.c < prog->nconsts);
            R[in.a] = (sd_values){1, &prog->consts[in.c]};
            break;
        case OP_LOWER:
        case OP_UPPER: {
            REG(in.a);
            REG(in.b);
            sd_values v;
            vm_status st = fold_strings(ev, &R[in.b], in.op == OP_UPPER, &v);
            if (st != VM_OK) return st;
            R[in.a] = v;
            break;
        }
        case OP_LEN: {
            REG(in.a);
            REG(in.b);
            sd_values v;
            vm_status st = lengths(ev, &R[in.b], &v);
            if (st != VM_OK) return st;
            R[in.a] = v;
            break;
        }
        case OP_COALESCE: {
            REG(in.a);
            CHECK(in.b <= nregs && in.c <= nregs - in.b);
            sd_values v;
            vm_status st = coalesce(ev, R ? R + in.b : NULL, in.c, &v);
            if (st != VM_OK) return st;
            R[in.a] = v;
            break;
        }
        case OP_EQ:
        case OP_FEQ:
        case OP_FCONTAINS:
        case OP_FSTARTSWITH:
        case OP_FENDSWITH:
        case OP_LT:
        case OP_LE:
        case OP_GT:
        case OP_GE:
        case OP_CONTAINS:
        case OP_STARTSWITH:
        case OP_ENDSWITH:
            REG(in.a);
            REG(in.b);
            if (any_pair(vm, ev, in.op, &R[in.a], &R[in.b], &f) != VM_OK) return VM_BUDGET;
            break;
        case OP_EQK:
        case OP_EQK_CI: {
            REG(in.a);
            CHECK(in.c < prog->nconsts);
            const sd_value *k = &prog->consts[in.c];
            const sd_values *a = &R[in.a];
            f = false;
            for (uint32_t i = 0; i < a->n && !f; i++)
                f = in.op == OP_EQK ? sd_value_equal(&a->v[i], k) : (is_str(k) && eq_ci(&a->v[i], k));
            break;
        }
        case OP_INSET: {
            REG(in.a);
            CHECK(in.c < prog->nsets);
            const sd_values *a = &R[in.a];
            f = false;
            for (uint32_t i = 0; i < a->n && !f; i++) f = set_has(&prog->sets[in.c], &a->v[i]);
            break;
        }
        case OP_CIDR: {
            REG(in.a);
            CHECK(in.c < prog->ncidrs);
            const sd_values *a = &R[in.a];
            f = false;
            for (uint32_t i = 0; i < a->n && !f; i++)
                f = is_str(&a->v[i]) && sd_cidr_contains(&prog->cidrs[in.c], a->v[i].str, a->v[i].len);
            break;
        }
        case OP_LIKE: {
            REG(in.a);
            CHECK(in.c < prog->nglobs && prog->globs && prog->globs[in.c]);
            const char *g = prog->globs[in.c];
            size_t glen = prog->glob_lens ? prog->glob_lens[in.c] : strlen(g);
            const sd_values *a = &R[in.a];
            f = false;
            for (uint32_t i = 0; i < a->n && !f; i++)
                f = is_str(&a->v[i]) && sd_glob_match(g, glen, a->v[i].str, a->v[i].len);
            break;
        }
        case OP_MATCH:
            REG(in.a);
            CHECK(in.c < prog->nregexes && prog->regexes[in.c].code && vm->match_data);
            if (regex_any(vm, ev, &prog->regexes[in.c], &R[in.a], &f) != VM_OK) return VM_BUDGET;
            break;
        case OP_EXISTS:
            REG(in.a);
            f = R[in.a].n > 0;
            break;
        case OP_RULE: {
            CHECK(in.c < prog->nrules);
            vm_status st = rule_matches(vm, ev, in.c, fr->bank + 1, &f);
            if (st != VM_OK) return st;
            break;
        }
        case OP_NOT: f = !f; break;
        case OP_SETF: f = in.a != 0; break;
        case OP_JMPF:
        case OP_JMPT:
            /* Forward only (pc already points past the jump), inside the span
             * (a body's may land on its end). */
            CHECK(in.c >= pc && (in.c < end || (fr->body && in.c == end)));
            if (f == (in.op == OP_JMPT)) pc = in.c;
            break;
        case OP_LOADE:
            REG(in.a);
            CHECK(in.c < prog->nepaths && fr->elem);
            if (sd_vm_elem_path(ev, &prog->epaths[in.c], fr->elem, &R[in.a]) != 0) return VM_ERROR;
            break;
        case OP_ANY:
        case OP_ALL: {
            REG(in.a);
            CHECK(in.c >= pc && in.c <= end && fr->nest < LIMIT_VM_ELEM_DEPTH);
            vm_status st = each_element(vm, ev, fr, &in, pc, &f);
            if (st != VM_OK) return st;
            pc = in.c;
            break;
        }
        case OP_B64DECODE:
        case OP_TEXT:
        case OP_HOUR:
        case OP_WEEKDAY: {
            REG(in.a);
            REG(in.b);
            CHECK(in.op == OP_B64DECODE || in.op == OP_TEXT || in.c < prog->nconsts);
            const sd_value *k = in.op == OP_HOUR || in.op == OP_WEEKDAY ? &prog->consts[in.c] : NULL;
            sd_values v;
            if (sd_vm_function(vm, ev, in.op, &R[in.b], k, &v) != 0) return VM_ERROR;
            R[in.a] = v;
            break;
        }
        case OP_FEQK:
        case OP_FINSET:
        case OP_STRS: {
            REG(in.a);
            CHECK(in.c < sd_program_pool_size(prog, sd_vm_op_info_table[in.op].c));
            vm_status st = sd_vm_fold_test(vm, ev, &in, &R[in.a], &f);
            if (st != VM_OK) return st;
            break;
        }
        case OP_RET:
            CHECK(!want_value && !fr->body);
            *result = f;
            return VM_OK;
        case OP_RETV:
            CHECK(want_value && !fr->body);
            REG(in.a);
            *out = R[in.a];
            return VM_OK;
        default: return VM_ERROR;
        }
    }
#undef REG
#undef CHECK
}

/* Charges the budget for k straight-line one-step instructions that are not
 * run, as running them would have: VM_BUDGET, with the budget spent, where
 * one of them would have found it spent. */
static vm_status charge(vm_ctx *vm, uint32_t k) {
    if (vm->budget && vm->used >= vm->budget) return VM_BUDGET;
    if (vm->budget && k > vm->budget - vm->used) {
        vm->used = vm->budget;
        return VM_BUDGET;
    }
    vm->used += k;
    return VM_OK;
}

/* settled: the dispatch index picked rule r for the event, so the conjunct it
 * settles (rule->settled instructions) holds and is not run again. */
static vm_status rule_matches_at(vm_ctx *vm, sd_event *ev, uint32_t r, unsigned depth, bool settled, bool *result) {
    const program *prog = vm->prog;
    *result = false;
    if (r >= prog->nrules || !vm->memo || depth >= VM_BANKS) return VM_ERROR;
    if (vm->memo_gens[r] == vm->memo_gen && vm->memo[r] != MEMO_UNKNOWN) {
        *result = vm->memo[r] == MEMO_TRUE;
        return VM_OK;
    }
    const vm_rule *rule = &prog->rules[r];
    bool ok = rule->nsources == 0;
    for (uint32_t i = 0; i < rule->nsources && !ok; i++)
        ok = rule->sources[i] == ev->source || rule->sources[i] == ev->lt_source; /* `on` names either */
    /* A sequence rule (no where) never matches statelessly. */
    if (ok && rule->where.len > 0) {
        uint32_t skip = settled && rule->settled < rule->where.len ? rule->settled : 0;
        vm_status st = skip ? charge(vm, skip) : VM_OK;
        if (st == VM_OK) st = run_from(vm, ev, rule->where, skip, depth, false, &ok, NULL);
        if (st != VM_OK) return st;
    } else {
        ok = false;
    }
    vm->memo[r] = ok ? MEMO_TRUE : MEMO_FALSE;
    vm->memo_gens[r] = vm->memo_gen;
    *result = ok;
    return VM_OK;
}

static vm_status rule_matches(vm_ctx *vm, sd_event *ev, uint32_t r, unsigned depth, bool *result) {
    return rule_matches_at(vm, ev, r, depth, false, result);
}

vm_status sd_vm_run_cond(vm_ctx *vm, sd_event *ev, code_span code, bool *result) {
    *result = false;
    return run(vm, ev, code, 0, false, result, NULL);
}

vm_status sd_vm_run_value(vm_ctx *vm, sd_event *ev, code_span code, sd_values *out) {
    *out = (sd_values){0, NULL};
    vm_status st = run(vm, ev, code, 0, true, NULL, out);
    if (st != VM_OK) *out = (sd_values){0, NULL};
    return st;
}

vm_status sd_vm_rule_matches(vm_ctx *vm, sd_event *ev, uint32_t r, bool *result) {
    return rule_matches(vm, ev, r, 0, result);
}

vm_status sd_vm_rule_matches_settled(vm_ctx *vm, sd_event *ev, uint32_t r, bool *result) {
    return rule_matches_at(vm, ev, r, 0, true, result);
}
