/* opcodes.h — the one list of VM instructions (an X-macro).
 *
 * The compiler, the interpreter, the disassembler and the rule fingerprint
 * all expand this list, so they cannot drift apart. An instruction is 8
 * bytes (vm_insn in program.h): op, register a, 16-bit b, 32-bit c.
 * Registers hold value lists (sd_values); `f` is the single boolean flag
 * that tests set and jumps read. Jumps only go forward, so every program
 * ends; the interpreter still counts instructions against the engine's
 * budget.
 *
 *   X(NAME, A, B, C, effect)
 *
 * A, B and C say what each operand is (vm_operand in program.h): REG a
 * register, NUM a plain number, NONE unused, and for C the pool it indexes
 * (PATH, CONST, SET, CIDR, GLOB, REGEX, RULE, EPATH, STRS), a jump target (JUMP) or a
 * register count (NREGS: registers b..b+c-1). What an operand is decides how
 * the disassembler prints it and how the fingerprint hashes it (by content,
 * never by pool index), from vm_op_info[] alone: a new opcode that indexes a
 * pool is spelt out in both without a line of code added there.
 */
#ifndef SECDET_VM_OPCODES_H
#define SECDET_VM_OPCODES_H

/* The test of STRS (operand b): the kind, plus STRS_FOLD for the i-forms. */
enum { STRS_CONTAINS = 0, STRS_STARTSWITH = 1, STRS_ENDSWITH = 2, STRS_LIKE = 3, STRS_FOLD = 8 };

/* The table is read in columns: clang-format leaves it as it is. */
/* clang-format off */
#define VM_OPCODES(X)                                                                                  \
    X(LOADP,      REG,  NONE, PATH,  "R[a] = values of field path c (per-event field cache)")          \
    X(LOADK,      REG,  NONE, CONST, "R[a] = constant c")                                               \
    X(LOWER,      REG,  REG,  NONE,  "R[a] = lower(R[b]): ASCII-folded strings; non-strings dropped")   \
    X(UPPER,      REG,  REG,  NONE,  "R[a] = upper(R[b])")                                              \
    X(LEN,        REG,  REG,  NONE,  "R[a] = len(R[b]): code points, elements or members")              \
    X(COALESCE,   REG,  REG,  NREGS, "R[a] = first of R[b..b+c-1] that is present and not null")       \
    X(EQ,         REG,  REG,  NONE,  "f = some x in R[a], y in R[b] with x == y (no coercion)")         \
    X(EQK,        REG,  NONE, CONST, "f = some x in R[a] equal to constant c")                          \
    X(EQK_CI,     REG,  NONE, CONST, "f = some string x in R[a] equal to constant c ignoring ASCII case") \
    X(LT,         REG,  REG,  NONE,  "f = some pair with x < y (both numbers or both strings)")        \
    X(LE,         REG,  REG,  NONE,  "f = some pair with x <= y")                                       \
    X(GT,         REG,  REG,  NONE,  "f = some pair with x > y")                                        \
    X(GE,         REG,  REG,  NONE,  "f = some pair with x >= y")                                       \
    X(CONTAINS,   REG,  REG,  NONE,  "f = some string pair with y a substring of x")                   \
    X(STARTSWITH, REG,  REG,  NONE,  "f = some string pair with x starting with y")                     \
    X(ENDSWITH,   REG,  REG,  NONE,  "f = some string pair with x ending with y")                       \
    X(INSET,      REG,  NONE, SET,   "f = some x in R[a] is a member of constant set c")               \
    X(CIDR,       REG,  NONE, CIDR,  "f = some string x in R[a] is an address inside CIDR set c")      \
    X(LIKE,       REG,  NONE, GLOB,  "f = some string x in R[a] matches glob c")                        \
    X(MATCH,      REG,  NONE, REGEX, "f = PCRE2 regex c finds a match in some string x in R[a]")       \
    X(EXISTS,     REG,  NONE, NONE,  "f = R[a] is not empty (JSON null counts as present)")             \
    X(RULE,       NONE, NONE, RULE,  "f = the event is from one of rule c's sources and satisfies its where") \
    X(NOT,        NONE, NONE, NONE,  "f = !f")                                                          \
    X(SETF,       NUM,  NONE, NONE,  "f = a (0 or 1)")                                                  \
    X(JMPF,       NONE, NONE, JUMP,  "if !f: pc = c")                                                   \
    X(JMPT,       NONE, NONE, JUMP,  "if f: pc = c")                                                    \
    X(RET,        NONE, NONE, NONE,  "return f")                                                        \
    X(RETV,       REG,  NONE, NONE,  "return R[a] (value programs: group keys, distinct values)")      \
    X(LOADE,      REG,  NONE, EPATH, "R[a] = values of path c from the innermost any/all's element") \
    X(ANY,        REG,  NONE, JUMP,  "f = some value of R[a] as the element makes the code up to c set f") \
    X(ALL,        REG,  NONE, JUMP,  "f = R[a] has values and each makes the code up to c set f") \
    X(B64DECODE,  REG,  REG,  NONE,  "R[a] = b64decode(R[b]): base64 strings as UTF-16LE or UTF-8 text") \
    X(TEXT,       REG,  REG,  NONE,  "R[a] = text(R[b]): strings as they are, others as compact JSON") \
    X(HOUR,       REG,  REG,  CONST, "R[a] = hour 0-23 of each time in R[b] at UTC offset c (seconds)") \
    X(WEEKDAY,    REG,  REG,  CONST, "R[a] = weekday 1 (Monday)-7 of each time in R[b] at offset c") \
    X(FEQ,        REG,  REG,  NONE,  "f = some string pair equal under Unicode simple case folding")     \
    X(FCONTAINS,  REG,  REG,  NONE,  "f = some string pair with fold(y) a substring of fold(x)")         \
    X(FSTARTSWITH,REG,  REG,  NONE,  "f = some string pair with fold(x) starting with fold(y)")          \
    X(FENDSWITH,  REG,  REG,  NONE,  "f = some string pair with fold(x) ending with fold(y)")            \
    X(FEQK,       REG,  NONE, CONST, "f = some string x in R[a] with fold(x) == constant c (folded)")    \
    X(FINSET,     REG,  NONE, SET,   "f = fold(x) of some string x in R[a] is in set c (folded)") \
    X(STRS,       REG,  NUM,  STRS,  "f = some string x in R[a] passes test b (STRS_*) with a member of list c")
/* clang-format on */

typedef enum {
#define VM_OP_ENUM(name, a, b, c, doc) OP_##name,
    VM_OPCODES(VM_OP_ENUM)
#undef VM_OP_ENUM
        OP__COUNT
} vm_opcode;

/* What an operand is. */
typedef enum {
    VM_OPND_NONE,
    VM_OPND_REG,
    VM_OPND_NUM,
    VM_OPND_NREGS,
    VM_OPND_JUMP,
    VM_OPND_PATH,
    VM_OPND_CONST,
    VM_OPND_SET,
    VM_OPND_CIDR,
    VM_OPND_GLOB,
    VM_OPND_REGEX,
    VM_OPND_RULE,
    VM_OPND_EPATH, /* a path read from an element (any/all), not from the event */
    VM_OPND_STRS,  /* a list of strings a string test takes (like [..], contains [..]) */
} vm_operand;

typedef struct vm_op_info {
    const char *name;
    vm_operand a, b, c;
    const char *doc;
} vm_op_info;

/* One entry per opcode, in vm_opcode order (program.c). */
extern const vm_op_info sd_vm_op_info_table[OP__COUNT];

#endif
