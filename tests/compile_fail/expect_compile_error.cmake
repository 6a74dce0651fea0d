# Runs the compiler on SOURCE with -D${CASE} and checks the outcome:
# CONTROL must compile; any other case must fail with an error that matches
# EXPECT. Arguments (-D): COMPILER, SOURCE, CASE, EXPECT, FLAGS (a ;-list).
execute_process(
  COMMAND ${COMPILER} ${FLAGS} -D${CASE} -fsyntax-only ${SOURCE}
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err)
if(CASE STREQUAL "CONTROL")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "the control case does not compile:\n${err}")
  endif()
  message(STATUS "CONTROL compiles")
  return()
endif()
if(rc EQUAL 0)
  message(FATAL_ERROR "${CASE} compiled: a Decision was forged from outside "
                      "seal_policy/ and tao_domain/")
endif()
if(NOT err MATCHES "${EXPECT}")
  message(FATAL_ERROR "${CASE} failed, but not with '${EXPECT}':\n${err}")
endif()
string(REGEX MATCH "error: [^\n]*" first "${err}")
message(STATUS "${CASE} is refused: ${first}")
