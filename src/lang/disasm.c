/* disasm.c — the compiled program, readable (`secdet disasm`).
 *
 * One instruction a line: its address, opcode, operands with their constants
 * spelled out, and the source file:line it came from. Each rule starts with
 * a header saying how the dispatch index reaches it. Names and what each
 * operand is come from the same X-macro list as the VM (opcodes.h), so a
 * new opcode is printed right without a line here.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util/buf.h"
#include "util/severity.h"
#include "vm/program.h"

static void put_value(buf *b, const sd_value *v) {
    switch (v->type) {
    case SD_NULL: sd_buf_puts(b, "null"); break;
    case SD_BOOL: sd_buf_puts(b, v->b ? "true" : "false"); break;
    case SD_NUM: sd_buf_printf(b, "%.17g", v->num); break;
    case SD_STR: sd_buf_json_string(b, v->str, v->len); break;
    default: sd_buf_puts(b, "?"); break;
    }
}

static void put_cidr(buf *b, const cidr_range *r) {
    char text[INET6_ADDRSTRLEN];
    inet_ntop(r->family == 4 ? AF_INET : AF_INET6, r->addr, text, sizeof text);
    sd_buf_printf(b, "%s/%u", text, r->prefix);
}

/* Operand c of a pool kind, spelt out from its pool ("?" out of range). */
static void put_pooled(buf *b, const program *p, vm_operand k, uint32_t c) {
    if (c >= sd_program_pool_size(p, k)) {
        sd_buf_putc(b, '?');
        return;
    }
    switch (k) {
    case VM_OPND_PATH: sd_buf_puts(b, p->paths[c].text); break;
    case VM_OPND_CONST: put_value(b, &p->consts[c]); break;
    case VM_OPND_SET:
        sd_buf_putc(b, '{');
        for (uint32_t i = 0; i < p->sets[c].nmembers; i++) {
            if (i) sd_buf_puts(b, ", ");
            if (i == 8) {
                sd_buf_printf(b, "... %u in all", p->sets[c].nmembers);
                break;
            }
            put_value(b, &p->sets[c].members[i]);
        }
        sd_buf_putc(b, '}');
        break;
    case VM_OPND_CIDR:
        sd_buf_puts(b, "cidr(");
        for (uint32_t i = 0; i < p->cidrs[c].n; i++) {
            if (i) sd_buf_puts(b, ", ");
            put_cidr(b, &p->cidrs[c].ranges[i]);
        }
        sd_buf_putc(b, ')');
        break;
    case VM_OPND_GLOB: sd_buf_json_string(b, p->globs[c], p->glob_lens[c]); break;
    case VM_OPND_REGEX: sd_buf_printf(b, "/%s/%s", p->regexes[c].pattern, p->regexes[c].flags); break;
    case VM_OPND_RULE: sd_buf_puts(b, p->rules[c].name); break;
    case VM_OPND_EPATH: sd_buf_printf(b, "elem%s", p->epaths[c].text); break;
    case VM_OPND_STRS:
        sd_buf_putc(b, '[');
        for (uint32_t i = 0; i < p->strs[c].n; i++) {
            if (i) sd_buf_puts(b, ", ");
            if (i == 8) {
                sd_buf_printf(b, "... %u in all", p->strs[c].n);
                break;
            }
            sd_buf_json_string(b, p->strs[c].s[i], p->strs[c].len[i]);
        }
        sd_buf_putc(b, ']');
        break;
    case VM_OPND_NONE:
    case VM_OPND_REG:
    case VM_OPND_NUM:
    case VM_OPND_NREGS:
    case VM_OPND_JUMP: break;
    }
}

/* The operands as sd_vm_op_info_table says they are: registers as r<n>, a
 * register run as r<b>..r<b+c-1>, jumps as -> <address>, pool entries by
 * their content; padded to a column. */
static void put_operands(buf *b, const program *p, const vm_insn *in) {
    size_t start = b->len;
    static const vm_op_info unknown = {"?", VM_OPND_NONE, VM_OPND_NONE, VM_OPND_NONE, ""};
    const vm_op_info *op = in->op < OP__COUNT ? &sd_vm_op_info_table[in->op] : &unknown;
    const vm_operand kinds[3] = {op->a, op->b, op->c};
    const uint32_t vals[3] = {in->a, in->b, in->c};
    bool first = true;
    for (int i = 0; i < 3; i++) {
        vm_operand k = kinds[i];
        if (k == VM_OPND_NONE || k == VM_OPND_NREGS) continue; /* a run is written with its first register */
        if (!first) sd_buf_putc(b, ' ');
        first = false;
        switch (k) {
        case VM_OPND_REG:
            if (i == 1 && op->c == VM_OPND_NREGS)
                sd_buf_printf(b, "r%u..r%u", vals[1], vals[1] + vals[2] - 1);
            else
                sd_buf_printf(b, "r%u", vals[i]);
            break;
        case VM_OPND_NUM: sd_buf_printf(b, "%u", vals[i]); break;
        case VM_OPND_JUMP: sd_buf_printf(b, "-> %04u", vals[i]); break;
        case VM_OPND_NONE:
        case VM_OPND_NREGS: break;
        case VM_OPND_PATH:
        case VM_OPND_CONST:
        case VM_OPND_SET:
        case VM_OPND_CIDR:
        case VM_OPND_GLOB:
        case VM_OPND_REGEX:
        case VM_OPND_RULE:
        case VM_OPND_EPATH:
        case VM_OPND_STRS: put_pooled(b, p, k, vals[i]); break;
        }
    }
    size_t w = b->len - start;
    for (; w < 44; w++) sd_buf_putc(b, ' ');
}

