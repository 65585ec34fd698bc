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

# The runtime's imported targets for find_package(Hotpatch), in a file named for this processor:
# a host installation's HotpatchConfig.cmake includes it instead of its own targets when the
# project using it is built for this processor (cmake/HotpatchConfig.cmake.in).  The host build
# installs this one into its prefix, the package directory its own and the libraries in a
# directory of their own (cmake/CrossRuntime.cmake).  Not "HotpatchTargets-*": the host's
# targets file includes every file of that name as one of its build configurations.
set(HOTPATCH_PACKAGE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Hotpatch CACHE STRING
    "where the CMake package these targets join is installed (relative to the prefix)")
install(EXPORT HotpatchTargets NAMESPACE Hotpatch:: FILE HotpatchRuntime-${CMAKE_SYSTEM_PROCESSOR}.cmake
        DESTINATION ${HOTPATCH_PACKAGE_DIR})
