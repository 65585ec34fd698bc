"""corrupt.py IN OUT OFFSET HEXBYTES | IN OUT truncate LENGTH: writes a damaged copy of IN."""
import sys

data = bytearray(open(sys.argv[1], 'rb').read())
if sys.argv[3] == 'truncate':
    data = data[:int(sys.argv[4])]
else:
    at, patch = int(sys.argv[3]), bytes.fromhex(sys.argv[4])
    data[at:at + len(patch)] = patch
open(sys.argv[2], 'wb').write(data)
