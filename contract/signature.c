/* signature.c — the signature trailer's layout (signature.h): splitting a package file into
 * its body and trailer, the signed header, key ids and public key lines.  No cryptography here:
 * this is the part the runtime must read before it knows whether it needs any.  libc only. */
#include "signature.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "hp_package.h"
#include "text.h"

static int bad(char *err, size_t err_size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, err_size, fmt, ap);
	va_end(ap);
	return -1;
}

static uint64_t le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

int hp_signature_split(const void *data, size_t size, struct hp_signature *out, char *err, size_t err_size)
{
	memset(out, 0, sizeof *out);
	out->body_size = size;
	if (!data || size < HP_SIGNATURE_TRAILER_SIZE)
		return 0;
	/* A package whose header gives the file's whole size has no trailer, whatever its last bytes
	 * happen to hold (a string area may end in anything). */
	const size_t at = offsetof(struct hp_pkg_header, total_size);
	if (size >= at + 8 && le((const uint8_t *)data + at, 8) == size)
		return 0;
	const uint8_t *t = (const uint8_t *)data + size - HP_SIGNATURE_TRAILER_SIZE;
	if (memcmp(t, HP_SIGNATURE_MAGIC, 8))
		return 0;
	uint64_t version = le(t + 8, 2), trailer = le(t + 10, 2), algorithm = le(t + 12, 4), body = le(t + 16, 8);
	if (version != HP_SIGNATURE_VERSION)
		return bad(err, err_size, "signature trailer version %llu is not supported (this reader knows %d)",
		           (unsigned long long)version, HP_SIGNATURE_VERSION);
	if (trailer != HP_SIGNATURE_TRAILER_SIZE || algorithm != HP_SIGNATURE_ED25519)
		return bad(err, err_size, "signature trailer of size %llu, algorithm %llu: not an Ed25519 trailer",
		           (unsigned long long)trailer, (unsigned long long)algorithm);
	if (body != size - HP_SIGNATURE_TRAILER_SIZE)
		return bad(err, err_size, "signature trailer is for a package of %llu bytes, but %zu bytes precede it",
		           (unsigned long long)body, size - HP_SIGNATURE_TRAILER_SIZE);
	if (le(t + 24, 8))
		return bad(err, err_size, "signature trailer has nonzero reserved bytes");
	out->present = 1;
	out->body_size = (size_t)body;
	out->signed_size = size - HP_SIGNATURE_SIZE;
	memcpy(out->key, t + 32, HP_SIGNATURE_KEY_SIZE);
	memcpy(out->signature, t + 64, HP_SIGNATURE_SIZE);
	return 0;
}

void hp_signature_header(size_t body_size, const uint8_t key[HP_SIGNATURE_KEY_SIZE],
                         uint8_t out[HP_SIGNATURE_TRAILER_SIZE - HP_SIGNATURE_SIZE])
{
	memset(out, 0, HP_SIGNATURE_TRAILER_SIZE - HP_SIGNATURE_SIZE);
	memcpy(out, HP_SIGNATURE_MAGIC, 8);
	put_le(out + 8, HP_SIGNATURE_VERSION, 2);
	put_le(out + 10, HP_SIGNATURE_TRAILER_SIZE, 2);
	put_le(out + 12, HP_SIGNATURE_ED25519, 4);
	put_le(out + 16, body_size, 8);
	memcpy(out + 32, key, HP_SIGNATURE_KEY_SIZE);
}

void hp_key_id(const uint8_t key[HP_SIGNATURE_KEY_SIZE], char out[17])
{
	hp_hex(key, 8, out);
}

static int hex_digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int hp_public_key_parse(const char *line, uint8_t key[HP_SIGNATURE_KEY_SIZE])
{
	size_t prefix = strlen(HP_PUBLIC_KEY_PREFIX);
	if (strncmp(line, HP_PUBLIC_KEY_PREFIX, prefix))
		return -1;
	const char *p = line + prefix;
	for (size_t i = 0; i < HP_SIGNATURE_KEY_SIZE; i++) {
		int hi = hex_digit(p[2 * i]), lo = hi < 0 ? -1 : hex_digit(p[2 * i + 1]);
		if (lo < 0)
			return -1;
		key[i] = (uint8_t)(hi << 4 | lo);
	}
	for (p += 2 * HP_SIGNATURE_KEY_SIZE; *p; p++)
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			return -1;
	return 0;
}
