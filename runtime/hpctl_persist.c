/* hpctl_persist.c — storing a package for the runtime to apply when a program starts again
 * (`hpctl apply --persist`), and removing it (`hpctl unpersist`); hpctl.h.  The layout is shared
 * with the runtime, which reads it at start:
 *
 *   BASE/BUILD-ID/SEQUENCE-CHECKSUM.hp
 *
 * BASE $HOTPATCH_PERSIST_DIR (read by hpctl, which runs as root or as the process's own user),
 * else /var/lib/hotpatch; BUILD-ID the hex build-id of each module the package names (the
 * package is stored once per module); SEQUENCE the package's sequence within its baseline, ten
 * decimal digits; CHECKSUM its XXH3-128 checksum in 32 hex digits.  Files are mode 0644,
 * directories 0755, owned by the process's effective user when hpctl runs as root (else by
 * whoever runs hpctl), each written under a temporary name and renamed into place, so that a
 * starting process never reads half a package.  Every step goes through a directory
 * descriptor opened without following links: a build-id directory belongs to the service's
 * user, who must not be able to point root's writes elsewhere. */
#define _GNU_SOURCE
#include "hpctl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control.h"
#include "package_read.h"
#include "persist.h"
#include "signature.h"
#include "text.h"


const char *hp_ctl_persist_base(void)
{
	const char *env = getenv(HP_PERSIST_ENV);
	return env && *env ? env : HP_PERSIST_DIR;
}

/* The effective uid and gid of process pid (from /proc/PID/status); -1 when it does not tell. */
static int process_owner(pid_t pid, uid_t *uid, gid_t *gid)
{
	char path[64], line[256];
	unsigned r, e;
	int found = 0;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof line, f)) {
		if (sscanf(line, "Uid: %u %u", &r, &e) == 2 && (found |= 1))
			*uid = (uid_t)e;
		if (sscanf(line, "Gid: %u %u", &r, &e) == 2 && (found |= 2))
			*gid = (gid_t)e;
	}
	if (f)
		fclose(f);
	return found == 3 ? 0 : -1;
}

/* Opens directory name beneath dirfd (or the path name when dirfd is AT_FDCWD), creating it mode
 * 0755 (and giving it to owner when chown_to is set) when missing; never through a link.
 * Returns the descriptor, or -1 (reported). */
static int open_dir(int dirfd, const char *name, const char *shown, int chown_to, uid_t uid, gid_t gid)
{
	if (mkdirat(dirfd, name, 0755) == 0) {
		if (chown_to && fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW)) {
			hp_ctl_error("%s: cannot give it to uid %u: %s", shown, (unsigned)uid, strerror(errno));
			return -1;
		}
		/* The umask may have taken bits away: readable by all, as the runtime of any user needs. */
		fchmodat(dirfd, name, 0755, 0);
	} else if (errno != EEXIST) {
		hp_ctl_error("%s: cannot create it: %s", shown, strerror(errno));
		return -1;
	}
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		hp_ctl_error("%s: %s", shown, errno == ELOOP || errno == ENOTDIR ? "not a directory" : strerror(errno));
	return fd;
}

