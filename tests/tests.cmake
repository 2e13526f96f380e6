# SPDX-License-Identifier: Apache-2.0
# The test suite: one cmocka program per module under tests/unit, end-to-end scripts under
# tests/e2e. Everything runs through ctest.
pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)

file(GLOB TT_UNIT_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/unit/test_*.c)
foreach(src ${TT_UNIT_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_link_libraries(${name} PRIVATE tradetrail_static PkgConfig::CMOCKA)
  target_compile_definitions(${name} PRIVATE
    TT_VECTORS_DIR="${CMAKE_SOURCE_DIR}/tests/vectors"
    TT_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
  add_test(NAME unit/${name} COMMAND ${name})
  set_tests_properties(unit/${name} PROPERTIES TIMEOUT 300)
endforeach()

file(GLOB TT_E2E_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/e2e/test_*.sh
     ${CMAKE_SOURCE_DIR}/tests/e2e/test_*.py)
foreach(script ${TT_E2E_TESTS})
  get_filename_component(name ${script} NAME_WE)
  add_test(NAME e2e/${name} COMMAND ${script})
  set_tests_properties(e2e/${name} PROPERTIES TIMEOUT 600
    ENVIRONMENT "TT_BIN=$<TARGET_FILE:tradetrail>;TT_SOURCE_DIR=${CMAKE_SOURCE_DIR};TT_BUILD_DIR=${CMAKE_BINARY_DIR}")
endforeach()
# Each of these runs `cmake --install` of this build (test_install also with --prefix
# /opt/tt), which rewrites the build's prefixed/ files and install_manifest.txt: run
# concurrently, one could package or list another's paths. test_deb_fresh (a debootstrap
# root, about 2 minutes) needs root and the Debian archive.
set_tests_properties(e2e/test_install e2e/test_deb e2e/test_deb_fresh PROPERTIES
  RESOURCE_LOCK build-install)

# The fault-injection test fails the Nth allocation of the library's own code: route its
# malloc family through the wrappers in test_faults.c.
if(TARGET test_faults)
  target_link_options(test_faults PRIVATE
    -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free)
endif()

# test_archive checks that a segment manifest's count is bounded before anything is
# allocated by it: it sees the sizes of the library's calloc calls.
if(TARGET test_archive)
  target_link_options(test_archive PRIVATE -Wl,--wrap=calloc)
endif()

# test_ledger sees every checkpoint the library asks of SQLite (which thread, held up on
# demand) to check that they run beside the writer.
if(TARGET test_ledger)
  target_link_options(test_ledger PRIVATE -Wl,--wrap=sqlite3_wal_checkpoint_v2)
endif()

# test_query_params fails one malloc of the query-parameter parser to check its TT_ENOMEM path.
if(TARGET test_query_params)
  target_link_options(test_query_params PRIVATE -Wl,--wrap=malloc)
endif()

# The dashboard (tests/browser): node's test runner over web/verify.js against the RFC 6962
# vectors, and the dashboard in Debian's headless Chromium driven by playwright-core
# (pinned in tests/browser/package-lock.json; scripts/deps.sh installs all of it).
foreach(name verify dashboard)
  add_test(NAME browser/${name} COMMAND ${CMAKE_SOURCE_DIR}/tests/browser/run.sh ${name}.test.mjs)
  set_tests_properties(browser/${name} PROPERTIES TIMEOUT 300
    ENVIRONMENT "TT_BIN=$<TARGET_FILE:tradetrail>;TT_SOURCE_DIR=${CMAKE_SOURCE_DIR};TT_BUILD_DIR=${CMAKE_BINARY_DIR}")
endforeach()

# The JavaScript client (clients/js): tsc, then node's test runner against a real server,
# including a restart mid-stream; TypeScript is pinned in clients/js/package-lock.json and
# run.sh installs it with `npm ci` when node_modules is missing.
add_test(NAME clients/js COMMAND ${CMAKE_SOURCE_DIR}/clients/js/run.sh)
set_tests_properties(clients/js PROPERTIES TIMEOUT 300
  ENVIRONMENT "TT_BIN=$<TARGET_FILE:tradetrail>;TT_SOURCE_DIR=${CMAKE_SOURCE_DIR};TT_BUILD_DIR=${CMAKE_BINARY_DIR}")

# The same suites against PostgreSQL (issue 15, STYLE.md "permutations"): pglib.py starts a
# throwaway cluster, runs the suite with TT_TEST_DB set to it and stops it; it fails when
# PostgreSQL cannot be had. Named pg/unit/... and pg/e2e/... so `-R unit/` and
# `-R e2e/` select them with the rest.
set(TT_PG_RUN ${CMAKE_SOURCE_DIR}/tests/e2e/pglib.py run --)
foreach(name test_ledger test_hooks test_feedback test_sync test_summary test_export test_producer
        test_retention test_holds)
  add_test(NAME pg/unit/${name} COMMAND ${TT_PG_RUN} $<TARGET_FILE:${name}>)
  set_tests_properties(pg/unit/${name} PROPERTIES TIMEOUT 300
    ENVIRONMENT "TT_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endforeach()
# The suites whose checks are about the API, the domain, jobs and notifications, not about
# SQLite's files (their commands go through ttserver's helpers, which add --db). test_hostile
# counts the server's sockets (PostgreSQL connections are sockets too) and times SSE
# fan-out; test_tamper flips bytes of the SQLite file (test_pg_tamper does it in
# PostgreSQL, test_migrate and test_pg_cluster start their own clusters); test_cli is about
# the command line's parsing and files, and 70 s long. test_namespaces checks a named
# ledger's schema where its SQLite run checks its file.
foreach(name test_server_api test_server_malformed test_strategy_http test_openapi
        test_domain_http test_notify test_jobs test_telegram test_retention test_namespaces)
  add_test(NAME pg/e2e/${name} COMMAND ${TT_PG_RUN} ${CMAKE_SOURCE_DIR}/tests/e2e/${name}.py)
  set_tests_properties(pg/e2e/${name} PROPERTIES TIMEOUT 600
    ENVIRONMENT "TT_BIN=$<TARGET_FILE:tradetrail>;TT_SOURCE_DIR=${CMAKE_SOURCE_DIR};TT_BUILD_DIR=${CMAKE_BINARY_DIR}")
endforeach()
