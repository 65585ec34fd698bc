#!/usr/bin/env python3
# set-eh-frame-length.py OBJECT INDEX LENGTH: sets the length field of entry INDEX (0: the first
# CIE, 1: usually the first FDE) of the .eh_frame of a 64-bit little-endian ELF object to LENGTH,
# to hand hpdiff an object whose unwind records are corrupt.
import struct
import sys

import elf_sections

path, index, length = sys.argv[1], int(sys.argv[2]), int(sys.argv[3], 0)
data = bytearray(open(path, 'rb').read())
h = elf_sections.find(data, b'.eh_frame')
if not h:
    sys.exit('set-eh-frame-length.py: %s: no .eh_frame' % path)
at, size = h[4], h[5]
for _ in range(index):
    entry, = struct.unpack_from('<I', data, at)
    at += 4 + entry
    if entry == 0 or at >= h[4] + size:
        sys.exit('set-eh-frame-length.py: %s: .eh_frame has no entry %d' % (path, index))
struct.pack_into('<I', data, at, length & 0xffffffff)
open(path, 'wb').write(data)
