#!/usr/bin/env python3
# set-reloc-past-end.py OBJECT SECTION: moves the first relocation of the relocation section
# SECTION (e.g. .rela.text.grow) of a 64-bit little-endian ELF object to 2 bytes before the end
# of the section it applies to, so that its 4- or 8-byte field reaches past that section.
import struct
import sys

import elf_sections

path, name = sys.argv[1], sys.argv[2].encode()
data = bytearray(open(path, 'rb').read())
h = elf_sections.find(data, name)
if h:
    target_size = elf_sections.header(data, h[7])[5]  # sh_info: the section the relocations apply to
    struct.pack_into('<Q', data, h[4], target_size - 2)
    open(path, 'wb').write(data)
    sys.exit(0)
sys.exit('set-reloc-past-end.py: %s: no section %s' % (path, name.decode()))
