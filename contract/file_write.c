/* file_write.c — a produced file put in place whole or not at all (file_write.h). */
#include "file_write.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_all(int fd, const uint8_t *data, size_t len)
{
	size_t done = 0;
	ssize_t n = 0;
	while (done < len && (n = write(fd, data + done, len - done)) > 0)
		done += (size_t)n;
	if (done < len && n == 0)
		errno = EIO;
	return done == len ? 0 : -1;
}

int hp_write_file(const char *path, const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len, char *err,
                  size_t err_size)
{
	struct stat st;
	if (!lstat(path, &st) && S_ISCHR(st.st_mode)) {
		int fd = open(path, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		int ok = fd >= 0 && !write_all(fd, a, a_len) && (!b || !write_all(fd, b, b_len));
		int saved = errno;
		if (fd >= 0)
			close(fd);
		if (ok)
			return 0;
		snprintf(err, err_size, "%s: %s", path, strerror(saved));
		return -1;
	}
	const char *slash = strrchr(path, '/');
	size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0;
	char *tmp = malloc(dir_len + strlen(path) + 16);
	if (!tmp) {
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	sprintf(tmp, "%.*s.%s.XXXXXX", (int)dir_len, path, slash ? slash + 1 : path);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		free(tmp);
		return -1;
	}
	mode_t mask = umask(0);
	umask(mask);
	int ok = fchmod(fd, 0666 & ~mask) == 0 && !write_all(fd, a, a_len) && (!b || !write_all(fd, b, b_len)) &&
	         fsync(fd) == 0;
	int saved = errno;
	if (close(fd) && ok) {
		saved = errno;
		ok = 0;
	}
	if (ok && rename(tmp, path)) {
		saved = errno;
		ok = 0;
	}
	if (!ok) {
		snprintf(err, err_size, "%s: %s", path, strerror(saved));
		unlink(tmp);
	}
	free(tmp);
	return ok ? 0 : -1;
}
