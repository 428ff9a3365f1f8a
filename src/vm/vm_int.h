/* vm_int.h — what the interpreter (vm.c) and the code of its newer
 * instructions (vm_fn.c: element paths, functions, case-folded tests)
 * share. */
#ifndef SECDET_VM_VM_INT_H
#define SECDET_VM_VM_INT_H

#include "vm/vm.h"

/* R = path p read from the element (a path without pieces: the element
 * itself). 0, or -1 out of memory. */
int sd_vm_elem_path(sd_event *ev, const sd_path *p, const sd_value *elem, sd_values *out);
/* B64DECODE, TEXT, HOUR, WEEKDAY of src (k: the offset constant of the
 * last two) into dst (values in the event's arena). 0, or -1 out of memory. */
int sd_vm_function(vm_ctx *vm, sd_event *ev, uint8_t op, const sd_values *src, const sd_value *k, sd_values *dst);
/* FEQ, FCONTAINS, FSTARTSWITH, FENDSWITH of two strings. */
bool sd_vm_fold_pair(sd_event *ev, uint8_t op, const sd_value *x, const sd_value *y);
/* FEQK, FINSET, STRS over the values of a; what the work beyond the first
 * test costs is charged to the budget (VM_BUDGET when it runs out). */
vm_status sd_vm_fold_test(vm_ctx *vm, sd_event *ev, const vm_insn *in, const sd_values *a, bool *f);
/* Whether x is a member of set s (vm.c). */
bool sd_vm_set_has(const const_set *s, const sd_value *x);

#endif
