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

# byron_tsan_instrument(EXE LIBS lib...): compiles the sources of the static
# libraries EXE links into EXE itself, instrumented (the archives' members are
# then never pulled in: every symbol is already defined), and links the json-c
# annotations with --wrap for each function above.
function(byron_tsan_instrument exe)
  cmake_parse_arguments(T "" "" "LIBS" ${ARGN})
  foreach(lib ${T_LIBS})
    get_target_property(srcs ${lib} SOURCES)
    get_target_property(dir ${lib} SOURCE_DIR)
    list(TRANSFORM srcs PREPEND ${dir}/)
    target_sources(${exe} PRIVATE ${srcs})
    target_include_directories(${exe} PRIVATE ${dir}/src ${dir}/include)
  endforeach()
  target_sources(${exe} PRIVATE ${CMAKE_SOURCE_DIR}/lib/tsan/jsonc_annotations.c)
  target_compile_options(${exe} PRIVATE -fsanitize=thread -fno-omit-frame-pointer)
  target_link_options(${exe} PRIVATE -fsanitize=thread)
  foreach(fn ${BYRON_JSONC_WRAPPED})
    target_link_options(${exe} PRIVATE "LINKER:--wrap=${fn}")
  endforeach()
endfunction()
