# trust-record.cmake: `cmake -DOUT=file.c -DPOLICY_FILE=path -DKEYS="a.pub;b.pub" -P` writes the
# C file hotpatch_target(... TRUST ...) adds to a program, with Hotpatch.cmake's own generator, for
# tests that build their programs by hand.
include(${CMAKE_CURRENT_LIST_DIR}/../../../cmake/Hotpatch.cmake)
_hotpatch_trust_source("${OUT}" "${POLICY_FILE}" ${KEYS})
