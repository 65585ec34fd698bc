# Hotpatch.cmake — the functions find_package(Hotpatch) gives a project:
#   hotpatch_target(<target>)   build <target> patchable: the plugin, a GNU build-id, the runtime
#   hotpatch_package(<name> BASELINE <dir> TARGETS <targets...> OUTPUT <file.hp>)
#                               a custom target that runs hpdiff between a kept baseline build
#                               tree and this build, writing the package
# Expects HOTPATCH_PLUGIN, HOTPATCH_HPDIFF and the imported target Hotpatch::hotpatch_static.

function(_hotpatch_check_compiler)
  if(NOT CMAKE_C_COMPILER_ID STREQUAL "Clang" OR CMAKE_C_COMPILER_VERSION VERSION_LESS 19
     OR NOT CMAKE_C_COMPILER_VERSION VERSION_LESS 20)
    message(FATAL_ERROR "hotpatch: the plugin needs Clang 19, but CMAKE_C_COMPILER is "
                        "${CMAKE_C_COMPILER_ID} ${CMAKE_C_COMPILER_VERSION} (${CMAKE_C_COMPILER}); "
                        "configure with -DCMAKE_C_COMPILER=clang-19")
  endif()
endfunction()

function(hotpatch_target target)
  _hotpatch_check_compiler()
  get_target_property(type ${target} TYPE)
  # Source identities relative to the project: two checkouts of it build the same identities.
  target_compile_options(${target} PRIVATE "-fplugin=${HOTPATCH_PLUGIN}"
                         "-fplugin-arg-hotpatch-root=${PROJECT_SOURCE_DIR}")
  if(type STREQUAL "EXECUTABLE" OR type STREQUAL "SHARED_LIBRARY" OR type STREQUAL "MODULE_LIBRARY")
    target_link_options(${target} PRIVATE "LINKER:--build-id")
  endif()
  if(type STREQUAL "EXECUTABLE")
    # The runtime, linked statically and kept even though nothing calls it: its constructor
    # starts the control channel hpctl talks to.
    target_link_libraries(${target} PRIVATE Hotpatch::hotpatch_static)
    target_link_options(${target} PRIVATE "LINKER:-u,hp_control_start")
  endif()
endfunction()

function(hotpatch_package name)
  cmake_parse_arguments(PARSE_ARGV 1 HP "" "BASELINE;OUTPUT" "TARGETS")
  if(NOT HP_BASELINE OR NOT HP_OUTPUT OR NOT HP_TARGETS)
    message(FATAL_ERROR "hotpatch_package(${name} BASELINE <dir> TARGETS <targets...> OUTPUT <file.hp>)")
  endif()
  get_filename_component(baseline "${HP_BASELINE}" ABSOLUTE BASE_DIR "${CMAKE_BINARY_DIR}")
  get_filename_component(output "${HP_OUTPUT}" ABSOLUTE BASE_DIR "${CMAKE_BINARY_DIR}")
  # Whatever the outcome, the package file left behind is this run's: the old one is removed
  # first, so a pipeline can never ship a package made from code that is no longer the source.
  # hpdiff exits 3 when the machine code did not change: nothing to ship, not a failure, but
  # said, and no file.  Refusals (2) and errors (1) fail the build.
  add_custom_target(${name}
    COMMAND sh -c "rm -f \"$3\"; \"$0\" --explain \"$1\" \"$2\" -o \"$3\"; rc=$?; \
if [ $rc -eq 3 ]; then rm -f \"$3\"; \
echo \"hotpatch: no machine code changed since the baseline $1: no package written ($3 does not exist)\"; exit 0; fi; \
[ $rc -eq 0 ] || rm -f \"$3\"; exit $rc"
            "${HOTPATCH_HPDIFF}" "${baseline}" "${CMAKE_BINARY_DIR}" "${output}"
    DEPENDS ${HP_TARGETS}
    COMMENT "hotpatch: comparing ${baseline} with this build into ${output}"
    VERBATIM)
endfunction()
