# The client library as one archive: libtao-client.a holds tao_client, tao
# and the static archives of everything they link (Abseil, protobuf,
# OpenSSL's libcrypto), so a hosted program links one library and loads no
# shared library of ours or of theirs. Included by channels/CMakeLists.txt
# once tao_client exists; docs/client-library.md says why (start-up time:
# bench/client_start).
#
# Defines:
#   tao_client_bundle    builds ${TAO_CLIENT_BUNDLE} (part of ALL).
#   tao_client_bundled   an INTERFACE target that links the archive the way
#                        an installed program does (bench/client_start).
#   TAO_CLIENT_BUNDLE    the archive's path in the build tree.
#   TAO_CLIENT_BUNDLE_SYSTEM_LIBS  (variable, and the global property of that
#                        name for cmake/TaoClientPackage.cmake) what a
#                        program links besides the archive (the system's own
#                        libraries: -pthread, libatomic, -ldl), for the
#                        installed CMake target and tao-client.pc.
#
# Why static archives and not one shared object with the dependencies
# inside: Debian builds its libabsl_*.a, libprotobuf.a and libcrypto.a
# without -fPIC, so they cannot go into a shared object.

# Every target that tao and tao_client link, transitively, in link order;
# the flags that are not targets go to `flags_var`.
function(_tao_bundle_walk target targets_var flags_var)
  set(targets ${${targets_var}})
  set(flags ${${flags_var}})
  get_target_property(deps ${target} INTERFACE_LINK_LIBRARIES)
  if(NOT deps)
    set(deps)
  endif()
  get_target_property(type ${target} TYPE)
  if(NOT type STREQUAL "INTERFACE_LIBRARY")
    get_target_property(more ${target} LINK_LIBRARIES)
    if(more)
      list(APPEND deps ${more})
    endif()
  endif()
  foreach(dep IN LISTS deps)
    if(dep MATCHES "^\\$<LINK_ONLY:([^>]+)>$")
      set(dep ${CMAKE_MATCH_1})
    endif()
    if(dep MATCHES "^\\$<")
      # Abseil's $<$<PLATFORM_ID:Darwin>:...>: empty on Linux.
      continue()
    elseif(TARGET ${dep})
      if(NOT dep IN_LIST targets)
        list(APPEND targets ${dep})
        _tao_bundle_walk(${dep} targets flags)
      endif()
    else()
      list(APPEND flags ${dep})
    endif()
  endforeach()
  set(${targets_var} ${targets} PARENT_SCOPE)
  set(${flags_var} ${flags} PARENT_SCOPE)
endfunction()

set(_tao_bundle_targets)
set(_tao_bundle_flags)
_tao_bundle_walk(tao_client _tao_bundle_targets _tao_bundle_flags)

# The static archive next to each imported shared library: Debian's
# libabsl-dev, libprotobuf-dev and libssl-dev ship both.
set(_tao_bundle_archives)
set(TAO_CLIENT_BUNDLE_SYSTEM_LIBS)
foreach(dep IN LISTS _tao_bundle_targets)
  get_target_property(imported ${dep} IMPORTED)
  get_target_property(type ${dep} TYPE)
  if(NOT imported)
    if(NOT dep STREQUAL "tao")
      message(FATAL_ERROR "cmake/TaoClientBundle.cmake: tao_client links the "
                          "project target '${dep}'; bundle it too")
    endif()
    continue()  # tao: added by name below
  endif()
  if(dep STREQUAL "Threads::Threads")
    list(APPEND TAO_CLIENT_BUNDLE_SYSTEM_LIBS -pthread)
    continue()
  endif()
  if(type STREQUAL "INTERFACE_LIBRARY")
    continue()  # header-only Abseil parts
  endif()
  set(location)
  foreach(prop IMPORTED_LOCATION IMPORTED_LOCATION_NONE
               IMPORTED_LOCATION_RELEASE IMPORTED_LOCATION_RELWITHDEBINFO)
    get_target_property(location ${dep} ${prop})
    if(location)
      break()
    endif()
  endforeach()
  if(NOT location)
    message(FATAL_ERROR "cmake/TaoClientBundle.cmake: no library file for ${dep}")
  endif()
  get_filename_component(dir ${location} DIRECTORY)
  get_filename_component(name ${location} NAME)
  string(REGEX REPLACE "\\.so(\\.[0-9.]+)?$|\\.a$" "" stem ${name})
  set(archive ${dir}/${stem}.a)
  if(NOT EXISTS ${archive})
    message(FATAL_ERROR "cmake/TaoClientBundle.cmake: ${dep} is ${location}, "
                        "but there is no ${archive} to bundle (Debian's -dev "
                        "packages of Abseil, protobuf and OpenSSL ship one)")
  endif()
  list(APPEND _tao_bundle_archives ${archive})
endforeach()
list(REMOVE_DUPLICATES _tao_bundle_archives)
# Abseil's "-Wl,--push-state,--as-needed;-latomic;-Wl,--pop-state" once:
# REMOVE_DUPLICATES keeps the first of each, in order.
list(APPEND TAO_CLIENT_BUNDLE_SYSTEM_LIBS ${_tao_bundle_flags})
list(REMOVE_DUPLICATES TAO_CLIENT_BUNDLE_SYSTEM_LIBS)
# libcrypto.a calls dlopen (engines, providers): in libc since glibc 2.34,
# but -ldl keeps older toolchains linking.
list(APPEND TAO_CLIENT_BUNDLE_SYSTEM_LIBS -ldl)
set_property(GLOBAL PROPERTY TAO_CLIENT_BUNDLE_SYSTEM_LIBS
             ${TAO_CLIENT_BUNDLE_SYSTEM_LIBS})

set(TAO_CLIENT_BUNDLE ${PROJECT_BINARY_DIR}/channels/libtao-client.a)
set(_tao_bundle_inputs ${PROJECT_BINARY_DIR}/channels/tao-client-bundle-inputs.txt)
# One archive per line; the project's own come first.
list(JOIN _tao_bundle_archives "\n" _tao_bundle_archive_lines)
file(GENERATE OUTPUT ${_tao_bundle_inputs} CONTENT
  "$<TARGET_FILE:tao_client>\n$<TARGET_FILE:tao>\n${_tao_bundle_archive_lines}\n")
add_custom_command(
  OUTPUT ${TAO_CLIENT_BUNDLE}
  COMMAND ${CMAKE_COMMAND} -DAR=${CMAKE_AR} -DRANLIB=${CMAKE_RANLIB}
          -DINPUTS=${_tao_bundle_inputs} -DOUTPUT=${TAO_CLIENT_BUNDLE}
          -P ${PROJECT_SOURCE_DIR}/cmake/tao_merge_archives.cmake
  DEPENDS tao_client tao ${_tao_bundle_archives} ${_tao_bundle_inputs}
          ${PROJECT_SOURCE_DIR}/cmake/tao_merge_archives.cmake
  COMMENT "libtao-client.a: tao_client, tao and their static dependencies"
  VERBATIM)
add_custom_target(tao_client_bundle ALL DEPENDS ${TAO_CLIENT_BUNDLE})

# In the tree, the bundle linked as an installed program links it.
add_library(tao_client_bundled INTERFACE)
add_dependencies(tao_client_bundled tao_client_bundle)
target_include_directories(tao_client_bundled INTERFACE
  $<TARGET_PROPERTY:tao,INTERFACE_INCLUDE_DIRECTORIES>)
target_link_libraries(tao_client_bundled INTERFACE
  ${TAO_CLIENT_BUNDLE} ${TAO_CLIENT_BUNDLE_SYSTEM_LIBS})
