/* hpsign — package signing on the host that keeps the keys: make a key pair, sign a package
 * (hpdiff's output, copied to the signing host), show who signed a package and whether the
 * signature holds.  Separate from hpdiff so that a signing host needs no build tree and a build
 * host no secret key; `hpdiff --sign` is the same signing step for pipelines that keep both
 * together.  docs/signing.md is the guide. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hp_package.h"
#include "sign.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: hpsign keygen KEY               writes KEY.secret (mode 0600) and KEY.pub\n"
	             "       hpsign sign KEY.secret PACKAGE [-o OUT]\n"
	             "                                       signs PACKAGE (in place, or into OUT)\n"
	             "       hpsign show PACKAGE [KEY.pub...]  who signed PACKAGE; whether the signature holds;\n"
	             "                                       with keys, whether one of them signed it\n"
	             "       hpsign --version\n"
	             "Exit status: 0 done (show: signed, the signature valid, and by one of the keys\n"
	             "given); 1 an error; 2 (show) unsigned, invalid or signed by another key.\n");
}

static int keygen(const char *base)
{
	char err[600];
	struct hp_secret_key key;
	if (hp_key_generate(base, &key, err, sizeof err)) {
		fprintf(stderr, "hpsign: %s\n", err);
		return 1;
	}
	char id[17];
	hp_key_id(key.public_key, id);
	printf("hpsign: wrote %s.secret (keep it on the signing host) and %s.pub; key id %s\n", base, base, id);
	return 0;
}

static int sign(const char *secret, const char *package, const char *out)
{
	char err[600], id[17];
	struct hp_secret_key key;
	if (hp_key_read_secret(secret, &key, err, sizeof err) ||
	    hp_sign_file(package, out ? out : package, &key, err, sizeof err)) {
		fprintf(stderr, "hpsign: %s\n", err);
		return 1;
	}
	hp_key_id(key.public_key, id);
	printf("hpsign: signed %s with key %s\n", out ? out : package, id);
	return 0;
}

static int show(const char *package, char **pubs, int pub_count)
{
	char err[600], id[17];
	size_t size = 0;
	uint8_t (*keys)[HP_SIGNATURE_KEY_SIZE] = calloc((size_t)pub_count + 1, sizeof *keys);
	if (!keys) {
		fprintf(stderr, "hpsign: out of memory\n");
		return 1;
	}
	for (int i = 0; i < pub_count; i++)
		if (hp_key_read_public(pubs[i], keys[i], err, sizeof err)) {
			fprintf(stderr, "hpsign: %s\n", err);
			free(keys);
			return 1;
		}
	uint8_t *data = hp_sign_read_file(package, &size, err, sizeof err);
	struct hp_signature sig;
	if (data && hp_signature_split(data, size, &sig, err, sizeof err)) {
		fprintf(stderr, "hpsign: %s: %s\n", package, err);
		free(data);
		free(keys);
		return 1;
	}
	if (!data) {
		fprintf(stderr, "hpsign: %s\n", err);
		free(keys);
		return 1;
	}
	int rc = 2;
	if (sig.body_size < 8 || memcmp(data, HP_PACKAGE_MAGIC, 8)) {
		fprintf(stderr, "hpsign: %s: not a hotpatch package\n", package);
		rc = 1;
	} else if (!sig.present) {
		printf("%s: unsigned\n", package);
	} else {
		hp_key_id(sig.key, id);
		int valid = hp_signature_valid(data, &sig);
		printf("%s: signed by key %s: %s\n", package, id,
		       valid ? "signature valid" : "signature INVALID (the package or its trailer was changed)");
		int match = -1;
		for (int i = 0; i < pub_count && match < 0; i++)
			if (!memcmp(keys[i], sig.key, HP_SIGNATURE_KEY_SIZE))
				match = i;
		if (pub_count && match >= 0)
			printf("%s: the key is %s\n", package, pubs[match]);
		else if (pub_count)
			printf("%s: not signed by any of the %d key(s) given\n", package, pub_count);
		rc = valid && (!pub_count || match >= 0) ? 0 : 2;
	}
	free(data);
	free(keys);
	return rc;
}

int main(int argc, char **argv)
{
	char err[300];
	if (argc == 2 && !strcmp(argv[1], "--version")) {
		printf("hpsign (hotpatch) %s\n", HOTPATCH_VERSION);
		return 0;
	}
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (hp_sign_init(err, sizeof err)) {
		fprintf(stderr, "hpsign: %s\n", err);
		return 1;
	}
	if (argc == 3 && !strcmp(argv[1], "keygen"))
		return keygen(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "sign"))
		return sign(argv[2], argv[3], NULL);
	if (argc == 6 && !strcmp(argv[1], "sign") && !strcmp(argv[4], "-o"))
		return sign(argv[2], argv[3], argv[5]);
	if (argc >= 3 && !strcmp(argv[1], "show"))
		return show(argv[2], argv + 3, argc - 3);
	usage(stderr);
	return 1;
}
