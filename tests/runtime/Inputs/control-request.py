#!/usr/bin/env python3
"""control-request.py PID REQUEST [PACKAGE]: speaks the control channel (runtime/control.h)
directly, as hpctl does: connects to $HOTPATCH_SOCKET_DIR/PID.sock, sends the one-line request
(with the package as a file descriptor when given) and prints the reply as it came.  For the
requests hpctl has no command for yet (apply-force), and to see every line of a reply."""
import os
import socket
import sys

pid, request = sys.argv[1], sys.argv[2]
path = os.path.join(os.environ['HOTPATCH_SOCKET_DIR'], pid + '.sock')
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
line = (request + '\n').encode()
if len(sys.argv) > 3:
    with open(sys.argv[3], 'rb') as package:
        socket.send_fds(s, [line], [package.fileno()])
else:
    s.sendall(line)
reply = b''
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    reply += chunk
sys.stdout.write(reply.decode(errors='replace'))
