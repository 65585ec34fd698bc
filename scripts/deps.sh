#!/usr/bin/env bash
# Installs the Debian 12 packages hotpatch builds and tests with; does nothing when they are present.
set -euo pipefail
packages=(
  clang-19 llvm-19-dev libclang-19-dev  # the compiler the plugin loads into, and its CMake package and headers
  libelf-dev libxxhash-dev              # the differ reads ELF; fingerprints and checksums are XXH3
  libdw-dev                             # hpctl apply --safe unwinds the stopped threads' stacks (elfutils' libdwfl)
  libsodium-dev                         # package signatures (Ed25519): hpsign, hpdiff --sign, hpdump; the runtime dlopens it
  cmake ninja-build                     # the build (CMakePresets.json)
  llvm-19-tools python3                 # the tests: lit, FileCheck, split-file
  libclang-rt-19-dev                    # the fuzz tests: libFuzzer and the sanitizers' runtimes
  lld-19 make pkg-config gcc            # tests: linking with lld, a Makefile project, pkg-config, the GCC refusal
  npm                                   # tests and benchmarks: the SQLite sources (tests/tools/fetch-sqlite.sh)
  ansible-core                          # tests: the rollout role in contrib/ansible, run against localhost
  libc6-dev-arm64-cross libgcc-12-dev-arm64-cross binutils-aarch64-linux-gnu  # tests: AArch64 cross builds
  qemu-user-static                      # tests: running them (tests/aarch64)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node/npm may come from another repository (nodesource): an npm on PATH is as good.
if command -v npm >/dev/null; then
  missing=("${missing[@]/npm}")
fi
read -ra missing <<<"${missing[*]}"
if ((${#missing[@]})); then
  echo "hotpatch: installing ${missing[*]}"
  [ "$(id -u)" = 0 ] || { echo "hotpatch: run as root to install packages: ${missing[*]}" >&2; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
