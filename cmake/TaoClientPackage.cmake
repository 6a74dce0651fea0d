# The installed client library: the TaoClient CMake package and the
# tao-client and tao-client-shared-deps pkg-config files. Included at the
# end of the top-level CMakeLists.txt, after tao/ and channels/ have declared
# their install rules (targets tao and tao_client in the export set
# TaoClientTargets, and libtao-client.a from cmake/TaoClientBundle.cmake;
# component "client"). Nothing of the host (channels, program_factory,
# tao_domain, seal_policy) is installed. docs/client-library.md describes the
# result.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(TAO_CLIENT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/TaoClient)

# --- CMake package: find_package(TaoClient CONFIG) -> Tao::tao_client ---
# Tao::tao_client (the archive) is defined in TaoClientConfig.cmake itself;
# the export set holds the shared-deps form (Tao::tao_client_shared_deps,
# Tao::tao).
install(EXPORT TaoClientTargets
  NAMESPACE Tao::
  FILE TaoClientTargets.cmake
  DESTINATION ${TAO_CLIENT_CMAKE_DIR}
  COMPONENT client)

# What a program links besides libtao-client.a (a sanitized archive needs
# the sanitizer runtimes too).
get_property(TAO_CLIENT_BUNDLE_SYSTEM_LIBS GLOBAL PROPERTY
             TAO_CLIENT_BUNDLE_SYSTEM_LIBS)
if(NOT TAO_CLIENT_BUNDLE_SYSTEM_LIBS)
  message(FATAL_ERROR "cmake/TaoClientPackage.cmake: include it after "
                      "cmake/TaoClientBundle.cmake (channels/CMakeLists.txt)")
endif()
set(TAO_CLIENT_BUNDLE_LINK ${TAO_CLIENT_BUNDLE_SYSTEM_LIBS})
if(TAO_SANITIZE)
  list(APPEND TAO_CLIENT_BUNDLE_LINK -fsanitize=address,undefined)
endif()
set(TAO_CLIENT_LIBDIR ${CMAKE_INSTALL_LIBDIR})
set(TAO_CLIENT_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR})
configure_package_config_file(
  ${CMAKE_CURRENT_LIST_DIR}/TaoClientConfig.cmake.in
  ${PROJECT_BINARY_DIR}/TaoClient/TaoClientConfig.cmake
  INSTALL_DESTINATION ${TAO_CLIENT_CMAKE_DIR}
  PATH_VARS TAO_CLIENT_LIBDIR TAO_CLIENT_INCLUDEDIR)
# 0.x: a minor version may change the API.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/TaoClient/TaoClientConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/TaoClient/TaoClientConfig.cmake
  ${PROJECT_BINARY_DIR}/TaoClient/TaoClientConfigVersion.cmake
  DESTINATION ${TAO_CLIENT_CMAKE_DIR}
  COMPONENT client)

# --- pkg-config: tao-client.pc and tao-client-shared-deps.pc ---
# tao-client-shared-deps.pc: Requires is derived from what tao and
# tao_client link, so the .pc cannot drift from the CMake targets: absl::x -> absl_x (the .pc names Debian's
# libabsl-dev ships), protobuf::libprotobuf -> protobuf, OpenSSL::Crypto ->
# libcrypto. Public Requires, not Requires.private: the installed headers
# include absl and protobuf headers, and the libraries are static.
# tao-client.pc names no package: the archive holds their objects.
set(TAO_PC_REQUIRES_LIST)
foreach(target tao tao_client)
  get_target_property(deps ${target} INTERFACE_LINK_LIBRARIES)
  if(NOT deps)
    continue()
  endif()
  foreach(dep IN LISTS deps)
    if(dep STREQUAL "tao" OR dep STREQUAL "tao_client")
      continue()
    elseif(dep MATCHES "^absl::(.+)$")
      list(APPEND TAO_PC_REQUIRES_LIST "absl_${CMAKE_MATCH_1}")
    elseif(dep STREQUAL "protobuf::libprotobuf")
      list(APPEND TAO_PC_REQUIRES_LIST "protobuf")
    elseif(dep STREQUAL "OpenSSL::Crypto")
      list(APPEND TAO_PC_REQUIRES_LIST "libcrypto >= 3.0")
    else()
      message(SEND_ERROR
        "cmake/TaoClientPackage.cmake: ${target} links '${dep}', which has no "
        "pkg-config name here; add it to the mapping so tao-client.pc stays complete")
    endif()
  endforeach()
endforeach()
list(REMOVE_DUPLICATES TAO_PC_REQUIRES_LIST)
list(JOIN TAO_PC_REQUIRES_LIST ", " TAO_PC_REQUIRES)

# A sanitized build's libraries need the sanitizer runtimes at link time
# (tao/CMakeLists.txt exports the same option to CMake consumers).
set(TAO_PC_EXTRA_LIBS "")
if(TAO_SANITIZE)
  set(TAO_PC_EXTRA_LIBS " -fsanitize=address,undefined")
endif()

# Paths relative to the .pc file, so `cmake --install --prefix P` (a prefix
# other than CMAKE_INSTALL_PREFIX) still yields a correct file.
set(TAO_PC_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  message(SEND_ERROR "tao-client.pc needs relative CMAKE_INSTALL_LIBDIR and "
                     "CMAKE_INSTALL_INCLUDEDIR")
endif()
file(RELATIVE_PATH TAO_PC_PREFIX_FROM_PCDIR /tao-prefix/${TAO_PC_DIR} /tao-prefix)
string(REGEX REPLACE "/$" "" TAO_PC_PREFIX_FROM_PCDIR "${TAO_PC_PREFIX_FROM_PCDIR}")
if(TAO_PC_PREFIX_FROM_PCDIR STREQUAL "")
  set(TAO_PC_PREFIX_FROM_PCDIR ".")
endif()
# tao-client.pc: the system libraries the archive's objects call, and -I
# for the Abseil and protobuf headers unless the compiler searches them
# anyway (/usr/include on Debian).
list(JOIN TAO_CLIENT_BUNDLE_SYSTEM_LIBS " " TAO_PC_BUNDLE_LIBS)
set(TAO_PC_BUNDLE_LIBS " ${TAO_PC_BUNDLE_LIBS}")
set(TAO_PC_BUNDLE_CFLAGS "")
get_target_property(_tao_pb_inc protobuf::libprotobuf INTERFACE_INCLUDE_DIRECTORIES)
get_target_property(_tao_absl_inc absl::config INTERFACE_INCLUDE_DIRECTORIES)
set(_tao_dep_includes ${_tao_pb_inc} ${_tao_absl_inc})
list(REMOVE_DUPLICATES _tao_dep_includes)
foreach(dir IN LISTS _tao_dep_includes)
  if(dir AND NOT dir IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES)
    string(APPEND TAO_PC_BUNDLE_CFLAGS " -I${dir}")
  endif()
endforeach()
set(TAO_PC_LIBDIR ${CMAKE_INSTALL_LIBDIR})
set(TAO_PC_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR})
foreach(pc tao-client tao-client-shared-deps)
  configure_file(${CMAKE_CURRENT_LIST_DIR}/${pc}.pc.in
                 ${PROJECT_BINARY_DIR}/TaoClient/${pc}.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/TaoClient/${pc}.pc
    DESTINATION ${TAO_PC_DIR}
    COMPONENT client)
endforeach()
