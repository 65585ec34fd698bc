"""check-eh-frame.py PACKAGE [--augmentations]: walks the unwind table of a package's first
module (the layout of contract/hp_package.h) and prints its CIEs, FDEs and where each FDE's
pc_begin is relocated; with --augmentations, then each CIE's augmentation string and return
address register."""
import struct
import sys

data = open(sys.argv[1], 'rb').read()
(module_count,) = struct.unpack_from('<I', data, 40)
(modules_offset,) = struct.unpack_from('<I', data, 52)
m = modules_offset  # module 0
fields = struct.unpack_from('<I B 3x 32s 6I 4I 4I 4I 2I', data, m)
reloc_count, relocs_offset = fields[7], fields[8]
seg_offset = fields[9:13]
eh_offset, eh_size = fields[21], fields[22]
eh = data[seg_offset[1] + eh_offset: seg_offset[1] + eh_offset + eh_size]
relocs = {}
for i in range(reloc_count):
    seg, typ, kind, tseg, off, target, addend = struct.unpack_from('<BBBBIQq', data, relocs_offset + 24 * i)
    if seg == 1:
        relocs[off] = (kind, tseg, target, addend)
at = cies = fdes = 0
names = ['text', 'rodata', 'data', 'bss']
out = []
augmentations = []
while at < len(eh):
    (length,) = struct.unpack_from('<I', eh, at)
    if length == 0:
        break
    (ident,) = struct.unpack_from('<I', eh, at + 4)
    if ident == 0:
        aug = eh[at + 9: eh.index(b'\0', at + 9)].decode()
        q = at + 9 + len(aug) + 1
        for _ in range(2):  # code and data alignment factors (LEB128)
            while eh[q] & 0x80:
                q += 1
            q += 1
        augmentations.append('cie %d augmentation %s return-address-register %d' % (cies, aug, eh[q] & 0x7f))
        cies += 1
    else:
        assert ident <= at + 4, 'CIE pointer outside the table'
        (cie_length,) = struct.unpack_from('<I', eh, at + 4 - ident)
        cie_id = struct.unpack_from('<I', eh, at + 8 - ident)[0]
        assert cie_id == 0, 'FDE does not point at a CIE'
        kind, tseg, target, addend = relocs[eh_offset + at + 8]
        assert kind == 2, 'pc_begin not relocated within the package'
        out.append('fde %d pc_begin -> %s+0x%x' % (fdes, names[tseg], target))
        fdes += 1
    at += 4 + length
assert at + 4 == len(eh), 'table not terminated where its size says'
print('cies', cies)
print('fdes', fdes)
print('\n'.join(out))
if '--augmentations' in sys.argv[2:]:
    print('\n'.join(augmentations))
