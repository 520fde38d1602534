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
if(BYRON_TESTS)
  byron_dep(criterion criterion libcriterion-dev)
endif()
