# SPDX-License-Identifier: Apache-2.0
# What `make install` (cmake --install) puts under CMAKE_INSTALL_PREFIX, and the man pages
# and shell completion generated from the program's --help texts (SPEC 1, 2; issue 17).
# `make uninstall` removes exactly what install_manifest.txt lists (scripts/uninstall.sh).
include(GNUInstallDirs)
find_program(TT_PYTHON python3 REQUIRED)
configure_file(${CMAKE_SOURCE_DIR}/tradetrail.pc.in ${CMAKE_BINARY_DIR}/tradetrail.pc @ONLY)

# One source for --help and the manual: the generator runs the program just built.
add_custom_command(
  OUTPUT ${CMAKE_BINARY_DIR}/cli-docs.stamp
  COMMAND ${TT_PYTHON} ${CMAKE_SOURCE_DIR}/scripts/gen-cli-docs.py $<TARGET_FILE:tradetrail>
          ${CMAKE_BINARY_DIR}
  COMMAND ${CMAKE_COMMAND} -E touch ${CMAKE_BINARY_DIR}/cli-docs.stamp
  DEPENDS tradetrail ${CMAKE_SOURCE_DIR}/scripts/gen-cli-docs.py
  COMMENT "Man pages and bash/zsh completion from tradetrail --help"
  VERBATIM)
add_custom_target(tt_cli_docs ALL DEPENDS ${CMAKE_BINARY_DIR}/cli-docs.stamp)

install(TARGETS tradetrail tradetrail_static tradetrail_shared)
install(FILES include/tradetrail.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${CMAKE_BINARY_DIR}/man/ DESTINATION ${CMAKE_INSTALL_MANDIR}/man1
        FILES_MATCHING PATTERN "*.1")
install(FILES ${CMAKE_BINARY_DIR}/completion/tradetrail.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME tradetrail)
# The pkg-config file, the systemd units and the zsh completion depend on the prefix given
# at install time (cmake --install --prefix), not only the configured one.
install(CODE "
  set(TT_BIN \"${CMAKE_BINARY_DIR}\")
  set(TT_SRC \"${CMAKE_SOURCE_DIR}\")
  set(TT_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
  set(TT_BINDIR \"${CMAKE_INSTALL_BINDIR}\")
  set(TT_DATADIR \"${CMAKE_INSTALL_DATADIR}\")
  set(TT_DOCDIR \"${CMAKE_INSTALL_DOCDIR}\")
  include(\"${CMAKE_SOURCE_DIR}/cmake/install-prefixed.cmake\")
")
# The dashboard (SPEC 11): served from share/tradetrail/web beside the installed program,
# else from the source tree (server/api_web.c, docs/DASHBOARD.md).
install(DIRECTORY web/ DESTINATION ${CMAKE_INSTALL_DATADIR}/tradetrail/web)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR} FILES_MATCHING PATTERN "*.md"
        PATTERN "*.yaml" PATTERN "img" EXCLUDE)
