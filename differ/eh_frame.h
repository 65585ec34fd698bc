/* eh_frame.h — an object's .eh_frame (its CIE and FDE records and their relocations), read
 * and checked as input from outside: every length, CIE pointer, augmentation, pointer encoding
 * and relocation offset is checked before anything is taken from it.  hpdiff's unwind phase
 * (unwind.c) copies records only from a frame read here; the object fuzzer reads one too. */
#ifndef HP_EH_FRAME_H
#define HP_EH_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include "elf_file.h"

/* One entry of an object's .eh_frame, as hp_eh_frame_read checked it. */
struct hp_eh_entry {
	uint64_t at;                      /* offset of its length field */
	uint32_t length;                  /* bytes after the length field: within the section, and
	                                     for an FDE at least 12 (CIE pointer, pc_begin, pc_range) */
	int is_cie;
	size_t cie;                       /* FDE: its CIE (an index into entries, before it) */
	long pc_begin;                    /* FDE: its pc_begin relocation (index into rel), -1 none */
	int other_reloc;                  /* FDE: another relocation (an exception table);
	                                     CIE: any relocation (a personality routine) */
	int pc32;                         /* CIE: its FDEs' pc_begin is 32-bit pc-relative */
	int z;                            /* CIE: its FDEs have augmentation data ('z') */
};

/* The checked .eh_frame of one object. */
struct hp_eh_frame {
	struct hp_section sec;            /* sec.data NULL: the object has none */
	struct hp_eh_entry *entries;      /* in section order */
	size_t count;
	struct hp_reloc *rel;             /* its relocations, file order; each lies inside the
	                                     fields of one entry; a pc_begin one is 32-bit pc-relative */
	long rel_count;
};

/* Reads and checks the object's .eh_frame into *f (an object without one gives sec.data NULL
 * and no entries).  Returns 0, or -1 with a one-line message naming the file in err; free *f
 * with hp_eh_frame_free either way. */
int hp_eh_frame_read(struct hp_elf *elf, struct hp_eh_frame *f, char *err, size_t err_size);
void hp_eh_frame_free(struct hp_eh_frame *f);

/* The entry holding byte `off` of the section, or NULL. */
struct hp_eh_entry *hp_eh_entry_at(struct hp_eh_frame *f, uint64_t off);

#endif
