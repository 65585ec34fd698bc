/* fingerprint.h — 128-bit fingerprints of functions and variables from their IR.
 *
 * A fingerprint covers everything that shapes the machine code and nothing that does not:
 * opcodes, types, flags, operands by position, constants by value, named globals by name (and
 * constant ones also by content), private constants (string literals, switch tables) by content
 * only, attributes, and the module's target and code-shaping flags.  Value names, debug records
 * and debug metadata are left out, so -g, comments, moved lines and renamed locals change
 * nothing; a __LINE__ used as a value does. */
#ifndef HP_FINGERPRINT_H
#define HP_FINGERPRINT_H

#include <stdint.h>
#include <llvm-c/Core.h>

struct hp_fingerprinter;

/* Returns NULL on allocation failure.  Valid while the module's globals are not changed. */
struct hp_fingerprinter *hp_fingerprinter_new(LLVMModuleRef module);
void hp_fingerprinter_free(struct hp_fingerprinter *fp);

/* shape (may be NULL): the same fingerprint with the values of integer constant operands left
 * out, so that "only constants changed" (a __LINE__, a tunable) can be told apart. */
void hp_fingerprint_function(struct hp_fingerprinter *fp, LLVMValueRef function, uint8_t out[16],
                             uint8_t shape[16]);
/* How callers must call it: function type, calling convention, and the return and parameter
 * attributes that change the calling sequence (zeroext, byval, sret, ...).  Clang changes these
 * for file-local functions without renaming them (hazard 8). */
void hp_fingerprint_abi(struct hp_fingerprinter *fp, LLVMValueRef function, uint8_t out[16]);

void hp_fingerprint_variable(struct hp_fingerprinter *fp, LLVMValueRef variable, uint8_t out[16]);

#endif
