# fake-runtime-status.py DIR HPCTL: a fake runtime listening on DIR/PID.sock (its own
# pid, as the runtime names it) that answers one status request with a crafted build-id; prints
# what `HPCTL status PID --json` printed.
import os, socket, subprocess, sys, threading
sockdir, hpctl = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(os.path.join(sockdir, "%d.sock" % os.getpid()))
s.listen(1)
def serve():
    c, _ = s.accept()
    c.recv(100)
    c.sendall(b'patch 1 0 1 ab","functions":7,"injected":"1 00112233445566778899aabbccddeeff /bin/app\nok 1\n')
    c.close()
threading.Thread(target=serve, daemon=True).start()
r = subprocess.run([hpctl, "status", str(os.getpid()), "--json"], capture_output=True, text=True, timeout=20)
sys.stdout.write(r.stdout)
sys.stderr.write(r.stderr)
