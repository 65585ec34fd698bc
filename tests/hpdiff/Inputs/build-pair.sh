#!/usr/bin/env bash
# build-pair.sh ROOT [CFLAGS...]: builds ROOT/old and ROOT/new the same way, as a release
# pipeline would: every *.c of each compiled with the plugin into objects (same relative names,
# so the same source identities), then linked into ROOT/<side>/app with a GNU build-id.
# Files named lib*.c go into a shared library libapp.so that app links against.  LDLIBS (an
# environment variable) is added at the end of the link, after the objects.  CFLAGS go to every
# compile and link (a target's --target and -fuse-ld reach the library's link too).
set -euo pipefail
tools=$(cd "$(dirname "$0")/../../tools" && pwd)  # read_file.h, for test programs
root=$1
shift
plugin=${HOTPATCH_PLUGIN:?HOTPATCH_PLUGIN must name hotpatch.so}
cc=${CC:-clang-19}
for side in old new; do
  cd "$root/$side"
  objs=() libobjs=()
  for src in *.c; do
    case $src in
      lib*.c) "$cc" -O2 -fPIC "$@" -I"$tools" -fplugin="$plugin" -c "$src" -o "${src%.c}.o"; libobjs+=("${src%.c}.o") ;;
      *) "$cc" -O2 "$@" -I"$tools" -fplugin="$plugin" -c "$src" -o "${src%.c}.o"; objs+=("${src%.c}.o") ;;
    esac
  done
  libs=()
  if ((${#libobjs[@]})); then
    "$cc" -shared "$@" -Wl,--build-id "${libobjs[@]}" -o libapp.so
    libs=(-L. -lapp -Wl,-rpath,'$ORIGIN')
  fi
  read -ra ldlibs <<<"${LDLIBS:-}"
  "$cc" "$@" -Wl,--build-id "${objs[@]}" "${libs[@]}" "${ldlibs[@]}" -o app
done
