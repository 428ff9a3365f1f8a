/* program.c — releasing a compiled ruleset, and severity names.
 *
 * sd_program_free releases everything program.h says the program owns, and the
 * program struct itself (sd_compile_ruleset hands out a heap-allocated one). It
 * tolerates a partly built program (NULL arrays, zero counts), so the compiler
 * can use it to clean up after a failure.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>

#include "vm/prefilter.h"
#include "vm/program.h"
#include "vm/tuning.h"

static void free_const(vm_const *c) {
    if (c->type == SD_STR) free((char *)c->str);
}

static void free_keys(rule_key *keys, uint32_t n) {
    for (uint32_t i = 0; keys && i < n; i++) free(keys[i].text);
    free(keys);
}

static void free_rule(vm_rule *r) {
    free(r->name);
    free(r->file);
    free(r->title);
    for (uint32_t i = 0; r->tags && i < r->ntags; i++) free(r->tags[i]);
    free(r->tags);
    for (uint32_t i = 0; r->meta && i < r->nmeta; i++) {
        free(r->meta[i].key);
        free(r->meta[i].json);
    }
    free(r->meta);
    free(r->sources);
    free_keys(r->by, r->nby);
    for (uint32_t i = 0; r->steps && i < r->nsteps; i++) {
        free(r->steps[i].name);
        free_keys(r->steps[i].by, r->steps[i].nby);
        free_keys(r->steps[i].sub, r->steps[i].nsub);
    }
    free(r->steps);
    free_keys(r->throttle_by, r->nthrottle_by);
    for (uint32_t i = 0; r->output && i < r->noutput; i++) free(r->output[i].text);
    free(r->output);
    sd_rule_tuning_free(r->tuning);
}

void sd_program_free(program *p) {
    if (!p) return;
    free(p->code);
    free(p->lines);
    free(p->files);
    for (uint32_t i = 0; p->file_names && i < p->nfiles; i++) free(p->file_names[i]);
    free(p->file_names);

    for (uint32_t i = 0; p->consts && i < p->nconsts; i++) free_const(&p->consts[i]);
    free(p->consts);
    for (uint32_t i = 0; p->sets && i < p->nsets; i++) {
        const_set *s = &p->sets[i];
        for (uint32_t j = 0; s->members && j < s->nmembers; j++) free_const(&s->members[j]);
        free(s->members);
        free(s->slots);
    }
    free(p->sets);
    for (uint32_t i = 0; p->cidrs && i < p->ncidrs; i++) free(p->cidrs[i].ranges);
    free(p->cidrs);
    for (uint32_t i = 0; p->globs && i < p->nglobs; i++) free(p->globs[i]);
    free(p->globs);
    free(p->glob_lens);
    for (uint32_t i = 0; p->regexes && i < p->nregexes; i++) {
        pcre2_code_free((pcre2_code *)p->regexes[i].code);
        free(p->regexes[i].pattern);
        free(p->regexes[i].lits);
    }
    free(p->regexes);
    for (uint32_t i = 0; p->guards && i < p->nguards; i++) free(p->guards[i].lits);
    free(p->guards);
    free(p->guard_of);
    free(p->guard_groups);
    sd_lits_free(&p->lits[0]);
    sd_lits_free(&p->lits[1]);
    for (uint32_t i = 0; p->paths && i < p->npaths; i++) sd_path_free(&p->paths[i]);
    free(p->paths);
    for (uint32_t i = 0; p->epaths && i < p->nepaths; i++) sd_path_free(&p->epaths[i]);
    free(p->epaths);
    for (uint32_t i = 0; p->strs && i < p->nstrs; i++) {
        for (uint32_t k = 0; p->strs[i].s && k < p->strs[i].n; k++) free(p->strs[i].s[k]);
        free(p->strs[i].s);
        free(p->strs[i].len);
    }
    free(p->strs);
    for (uint32_t i = 0; p->source_names && i < p->nsources; i++) free(p->source_names[i]);
    free(p->source_names);

    for (uint32_t i = 0; p->rules && i < p->nrules; i++) free_rule(&p->rules[i]);
    free(p->rules);
    for (uint32_t i = 0; p->indexes && i < p->nindexes; i++) {
        path_index *ix = &p->indexes[i];
        for (uint32_t j = 0; ix->slots && j < ix->nslots; j++) {
            free(ix->slots[j].value);
            free(ix->slots[j].rules);
        }
        free(ix->slots);
    }
    free(p->indexes);
    free(p->always);
    free(p->tuning_text);
    free(p);
}

const vm_op_info sd_vm_op_info_table[OP__COUNT] = {
#define VM_OP_INFO(name, a, b, c, doc) {#name, VM_OPND_##a, VM_OPND_##b, VM_OPND_##c, doc},
    VM_OPCODES(VM_OP_INFO)
#undef VM_OP_INFO
};

uint32_t sd_program_pool_size(const program *p, vm_operand k) {
    switch (k) {
    case VM_OPND_PATH: return p->npaths;
    case VM_OPND_CONST: return p->nconsts;
    case VM_OPND_SET: return p->nsets;
    case VM_OPND_CIDR: return p->ncidrs;
    case VM_OPND_GLOB: return p->nglobs;
    case VM_OPND_REGEX: return p->nregexes;
    case VM_OPND_RULE: return p->nrules;
    case VM_OPND_EPATH: return p->nepaths;
    case VM_OPND_STRS: return p->nstrs;
    case VM_OPND_NONE:
    case VM_OPND_REG:
    case VM_OPND_NUM:
    case VM_OPND_NREGS:
    case VM_OPND_JUMP: return 0;
    }
    return 0;
}
