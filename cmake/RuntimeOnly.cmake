# RuntimeOnly.cmake — the build of libhotpatch and hpctl alone (HOTPATCH_RUNTIME_ONLY), for a
# target whose other tools are not built: the AArch64 runtime and hpctl, cross-compiled
# (aarch64-linux-gnu.cmake) by the host build itself (cmake/CrossRuntime.cmake) or by hand.  The
# runtime's sources are compiled with the plugin, which runs inside the host's Clang: it is the
# host build's.
set(HOTPATCH_PLUGIN "" CACHE FILEPATH "the plugin the runtime is compiled with: a host build's lib/hotpatch.so")
if(NOT HOTPATCH_PLUGIN OR NOT EXISTS "${HOTPATCH_PLUGIN}")
  message(FATAL_ERROR " hotpatch: a runtime-only build needs HOTPATCH_PLUGIN=<host build>/lib/hotpatch.so "
          "(\"${HOTPATCH_PLUGIN}\" is not a file)")
endif()
# xxhash.h, which the runtime includes header-only (contract/package_read.c), is the host's
# (Debian has no cross package of it): copied alone into the build tree, so that no other host
# header comes before the target's.
find_file(HOTPATCH_XXHASH_HEADER xxhash.h PATHS /usr/include /usr/local/include NO_CMAKE_FIND_ROOT_PATH REQUIRED)
configure_file(${HOTPATCH_XXHASH_HEADER} ${PROJECT_BINARY_DIR}/xxhash/xxhash.h COPYONLY)
set(XXHASH_INCLUDE_DIR ${PROJECT_BINARY_DIR}/xxhash)

include(GNUInstallDirs)
add_subdirectory(contract)
set_target_properties(hp_contract PROPERTIES EXCLUDE_FROM_ALL ON)  # built for hpctl, which links it
add_subdirectory(runtime)
