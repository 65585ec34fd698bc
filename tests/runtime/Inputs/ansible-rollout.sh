#!/usr/bin/env bash
# ansible-rollout.sh DIR PLAYBOOKS MODE: starts DIR/old/app twice (A and B) and runs PLAYBOOKS'
# rollout.yml against localhost (connection local) with DIR/fix.hp; MODE "ok" then runs
# rollback.yml, MODE "stopped" stops B first so that the rollout fails and must revert A.  After
# each playbook: its recap, its exit status, each process's live patches, and how many packages
# are stored under DIR/persist.
source "$(dirname "$0")/../../tools/wait-for.sh"
set -uo pipefail
dir=$1 playbooks=$2 mode=$3
hpctl=${HPCTL:?}
export HOTPATCH_SOCKET_DIR ANSIBLE_LOCAL_TEMP=$dir/ansible-tmp ANSIBLE_REMOTE_TEMP=$dir/ansible-tmp
export ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0
HOTPATCH_SOCKET_DIR=$(mktemp -u /tmp/hpsock.XXXXXX)
"$dir/old/app" > /dev/null & a=$!
"$dir/old/app" > /dev/null & b=$!
trap 'kill -CONT $b 2>/dev/null; kill $a $b 2>/dev/null; rm -rf "$HOTPATCH_SOCKET_DIR"' EXIT
for p in $a $b; do wait_socket "$HOTPATCH_SOCKET_DIR/$p.sock"; done
vars=$(python3 -c '
import json, sys
print(json.dumps({"hotpatch_hosts": "localhost", "ansible_python_interpreter": sys.executable,
                  "hotpatch_package": sys.argv[1] + "/fix.hp", "hotpatch_target": sys.argv[1] + "/old/app",
                  "hotpatch_hpctl": sys.argv[2], "hotpatch_package_dir": sys.argv[1] + "/packages",
                  "hotpatch_timeout": 5, "hotpatch_environment": {"HOTPATCH_PERSIST_DIR": sys.argv[1] + "/persist"}}))' \
  "$dir" "$hpctl")
after() {
  echo "exit $1"
  for p in $a $b; do
    name=$([ "$p" = "$a" ] && echo A || echo B)
    kill -CONT $p
    echo "$name: patches $("$hpctl" --json status "$p" | python3 -c 'import json,sys; print([p["id"] for p in json.load(sys.stdin)["patches"]])')"
  done
  echo "stored: $(find "$dir/persist" -name '*.hp' 2>/dev/null | wc -l)"
}
playbook() { ansible-playbook -i localhost, -c local -e "$vars" "$playbooks/$1" 2>&1 | sed "s/\b$a\b/A/g; s/\b$b\b/B/g"; }
if [ "$mode" = stopped ]; then
  kill -STOP $b
  wait_for eval 'grep -q '\''^State:.T'\'' "/proc/$b/status"'
fi
echo "== rollout"
playbook rollout.yml
after "${PIPESTATUS[0]}"
if [ "$mode" = ok ]; then
  echo "== rollback"
  playbook rollback.yml
  after "${PIPESTATUS[0]}"
fi
