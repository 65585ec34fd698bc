/* lines.h — telling a function whose machine code differs only in values that came from
 * __LINE__ (its code, or a callee inlined into it, moved to other lines) from a real change. */
#ifndef HP_LINES_H
#define HP_LINES_H

#include <stddef.h>
#include <stdint.h>

#include "arch.h"
#include "meta_read.h"

/* 1 when the code of a function differs from its old code only in line numbers: its own source
 * is unchanged once __LINE__ values are masked (the plugin's lines fingerprint), so are the
 * layouts of the types it uses, the same-file functions it may have inlined (its callee
 * closure) are the same ones with as many line values each, and every differing byte outside
 * relocated fields (covered[k] != 0) lies in a little-endian window of 1, 2, 4 or 8 bytes that
 * holds old line value i in the old code and new line value i in the new code, or, where the
 * architecture says where immediates sit (arch.h, line_immediate), in a 4-byte instruction word
 * whose immediate is old line value i in the old code and new line value i in the new.  The lists are
 * the function's own values, then those of its callee closure in name order.  0 otherwise,
 * including records without lines (older plugins).
 *
 * A callee in the closure may have changed for real (the fix itself, called from here): if it
 * was inlined, its change shows as bytes no line value explains, so it needs no check of its
 * own, except for a constant of it that changed exactly as line value i did (docs/hpdiff.md). */
int hp_lines_only_change(const struct hp_arch *arch, const struct hp_rec *old_rec, const struct hp_rec *new_rec,
                         const uint8_t *was, const uint8_t *now, const uint8_t *covered, size_t size);

#endif
