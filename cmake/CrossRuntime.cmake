# CrossRuntime.cmake — the host build also builds the AArch64 runtime, when Debian's cross
# packages are there (scripts/deps.sh installs them): build/aarch64/lib/libhotpatch.a and .so,
# which tests/aarch64 links its programs with (lit: %a64-libhotpatch), and the AArch64 hpctl,
# build/aarch64/bin/hpctl (lit: %a64-hpctl; without attaching and --safe, runtime/CMakeLists.txt
# says why, so it needs no elfutils built for AArch64).  It is a build of its own
# (runtime-only, cmake/aarch64-linux-gnu.cmake) compiled with this build's plugin, rerun with
# every build of this one so that a change to the runtime reaches it.  Without the cross
# packages it is left out, saying so once, and the host build is as before.
# `cmake --install` installs it with the host's files: the libraries in lib/aarch64-linux-gnu
# (Debian's name for the target's directory; the host's are in lib), their imported targets
# beside the CMake package, which a project cross-built for AArch64 then links with
# (cmake/HotpatchConfig.cmake.in; docs/patch-author-guide.md, "Cross-building for AArch64").
#   HOTPATCH_AARCH64_RUNTIME: AUTO (the default: when the cross packages are there), ON, OFF.
set(HOTPATCH_AARCH64_RUNTIME AUTO CACHE STRING "Also build the AArch64 runtime and hpctl (build/aarch64): AUTO, ON, OFF")
set(a64_missing "")
if(NOT EXISTS /usr/aarch64-linux-gnu/lib/crt1.o)
  list(APPEND a64_missing libc6-dev-arm64-cross)
endif()
file(GLOB a64_libgcc /usr/lib/gcc-cross/aarch64-linux-gnu/*/libgcc.a)
if(NOT a64_libgcc)
  list(APPEND a64_missing libgcc-12-dev-arm64-cross)
endif()
find_program(HOTPATCH_LLD NAMES ld.lld ld.lld-19 HINTS ${LLVM_TOOLS_BINARY_DIR})
if(NOT HOTPATCH_LLD)
  list(APPEND a64_missing lld-19)
endif()

if(HOTPATCH_AARCH64_RUNTIME STREQUAL "OFF" OR CMAKE_SYSTEM_PROCESSOR STREQUAL "aarch64")
  return()  # off, or this build is the AArch64 one
endif()
if(a64_missing)
  string(REPLACE ";" ", " a64_missing "${a64_missing}")
  if(HOTPATCH_AARCH64_RUNTIME STREQUAL "ON")
    message(FATAL_ERROR " hotpatch: HOTPATCH_AARCH64_RUNTIME=ON needs ${a64_missing} (scripts/deps.sh installs them)")
  endif()
  message(STATUS "hotpatch: no AArch64 runtime (it needs ${a64_missing}; scripts/deps.sh installs them)")
  return()
endif()

include(ExternalProject)
cmake_host_system_information(RESULT a64_jobs QUERY NUMBER_OF_LOGICAL_CORES)
ExternalProject_Add(hotpatch_aarch64_runtime
  SOURCE_DIR ${PROJECT_SOURCE_DIR}
  BINARY_DIR ${PROJECT_BINARY_DIR}/aarch64
  PREFIX ${PROJECT_BINARY_DIR}/aarch64-build-steps
  CMAKE_GENERATOR ${CMAKE_GENERATOR}
  CMAKE_ARGS -DCMAKE_TOOLCHAIN_FILE=${PROJECT_SOURCE_DIR}/cmake/aarch64-linux-gnu.cmake
             -DHOTPATCH_RUNTIME_ONLY=ON
             -DHOTPATCH_PLUGIN=${PROJECT_BINARY_DIR}/lib/hotpatch.so
             -DHOTPATCH_XXHASH_HEADER=${XXHASH_INCLUDE_DIR}/xxhash.h
             -DHOTPATCH_WERROR=${HOTPATCH_WERROR}
             -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE}
             -DCMAKE_INSTALL_LIBDIR=lib/aarch64-linux-gnu
             -DHOTPATCH_PACKAGE_DIR=${HOTPATCH_CMAKE_DIR}
  # As many jobs as the machine has cores, not the nested Ninja's default of two more.
  BUILD_COMMAND ${CMAKE_COMMAND} --build <BINARY_DIR> --parallel ${a64_jobs}
  BUILD_ALWAYS ON
  INSTALL_COMMAND ""
  DEPENDS hotpatch_plugin)
# Installed into whatever prefix (and DESTDIR) the host is installed to, given at install time.
install(CODE "
  execute_process(COMMAND \"${CMAKE_COMMAND}\" --install \"${PROJECT_BINARY_DIR}/aarch64\"
                          --prefix \"\${CMAKE_INSTALL_PREFIX}\" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR \"hotpatch: installing the AArch64 runtime (${PROJECT_BINARY_DIR}/aarch64) failed\")
  endif()")
