# SPDX-License-Identifier: Apache-2.0
# libFuzzer targets, one per parser (fuzz/fuzz_*.c). Included from CMakeLists.txt when
# TT_FUZZ is ON, in a build directory configured with clang (fuzz/run.sh and `make fuzz` use
# build-fuzz): the library objects get coverage instrumentation and ASan+UBSan, and each
# target links libFuzzer's main. See fuzz/README.md.
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "TT_FUZZ needs clang: configure a separate build directory with "
                      "-DCMAKE_C_COMPILER=clang (got ${CMAKE_C_COMPILER_ID}); see fuzz/README.md")
endif()

# UBSan aborts instead of printing and going on, so libFuzzer keeps the input as a crash.
set(TT_FUZZ_SANITIZE -fsanitize=address,undefined -fno-sanitize-recover=all
                     -fno-omit-frame-pointer)
target_compile_options(tt_objects PRIVATE -fsanitize=fuzzer-no-link ${TT_FUZZ_SANITIZE})
# Whatever links the instrumented objects needs the sanitizer runtimes too (the program and
# the shared library, should the whole fuzz build directory be built).
target_link_options(tradetrail_static INTERFACE -fsanitize=address,undefined)
target_link_options(tradetrail_shared PRIVATE -fsanitize=address,undefined)

add_custom_target(fuzz_all)
file(GLOB TT_FUZZ_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/fuzz/fuzz_*.c)
foreach(src ${TT_FUZZ_SOURCES})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_compile_options(${name} PRIVATE -fsanitize=fuzzer ${TT_FUZZ_SANITIZE})
  target_link_options(${name} PRIVATE -fsanitize=fuzzer ${TT_FUZZ_SANITIZE})
  target_link_libraries(${name} PRIVATE tradetrail_static)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
  add_dependencies(fuzz_all ${name})
endforeach()
# The fast path's recogniser is the server's, not the library's: its target builds it alone.
target_sources(fuzz_fastpath PRIVATE ${CMAKE_SOURCE_DIR}/server/fastpath_parse.c)
target_include_directories(fuzz_fastpath PRIVATE ${CMAKE_SOURCE_DIR})

# ctest in the fuzz build directory: replay every committed corpus and regression input
# (seconds), then a bounded run of each target. Both use the binaries built above.
enable_testing()
add_test(NAME fuzz/replay COMMAND ${CMAKE_SOURCE_DIR}/fuzz/run.sh --no-build --replay)
set_tests_properties(fuzz/replay PROPERTIES TIMEOUT 300
                     ENVIRONMENT "TT_FUZZ_BUILD_DIR=${CMAKE_BINARY_DIR}")
set(TT_FUZZ_SMOKE_SECONDS 20 CACHE STRING "Seconds per target of the fuzz/smoke/* ctest tests")
foreach(src ${TT_FUZZ_SOURCES})
  get_filename_component(name ${src} NAME_WE)
  add_test(NAME fuzz/smoke/${name}
           COMMAND ${CMAKE_SOURCE_DIR}/fuzz/run.sh --no-build ${TT_FUZZ_SMOKE_SECONDS} ${name})
  set_tests_properties(fuzz/smoke/${name} PROPERTIES TIMEOUT 300
                       ENVIRONMENT "TT_FUZZ_BUILD_DIR=${CMAKE_BINARY_DIR}")
endforeach()
