# wait-for.sh, sourced by test scripts: wait_for COMMAND... runs the command every 50 ms until it
# succeeds, for at most 20 s (a program starting under the sanitizers on a loaded two-core machine
# can take seconds to open its control socket), and otherwise says what it waited for and fails.
# wait_socket PATH waits for a socket there; wait_reading PID TID PATH for thread TID of process
# PID to be blocked in read() on its descriptor of PATH.  One place for the patience every test
# needs.
wait_for() {
  local _
  for _ in $(seq 400); do "$@" && return 0; sleep 0.05; done
  echo "wait-for.sh: still not true after 20 s: $*" >&2
  return 1
}
wait_socket() { wait_for test -S "$1"; }
wait_reading() {
  local fd
  fd=$(find "/proc/$1/fd" -lname "$3" -printf '%f\n' | head -n 1)
  [ -n "$fd" ] || { echo "wait-for.sh: process $1 has no descriptor of $3" >&2; return 1; }
  local syscall=/proc/$1/task/$2/syscall want
  want="0 $(printf 0x%x "$fd")"  # read(2) on that descriptor
  wait_for eval "[ \"\$(cut -d' ' -f1,2 '$syscall' 2>/dev/null)\" = '$want' ]"
}
