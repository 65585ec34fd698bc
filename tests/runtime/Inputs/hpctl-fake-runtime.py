# hpctl-fake-runtime.py DIR LOG REPLY HPCTL [ARG...]: a fake runtime listening on DIR/PID.sock
# (its own pid, as the runtime names it) that answers every request with REPLY (Python escapes
# allowed), or never answers when REPLY is HANG (it holds the connection until hpctl gives up);
# each request line it receives is appended to LOG.  Runs `HPCTL ARG...` (PID in the arguments
# stands for its pid) and prints its standard output, then its standard error, then "exit N",
# the pid shown as PID.
import os, socket, subprocess, sys, threading
sockdir, log, reply, hpctl = sys.argv[1:5]
args = sys.argv[5:]
reply = reply.encode().decode("unicode_escape")
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(os.path.join(sockdir, "%d.sock" % os.getpid()))
s.listen(4)
def serve():
    while True:
        c, _ = s.accept()
        line = c.recv(200).decode("latin-1")
        with open(log, "a") as f:
            f.write(line)
        if reply == "HANG":
            c.recv(1)  # until hpctl closes its end
        else:
            c.sendall(reply.encode("latin-1"))
        c.close()
threading.Thread(target=serve, daemon=True).start()
pid = str(os.getpid())
r = subprocess.run([hpctl] + [pid if a == "PID" else a for a in args], capture_output=True, text=True, timeout=60)
print((r.stdout + r.stderr).replace(pid, "PID"), end="")
print("exit %d" % r.returncode)
