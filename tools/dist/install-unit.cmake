# Run by `cmake --install` (install(SCRIPT)): writes the systemd unit with the
# paths of this install, so that `cmake --install build --prefix /opt/loket`
# gives a unit that starts /opt/loket/bin/loket. The LK_* variables are set
# by the install(CODE) before it; relative directories are under the prefix.
foreach(v BINDIR CONFDIR DOCDIR UNITDIR)
  if(NOT IS_ABSOLUTE "${LK_${v}}")
    set(LK_${v} "${CMAKE_INSTALL_PREFIX}/${LK_${v}}")
  endif()
endforeach()
# one file per destination: two installs of one build may run at once
string(MD5 dest "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}")
set(unit "${LK_BINARY_DIR}/dist/${dest}/loket.service")
configure_file("${LK_SOURCE_DIR}/tools/dist/loket.service.in" "${unit}" @ONLY)
file(INSTALL DESTINATION "${LK_UNITDIR}" TYPE FILE FILES "${unit}")
file(REMOVE_RECURSE "${LK_BINARY_DIR}/dist/${dest}")
