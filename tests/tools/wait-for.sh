# wait-for.sh, sourced by test scripts: wait_for COMMAND... runs the command every 50 ms until it
# succeeds, for at most 20 s (a program starting under the sanitizers on a loaded two-core machine
# can take seconds to open its control socket), and otherwise says what it waited for and fails.
# wait_socket PATH waits for a socket there.  One place for the patience every test needs.
wait_for() {
  local _
  for _ in $(seq 400); do "$@" && return 0; sleep 0.05; done
  echo "wait-for.sh: still not true after 20 s: $*" >&2
  return 1
}
wait_socket() { wait_for test -S "$1"; }
