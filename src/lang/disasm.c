/* disasm.c — the compiled program, readable (`secdet disasm`).
 *
 * One instruction a line: its address, opcode, operands with their constants
 * spelled out, and the source file:line it came from. Each rule starts with
 * a header saying how the dispatch index reaches it. Names and operand shapes
 * come from the same X-macro list as the VM (opcodes.h).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "util/buf.h"
#include "vm/program.h"

static const char *const op_names[] = {
#define VM_OP_NAME(name, operands, doc) #name,
    VM_OPCODES(VM_OP_NAME)
#undef VM_OP_NAME
};

static void put_value(buf *b, const sd_value *v) {
    switch (v->type) {
    case SD_NULL: buf_puts(b, "null"); break;
    case SD_BOOL: buf_puts(b, v->b ? "true" : "false"); break;
    case SD_NUM: buf_printf(b, "%.17g", v->num); break;
    case SD_STR: buf_json_string(b, v->str, v->len); break;
    default: buf_puts(b, "?"); break;
    }
}

static void put_cidr(buf *b, const cidr_range *r) {
    char text[INET6_ADDRSTRLEN];
    inet_ntop(r->family == 4 ? AF_INET : AF_INET6, r->addr, text, sizeof text);
    buf_printf(b, "%s/%u", text, r->prefix);
}

static void put_operands(buf *b, const program *p, const vm_insn *in) {
    size_t start = b->len;
    switch ((vm_opcode)in->op) {
    case OP_LOADP: buf_printf(b, "r%u %s", in->a, in->c < p->npaths ? p->paths[in->c].text : "?"); break;
    case OP_LOADK:
    case OP_EQK:
    case OP_EQK_CI:
        buf_printf(b, "r%u ", in->a);
        if (in->c < p->nconsts) put_value(b, &p->consts[in->c]);
        break;
    case OP_LOWER: case OP_UPPER: case OP_LEN:
    case OP_EQ: case OP_LT: case OP_LE: case OP_GT: case OP_GE:
    case OP_CONTAINS: case OP_STARTSWITH: case OP_ENDSWITH:
        buf_printf(b, "r%u r%u", in->a, in->b);
        break;
    case OP_COALESCE: buf_printf(b, "r%u r%u..r%u", in->a, in->b, in->b + in->c - 1); break;
    case OP_INSET:
        buf_printf(b, "r%u {", in->a);
        if (in->c < p->nsets)
            for (uint32_t i = 0; i < p->sets[in->c].nmembers; i++) {
                if (i) buf_puts(b, ", ");
                if (i == 8) {
                    buf_printf(b, "... %u in all", p->sets[in->c].nmembers);
                    break;
                }
                put_value(b, &p->sets[in->c].members[i]);
            }
        buf_putc(b, '}');
        break;
    case OP_CIDR:
        buf_printf(b, "r%u cidr(", in->a);
        if (in->c < p->ncidrs)
            for (uint32_t i = 0; i < p->cidrs[in->c].n; i++) {
                if (i) buf_puts(b, ", ");
                put_cidr(b, &p->cidrs[in->c].ranges[i]);
            }
        buf_putc(b, ')');
        break;
    case OP_LIKE:
        buf_printf(b, "r%u ", in->a);
        if (in->c < p->nglobs) buf_json_string(b, p->globs[in->c], p->glob_lens[in->c]);
        break;
    case OP_MATCH:
        if (in->c < p->nregexes) buf_printf(b, "r%u /%s/%s", in->a, p->regexes[in->c].pattern, p->regexes[in->c].flags);
        break;
    case OP_EXISTS: case OP_RETV: buf_printf(b, "r%u", in->a); break;
    case OP_SETF: buf_printf(b, "%u", in->a); break;
    case OP_RULE: buf_printf(b, "%s", in->c < p->nrules ? p->rules[in->c].name : "?"); break;
    case OP_JMPF: case OP_JMPT: buf_printf(b, "-> %04u", in->c); break;
    case OP_NOT: case OP_RET: case OP__COUNT: break;
    }
    size_t w = b->len - start;
    for (; w < 44; w++) buf_putc(b, ' ');
}

static void put_span(buf *b, const program *p, const char *label, code_span s) {
    if (!s.len) return;
    buf_printf(b, "  %s:\n", label);
    for (uint32_t pc = s.start; pc < s.start + s.len && pc < p->ncode; pc++) {
        const vm_insn *in = &p->code[pc];
        buf_printf(b, "    %04u  %-10s ", pc, in->op < OP__COUNT ? op_names[in->op] : "?");
        put_operands(b, p, in);
        uint32_t f = p->files[pc];
        buf_printf(b, " ; %s:%u\n", f < p->nfiles ? p->file_names[f] : "?", p->lines[pc]);
    }
}

static void put_dispatch(buf *b, const program *p, uint32_t r) {
    for (uint32_t i = 0; i < p->nalways; i++)
        if (p->always[i] == r) {
            buf_puts(b, "  dispatch: every event\n");
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
                if (total++ == 0) buf_printf(b, "  dispatch: %s in {", p->paths[ix->path].text);
                if (shown < 8) {
                    if (shown++) buf_puts(b, ", ");
                    buf_json_string(b, e->value, e->len);
                }
            }
        }
        if (total) {
            if (total > shown) buf_printf(b, ", ... %zu in all", total);
            buf_puts(b, "}\n");
        }
    }
}

static const char *const agg_names[] = {"", "count", "distinct", "sequence"};

char *program_disasm(const program *p) {
    buf b;
    buf_init(&b);
    buf_printf(&b, "; %u rules, %u instructions, %u paths, %u constants, %u registers\n", p->nrules, p->ncode,
               p->npaths, p->nconsts, p->max_regs);
    for (uint32_t r = 0; r < p->nrules; r++) {
        const vm_rule *rule = &p->rules[r];
        buf_printf(&b, "\nrule %s  (%s:%u)  severity=%s", rule->name, rule->file, rule->line, severity_name(rule->sev));
        if (rule->nsources) {
            buf_puts(&b, "  on=");
            for (uint32_t i = 0; i < rule->nsources; i++)
                buf_printf(&b, "%s%s", i ? "," : "", p->source_names[rule->sources[i]]);
        }
        if (rule->agg != RAGG_NONE)
            buf_printf(&b, "  %s>=%llu within %lldms", agg_names[rule->agg], (unsigned long long)rule->threshold,
                       (long long)rule->within_ms);
        if (rule->has_throttle) buf_printf(&b, "  throttle %lldms", (long long)rule->throttle_ms);
        if (rule->is_private) buf_puts(&b, "  private");
        buf_putc(&b, '\n');
        put_dispatch(&b, p, r);
        put_span(&b, p, "where", rule->where);
        if (rule->agg == RAGG_DISTINCT) put_span(&b, p, "distinct", rule->distinct);
        for (uint32_t i = 0; i < rule->nsteps; i++) {
            char label[300];
            snprintf(label, sizeof label, "step %s", rule->steps[i].name);
            put_span(&b, p, label, rule->steps[i].code);
        }
        for (uint32_t i = 0; i < rule->nby; i++) {
            char label[300];
            snprintf(label, sizeof label, "by %.250s", rule->by[i].text);
            put_span(&b, p, label, rule->by[i].code);
        }
        for (uint32_t i = 0; i < rule->nthrottle_by; i++) {
            char label[300];
            snprintf(label, sizeof label, "throttle by %.250s", rule->throttle_by[i].text);
            put_span(&b, p, label, rule->throttle_by[i].code);
        }
    }
    return buf_steal(&b);
}
