/* persist.h — fixes that survive restarts: the packages stored for a build (by `hpctl apply
 * --persist`) are applied as the process starts, before main.
 *
 * Layout (shared with hpctl): BASE/<build-id hex>/<sequence, 10 digits>-<checksum, 32 hex>.hp,
 * BASE being $HOTPATCH_PERSIST_DIR (read with secure_getenv: not in a setuid program) or
 * /var/lib/hotpatch.  BASE, each build-id directory and each package must belong to root or to
 * the process's effective uid and be writable by nobody else; anything else is ignored, with a
 * start-refuse event (history.h: in the history and syslog). */
#ifndef HP_PERSIST_H
#define HP_PERSIST_H

/* The layout's facts, for the runtime that reads it and hpctl that writes it. */
#define HP_PERSIST_DIR "/var/lib/hotpatch"
#define HP_PERSIST_ENV "HOTPATCH_PERSIST_DIR"
#define HP_PERSIST_SEQUENCE_DIGITS 10
#define HP_PERSIST_NAME_LEN (HP_PERSIST_SEQUENCE_DIGITS + 1 + 32 + 3)  /* 0000000000-<32 hex>.hp */

/* Applies every stored package for the modules loaded now (the program and the libraries loaded
 * with it), in sequence order, each through the same path as a live apply (hp_apply_as), so
 * every check a live apply makes is made.  A package refused leaves the process as it was
 * (apply is all or nothing) and is recorded; the next one is still tried.  Run once, from the
 * runtime's first constructor (control.c). */
void hp_persist_start(void);

#endif
