# fake-runtime-status.py DIR HPCTL [REPLY [ARG...]]: a fake runtime listening on DIR/PID.sock
# (its own pid, as the runtime names it) that answers one request with REPLY (Python escapes
# allowed; by default a status line with a crafted build-id); prints what
# `HPCTL ARG... PID` (default: status PID --json) printed, stdout then stderr.
import os, socket, subprocess, sys, threading
sockdir, hpctl = sys.argv[1], sys.argv[2]
reply = (sys.argv[3].encode().decode("unicode_escape") if len(sys.argv) > 3 else
         'patch 1 0 1 ab","functions":7,"injected":"1 00112233445566778899aabbccddeeff /bin/app\nok 1\n')
args = sys.argv[4:] or ["status", "PID", "--json"]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(os.path.join(sockdir, "%d.sock" % os.getpid()))
s.listen(1)
def serve():
    c, _ = s.accept()
    c.recv(100)
    c.sendall(reply.encode("latin-1"))
    c.close()
threading.Thread(target=serve, daemon=True).start()
r = subprocess.run([hpctl] + [str(os.getpid()) if a == "PID" else a for a in args], capture_output=True,
                   text=True, timeout=20)
sys.stdout.write(r.stdout)
sys.stdout.write(r.stderr)