/* Writes size bytes into dirfd/name atomically: a temporary file, then a rename. */
static int write_atomically(int dirfd, const char *name, const char *shown, const uint8_t *data, size_t size,
                            int chown_to, uid_t uid, gid_t gid)
{
	char tmp[64];
	unsigned long long nonce = 0;
	int fd = -1;
	for (int tries = 0; fd < 0 && tries < 16; tries++) {
		if (getrandom(&nonce, sizeof nonce, 0) != (ssize_t)sizeof nonce)
			nonce ^= (unsigned long long)getpid() << 20 ^ (unsigned long long)tries;
		snprintf(tmp, sizeof tmp, ".tmp.%016llx", nonce);
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		hp_ctl_error("%s: cannot create a temporary file beside it: %s", shown, strerror(errno));
		return -1;
	}
	size_t done = 0;
	while (done < size) {
		ssize_t n = write(fd, data + done, size - done);
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	int rc = done == size && !fchmod(fd, 0644) && (!chown_to || !fchown(fd, uid, gid)) && !fsync(fd) ? 0 : -1;
	int saved = errno;
	close(fd);
	if (rc || renameat(dirfd, tmp, dirfd, name)) {
		saved = rc ? saved : errno;
		unlinkat(dirfd, tmp, 0);
		hp_ctl_error("%s: cannot write it: %s", shown, strerror(saved));
		return -1;
	}
	fsync(dirfd);
	return 0;
}

int hp_ctl_package_read(int fd, uint8_t **bytes, size_t *size, struct hp_package **package, char *why,
                        size_t why_size)
{
	struct stat st;
	*bytes = NULL;
	*package = NULL;
	if (fstat(fd, &st) || st.st_size <= 0 || st.st_size > (1 << 30)) {
		snprintf(why, why_size, "cannot read it");
		return -1;
	}
	size_t got = 0;
	*size = (size_t)st.st_size;
	uint8_t *data = malloc(*size);
	while (data && got < *size) {
		ssize_t n = pread(fd, data + got, *size - got, (off_t)got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	struct hp_signature sig = { 0 };
	snprintf(why, why_size, "%s", !data ? "out of memory" : "cannot read it");
	if (!data || got != *size || hp_signature_split(data, *size, &sig, why, why_size) ||
	    hp_package_decode(data, sig.body_size, package, why, why_size)) {
		free(data);
		*package = NULL;
		return -1;
	}
	*bytes = data;
	return 0;
}

int hp_ctl_persist(int fd, const char *package_name, pid_t pid, struct hp_ctl_persisted *out, int max)
{
	uint8_t *data;
	size_t size;
	struct hp_package *package;
	char err[256];
	/* A signed package is stored whole, trailer and all: the body alone is decoded. */
	if (hp_ctl_package_read(fd, &data, &size, &package, err, sizeof err)) {
		hp_ctl_error("%s: cannot store it: %s", package_name, err);
		return -1;
	}
	/* As root, the files are the service's: its runtime, started as that user, must trust them
	 * (root's own are trusted too).  Otherwise they are ours, that is the process's. */
	uid_t uid = 0;
	gid_t gid = 0;
	int chown_to = geteuid() == 0 && !process_owner(pid, &uid, &gid) && uid != 0;
	char name[HP_PERSIST_NAME_LEN + 1], sum[33];
	hp_hex(package->checksum, 16, sum);
	snprintf(name, sizeof name, "%0*llu-%s.hp", HP_PERSIST_SEQUENCE_DIGITS, (unsigned long long)package->sequence,
	         sum);
	const char *base = hp_ctl_persist_base();
	int basefd = open_dir(AT_FDCWD, base, base, 0, 0, 0), count = 0, rc = basefd < 0 ? -1 : 0;
	for (uint32_t m = 0; !rc && m < package->module_count && count < max; m++) {
		char hex[65];
		hp_hex(package->modules[m].build_id, package->modules[m].build_id_size, hex);
		int seen = 0;
		for (int i = 0; i < count && !seen; i++)
			seen = !strcmp(out[i].build_id, hex);
		if (seen)
			continue;
		char shown[4200];
		snprintf(shown, sizeof shown, "%s/%s", base, hex);
		int dirfd = open_dir(basefd, hex, shown, chown_to, uid, gid);
		snprintf(out[count].build_id, sizeof out[count].build_id, "%s", hex);
		snprintf(out[count].path, sizeof out[count].path, "%s/%s", shown, name);
		rc = dirfd < 0 ? -1 : write_atomically(dirfd, name, out[count].path, data, size, chown_to, uid, gid);
		if (dirfd >= 0)
			close(dirfd);
		count += !rc;
	}
	if (basefd >= 0)
		close(basefd);
	hp_package_free(package);
	free(data);
	return rc ? -1 : count;
}

/* Whether name is one hpctl stores: SEQUENCE-CHECKSUM.hp, with that checksum when not NULL. */
static int stored_name(const char *name, const char *checksum)
{
	if (strlen(name) != HP_PERSIST_NAME_LEN || strcmp(name + HP_PERSIST_NAME_LEN - 3, ".hp") ||
	    name[HP_PERSIST_SEQUENCE_DIGITS] != '-' ||
	    strspn(name, "0123456789") != HP_PERSIST_SEQUENCE_DIGITS ||
	    strspn(name + HP_PERSIST_SEQUENCE_DIGITS + 1, "0123456789abcdef") != 32)
		return 0;
	return !checksum || !strncasecmp(name + HP_PERSIST_SEQUENCE_DIGITS + 1, checksum, 32);
}

int hp_ctl_unpersist(const char *build_id, const char *checksum, struct hp_ctl_persisted *out, int max)
{
	const char *base = hp_ctl_persist_base();
	char shown[4200];
	snprintf(shown, sizeof shown, "%s/%s", base, build_id);
	int basefd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (basefd < 0 && errno == ENOENT)
		return 0;  /* nothing was ever stored */
	int dirfd = basefd < 0 ? -1 : openat(basefd, build_id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd < 0) {
		int saved = errno;
		if (basefd >= 0)
			close(basefd);
		if (saved == ENOENT)
			return 0;
		hp_ctl_error("%s: %s", basefd < 0 ? base : shown, strerror(saved));
		return -1;
	}
	DIR *d = fdopendir(dirfd);
	int count = 0, rc = 0;
	for (struct dirent *e; d && (e = readdir(d));) {
		if (!stored_name(e->d_name, checksum))
			continue;
		if (unlinkat(dirfd, e->d_name, 0)) {
			hp_ctl_error("%s/%s: cannot remove it: %s", shown, e->d_name, strerror(errno));
			rc = -1;
			continue;
		}
		if (count < max) {
			snprintf(out[count].build_id, sizeof out[count].build_id, "%s", build_id);
			snprintf(out[count].path, sizeof out[count].path, "%s/%s", shown, e->d_name);
			count++;
		}
	}
	if (d)
		closedir(d);
	else
		close(dirfd);
	unlinkat(basefd, build_id, AT_REMOVEDIR);  /* once empty: a stray file of another keeps it */
	close(basefd);
	return rc ? -1 : count;
}
