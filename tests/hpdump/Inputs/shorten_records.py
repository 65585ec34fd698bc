"""shorten_records.py IN OUT SIZE: rewrites a one-blob .hotpatch section with records cut to SIZE
bytes, as a writer of an earlier, shorter record layout would have made them."""
import struct
import sys

data = bytearray(open(sys.argv[1], 'rb').read())
size = int(sys.argv[3])
header_size, total = struct.unpack_from('<HI', data, 10)
count, record_size = struct.unpack_from('<IH', data, 20)
records = data[header_size:header_size + count * record_size]
short = b''.join(records[i * record_size:i * record_size + size] for i in range(count))
out = data[:header_size] + short + data[header_size + count * record_size:total]
struct.pack_into('<I', out, 12, len(out))
struct.pack_into('<H', out, 24, size)
open(sys.argv[2], 'wb').write(out)
