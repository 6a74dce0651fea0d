# The installed client library: the TaoClient CMake package and the
# tao-client pkg-config file. Included at the end of the top-level
# CMakeLists.txt, after tao/ and channels/ have declared their install rules
# (targets tao and tao_client in the export set TaoClientTargets, component
# "client"). Nothing of the host (channels, program_factory, tao_domain,
# seal_policy) is installed. docs/client-library.md describes the result.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(TAO_CLIENT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/TaoClient)

# --- CMake package: find_package(TaoClient CONFIG) -> Tao::tao_client ---
install(EXPORT TaoClientTargets
  NAMESPACE Tao::
  FILE TaoClientTargets.cmake
  DESTINATION ${TAO_CLIENT_CMAKE_DIR}
  COMPONENT client)

configure_package_config_file(
  ${CMAKE_CURRENT_LIST_DIR}/TaoClientConfig.cmake.in
  ${PROJECT_BINARY_DIR}/TaoClient/TaoClientConfig.cmake
  INSTALL_DESTINATION ${TAO_CLIENT_CMAKE_DIR})
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

# --- pkg-config: tao-client.pc ---
# Requires is derived from what tao and tao_client link, so the .pc cannot
# drift from the CMake targets: absl::x -> absl_x (the .pc names Debian's
# libabsl-dev ships), protobuf::libprotobuf -> protobuf, OpenSSL::Crypto ->
# libcrypto. Public Requires, not Requires.private: the installed headers
# include absl and protobuf headers, and the libraries are static.
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
set(TAO_PC_LIBDIR ${CMAKE_INSTALL_LIBDIR})
set(TAO_PC_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR})
configure_file(${CMAKE_CURRENT_LIST_DIR}/tao-client.pc.in
               ${PROJECT_BINARY_DIR}/TaoClient/tao-client.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/TaoClient/tao-client.pc
  DESTINATION ${TAO_PC_DIR}
  COMPONENT client)
