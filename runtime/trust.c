/* trust.c — the process's trust policy (trust.h): where it comes from, and the check every
 * package passes before it is decoded.
 *
 * The policy is fixed when the process starts: the keys the program embeds (hp_trust_keys, a
 * weak reference: a program built without TRUST has none, and no policy) and the policy file it
 * names, read then, never a path from the environment.  The file must be a regular file (not a
 * link) owned by root or by the process's effective user, in a directory owned by one of them,
 * neither writable by group or others: whoever could write it could already change the process.
 * A policy that cannot be read refuses every package and says why, rather than falling back to
 * accepting unsigned ones.
 *
 * The runtime stays libc only: the signature is verified with libsodium's
 * crypto_sign_verify_detached, loaded with dlopen("libsodium.so.23") the first time a policy
 * needs it.  libsodium's static archive is not position-independent on Debian, so it cannot be
 * linked into libhotpatch.so, and a program without a policy should not carry or load it. */
#define _GNU_SOURCE
#include "trust.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hotpatch.h"
#include "signature.h"

/* Defined by the program when it was built with a policy (contract/signature.h's layout). */
extern const unsigned char hp_trust_keys[] __attribute__((weak));

#define POLICY_FILE_MAX 65536

static struct {
	pthread_once_t once;
	int active;                   /* a policy: only signed packages */
	size_t key_count;
	uint8_t keys[2 * HP_TRUST_MAX_KEYS][HP_SIGNATURE_KEY_SIZE];
	char broken[400];             /* non-empty: every package is refused, for this reason */
} policy = { .once = PTHREAD_ONCE_INIT };

static struct {
	pthread_once_t once;
	int (*verify)(const unsigned char *sig, const unsigned char *m, unsigned long long mlen,
	              const unsigned char *pk);
	char error[300];
} sodium = { .once = PTHREAD_ONCE_INIT };

static void add_key(const uint8_t key[HP_SIGNATURE_KEY_SIZE])
{
	for (size_t i = 0; i < policy.key_count; i++)
		if (!memcmp(policy.keys[i], key, HP_SIGNATURE_KEY_SIZE))
			return;
	if (policy.key_count < sizeof policy.keys / sizeof *policy.keys)
		memcpy(policy.keys[policy.key_count++], key, HP_SIGNATURE_KEY_SIZE);
}

/* Whether a file or directory may hold the policy: its owner root or this process's user, and
 * nobody else may write it. */
static const char *unsafe(const struct stat *st)
{
	if (st->st_uid != 0 && st->st_uid != geteuid())
		return "owned by another user than root or the process's";
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return "writable by group or others";
	return NULL;
}

static void read_policy_file(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (path[0] != '/' || !slash[1]) {
		snprintf(policy.broken, sizeof policy.broken, "policy file %s: not an absolute path to a file", path);
		return;
	}
	char dir[4096];
	snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
	struct stat st;
	const char *why = NULL;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fstat(dfd, &st) || (why = unsafe(&st))) {
		snprintf(policy.broken, sizeof policy.broken, "policy file %s: its directory %s", path,
		         why ? why : strerror(errno));
		if (dfd >= 0)
			close(dfd);
		return;
	}
	int fd = openat(dfd, slash + 1, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	int saved = errno;
	close(dfd);
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode) || (why = unsafe(&st)) || st.st_size > POLICY_FILE_MAX) {
		if (fd >= 0 && !why)
			why = S_ISREG(st.st_mode) ? "larger than 64 KiB" : "not a regular file";
		snprintf(policy.broken, sizeof policy.broken, "policy file %s: %s", path,
		         why ? why : saved == ELOOP ? "a symbolic link" : strerror(saved));
		if (fd >= 0)
			close(fd);
		return;
	}
	char *text = malloc((size_t)st.st_size + 1);
	ssize_t n = text ? read(fd, text, (size_t)st.st_size) : -1;
	close(fd);
	if (n != st.st_size) {
		snprintf(policy.broken, sizeof policy.broken, "policy file %s: %s", path,
		         text ? "cannot read it whole" : "out of memory");
		free(text);
		return;
	}
	text[n] = 0;
	unsigned line_no = 0, keys = 0;
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		line_no++;
		line += strspn(line, " \t");
		if (!*line || *line == '#' || *line == '\r')
			continue;
		uint8_t key[HP_SIGNATURE_KEY_SIZE];
		if (hp_public_key_parse(line, key)) {
			snprintf(policy.broken, sizeof policy.broken,
			         "policy file %s: line %u is not a public key line ('hotpatch-ed25519-public' and 64 hex digits)",
			         path, line_no);
			break;
		}
		add_key(key);
		keys++;
	}
	free(text);
	if (!policy.broken[0] && !keys)
		snprintf(policy.broken, sizeof policy.broken, "policy file %s: names no key", path);
}

