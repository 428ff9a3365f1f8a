/* opcodes.h — the one list of VM instructions (an X-macro).
 *
 * The compiler, the interpreter and the disassembler all expand this list, so
 * they cannot drift apart. An instruction is 8 bytes (vm_insn in program.h):
 * op, register a, 16-bit b, 32-bit c. Registers hold value lists (sd_values);
 * `f` is the single boolean flag that tests set and jumps read.
 * Jumps only go forward, so every program ends; the interpreter still counts
 * instructions against the engine's budget.
 *
 *   X(NAME,     operands, effect)
 */
#ifndef SECDET_VM_OPCODES_H
#define SECDET_VM_OPCODES_H

#define VM_OPCODES(X)                                                                       \
    X(LOADP,      "a c",   "R[a] = values of field path c (per-event field cache)")       \
    X(LOADK,      "a c",   "R[a] = constant c")                                            \
    X(LOWER,      "a b",   "R[a] = lower(R[b]): ASCII-folded strings; non-strings dropped") \
    X(UPPER,      "a b",   "R[a] = upper(R[b])")                                           \
    X(LEN,        "a b",   "R[a] = len(R[b]): code points, elements or members")           \
    X(COALESCE,   "a b c", "R[a] = first of R[b..b+c-1] that is present and not null")    \
    X(EQ,         "a b",   "f = some x in R[a], y in R[b] with x == y (no coercion)")      \
    X(EQK,        "a c",   "f = some x in R[a] equal to constant c")                       \
    X(EQK_CI,     "a c",   "f = some string x in R[a] equal to constant c ignoring ASCII case") \
    X(LT,         "a b",   "f = some pair with x < y (both numbers or both strings)")     \
    X(LE,         "a b",   "f = some pair with x <= y")                                    \
    X(GT,         "a b",   "f = some pair with x > y")                                     \
    X(GE,         "a b",   "f = some pair with x >= y")                                    \
    X(CONTAINS,   "a b",   "f = some string pair with y a substring of x")                \
    X(STARTSWITH, "a b",   "f = some string pair with x starting with y")                  \
    X(ENDSWITH,   "a b",   "f = some string pair with x ending with y")                    \
    X(INSET,      "a c",   "f = some x in R[a] is a member of constant set c")            \
    X(CIDR,       "a c",   "f = some string x in R[a] is an address inside CIDR set c")   \
    X(LIKE,       "a c",   "f = some string x in R[a] matches glob c")                     \
    X(MATCH,      "a c",   "f = PCRE2 regex c finds a match in some string x in R[a]")    \
    X(EXISTS,     "a",     "f = R[a] is not empty (JSON null counts as present)")          \
    X(RULE,       "c",     "f = the event is from one of rule c's sources and satisfies its where") \
    X(NOT,        "",      "f = !f")                                                       \
    X(SETF,       "a",     "f = a (0 or 1)")                                               \
    X(JMPF,       "c",     "if !f: pc = c")                                                \
    X(JMPT,       "c",     "if f: pc = c")                                                 \
    X(RET,        "",      "return f")                                                     \
    X(RETV,       "a",     "return R[a] (value programs: group keys, distinct values)")

typedef enum {
#define VM_OP_ENUM(name, operands, doc) OP_##name,
    VM_OPCODES(VM_OP_ENUM)
#undef VM_OP_ENUM
    OP__COUNT
} vm_opcode;

#endif
