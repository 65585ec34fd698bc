# start-app.sh, sourced by test scripts: start_app PROGRAM [ARGS...] gives the program a socket
# directory of its own (a short path: a socket path must fit in 108 bytes, wherever the tests
# run), starts it in the background with its output discarded, sets pid, arranges for the
# program (continued first, should the test have stopped it) and the directory to go at exit,
# also killing the pids the caller lists in $also_kill then, and waits for the socket.
source "$(dirname "${BASH_SOURCE[0]}")/../../tools/wait-for.sh"
start_app() {
  export HOTPATCH_SOCKET_DIR
  HOTPATCH_SOCKET_DIR=$(mktemp -u /tmp/hpsock.XXXXXX)
  "$@" > /dev/null &
  pid=$!
  also_kill=${also_kill:-}
  trap 'kill -CONT $pid 2>/dev/null; kill $pid $also_kill 2>/dev/null; rm -rf "$HOTPATCH_SOCKET_DIR"' EXIT
  wait_socket "$HOTPATCH_SOCKET_DIR/$pid.sock"
}
