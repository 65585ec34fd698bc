/* sign.c — Ed25519 key files and package signatures, on libsodium (sign.h).  Nothing here is a
 * primitive of its own: key generation, signing and verification are libsodium's crypto_sign_*,
 * the randomness its randombytes_buf (getrandom). */
#include "sign.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_write.h"
#include "hp_package.h"
#include "text.h"

int hp_sign_init(char *err, size_t err_size)
{
	if (sodium_init() < 0) {
		snprintf(err, err_size, "libsodium cannot start (no source of randomness)");
		return -1;
	}
	return 0;
}

uint8_t *hp_sign_read_file(const char *path, size_t *size, char *err, size_t err_size)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	if (!f || fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, err_size, "%s: %s", path, !f ? strerror(errno) : "not a regular file");
		if (f)
			fclose(f);
		return NULL;
	}
	uint8_t *data = malloc((size_t)st.st_size + 1);
	size_t n = data ? fread(data, 1, (size_t)st.st_size, f) : 0;
	int failed = !data || n != (size_t)st.st_size || ferror(f);
	fclose(f);
	if (failed) {
		snprintf(err, err_size, "%s: %s", path, data ? "cannot read the whole file" : "out of memory");
		free(data);
		return NULL;
	}
	*size = n;
	data[n] = 0;
	return data;
}

static int hex_byte(const char *p, uint8_t *out)
{
	unsigned v = 0;
	for (int i = 0; i < 2; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (d < 0)
			return -1;
		v = v << 4 | (unsigned)d;
	}
	*out = (uint8_t)v;
	return 0;
}

/* Writes text to a new file (never an existing one) with the given mode. */
static int write_new(const char *path, const char *text, mode_t mode, char *err, size_t err_size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		snprintf(err, err_size, "%s: %s", path, errno == EEXIST ? "exists already: a key is never overwritten"
		                                                       : strerror(errno));
		return -1;
	}
	size_t len = strlen(text);
	int ok = fchmod(fd, mode) == 0 && write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
	int saved = errno;
	ok &= close(fd) == 0;
	if (!ok) {
		snprintf(err, err_size, "%s: %s", path, strerror(saved));
		unlink(path);
		return -1;
	}
	return 0;
}

int hp_key_generate(const char *base, struct hp_secret_key *out, char *err, size_t err_size)
{
	size_t len = strlen(base);
	char *secret_path = malloc(len + 8), *public_path = malloc(len + 8);
	char line[200], hex[129];
	int rc = -1;
	if (!secret_path || !public_path) {
		snprintf(err, err_size, "out of memory");
		goto out;
	}
	sprintf(secret_path, "%s.secret", base);
	sprintf(public_path, "%s.pub", base);
	uint8_t seed[32];
	randombytes_buf(seed, sizeof seed);
	crypto_sign_seed_keypair(out->public_key, out->secret, seed);
	hp_hex(seed, sizeof seed, hex);
	snprintf(line, sizeof line, "%s%s\n", HP_SECRET_KEY_PREFIX, hex);
	sodium_memzero(seed, sizeof seed);
	sodium_memzero(hex, sizeof hex);
	if (write_new(secret_path, line, 0600, err, err_size)) {
		sodium_memzero(line, sizeof line);
		goto out;
	}
	sodium_memzero(line, sizeof line);
	hp_hex(out->public_key, HP_SIGNATURE_KEY_SIZE, hex);
	snprintf(line, sizeof line, "%s%s\n", HP_PUBLIC_KEY_PREFIX, hex);
	if (write_new(public_path, line, 0644, err, err_size)) {
		unlink(secret_path);  /* half a key pair is no key */
		goto out;
	}
	rc = 0;
out:
	free(secret_path);
	free(public_path);
	return rc;
}

int hp_key_read_secret(const char *path, struct hp_secret_key *out, char *err, size_t err_size)
{
	size_t size = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st)) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	if (S_ISREG(st.st_mode) && (st.st_mode & 077)) {
		snprintf(err, err_size, "%s: a secret key others may read or write (mode %04o): chmod 600 it",
		         path, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	uint8_t *text = hp_sign_read_file(path, &size, err, err_size);
	if (!text)
		return -1;
	size_t prefix = strlen(HP_SECRET_KEY_PREFIX);
	uint8_t seed[32];
	int ok = size >= prefix + 64 && !memcmp(text, HP_SECRET_KEY_PREFIX, prefix);
	for (size_t i = 0; ok && i < 32; i++)
		ok = !hex_byte((const char *)text + prefix + 2 * i, &seed[i]);
	for (size_t i = prefix + 64; ok && i < size; i++)
		ok = text[i] == '\n' || text[i] == '\r' || text[i] == ' ';
	sodium_memzero(text, size);
	free(text);
	if (!ok) {
		sodium_memzero(seed, sizeof seed);
		snprintf(err, err_size, "%s: not a hotpatch secret key (expected one line: '%s' and 64 hex digits)", path,
		         "hotpatch-ed25519-secret");
		return -1;
	}
	crypto_sign_seed_keypair(out->public_key, out->secret, seed);
	sodium_memzero(seed, sizeof seed);
	return 0;
}

int hp_key_read_public(const char *path, uint8_t key[HP_SIGNATURE_KEY_SIZE], char *err, size_t err_size)
{
	size_t size = 0;
	uint8_t *text = hp_sign_read_file(path, &size, err, err_size);
	if (!text)
		return -1;
	int ok = strlen((char *)text) == size && !hp_public_key_parse((char *)text, key);
	free(text);
	if (!ok) {
		snprintf(err, err_size, "%s: not a hotpatch public key (expected one line: '%s' and 64 hex digits)", path,
		         "hotpatch-ed25519-public");
		return -1;
	}
	return 0;
}

int hp_sign_file(const char *path, const char *out, const struct hp_secret_key *key, char *err, size_t err_size)
{
	size_t size = 0;
	char why[300];
	uint8_t *data = hp_sign_read_file(path, &size, err, err_size);
	if (!data)
		return -1;
	struct hp_signature old;
	if (hp_signature_split(data, size, &old, why, sizeof why)) {
		snprintf(err, err_size, "%s: %s", path, why);
		free(data);
		return -1;
	}
	if (old.body_size < 8 || memcmp(data, HP_PACKAGE_MAGIC, 8)) {
		snprintf(err, err_size, "%s: not a hotpatch package", path);
		free(data);
		return -1;
	}
	/* The message: the body, then the trailer up to the signature; signed in one buffer. */
	size_t body = old.body_size, head = HP_SIGNATURE_TRAILER_SIZE - HP_SIGNATURE_SIZE;
	uint8_t *message = realloc(data, body + HP_SIGNATURE_TRAILER_SIZE);
	if (!message) {
		snprintf(err, err_size, "out of memory");
		free(data);
		return -1;
	}
	hp_signature_header(body, key->public_key, message + body);
	crypto_sign_detached(message + body + head, NULL, message, body + head, key->secret);
	int rc = hp_write_file(out, message, body + HP_SIGNATURE_TRAILER_SIZE, NULL, 0, err, err_size);
	free(message);
	return rc;
}

int hp_signature_valid(const void *data, const struct hp_signature *sig)
{
	/* sodium_init is idempotent and thread-safe: callers that only check need not start it. */
	return sig->present && sodium_init() >= 0 &&
	       crypto_sign_verify_detached(sig->signature, data, sig->signed_size, sig->key) == 0;
}
