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

# The units name the program and the documentation by their installed paths; the copies
# in deploy/systemd say /usr/local, which is right only for the default prefix.
file(GLOB TT_SYSTEMD_UNITS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/deploy/systemd/*.service
     ${CMAKE_SOURCE_DIR}/deploy/systemd/*.timer)
foreach(unit ${TT_SYSTEMD_UNITS})
  get_filename_component(name ${unit} NAME)
  file(READ ${unit} text)
  string(REPLACE "/usr/local/bin/tradetrail" "${CMAKE_INSTALL_FULL_BINDIR}/tradetrail" text
                 "${text}")
  string(REPLACE "/usr/local/share/doc/tradetrail" "${CMAKE_INSTALL_FULL_DOCDIR}" text
                 "${text}")
  file(CONFIGURE OUTPUT ${CMAKE_BINARY_DIR}/systemd/${name} CONTENT "${text}" @ONLY)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${unit})
endforeach()

install(TARGETS tradetrail tradetrail_static tradetrail_shared)
install(FILES include/tradetrail.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${CMAKE_BINARY_DIR}/tradetrail.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
install(DIRECTORY ${CMAKE_BINARY_DIR}/man/ DESTINATION ${CMAKE_INSTALL_MANDIR}/man1
        FILES_MATCHING PATTERN "*.1")
install(FILES ${CMAKE_BINARY_DIR}/completion/tradetrail.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME tradetrail)
# Debian's zsh searches vendor-completions under /usr and site-functions under /usr/local.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(TT_ZSH_DIR ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
else()
  set(TT_ZSH_DIR ${CMAKE_INSTALL_DATADIR}/zsh/site-functions)
endif()
install(FILES ${CMAKE_BINARY_DIR}/completion/_tradetrail DESTINATION ${TT_ZSH_DIR})
# Units go where systemd looks for them under this prefix (lib/, not the multiarch libdir).
install(DIRECTORY ${CMAKE_BINARY_DIR}/systemd/ DESTINATION lib/systemd/system)
# The dashboard (SPEC 11): served from share/tradetrail/web beside the installed program,
# else from the source tree (server/api_web.c, docs/DASHBOARD.md).
install(DIRECTORY web/ DESTINATION ${CMAKE_INSTALL_DATADIR}/tradetrail/web)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR} FILES_MATCHING PATTERN "*.md"
        PATTERN "*.yaml" PATTERN "img" EXCLUDE)
