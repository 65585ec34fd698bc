#!/usr/bin/env python3
# set-reloc-offset.py OBJECT SECTION OFFSET: sets r_offset of the first relocation in the
# relocation section SECTION (e.g. .rela.data) of a 64-bit little-endian ELF object to OFFSET
# (any 64-bit value), to hand hpdiff an object whose relocations lie outside their section.
import struct
import sys

import elf_sections

path, name, offset = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3], 0)
data = bytearray(open(path, 'rb').read())
h = elf_sections.find(data, name)
if h:
    struct.pack_into('<Q', data, h[4], offset & (2**64 - 1))
    open(path, 'wb').write(data)
    sys.exit(0)
sys.exit('set-reloc-offset.py: %s: no section %s' % (path, name.decode()))
