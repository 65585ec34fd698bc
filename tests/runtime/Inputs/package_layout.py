"""package_layout.py: the fixed-size records of a hotpatch package (contract/hp_package.h), for
the scripts here that change one field of a real package on purpose."""
import struct

HEADER = struct.Struct('<8sHHIQ16sIHHHHIII')  # struct hp_pkg_header, 64 bytes
MODULE = struct.Struct('<IB3s32sIIIIII4I4I4III')  # struct hp_pkg_module, 120 bytes
assert HEADER.size == 64 and MODULE.size == 120

