# cmake -DAR=ar -DRANLIB=ranlib -DINPUTS=list.txt -DOUTPUT=out.a -P tao_merge_archives.cmake
#
# Writes OUTPUT, a static archive holding every member of every archive
# named in INPUTS (one path a line), in that order, with ar's MRI script
# mode: members keep their names, and two inputs' members of the same name
# both stay (no extraction into one directory, where they would collide).
# cmake/TaoClientBundle.cmake runs it to make libtao-client.a.
foreach(var AR RANLIB INPUTS OUTPUT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "tao_merge_archives.cmake: -D${var}=... is required")
  endif()
endforeach()

file(STRINGS ${INPUTS} archives)
set(tmp ${OUTPUT}.tmp)
set(script "CREATE ${tmp}\n")
foreach(archive IN LISTS archives)
  # MRI takes a path as one word: no spaces, commas, parentheses or '+'.
  if(archive MATCHES "[ ,()+;]")
    message(FATAL_ERROR "tao_merge_archives.cmake: ar -M cannot name '${archive}'")
  endif()
  if(NOT EXISTS ${archive})
    message(FATAL_ERROR "tao_merge_archives.cmake: no archive ${archive}")
  endif()
  string(APPEND script "ADDLIB ${archive}\n")
endforeach()
string(APPEND script "SAVE\nEND\n")
file(WRITE ${OUTPUT}.mri "${script}")
file(REMOVE ${tmp})
execute_process(COMMAND ${AR} -M INPUT_FILE ${OUTPUT}.mri RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "tao_merge_archives.cmake: ${AR} -M failed (${rc})")
endif()
execute_process(COMMAND ${RANLIB} ${tmp} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "tao_merge_archives.cmake: ${RANLIB} failed (${rc})")
endif()
file(RENAME ${tmp} ${OUTPUT})
