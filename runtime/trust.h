/* trust.h — the process's trust policy: which signers' packages it applies.  A program is given
 * one at build time (hotpatch_target(... TRUST key.pub... TRUST_FILE path), which defines
 * hp_trust_keys: contract/signature.h): trusted public keys embedded in it, and/or the path of a
 * policy file read once when the process starts.  Without either, every package is accepted, as
 * an unsigned one always was.  With one, a package must be signed (Ed25519, verified with
 * libsodium.so.23, loaded only then) by one of those keys, or it is refused before it is decoded. */
#ifndef HP_TRUST_H
#define HP_TRUST_H

#include <stddef.h>

/* Checks a package file against the policy.  Returns 0 and sets *body_size to the package
 * without its signature trailer (the bytes to decode); or -HP_E_UNTRUSTED (not signed by a
 * trusted key, the signature does not hold, the policy cannot be read or libsodium loaded) or
 * -HP_E_PACKAGE (a malformed trailer), with a one-line reason in why. */
/* Fixes the policy: reads the program's keys and its policy file.  Called once when the process
 * starts, before the stored packages are applied and before the control channel exists, so that
 * every package the process ever sees meets the policy it started with (control.c). */
void hp_trust_start(void);

int hp_trust_check(const void *data, size_t size, size_t *body_size, char *why, size_t why_size);

/* The policy as the status reply's line says it (control.h): "policy unsigned-accepted",
 * "policy signed-by N KEYID...", or "policy refuses-all REASON". */
void hp_trust_describe(char *out, size_t size);

#endif
