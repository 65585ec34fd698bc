#!/usr/bin/env python3
"""corrupt-unwind.py IN OUT PART: copies a hotpatch package (contract/hp_package.h) with module 0's
unwind table (CIEs and FDEs in rodata) corrupted in the named part; the checksum is left stale
(rehash-package fixes it):
  fde-length     the first FDE's length reaches beyond the table
  fde-zero       the first FDE's length is 0: a terminator before the table's end
  cie-pointer    the first FDE's CIE pointer is one byte off, pointing inside the CIE
  terminator     the table's size excludes its terminator
  cie-encoding   the CIE's FDE pointer encoding ('R') is absolute 8-byte, not pc-relative 4-byte
Prints the offset it changed."""
import struct
import sys

from package_layout import HEADER, MODULE

src, dst, part = sys.argv[1:4]
data = bytearray(open(src, 'rb').read())
modules_offset = HEADER.unpack_from(data, 0)[11]
m = MODULE.unpack_from(data, modules_offset)
rodata, eh_offset, eh_size = m[11], m[22], m[23]
table = rodata + eh_offset
if eh_size == 0:
    sys.exit('corrupt-unwind.py: %s: module 0 has no unwind table' % src)
cie_length, = struct.unpack_from('<I', data, table)
fde = table + 4 + cie_length  # hpdiff writes a CIE, then the FDEs that use it
if part == 'fde-length':
    at = fde
    struct.pack_into('<I', data, at, 0x7ffffff0)
elif part == 'fde-zero':
    at = fde
    struct.pack_into('<I', data, at, 0)
elif part == 'cie-pointer':
    at = fde + 4
    struct.pack_into('<I', data, at, struct.unpack_from('<I', data, at)[0] - 1)
elif part == 'terminator':
    at = modules_offset + 116  # hp_pkg_module.eh_frame_size
    struct.pack_into('<I', data, at, eh_size - 4)
elif part == 'cie-encoding':
    aug = data.index(b'\0', table + 9)  # the augmentation string, after length, id, version
    if bytes(data[table + 9:aug]) != b'zR':
        sys.exit('corrupt-unwind.py: %s: CIE augmentation is not zR' % src)
    # After the string: code and data alignment factors and the return address register (LEB128
    # each), the augmentation data's length (one byte here), then the R encoding.
    q = aug + 1
    for _ in range(3):
        while data[q] & 0x80:
            q += 1
        q += 1
    at = q + 1  # the augmentation data length, then the R encoding
    data[at] = 0x00
else:
    sys.exit('corrupt-unwind.py: unknown part %s' % part)
print('changed byte', at)
open(dst, 'wb').write(data)
