#!/usr/bin/env bash
# hpctl-persist.sh DIR: runs DIR/old/app as uid 65534, then, as root, hpctl apply --persist with
# HOTPATCH_PERSIST_DIR=DIR/persist and unpersist; prints what was stored (mode, owner, bytes).
# The pid is shown as PID, the directory as PERSIST, the build-id and checksum by name.
set -uo pipefail
dir=$1
hpctl=${HPCTL:?}
export HOTPATCH_PERSIST_DIR=$dir/persist
source "$(dirname "$0")/start-app.sh"
start_app setpriv --reuid=65534 --regid=65534 --clear-groups "$dir/old/app"
build_id=$(llvm-readelf -n "$dir/old/app" | sed -n 's/.*Build ID: //p')
sum=$(python3 -c '
import sys
d = open(sys.argv[1], "rb").read()
print(d[24:40].hex())' "$dir/fix.hp")
names() { sed "s/\b$pid\b/PID/g; s|$HOTPATCH_PERSIST_DIR|PERSIST|g; s/$build_id/BUILD-ID/g; s/$sum/CHECKSUM/g"; }
run() { "$hpctl" "$@" 2>&1 | names; echo "exit ${PIPESTATUS[0]}"; }
stored() {
  local files
  files=$(find "$HOTPATCH_PERSIST_DIR" -name '*.hp' 2>/dev/null | names | tr '\n' ' ')
  echo "stored: ${files:-none}"
}
printf 'not a package' > "$dir/junk.hp"
echo "== refused, not stored"; run apply --persist "$pid" "$dir/junk.hp"; stored
echo "== apply --persist"; run apply --persist "$pid" "$dir/fix.hp"
file=$HOTPATCH_PERSIST_DIR/$build_id/0000000000-$sum.hp
stat -c '%n %a %u:%g %F' "$HOTPATCH_PERSIST_DIR/$build_id" "$file" | names
cmp -s "$file" "$dir/fix.hp" && echo "same bytes as fix.hp"
echo "== unpersist PID CHECKSUM"; run unpersist "$pid" "$sum"
[ -e "$HOTPATCH_PERSIST_DIR/$build_id" ] || echo "build-id directory gone"
echo "== unpersist again"; run unpersist "$pid" "$sum"
echo "== apply --persist --json, unpersist BUILD-ID --json"
show() { python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
print(d["result"], d.get("patch", "-"), " ".join(p["build_id"] + "=" + p["path"] for p in d.get("persisted", d.get("removed", []))), d["exit"])' | names; }
"$hpctl" --json apply --persist "$pid" "$dir/fix.hp" | show
"$hpctl" unpersist --json "$build_id" | show
stored
echo "== apply --persist a signed package of sequence 3"; run apply --persist "$pid" "$dir/signed.hp"
ssum=$(python3 -c 'import sys; print(open(sys.argv[1], "rb").read()[24:40].hex())' "$dir/signed.hp")
cmp -s "$HOTPATCH_PERSIST_DIR/$build_id/0000000003-$ssum.hp" "$dir/signed.hp" && echo "stored whole as sequence 3"
