# What an operator installs (component "host"): taohost and the tools, the
# systemd unit (its paths filled in at install time, so `--prefix P` and the
# Debian package both get a unit that names their own taohost), the example
# config, man pages made from each tool's --help, bash completion and the
# docs. The client library is the "client" component
# (cmake/TaoClientPackage.cmake). Then the Debian packages (CPack): tao-host
# from "host", libtao-client-dev from "client". docs/install.md says more.
include(GNUInstallDirs)

set(TAO_TOOLS taoctl tao-domain tao-attest tao-soft tao-enclave tao-guest-image)
install(TARGETS taohost ${TAO_TOOLS}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  COMPONENT host)
# tao-guest-relay runs inside a VM guest (tao-guest-image --relay puts it
# in the image), never on the host: libexec, no man page.
install(TARGETS tao-guest-relay
  RUNTIME DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/tao
  COMPONENT host)

# --- The unit: @TAO_BINDIR@ and @TAO_DOCDIR@ from the install's prefix. ---
install(CODE "
  set(TAO_BINDIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}\")
  set(TAO_DOCDIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DATAROOTDIR}/doc/tao\")
  set(unit_dir \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/lib/systemd/system\")
  message(STATUS \"Installing: \${unit_dir}/taohost.service\")
  configure_file(\"${PROJECT_SOURCE_DIR}/apps/taohost/taohost.service\"
                 \"\${unit_dir}/taohost.service\" @ONLY)
  file(CHMOD \"\${unit_dir}/taohost.service\"
       PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
" COMPONENT host)

# --- Man pages, from --help (cmake/help2man.sh). ---
set(TAO_MAN_PAGES)
foreach(tool taohost ${TAO_TOOLS})
  set(section 1)
  if(tool STREQUAL "taohost")
    set(section 8)
  endif()
  set(page ${PROJECT_BINARY_DIR}/man/${tool}.${section})
  add_custom_command(
    OUTPUT ${page}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
    COMMAND bash ${PROJECT_SOURCE_DIR}/cmake/help2man.sh $<TARGET_FILE:${tool}>
            ${section} ${page}
    DEPENDS ${tool} ${PROJECT_SOURCE_DIR}/cmake/help2man.sh
    COMMENT "man page ${tool}(${section})"
    VERBATIM)
  list(APPEND TAO_MAN_PAGES ${page})
  install(FILES ${page}
    DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section}
    COMPONENT host)
endforeach()
add_custom_target(tao_man_pages ALL DEPENDS ${TAO_MAN_PAGES})

# --- Bash completion: one script, under each tool's name. ---
foreach(tool taohost ${TAO_TOOLS})
  install(FILES ${PROJECT_SOURCE_DIR}/apps/common/tao.bash-completion
    DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/bash-completion/completions
    RENAME ${tool}
    COMPONENT host)
endforeach()

# --- The example config and the docs. ---
install(FILES ${PROJECT_SOURCE_DIR}/apps/taohost/taohost.conf.example
  DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/tao
  COMPONENT host)
file(GLOB TAO_DOCS ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${TAO_DOCS} ${PROJECT_SOURCE_DIR}/README.md
  DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/tao
  COMPONENT host)

# --- Debian packages: `cpack -G DEB` in the build tree. ---
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME tao)
set(CPACK_PACKAGE_VENDOR "Tao host runtime")
set(CPACK_PACKAGE_CONTACT "Tao host runtime maintainers <tao@localhost>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Release packages carry no debug info (it is most of the bytes).
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL host client)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
# The host and its tools: shared-library dependencies from dpkg-shlibdeps.
set(CPACK_DEBIAN_HOST_PACKAGE_NAME tao-host)
set(CPACK_DEBIAN_HOST_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_HOST_DESCRIPTION
  "Tao host runtime: taohost, taoctl and the domain tools
taohost runs at the root of a process tree and gives each program it starts
a name, attestations and sealing; taoctl drives it, tao-domain edits and signs
its policy, tao-attest verifies attestations, tao-soft is the soft root,
tao-guest-image builds the initramfs of a VM guest whose init is taohost.")
# The client library: libtao-client.a (one archive with the Abseil,
# protobuf and libcrypto objects inside), the shared-deps archives, headers,
# the CMake package and both .pc files; what its headers include (and the
# shared-deps form links) comes from these -dev packages.
set(CPACK_DEBIAN_CLIENT_PACKAGE_NAME libtao-client-dev)
set(CPACK_DEBIAN_CLIENT_PACKAGE_SECTION libdevel)
# libtao-client.a holds Abseil's and protobuf's objects as built from these
# headers (Abseil's inline namespace, protobuf's generated code), so a
# program must compile against the same upstream versions: pinned to them.
# (A Debian revision of the same upstream version keeps the ABI.)
math(EXPR TAO_ABSL_NEXT "${absl_VERSION} + 1")
string(REGEX MATCH "^[0-9]+\\.[0-9]+" TAO_PROTOBUF_MINOR "${Protobuf_VERSION}")
string(REGEX MATCH "[0-9]+$" TAO_PROTOBUF_PATCH "${Protobuf_VERSION}")
math(EXPR TAO_PROTOBUF_NEXT_PATCH "${TAO_PROTOBUF_PATCH} + 1")
set(CPACK_DEBIAN_CLIENT_PACKAGE_DEPENDS
  "libabsl-dev (>= ${absl_VERSION}~), libabsl-dev (<< ${TAO_ABSL_NEXT}~), \
libprotobuf-dev (>= ${Protobuf_VERSION}~), \
libprotobuf-dev (<< ${TAO_PROTOBUF_MINOR}.${TAO_PROTOBUF_NEXT_PATCH}~), \
libssl-dev (>= 3.0)")
set(CPACK_DEBIAN_CLIENT_DESCRIPTION
  "Tao client library for hosted programs (development files)
The library a hosted program links to call its host: GetTaoName, Seal,
Unseal, Attest, ExtendTaoName, GetRandomBytes. libtao-client.a, one static
archive with Abseil, protobuf and libcrypto inside, so a program links one
library and loads none of theirs; libtao_client.a and libtao.a over the
shared libraries, for programs that link those themselves. Headers, the
TaoClient CMake package, the tao-client and tao-client-shared-deps
pkg-config files.")
include(CPack)
