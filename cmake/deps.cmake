# Every third-party library comes through pkg-config, as an imported target
# byron::<name>. A missing one stops configuration with the Debian package that
# provides it, which is what a newcomer needs to read.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

function(byron_dep target module debian)
  pkg_check_modules(${target} QUIET IMPORTED_TARGET ${module})
  if(NOT ${target}_FOUND)
    message(FATAL_ERROR "Byron needs ${module} (pkg-config). On Debian: apt-get install ${debian}"
                        " — or run scripts/bootstrap, which installs everything.")
  endif()
  add_library(byron::${target} ALIAS PkgConfig::${target})
  message(STATUS "Found ${module} ${${target}_VERSION}")
endfunction()

byron_dep(curl libcurl libcurl4-openssl-dev)
byron_dep(lws libwebsockets libwebsockets-dev)
byron_dep(mongoc libmongoc-1.0 libmongoc-dev)
byron_dep(nats libnats libnats-dev)
byron_dep(yaml yaml-0.1 libyaml-dev)
byron_dep(jsonc json-c libjson-c-dev)
# JWT verification (sidecar/src/core/token.c): cjose for JWK and RS256/ES256,
# OpenSSL's libcrypto for EdDSA, which Debian 12's cjose 0.6.2 lacks.
# cjose's pkg-config file also links jansson, which exports json_object_get and
# other names json-c has: on the link line before json-c it would take our
# json-c calls (versioned symbols then bind them to jansson for good). So link
# cjose alone; it brings jansson in at run time for its own calls.
find_path(BYRON_CJOSE_INCLUDE cjose/cjose.h)
find_library(BYRON_CJOSE_LIB cjose)
if(NOT BYRON_CJOSE_INCLUDE OR NOT BYRON_CJOSE_LIB)
  message(FATAL_ERROR "Byron needs cjose. On Debian: apt-get install libcjose-dev"
                      " — or run scripts/bootstrap, which installs everything.")
endif()
add_library(byron::cjose UNKNOWN IMPORTED)
set_target_properties(byron::cjose PROPERTIES IMPORTED_LOCATION ${BYRON_CJOSE_LIB}
  INTERFACE_INCLUDE_DIRECTORIES ${BYRON_CJOSE_INCLUDE})
# libcrypto also signs NATS credentials (ed25519, operator/src/nkeys.c).
byron_dep(crypto libcrypto libssl-dev)
if(BYRON_TESTS)
  byron_dep(criterion criterion libcriterion-dev)
endif()
