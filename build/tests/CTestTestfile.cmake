# CMake generated Testfile for 
# Source directory: /work/main/tests
# Build directory: /work/main/build/tests
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
add_test([=[plugin]=] "/root/.pyenv/shims/python3" "/usr/lib/llvm-19/build/utils/lit/lit.py" "-sv" "--param" "build=/work/main/build" "/work/main/tests/plugin")
set_tests_properties([=[plugin]=] PROPERTIES  _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;8;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test([=[hpdump]=] "/root/.pyenv/shims/python3" "/usr/lib/llvm-19/build/utils/lit/lit.py" "-sv" "--param" "build=/work/main/build" "/work/main/tests/hpdump")
set_tests_properties([=[hpdump]=] PROPERTIES  _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;8;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test([=[integration]=] "/root/.pyenv/shims/python3" "/usr/lib/llvm-19/build/utils/lit/lit.py" "-sv" "--param" "build=/work/main/build" "/work/main/tests/integration")
set_tests_properties([=[integration]=] PROPERTIES  _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;8;add_test;/work/main/tests/CMakeLists.txt;0;")
