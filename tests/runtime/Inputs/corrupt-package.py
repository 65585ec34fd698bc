#!/usr/bin/env python3
"""corrupt-package.py IN OUT PART: copies a hotpatch package (contract/hp_package.h) with one byte
flipped (xor 0xff) in the named part, or cut short:
  magic          header: first byte of the magic
  version        header: low byte of the format version
  module-count   header: low byte of module_count
  build-id       module 0: first byte of its build-id
  expected       module 0, redirect 0: first expected byte (the padding before the entry)
  redirect-flags module 0, redirect 0: low byte of its flags (bits no reader knows among them)
  text           module 0: first byte of redirect 0's new code, in the text segment
  checksum       header: first byte of the checksum
  truncate       the last byte dropped
Prints the offset it changed."""
import struct
import sys

from package_layout import HEADER, MODULE

src, dst, part = sys.argv[1:4]
data = bytearray(open(src, 'rb').read())
h = HEADER.unpack_from(data, 0)
modules_offset = h[11]
m = MODULE.unpack_from(data, modules_offset)
redirects_offset = m[5]
text_offset = m[10]
new_offset = struct.unpack_from('<I', data, redirects_offset + 8)[0]  # hp_pkg_redirect.new_offset
offsets = {
    'magic': 0,
    'version': 8,
    'module-count': 40,
    'build-id': modules_offset + 8,
    'expected': redirects_offset + 20,  # struct hp_pkg_redirect: expected[] at 20
    'redirect-flags': redirects_offset + 18,  # flags u16 at 18
    'text': text_offset + new_offset,
    'checksum': 24,
}
if part == 'truncate':
    del data[-1]
    print('truncated to', len(data))
else:
    at = offsets[part]
    data[at] ^= 0xff
    print('flipped byte', at)
open(dst, 'wb').write(data)
