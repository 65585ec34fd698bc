/* source_paths.h — a unit's place in its project, for the pass (pass.c: the source identity
 * recorded and hashed into file-local names) and for the front end (register.cpp: the prefix
 * __FILE__ loses).  The root is the root= option, or else the deepest directory the main file
 * shares with the working directory. */
#ifndef HP_SOURCE_PATHS_H
#define HP_SOURCE_PATHS_H

#ifdef __cplusplus
extern "C" {
#endif

/* Source identity: the main file's path relative to the root; "<stdin>" for standard input.
 * Malloc'd; NULL when out of memory or no working directory. */
char *hp_source_identity(const char *main_file, const char *root);

/* The project root as an absolute path (the root option, or the deepest directory main_file
 * shares with the working directory); "/" when they share none.  Malloc'd; NULL when out of
 * memory. */
char *hp_source_root(const char *main_file, const char *root);

/* The relative path that reaches directory dir from the working directory ("../src"), "" when
 * it is the working directory.  Malloc'd; NULL when out of memory or no working directory. */
char *hp_path_from_cwd(const char *dir);

#ifdef __cplusplus
}
#endif
#endif
