"""elf_sections.py: the section headers of a 64-bit little-endian ELF object, for the scripts
here that corrupt one field of an object on purpose (set-*.py)."""
import struct


def header(data, i):
    """Section header i as (name, type, flags, addr, offset, size, link, info, addralign,
    entsize)."""
    shoff, = struct.unpack_from('<Q', data, 0x28)
    shentsize, = struct.unpack_from('<H', data, 0x3a)
    return struct.unpack_from('<IIQQQQIIQQ', data, shoff + i * shentsize)


def find(data, name):
    """The header of the section called name (bytes), or None."""
    shnum, shstrndx = struct.unpack_from('<HH', data, 0x3c)
    strtab = header(data, shstrndx)[4]
    for i in range(shnum):
        h = header(data, i)
        end = data.index(b'\0', strtab + h[0])
        if bytes(data[strtab + h[0]:end]) == name:
            return h
    return None
