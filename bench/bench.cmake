# SPDX-License-Identifier: Apache-2.0
# Benchmark harness of SPEC 13: the bench_ledger program (library, raw-SQLite, SHA-256 and
# fsync measurements), the HTTP bound, the seed design's PostgreSQL client and a
# seconds-long smoke run of bench/run.sh under ctest. Included from the top-level
# CMakeLists.txt; `make bench` runs the full harness.
include_guard(GLOBAL)

set(TT_BENCH_WARNINGS -Wall -Wextra -Wshadow -Wstrict-prototypes -Wformat=2 -Wvla -Werror)

# The event generator and figure helpers shared by bench_ledger and pg_seed.
add_library(bench_common STATIC ${CMAKE_CURRENT_LIST_DIR}/bench_common.c)
# Set here as well as at the top level, so the targets are built the same way whether this
# file is included before or after the project-wide settings.
set_target_properties(bench_common PROPERTIES C_STANDARD 17 C_STANDARD_REQUIRED ON
                      C_EXTENSIONS OFF)
target_compile_options(bench_common PRIVATE ${TT_BENCH_WARNINGS})
target_compile_definitions(bench_common PUBLIC _GNU_SOURCE)
target_include_directories(bench_common PUBLIC ${CMAKE_CURRENT_LIST_DIR})
# tradetrail_static brings sqlite3, libcrypto (the baselines use both directly) and pthreads.
target_link_libraries(bench_common PUBLIC tradetrail_static m)

add_executable(bench_ledger ${CMAKE_CURRENT_LIST_DIR}/bench_ledger.c)
set_target_properties(bench_ledger PROPERTIES C_STANDARD 17 C_STANDARD_REQUIRED ON
                      C_EXTENSIONS OFF)
target_compile_options(bench_ledger PRIVATE ${TT_BENCH_WARNINGS})
target_link_libraries(bench_ledger PRIVATE bench_common)

if(TT_TESTS)
  add_test(NAME bench/smoke COMMAND ${CMAKE_CURRENT_LIST_DIR}/run.sh ${CMAKE_BINARY_DIR})
  # COST: started among the first. Declared last, it ended make check's ctest runs alone on
  # one core for half a minute (a clean clone has no cost data to order the tests by).
  set_tests_properties(bench/smoke PROPERTIES TIMEOUT 180 ENVIRONMENT BENCH_SMOKE=1 COST 1000)
  # A run whose requests are refused (here: a wrong token) must fail, not report a rate.
  add_test(NAME bench/http_wrong_token
           COMMAND ${CMAKE_CURRENT_LIST_DIR}/check_wrong_token.sh ${CMAKE_BINARY_DIR})
  set_tests_properties(bench/http_wrong_token PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77)
endif()

# The HTTP bound of SPEC 13 (bench/measure.d/http.sh drives it with wrk).
add_executable(http_bound ${CMAKE_CURRENT_LIST_DIR}/http_bound.c)
target_compile_options(http_bound PRIVATE -Wall -Wextra -Werror)
target_link_libraries(http_bound PRIVATE PkgConfig::MHD)

# The seed design on PostgreSQL (bench/measure.d/pg.sh starts a server and runs it), built
# only when libpq is there: without it the hook reports itself skipped.
pkg_check_modules(PQ QUIET IMPORTED_TARGET libpq)
if(PQ_FOUND)
  add_executable(pg_seed ${CMAKE_CURRENT_LIST_DIR}/pg_seed.c)
  set_target_properties(pg_seed PROPERTIES C_STANDARD 17 C_STANDARD_REQUIRED ON
                        C_EXTENSIONS OFF)
  target_compile_options(pg_seed PRIVATE ${TT_BENCH_WARNINGS})
  target_link_libraries(pg_seed PRIVATE bench_common PkgConfig::PQ Threads::Threads)
else()
  message(STATUS "libpq not found: pg_seed (the seed-design baseline of make bench) is not built")
endif()
