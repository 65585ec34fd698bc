#!/usr/bin/env python3
"""persist-store.py BASE PACKAGE: stores a package the way `hpctl apply --persist` does
(runtime/persist.h): BASE/<build-id hex>/<sequence, 10 digits>-<checksum hex>.hp, once per
module build-id the package names, files 0644 and directories 0755.  Prints each path."""
import os
import shutil
import struct
import sys

base, package = sys.argv[1], sys.argv[2]
data = open(package, 'rb').read()
header_size, = struct.unpack_from('<H', data, 10)
checksum = data[24:40].hex()
module_count, = struct.unpack_from('<I', data, 40)
modules_offset, = struct.unpack_from('<I', data, 52)
sequence = struct.unpack_from('<I', data, 64)[0] if header_size >= 72 else 0
os.makedirs(base, mode=0o755, exist_ok=True)
for i in range(module_count):
    at = modules_offset + 120 * i
    size = data[at + 4]
    build_id = data[at + 8:at + 8 + size].hex()
    directory = os.path.join(base, build_id)
    os.makedirs(directory, mode=0o755, exist_ok=True)
    os.chmod(directory, 0o755)
    path = os.path.join(directory, '%010d-%s.hp' % (sequence, checksum))
    shutil.copyfile(package, path)
    os.chmod(path, 0o644)
    print(path)
