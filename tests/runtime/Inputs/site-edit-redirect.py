#!/usr/bin/env python3
"""site-edit-redirect.py IN OUT OLD_OFFSET [ADD]: copies a hotpatch package (contract/hp_package.h)
with module 0's first redirect sent to another place in the module: its old_offset (the
function's symbol, from the module's load base) replaced by OLD_OFFSET (hex, as llvm-nm prints
it) + ADD (decimal or 0x-hex).  The checksum is left as it is: rehash-package.c makes it right
again.  Prints the offset it had and the one it has."""
import struct
import sys

from package_layout import HEADER, MODULE

src, dst, value = sys.argv[1:4]
add = int(sys.argv[4], 0) if len(sys.argv) > 4 else 0
data = bytearray(open(src, 'rb').read())
modules_offset = HEADER.unpack_from(data, 0)[11]
redirects_offset = MODULE.unpack_from(data, modules_offset)[5]
old = struct.unpack_from('<Q', data, redirects_offset)[0]  # hp_pkg_redirect.old_offset, first
new = int(value, 16) + add
struct.pack_into('<Q', data, redirects_offset, new)
print('old_offset %#x -> %#x' % (old, new))
open(dst, 'wb').write(data)