static void load_policy(void)
{
	const unsigned char *r = hp_trust_keys;
	if (!r)
		return;
	policy.active = 1;
	if (memcmp(r, HP_TRUST_MAGIC, 8)) {
		snprintf(policy.broken, sizeof policy.broken, "the program's trust record is not one this runtime reads");
		return;
	}
	unsigned count = r[8] | r[9] << 8, path_size = r[10] | r[11] << 8;
	if (count > HP_TRUST_MAX_KEYS || (!count && !path_size) ||
	    (path_size && r[HP_TRUST_HEADER_SIZE + count * HP_SIGNATURE_KEY_SIZE + path_size - 1])) {
		snprintf(policy.broken, sizeof policy.broken, "the program's trust record is malformed");
		return;
	}
	for (unsigned i = 0; i < count; i++)
		add_key(r + HP_TRUST_HEADER_SIZE + i * HP_SIGNATURE_KEY_SIZE);
	if (path_size)
		read_policy_file((const char *)r + HP_TRUST_HEADER_SIZE + count * HP_SIGNATURE_KEY_SIZE);
}

void hp_trust_start(void)
{
	pthread_once(&policy.once, load_policy);
}

static void load_sodium(void)
{
	void *lib = dlopen("libsodium.so.23", RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		const char *e = dlerror();
		snprintf(sodium.error, sizeof sodium.error, "cannot verify signatures: %s (install libsodium23)",
		         e ? e : "libsodium.so.23 cannot be loaded");
		return;
	}
	int (*init)(void) = (int (*)(void))dlsym(lib, "sodium_init");
	size_t (*bytes)(void) = (size_t (*)(void))dlsym(lib, "crypto_sign_bytes");
	size_t (*key_bytes)(void) = (size_t (*)(void))dlsym(lib, "crypto_sign_publickeybytes");
	void *verify = dlsym(lib, "crypto_sign_verify_detached");
	if (!init || !bytes || !key_bytes || !verify || bytes() != HP_SIGNATURE_SIZE ||
	    key_bytes() != HP_SIGNATURE_KEY_SIZE || init() < 0) {
		snprintf(sodium.error, sizeof sodium.error,
		         "cannot verify signatures: libsodium.so.23 lacks Ed25519 as this runtime knows it");
		return;  /* the library stays loaded: it may be in use elsewhere in the process */
	}
	sodium.verify = (int (*)(const unsigned char *, const unsigned char *, unsigned long long,
	                         const unsigned char *))verify;
}

static void key_list(char *out, size_t size)
{
	size_t len = 0;
	out[0] = 0;
	for (size_t i = 0; i < policy.key_count && len + 18 < size; i++) {
		char id[17];
		hp_key_id(policy.keys[i], id);
		len += (size_t)snprintf(out + len, size - len, "%s%s", i ? " " : "", id);
	}
}

int hp_trust_check(const void *data, size_t size, size_t *body_size, char *why, size_t why_size)
{
	pthread_once(&policy.once, load_policy);
	struct hp_signature sig;
	char reason[300], id[17], keys[200];
	if (hp_signature_split(data, size, &sig, reason, sizeof reason)) {
		snprintf(why, why_size, "%s", reason);
		return -HP_E_PACKAGE;
	}
	*body_size = sig.body_size;
	if (!policy.active)
		return 0;  /* no policy: the trailer is set aside, unchecked, as the status line says */
	if (policy.broken[0]) {
		snprintf(why, why_size, "%s: every package is refused", policy.broken);
		return -HP_E_UNTRUSTED;
	}
	key_list(keys, sizeof keys);
	if (!sig.present) {
		snprintf(why, why_size, "the package is unsigned; this process applies only packages signed by %s%zu key%s (%s)",
		         policy.key_count == 1 ? "its " : "one of its ", policy.key_count, policy.key_count == 1 ? "" : "s", keys);
		return -HP_E_UNTRUSTED;
	}
	hp_key_id(sig.key, id);
	int trusted = 0;
	for (size_t i = 0; i < policy.key_count && !trusted; i++)
		trusted = !memcmp(policy.keys[i], sig.key, HP_SIGNATURE_KEY_SIZE);
	if (!trusted) {
		snprintf(why, why_size, "the package is signed by key %s, which this process does not trust (it trusts %s)",
		         id, keys);
		return -HP_E_UNTRUSTED;
	}
	pthread_once(&sodium.once, load_sodium);
	if (!sodium.verify) {
		snprintf(why, why_size, "%s: every package is refused", sodium.error);
		return -HP_E_UNTRUSTED;
	}
	if (sodium.verify(sig.signature, data, sig.signed_size, sig.key)) {
		snprintf(why, why_size, "the package's signature by key %s does not hold: the package was changed after "
		         "it was signed", id);
		return -HP_E_UNTRUSTED;
	}
	return 0;
}

void hp_trust_describe(char *out, size_t size)
{
	pthread_once(&policy.once, load_policy);
	char keys[200];
	key_list(keys, sizeof keys);
	if (!policy.active)
		snprintf(out, size, "policy unsigned-accepted");
	else if (policy.broken[0])
		snprintf(out, size, "policy refuses-all %s", policy.broken);
	else
		snprintf(out, size, "policy signed-by %zu %s", policy.key_count, keys);
}
