# Sanitizer and fuzzing builds (a separate build directory each):
#   -DSATCLIP_SANITIZE=address,undefined   ASan + UBSan on every target (the CI sanitizer step)
#   -DSATCLIP_SANITIZE=thread              TSan (scripts/tsan.sh)
#   -DSATCLIP_FUZZ=ON                      clang's libFuzzer targets in tests/fuzz (scripts/fuzz.sh);
#                                          every target gets coverage instrumentation
include_guard(GLOBAL)
set(SATCLIP_SANITIZE "" CACHE STRING "Sanitizers for every target: address,undefined | thread | empty")
option(SATCLIP_FUZZ "Build the libFuzzer targets in tests/fuzz (clang only)" OFF)

if(SATCLIP_SANITIZE)
  # C and C++ only: nvcc (datasets/bands_kernel.cu, in a CUDA build) takes no -fsanitize.
  add_compile_options("$<$<COMPILE_LANGUAGE:C,CXX>:-fsanitize=${SATCLIP_SANITIZE};-fno-omit-frame-pointer>"
                      "$<$<COMPILE_LANGUAGE:C,CXX>:-fno-sanitize-recover=undefined>")
  add_link_options(-fsanitize=${SATCLIP_SANITIZE})
endif()
if(SATCLIP_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "SATCLIP_FUZZ=ON needs clang (CXX=clang++): libFuzzer is part of clang; scripts/fuzz.sh sets it up")
  endif()
  add_compile_options($<$<COMPILE_LANGUAGE:C,CXX>:-fsanitize=fuzzer-no-link>)
endif()
