/* source_paths.c — where a unit's source sits relative to its project (source_paths.h): its
 * source identity, the root that identity is relative to, and the way there from the working
 * directory.  Identities relative to the root make two checkouts of one project agree while
 * their absolute paths differ.  Paths are resolved lexically: links are not followed. */
#include "source_paths.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* An absolute path, lexically resolved. */
static char *normalize(const char *path)
{
	char cwd[PATH_MAX];
	char *buf = malloc(strlen(path) + PATH_MAX + 2);
	if (!buf)
		return NULL;
	if (path[0] == '/' || !getcwd(cwd, sizeof cwd))
		strcpy(buf, path);
	else
		sprintf(buf, "%s/%s", cwd, path);
	/* Lexically resolve "//", "/./" and "/../". */
	char *out = buf, *p = buf;
	while (*p) {
		while (*p == '/')
			p++;
		char *seg = p;
		while (*p && *p != '/')
			p++;
		size_t n = (size_t)(p - seg);
		if (n == 0 || (n == 1 && seg[0] == '.'))
			continue;
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			while (out > buf && *--out != '/')
				;
			continue;
		}
		*out++ = '/';
		memmove(out, seg, n);
		out += n;
	}
	if (out == buf)
		*out++ = '/';
	*out = 0;
	return buf;
}

/* The length of the longest whole-directory prefix file shares with the directory base. */
static size_t shared_dir_length(const char *file, const char *base)
{
	size_t common = 0, n = strlen(base);
	for (size_t i = 0; file[i] && file[i] == base[i]; i++)
		if (file[i] == '/')
			common = i;
	if (!strncmp(file, base, n) && file[n] == '/')
		common = n;
	return common;
}

char *hp_source_identity(const char *main_file, const char *root)
{
	char cwd[PATH_MAX];
	if (!strcmp(main_file, "-") || !strcmp(main_file, "<stdin>"))
		return strdup("<stdin>");
	char *file = normalize(main_file);
	char *base = root ? normalize(root) : getcwd(cwd, sizeof cwd) ? normalize(cwd) : NULL;
	if (!file || !base) {
		free(file);
		free(base);
		return NULL;
	}
	size_t common = shared_dir_length(file, base);
	char *id = strdup(file + common + (file[common] == '/'));
	free(file);
	free(base);
	return id;
}

/* The directory source identities are relative to: the root, or the deepest directory the
 * main file shares with the working directory.  register.cpp makes __FILE__ relative to it. */
char *hp_source_root(const char *main_file, const char *root)
{
	char cwd[PATH_MAX];
	char *file = normalize(main_file);
	char *base = root ? normalize(root) : getcwd(cwd, sizeof cwd) ? normalize(cwd) : NULL;
	if (!file || !base || root) {
		free(file);
		return base;
	}
	size_t common = shared_dir_length(file, base);
	file[common ? common : 1] = 0;
	free(base);
	return file;
}

char *hp_path_from_cwd(const char *dir)
{
	char cwd[PATH_MAX];
	char *from = getcwd(cwd, sizeof cwd) ? normalize(cwd) : NULL;
	char *to = normalize(dir);
	char *dest = to ? malloc(strlen(to) + 2) : NULL;
	char *out = from && dest ? malloc(3 * strlen(from) + strlen(to) + 1) : NULL;
	if (out) {
		sprintf(dest, "%s/", strcmp(to, "/") ? to : "");  /* a directory: shared as a whole */
		size_t common = shared_dir_length(dest, from), n = 0;
		for (const char *p = from + common; *p; p++)  /* one ".." per directory of cwd below */
			if (*p == '/' && p[1] && p[1] != '/')
				n += (size_t)sprintf(out + n, "%s..", n ? "/" : "");
		const char *down = to + common + (to[common] == '/');
		sprintf(out + n, "%s%s", n && *down ? "/" : "", down);
	}
	free(from);
	free(to);
	free(dest);
	return out;
}
