# Test tiers are ctest labels: unit (no servers), integration (real nats-server,
# FerretDB, kube-apiserver started by the `testenv` fixture), e2e (a cluster).
if(BYRON_TESTS)
  enable_testing()
endif()

# byron_test(NAME LABEL unit|integration SOURCES ... [LIBS ...] [TIMEOUT s])
# Builds a criterion test binary. Integration tests require the testenv fixture
# and get BYRON_TESTENV pointing at its env file (KEY=VALUE lines).
function(byron_test name)
  if(NOT BYRON_TESTS)
    return()
  endif()
  cmake_parse_arguments(T "" "LABEL;TIMEOUT" "SOURCES;LIBS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} byron::criterion)
  add_test(NAME ${name} COMMAND ${name} --jobs 1)
  set_tests_properties(${name} PROPERTIES LABELS ${T_LABEL} TIMEOUT ${T_TIMEOUT})
  if(BYRON_SANITIZE)
    # criterion runs each test in a child process and ignores how the child
    # exits after reporting, so a leak found at exit would pass silently: the
    # sanitizers' own report is what fails the test.
    set_tests_properties(${name} PROPERTIES
      FAIL_REGULAR_EXPRESSION "ERROR: LeakSanitizer|ERROR: AddressSanitizer|runtime error:")
  endif()
  if(T_LABEL STREQUAL "integration")
    set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED testenv
      ENVIRONMENT "BYRON_TESTENV=${CMAKE_BINARY_DIR}/testenv/env;BYRON_SOURCE_DIR=${CMAKE_SOURCE_DIR};BYRON_BINARY_DIR=${CMAKE_BINARY_DIR}")
  endif()
endfunction()

if(BYRON_TESTS)
  # One set of servers for the whole integration tier, started once, always stopped.
  add_test(NAME testenv.start COMMAND ${CMAKE_SOURCE_DIR}/scripts/testenv start ${CMAKE_BINARY_DIR}/testenv)
  add_test(NAME testenv.stop COMMAND ${CMAKE_SOURCE_DIR}/scripts/testenv stop ${CMAKE_BINARY_DIR}/testenv)
  set_tests_properties(testenv.start PROPERTIES FIXTURES_SETUP testenv LABELS integration TIMEOUT 180)
  set_tests_properties(testenv.stop PROPERTIES FIXTURES_CLEANUP testenv LABELS integration)
endif()
