#!/usr/bin/env python3
# set-reloc-past-end.py OBJECT SECTION: moves the first relocation of the relocation section
# SECTION (e.g. .rela.text.grow) of a 64-bit little-endian ELF object to 2 bytes before the end
# of the section it applies to, so that its 4- or 8-byte field reaches past that section.
import struct
import sys

path, name = sys.argv[1], sys.argv[2].encode()
data = bytearray(open(path, 'rb').read())
shoff, = struct.unpack_from('<Q', data, 0x28)
shentsize, shnum, shstrndx = struct.unpack_from('<HHH', data, 0x3a)
def header(i):
    return struct.unpack_from('<IIQQQQIIQQ', data, shoff + i * shentsize)
strtab = header(shstrndx)[4]
for i in range(shnum):
    h = header(i)
    end = data.index(b'\0', strtab + h[0])
    if bytes(data[strtab + h[0]:end]) == name:
        target_size = header(h[7])[5]  # sh_info: the section the relocations apply to
        struct.pack_into('<Q', data, h[4], target_size - 2)
        open(path, 'wb').write(data)
        sys.exit(0)
sys.exit('set-reloc-past-end.py: %s: no section %s' % (path, name.decode()))
