# SPDX-License-Identifier: Apache-2.0
# Benchmark harness of SPEC 13: the bench_ledger program (library, raw-SQLite, SHA-256 and
# fsync measurements) and a seconds-long smoke run of bench/run.sh under ctest. Included
# from the top-level CMakeLists.txt; `make bench` runs the full harness.
include_guard(GLOBAL)

add_executable(bench_ledger ${CMAKE_CURRENT_LIST_DIR}/bench_ledger.c)
# Set here as well as at the top level, so the target is built the same way whether this
# file is included before or after the project-wide settings.
set_target_properties(bench_ledger PROPERTIES C_STANDARD 17 C_STANDARD_REQUIRED ON
                      C_EXTENSIONS OFF)
target_compile_options(bench_ledger PRIVATE -Wall -Wextra -Wshadow -Wstrict-prototypes
                       -Wformat=2 -Wvla -Werror)
target_compile_definitions(bench_ledger PRIVATE _GNU_SOURCE)
# tradetrail_static brings sqlite3, libcrypto (the baselines use both directly) and pthreads.
target_link_libraries(bench_ledger PRIVATE tradetrail_static m)

if(TT_TESTS)
  add_test(NAME bench/smoke COMMAND ${CMAKE_CURRENT_LIST_DIR}/run.sh ${CMAKE_BINARY_DIR})
  set_tests_properties(bench/smoke PROPERTIES TIMEOUT 180 ENVIRONMENT BENCH_SMOKE=1)
endif()

# The HTTP bound of SPEC 13 (bench/measure.d/http.sh drives it with wrk).
add_executable(http_bound ${CMAKE_CURRENT_LIST_DIR}/http_bound.c)
target_compile_options(http_bound PRIVATE -Wall -Wextra -Werror)
target_link_libraries(http_bound PRIVATE PkgConfig::MHD)
