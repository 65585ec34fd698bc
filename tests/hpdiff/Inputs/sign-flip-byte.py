#!/usr/bin/env python3
"""sign-flip-byte.py IN OUT OFFSET: copies IN to OUT with one bit of the byte at OFFSET flipped
(a negative OFFSET counts from the end: -1 is the last byte, in a signed package's signature)."""
import sys

data = bytearray(open(sys.argv[1], 'rb').read())
data[int(sys.argv[3])] ^= 1
open(sys.argv[2], 'wb').write(data)
