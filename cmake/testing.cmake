# Test tiers are ctest labels: unit (no servers), integration (real nats-server,
# FerretDB, kube-apiserver started by the `testenv` fixture), e2e (a cluster),
# and concurrency (the integration tier's concurrency and stress tests: what
# the ThreadSanitizer tier runs, docs/testing.md).
if(BYRON_TESTS)
  enable_testing()
  # The tests run Python (wrappers, the reference and example apps, docs
  # checks) and Node (the real GraphQL clients, the Node reference app): a
  # machine without them fails here, rather than with tests that silently
  # are not there. scripts/bootstrap test installs both; -DBYRON_TESTS=OFF
  # builds without tests.
  find_program(BYRON_PYTHON3 python3)
  find_program(BYRON_NODE node)
  foreach(tool BYRON_PYTHON3 BYRON_NODE)
    if(NOT ${tool})
      message(FATAL_ERROR "${tool}: the tests need python3 and node (Node.js 20+) on PATH; "
                          "run scripts/bootstrap test, or configure with -DBYRON_TESTS=OFF")
    endif()
  endforeach()
endif()

# What every test of a sanitizer build gets: the sanitizer's options (spawned
# sidecars and operators inherit them) and the report lines that fail a test.
# criterion runs each test in a child process and ignores how the child exits
# after reporting, so a report found at exit would pass silently: the
# sanitizers' own report is what fails the test.
set(BYRON_TEST_SANITIZER_ENV "")
set(BYRON_TEST_SANITIZER_FAIL "")
if(BYRON_SANITIZER STREQUAL "thread")
  # halt_on_error=0: a run shows every race, not only the first; exitcode=66
  # (the default) still makes any process that reported one exit non-zero.
  set(BYRON_TEST_SANITIZER_ENV
      "TSAN_OPTIONS=suppressions=${CMAKE_SOURCE_DIR}/cmake/tsan.supp:halt_on_error=0:second_deadlock_stack=1:history_size=4")
  set(BYRON_TEST_SANITIZER_FAIL "WARNING: ThreadSanitizer|ERROR: ThreadSanitizer")
elseif(BYRON_SANITIZER STREQUAL "address")
  set(BYRON_TEST_SANITIZER_FAIL "ERROR: LeakSanitizer|ERROR: AddressSanitizer|runtime error:")
endif()

function(byron_test_properties name label timeout)
  set_tests_properties(${name} PROPERTIES LABELS "${label}" TIMEOUT ${timeout})
  set(env ${BYRON_TEST_SANITIZER_ENV})
  if("integration" IN_LIST label OR "concurrency" IN_LIST label)
    set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED testenv)
    list(APPEND env "BYRON_TESTENV=${CMAKE_BINARY_DIR}/testenv/env" "BYRON_SOURCE_DIR=${CMAKE_SOURCE_DIR}"
         "BYRON_BINARY_DIR=${CMAKE_BINARY_DIR}")
  endif()
  if(env)
    set_tests_properties(${name} PROPERTIES ENVIRONMENT "${env}")
  endif()
  if(BYRON_TEST_SANITIZER_FAIL)
    set_tests_properties(${name} PROPERTIES FAIL_REGULAR_EXPRESSION "${BYRON_TEST_SANITIZER_FAIL}")
  endif()
endfunction()

# byron_test(NAME LABEL unit|integration|"integration;concurrency" SOURCES ... [LIBS ...] [TIMEOUT s])
# Builds a criterion test binary. Integration tests require the testenv fixture
# and get BYRON_TESTENV pointing at its env file (KEY=VALUE lines).
function(byron_test name)
  if(NOT BYRON_TESTS)
    return()
  endif()
  cmake_parse_arguments(T "" "TIMEOUT" "LABEL;SOURCES;LIBS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} byron::criterion)
  add_test(NAME ${name} COMMAND ${name} --jobs 1)
  byron_test_properties(${name} "${T_LABEL}" ${T_TIMEOUT})
endfunction()

# byron_concurrency_test(NAME TARGET exe FILTER criterion-pattern [TIMEOUT s])
# Runs the tests of an integration binary that FILTER selects (criterion's
# --filter, "suite/test*") as their own ctest with the label `concurrency`:
# the integration tier runs the whole binary, the ThreadSanitizer tier only
# these.
function(byron_concurrency_test name)
  if(NOT BYRON_TESTS)
    return()
  endif()
  cmake_parse_arguments(T "" "TARGET;FILTER;TIMEOUT" "" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 600)
  endif()
  add_test(NAME ${name} COMMAND ${T_TARGET} --jobs 1 --filter ${T_FILTER})
  byron_test_properties(${name} concurrency ${T_TIMEOUT})
endfunction()

if(BYRON_TESTS)
  # One set of servers for the whole integration tier, started once, always stopped.
  add_test(NAME testenv.start COMMAND ${CMAKE_SOURCE_DIR}/scripts/testenv start ${CMAKE_BINARY_DIR}/testenv)
  add_test(NAME testenv.stop COMMAND ${CMAKE_SOURCE_DIR}/scripts/testenv stop ${CMAKE_BINARY_DIR}/testenv)
  set_tests_properties(testenv.start PROPERTIES FIXTURES_SETUP testenv LABELS "integration;concurrency" TIMEOUT 180)
  set_tests_properties(testenv.stop PROPERTIES FIXTURES_CLEANUP testenv LABELS "integration;concurrency")
endif()
