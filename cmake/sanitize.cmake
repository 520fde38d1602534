# The ThreadSanitizer build (BYRON_SANITIZE=thread): the shipped binaries are
# compiled with -fsanitize=thread; the test drivers that start them are not
# (criterion's boxfort maps an inheritable arena where the TSan runtime cannot
# have it, so a criterion binary under TSan dies before its first test). The
# races that matter are in byron-sidecar and byron-operator, which every
# concurrency test runs as real processes.

# json-c is uninstrumented Debian code: our calls that change or print a
# json_object go through annotations TSan sees (lib/tsan/jsonc_annotations.c).
set(BYRON_JSONC_WRAPPED json_object_get json_object_put json_object_to_json_string
    json_object_to_json_string_ext json_object_to_json_string_length json_object_get_string
    json_object_object_add json_object_object_del json_object_array_add json_object_array_put_idx
    json_object_array_del_idx json_object_object_get_ex json_object_array_get_idx json_object_array_length)

# The project's static libraries EXE links, directly or through others.
function(byron_static_closure target out)
  set(seen ${${out}})
  get_target_property(libs ${target} LINK_LIBRARIES)
  foreach(lib ${libs})
    if(TARGET ${lib} AND NOT lib IN_LIST seen)
      get_target_property(imported ${lib} IMPORTED)
      get_target_property(type ${lib} TYPE)
      if(NOT imported AND type STREQUAL "STATIC_LIBRARY")
        list(APPEND seen ${lib})
        byron_static_closure(${lib} seen)
      endif()
    endif()
  endforeach()
  set(${out} ${seen} PARENT_SCOPE)
endfunction()

# byron_tsan_instrument(EXE): compiles the sources of every static library of
# ours that EXE links into EXE itself, instrumented (the archives' members are
# then never pulled in: every symbol is already defined), and links the json-c
# annotations with --wrap for each function above.
function(byron_tsan_instrument exe)
  set(libs "")
  byron_static_closure(${exe} libs)
  foreach(lib ${libs})
    get_target_property(srcs ${lib} SOURCES)
    get_target_property(dir ${lib} SOURCE_DIR)
    list(TRANSFORM srcs PREPEND ${dir}/)
    target_sources(${exe} PRIVATE ${srcs})
    target_include_directories(${exe} PRIVATE ${dir}/src ${dir}/include)
  endforeach()
  message(STATUS "ThreadSanitizer: ${exe} with ${libs}")
  target_sources(${exe} PRIVATE ${CMAKE_SOURCE_DIR}/lib/tsan/jsonc_annotations.c)
  target_compile_options(${exe} PRIVATE -fsanitize=thread -fno-omit-frame-pointer)
  target_link_options(${exe} PRIVATE -fsanitize=thread)
  foreach(fn ${BYRON_JSONC_WRAPPED})
    target_link_options(${exe} PRIVATE "LINKER:--wrap=${fn}")
  endforeach()
endfunction()
