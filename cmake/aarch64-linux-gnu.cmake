# aarch64-linux-gnu.cmake — a CMake toolchain file for code that runs on AArch64 Linux, built on
# a Debian host with Clang 19, lld, and Debian's cross packages (libc6-dev-arm64-cross,
# libgcc-12-dev-arm64-cross: headers and libraries under /usr/aarch64-linux-gnu).  The host
# build uses it for the AArch64 runtime (cmake/CrossRuntime.cmake); by hand:
#   cmake -S . -B build-a64 -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
#         -DHOTPATCH_RUNTIME_ONLY=ON -DHOTPATCH_PLUGIN=$PWD/build/lib/hotpatch.so
# It is installed beside the CMake package, for projects cross-built with find_package(Hotpatch)
# (docs/patch-author-guide.md, "Cross-building for AArch64"); they name the package's directory
# (-DHotpatch_DIR), since packages are searched for in the target's tree only (below).
# No --sysroot: Clang finds Debian's cross layout from the target alone, and with a sysroot it
# would look for the cross libgcc inside it and not find it.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER clang-19)
set(CMAKE_C_COMPILER_TARGET aarch64-linux-gnu)
set(CMAKE_CXX_COMPILER clang++-19)
set(CMAKE_CXX_COMPILER_TARGET aarch64-linux-gnu)
set(CMAKE_EXE_LINKER_FLAGS_INIT -fuse-ld=lld)
set(CMAKE_SHARED_LINKER_FLAGS_INIT -fuse-ld=lld)
set(CMAKE_MODULE_LINKER_FLAGS_INIT -fuse-ld=lld)
set(CMAKE_AR llvm-ar-19)  # the host's binutils ar would do; LLVM's is sure to know the target
set(CMAKE_RANLIB llvm-ranlib-19)
# Libraries and headers from the target's tree only; programs (the compiler) from the host.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
