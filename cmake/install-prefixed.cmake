# SPDX-License-Identifier: Apache-2.0
# Run by `cmake --install` (install(CODE) in cmake/install.cmake): writes the files that
# name installed paths with the prefix of this install, which `--prefix` may have changed
# since configuring (scripts/package-deb.sh installs the normal build under /usr).
# Inputs: TT_BIN (build dir), TT_SRC (source dir), TT_LIBDIR, TT_BINDIR, TT_DATADIR,
# TT_DOCDIR (relative to the prefix).
set(prefix "${CMAKE_INSTALL_PREFIX}")

# A macro, not a function: file(INSTALL) records what it wrote in this scope's
# CMAKE_INSTALL_MANIFEST_FILES, which install_manifest.txt (and uninstall) are made of.
# The text is passed by variable name: a macro would expand the ${prefix} in its value.
macro(tt_install_text name textvar destination)
  file(MAKE_DIRECTORY "${TT_BIN}/prefixed")
  file(WRITE "${TT_BIN}/prefixed/${name}" "${${textvar}}")
  file(INSTALL DESTINATION "${prefix}/${destination}" TYPE FILE
       FILES "${TT_BIN}/prefixed/${name}")
endmacro()

# pkg-config: the other paths in the file are relative to ${prefix}.
file(READ "${TT_BIN}/tradetrail.pc" pc)
string(REGEX REPLACE "^prefix=[^\n]*" "prefix=${prefix}" pc "${pc}")
tt_install_text(tradetrail.pc pc "${TT_LIBDIR}/pkgconfig")

# systemd units: the copies in deploy/systemd name /usr/local. They go where systemd looks
# under this prefix (lib/, not the multiarch libdir).
file(GLOB units "${TT_SRC}/deploy/systemd/*.service" "${TT_SRC}/deploy/systemd/*.timer")
foreach(unit ${units})
  get_filename_component(name "${unit}" NAME)
  file(READ "${unit}" text)
  string(REPLACE "/usr/local/bin/tradetrail" "${prefix}/${TT_BINDIR}/tradetrail" text "${text}")
  string(REPLACE "/usr/local/share/doc/tradetrail" "${prefix}/${TT_DOCDIR}" text "${text}")
  tt_install_text("${name}" text "lib/systemd/system")
endforeach()

# zsh: Debian's fpath has vendor-completions under /usr and site-functions elsewhere.
if(prefix STREQUAL "/usr")
  set(zsh_dir "${TT_DATADIR}/zsh/vendor-completions")
else()
  set(zsh_dir "${TT_DATADIR}/zsh/site-functions")
endif()
file(INSTALL DESTINATION "${prefix}/${zsh_dir}" TYPE FILE
     FILES "${TT_BIN}/completion/_tradetrail")
