/* sign.h — the signing side of package trust (hp_sign, used by hpsign, hpdiff --sign and
 * hpdump): Ed25519 key files, signing a package file, and checking a package's signature.
 * The cryptography is libsodium's; the trailer's layout is contract/signature.h's.
 *
 * Key files are one line of text each, so that they can be mailed, pasted into a policy file or
 * checked into a repository (the public one):
 *   KEY.pub     "hotpatch-ed25519-public " and the 32-byte public key in hex
 *   KEY.secret  "hotpatch-ed25519-secret " and the 32-byte seed in hex, mode 0600; the key
 *               pair is derived from the seed, so a damaged file cannot hold a mismatched pair */
#ifndef HP_SIGN_H
#define HP_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "signature.h"

#define HP_SECRET_KEY_PREFIX "hotpatch-ed25519-secret "

/* An Ed25519 key pair as libsodium holds it: secret is the seed followed by the public key. */
struct hp_secret_key {
	uint8_t secret[64];
	uint8_t public_key[HP_SIGNATURE_KEY_SIZE];
};

/* Starts libsodium; -1 with err set when it cannot (no entropy source). */
int hp_sign_init(char *err, size_t err_size);

/* Makes a new key pair: BASE.secret (mode 0600) and BASE.pub.  Neither may exist already: a key
 * is never overwritten.  0, or -1 with err naming the file. */
int hp_key_generate(const char *base, struct hp_secret_key *out, char *err, size_t err_size);

/* Reads a secret key file; refuses one that others than its owner may read.  0, or -1 with err
 * naming the file and the problem. */
int hp_key_read_secret(const char *path, struct hp_secret_key *out, char *err, size_t err_size);

/* Reads a public key file.  0, or -1 with err naming the file. */
int hp_key_read_public(const char *path, uint8_t key[HP_SIGNATURE_KEY_SIZE], char *err, size_t err_size);

/* Signs the package file at path (replacing a trailer it already has) and writes the signed
 * package to out (which may be path itself; written beside it and renamed into place).  0, or
 * -1 with err naming the file. */
int hp_sign_file(const char *path, const char *out, const struct hp_secret_key *key, char *err, size_t err_size);

/* Whether the signature of a split package (hp_signature_split) is valid for the key it names:
 * 1 valid, 0 not. */
int hp_signature_valid(const void *data, const struct hp_signature *sig);

/* Reads a whole file (malloc'd); NULL with err naming the file. */
uint8_t *hp_sign_read_file(const char *path, size_t *size, char *err, size_t err_size);

#endif
