/* signature.h — a package's signature and the keys it is checked against: the layout of the
 * signature trailer that hpsign appends to a package, the text form of a public key (key files,
 * policy files, CMake's TRUST), key ids, and the trust record a program embeds (hp_trust_keys).
 * libc only: the runtime splits and checks the layout; the cryptography (Ed25519, libsodium)
 * is done by sign/ on the signing side and by runtime/trust.c in the process.
 *
 * A signed package is the package as hpdiff wrote it (the body: its header's total_size and
 * checksum unchanged, so hp_package_decode reads it exactly as an unsigned one), followed by one
 * 128-byte trailer:
 *
 *   offset  0  magic "HPSIGNED"
 *           8  u16 version (1), u16 trailer size (128), u32 algorithm (1: Ed25519)
 *          16  u64 body size: the file's size minus 128
 *          24  8 reserved bytes, zero
 *          32  the signer's Ed25519 public key (32 bytes)
 *          64  the Ed25519 signature (64 bytes) of every byte of the file before it: the body
 *              and the trailer's first 64 bytes, so the algorithm, the sizes and the key are
 *              signed with the package
 *
 * One file carries both: hpctl hands the process one descriptor, and copying the package cannot
 * leave its signature behind.  Signing again replaces the trailer. */
#ifndef HP_CONTRACT_SIGNATURE_H
#define HP_CONTRACT_SIGNATURE_H

#include <stddef.h>
#include <stdint.h>

#define HP_SIGNATURE_MAGIC "HPSIGNED"   /* 8 bytes, no terminator */
#define HP_SIGNATURE_VERSION 1
#define HP_SIGNATURE_ED25519 1
#define HP_SIGNATURE_TRAILER_SIZE 128
#define HP_SIGNATURE_KEY_SIZE 32
#define HP_SIGNATURE_SIZE 64

struct hp_signature {
	int present;                        /* 0: the package is unsigned (the rest is zero) */
	size_t body_size;                   /* the package without its trailer */
	size_t signed_size;                 /* the bytes the signature covers, from the start */
	uint8_t key[HP_SIGNATURE_KEY_SIZE];
	uint8_t signature[HP_SIGNATURE_SIZE];
};

/* Finds the trailer of a package file.  Returns 0 and fills *out (present 0 and body_size = size
 * for an unsigned package); -1 with a one-line reason in err when the file ends in a trailer
 * that is not one this reader accepts (another version or algorithm, a wrong body size). */
int hp_signature_split(const void *data, size_t size, struct hp_signature *out, char *err, size_t err_size);

/* Writes the trailer's first 64 bytes (everything but the signature) for a body of body_size
 * bytes signed by key: the bytes that follow the body in the signed message. */
void hp_signature_header(size_t body_size, const uint8_t key[HP_SIGNATURE_KEY_SIZE],
                         uint8_t out[HP_SIGNATURE_TRAILER_SIZE - HP_SIGNATURE_SIZE]);

/* A key's id: the first 8 bytes of the public key, as 16 hex digits and a terminator.  An Ed25519
 * public key is an encoded curve point that looks uniformly random, so these bytes name a key as
 * well as a hash of it would; an id is only ever shown, never trusted: every trust decision
 * compares the whole 32-byte key. */
void hp_key_id(const uint8_t key[HP_SIGNATURE_KEY_SIZE], char out[17]);

/* The text form of a public key, one line: "hotpatch-ed25519-public " and 64 hex digits. */
#define HP_PUBLIC_KEY_PREFIX "hotpatch-ed25519-public "

/* Reads a public key line (trailing newline and spaces allowed); 0, or -1 when it is not one. */
int hp_public_key_parse(const char *line, uint8_t key[HP_SIGNATURE_KEY_SIZE]);

/* The keys a program was built to trust (hotpatch_target(... TRUST ...) generates it; the runtime
 * looks up the symbol hp_trust_keys, in section .hotpatch_trust so that readelf shows it):
 *
 *   magic "HPTRUST1", u16 key count, u16 policy-file length (with its NUL; 0: none), u32 zero,
 *   then the keys (32 bytes each), then the policy file's path (NUL-terminated)
 *
 * The policy file holds public key lines (blank lines and '#' comments allowed). */
#define HP_TRUST_MAGIC "HPTRUST1"
#define HP_TRUST_HEADER_SIZE 16
#define HP_TRUST_MAX_KEYS 64

#endif
