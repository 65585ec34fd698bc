# hpctl-connect-timeout.py DIR HPCTL: a fake runtime that listens on DIR/PID.sock (its own pid,
# as the runtime names it) and never accepts; fills its backlog with connections of its own until
# the next would block, then prints what `HPCTL --timeout 1 status PID` printed and its exit
# status, the pid shown as PID.
import os, socket, subprocess, sys
path = os.path.join(sys.argv[1], "%d.sock" % os.getpid())
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(0)
held = []
while True:
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.setblocking(False)
    try:
        c.connect(path)
    except BlockingIOError:
        break
    held.append(c)
print("backlog full")
r = subprocess.run([sys.argv[2], "--timeout", "1", "status", str(os.getpid())], capture_output=True, text=True,
                   timeout=20)
print((r.stdout + r.stderr).replace(str(os.getpid()), "PID"), end="")
print("exit %d" % r.returncode)