static void put_span(buf *b, const program *p, const char *label, code_span s) {
    if (!s.len) return;
    sd_buf_printf(b, "  %s:\n", label);
    for (uint32_t pc = s.start; pc < s.start + s.len && pc < p->ncode; pc++) {
        const vm_insn *in = &p->code[pc];
        sd_buf_printf(b, "    %04u  %-10s ", pc, in->op < OP__COUNT ? sd_vm_op_info_table[in->op].name : "?");
        put_operands(b, p, in);
        uint32_t f = p->files[pc];
        sd_buf_printf(b, " ; %s:%u\n", f < p->nfiles ? p->file_names[f] : "?", p->lines[pc]);
    }
}

static void put_dispatch(buf *b, const program *p, uint32_t r) {
    for (uint32_t i = 0; i < p->nalways; i++)
        if (p->always[i] == r) {
            sd_buf_puts(b, "  dispatch: every event\n");
            return;
        }
    for (uint32_t i = 0; i < p->nindexes; i++) {
        const path_index *ix = &p->indexes[i];
        size_t shown = 0, total = 0;
        for (uint32_t s = 0; s < ix->nslots; s++) {
            const index_entry *e = &ix->slots[s];
            if (!e->value) continue;
            for (uint32_t k = 0; k < e->nrules; k++) {
                if (e->rules[k] != r) continue;
                if (total++ == 0) sd_buf_printf(b, "  dispatch: %s in {", p->paths[ix->path].text);
                if (shown < 8) {
                    if (shown++) sd_buf_puts(b, ", ");
                    sd_buf_json_string(b, e->value, e->len);
                }
            }
        }
        if (total) {
            if (total > shown) sd_buf_printf(b, ", ... %zu in all", total);
            sd_buf_puts(b, "}\n");
        }
    }
}

/* Indexed by rule_agg: a kind missing here would be read past the end. */
static const char *const agg_names[] = {"", "count", "distinct", "sequence", "sum"};
_Static_assert(sizeof agg_names / sizeof agg_names[0] == RAGG_SUM + 1, "a name per rule_agg");

static void put_keys(buf *b, const program *p, const char *what, const rule_key *k, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) {
        char label[300];
        snprintf(label, sizeof label, "%s %.250s", what, k[i].text);
        put_span(b, p, label, k[i].code);
    }
}

char *sd_program_disasm(const program *p) {
    buf b;
    sd_buf_init(&b);
    sd_buf_printf(&b, "; %u rules, %u instructions, %u paths, %u constants, %u registers\n", p->nrules, p->ncode,
                  p->npaths, p->nconsts, p->max_regs);
    for (uint32_t r = 0; r < p->nrules; r++) {
        const vm_rule *rule = &p->rules[r];
        sd_buf_printf(&b, "\nrule %s  (%s:%u)  severity=%s", rule->name, rule->file, rule->line,
                      sd_severity_name(rule->sev));
        if (rule->nsources) {
            sd_buf_puts(&b, "  on=");
            for (uint32_t i = 0; i < rule->nsources; i++)
                sd_buf_printf(&b, "%s%s", i ? "," : "", p->source_names[rule->sources[i]]);
        }
        if (rule->agg == RAGG_SUM)
            sd_buf_printf(&b, "  sum%s%.17g within %lldms", rule->sum_strict ? ">" : ">=", rule->sum_min,
                          (long long)rule->within_ms);
        else if (rule->agg != RAGG_NONE)
            sd_buf_printf(&b, "  %s>=%llu within %lldms", agg_names[rule->agg], (unsigned long long)rule->threshold,
                          (long long)rule->within_ms);
        if (rule->unordered) sd_buf_puts(&b, "  unordered");
        if (rule->has_throttle) sd_buf_printf(&b, "  throttle %lldms", (long long)rule->throttle_ms);
        if (rule->is_private) sd_buf_puts(&b, "  private");
        sd_buf_putc(&b, '\n');
        put_dispatch(&b, p, r);
        put_span(&b, p, "where", rule->where);
        if (rule->agg == RAGG_DISTINCT) put_span(&b, p, "distinct", rule->distinct);
        if (rule->agg == RAGG_SUM) put_span(&b, p, "sum", rule->distinct);
        for (uint32_t i = 0; i < rule->nsteps; i++) {
            const rule_step *st = &rule->steps[i];
            char label[400];
            int n = snprintf(label, sizeof label, "step %s%.250s", st->negated ? "not " : "", st->name);
            if (st->count && n > 0 && (size_t)n < sizeof label)
                snprintf(label + n, sizeof label - (size_t)n, " count>=%llu within %lldms",
                         (unsigned long long)st->count, (long long)st->count_ms);
            put_span(&b, p, label, st->code);
            put_keys(&b, p, "  step by", st->by, st->nby);
            put_keys(&b, p, "  counts by", st->sub, st->nsub);
        }
        if (!rule->step_keys) put_keys(&b, p, "by", rule->by, rule->nby);
        put_keys(&b, p, "throttle by", rule->throttle_by, rule->nthrottle_by);
    }
    return sd_buf_steal(&b);
}
