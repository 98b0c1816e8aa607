# Finds libtorch from the pip `torch` wheel and resolves SATCLIP_WITH_CUDA.
#
# The wheel ships TorchConfig.cmake under torch.utils.cmake_prefix_path. A CUDA wheel's config
# calls enable_language(CUDA) and stops when no CUDA toolkit is installed, so without a toolkit
# (or with SATCLIP_WITH_CUDA=OFF) we build an equivalent CPU-only imported target by hand from the
# same wheel instead. Both paths define the target `satclip::torch`.
include_guard(GLOBAL)
include(SatclipOptions)

set(SATCLIP_PYTHON "" CACHE FILEPATH "Python interpreter whose `torch` package provides libtorch")
if(NOT SATCLIP_PYTHON)
  if(EXISTS "${CMAKE_SOURCE_DIR}/.venv/bin/python")
    set(SATCLIP_PYTHON "${CMAKE_SOURCE_DIR}/.venv/bin/python" CACHE FILEPATH "" FORCE)
  else()
    find_program(SATCLIP_PYTHON_FOUND NAMES python3 python)
    set(SATCLIP_PYTHON "${SATCLIP_PYTHON_FOUND}" CACHE FILEPATH "" FORCE)
  endif()
endif()

execute_process(
  COMMAND "${SATCLIP_PYTHON}" -c
    "import torch, torch.utils; print(torch.utils.cmake_prefix_path); print(torch.__version__); print(int(torch._C._GLIBCXX_USE_CXX11_ABI)); print(torch.version.cuda or '')"
  OUTPUT_VARIABLE _torch_out ERROR_VARIABLE _torch_err RESULT_VARIABLE _torch_rc
  OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT _torch_rc EQUAL 0)
  message(FATAL_ERROR "Could not import torch with ${SATCLIP_PYTHON}:\n${_torch_err}\n"
                      "HINT: run scripts/setup.sh (it creates .venv with the pip torch wheel), or pass "
                      "-DSATCLIP_PYTHON=/path/to/python whose environment has torch.")
endif()
string(REPLACE "\n" ";" _torch_out "${_torch_out}")
list(GET _torch_out 0 SATCLIP_TORCH_PREFIX)
list(GET _torch_out 1 SATCLIP_TORCH_VERSION)
list(GET _torch_out 2 SATCLIP_TORCH_CXX11_ABI)
list(LENGTH _torch_out _n)
set(SATCLIP_TORCH_CUDA "")
if(_n GREATER 3)
  list(GET _torch_out 3 SATCLIP_TORCH_CUDA)
endif()
message(STATUS "satclip: torch ${SATCLIP_TORCH_VERSION} (CUDA '${SATCLIP_TORCH_CUDA}') from ${SATCLIP_PYTHON}")

# CUDA is usable when the wheel was built with it and a toolkit (nvcc, headers) is installed.
set(_cuda_ok FALSE)
string(TOUPPER "${SATCLIP_WITH_CUDA}" _want_cuda)
if(NOT _want_cuda MATCHES "^(OFF|FALSE|NO|0)$" AND SATCLIP_TORCH_CUDA)
  find_package(CUDAToolkit QUIET)
  # torch's CMake config refuses a toolkit whose major version differs from its own CUDA.
  string(REGEX MATCH "^[0-9]+" _torch_cuda_major "${SATCLIP_TORCH_CUDA}")
  if(CUDAToolkit_FOUND AND CUDAToolkit_VERSION_MAJOR STREQUAL _torch_cuda_major)
    set(_cuda_ok TRUE)
  elseif(CUDAToolkit_FOUND)
    message(STATUS "satclip: CUDA toolkit ${CUDAToolkit_VERSION} does not match torch's CUDA ${SATCLIP_TORCH_CUDA}")
  endif()
endif()
satclip_feature(CUDA ${_cuda_ok}
  "needs a CUDA build of torch (the default pip wheel) and the CUDA toolkit (nvcc, /usr/local/cuda)")

if(SATCLIP_HAVE_CUDA)
  # torch's config enables the CUDA language; point it at the toolkit found above, so a machine
  # whose PATH lacks /usr/local/cuda/bin configures as well.
  if(NOT CMAKE_CUDA_COMPILER AND CUDAToolkit_NVCC_EXECUTABLE)
    set(CMAKE_CUDA_COMPILER "${CUDAToolkit_NVCC_EXECUTABLE}" CACHE FILEPATH "CUDA compiler (from the toolkit found)")
  endif()
  list(APPEND CMAKE_PREFIX_PATH "${SATCLIP_TORCH_PREFIX}")
  # torch's config appends -gencode flags for its own list of GPUs to CMAKE_CUDA_FLAGS (without a
  # GPU: every arch of the wheel, some of which a newer nvcc rejects) and turns
  # CMAKE_CUDA_ARCHITECTURES off. Our one kernel (datasets/bands_kernel.cu) includes no torch
  # header: it is built for the cached CMAKE_CUDA_ARCHITECTURES (nvcc's default, e.g. 75, whose
  # PTX runs on newer GPUs too; scripts/gpu-check.sh passes the GPU's own).
  set(_satclip_cuda_flags "${CMAKE_CUDA_FLAGS}")
  find_package(Torch REQUIRED)
  set(CMAKE_CUDA_FLAGS "${_satclip_cuda_flags}")
  unset(CMAKE_CUDA_ARCHITECTURES)
  add_library(satclip_torch INTERFACE)
  target_link_libraries(satclip_torch INTERFACE ${TORCH_LIBRARIES} CUDA::cudart)
  target_compile_definitions(satclip_torch INTERFACE SATCLIP_HAVE_CUDA=1)
else()
  # CPU-only view of the same wheel: libtorch + libtorch_cpu + libc10 and their headers.
  get_filename_component(_torch_root "${SATCLIP_TORCH_PREFIX}/../.." ABSOLUTE)
  set(_lib "${_torch_root}/lib")
  add_library(satclip_torch INTERFACE)
  target_include_directories(satclip_torch SYSTEM INTERFACE
    "${_torch_root}/include" "${_torch_root}/include/torch/csrc/api/include")
  target_link_libraries(satclip_torch INTERFACE
    "${_lib}/libtorch.so" "${_lib}/libtorch_cpu.so" "${_lib}/libc10.so" Threads::Threads)
  target_compile_definitions(satclip_torch INTERFACE
    _GLIBCXX_USE_CXX11_ABI=${SATCLIP_TORCH_CXX11_ABI})
  target_link_options(satclip_torch INTERFACE "LINKER:-rpath,${_lib}")
endif()
add_library(satclip::torch ALIAS satclip_torch)

# torch ships fmt 12 headers in its include directory, which comes before /usr/include, so
# spdlog (built against the system fmt) would compile against the wrong fmt. GCC ignores -I for
# system directories, so we expose the system fmt/spdlog headers through a build-tree directory
# that each project target puts first.
find_path(SATCLIP_SYSTEM_FMT_DIR fmt/core.h PATHS /usr/include /usr/local/include NO_DEFAULT_PATH)
find_path(SATCLIP_SYSTEM_SPDLOG_DIR spdlog/spdlog.h PATHS /usr/include /usr/local/include NO_DEFAULT_PATH)
set(SATCLIP_SYSINC_DIR "${CMAKE_BINARY_DIR}/satclip-sysinc")
file(MAKE_DIRECTORY "${SATCLIP_SYSINC_DIR}")
if(SATCLIP_SYSTEM_FMT_DIR)
  file(CREATE_LINK "${SATCLIP_SYSTEM_FMT_DIR}/fmt" "${SATCLIP_SYSINC_DIR}/fmt" SYMBOLIC)
endif()
if(SATCLIP_SYSTEM_SPDLOG_DIR)
  file(CREATE_LINK "${SATCLIP_SYSTEM_SPDLOG_DIR}/spdlog" "${SATCLIP_SYSINC_DIR}/spdlog" SYMBOLIC)
endif()

# satclip_target(TARGET): the settings every project target gets (include-order fix, warnings).
function(satclip_target target)
  get_target_property(_type ${target} TYPE)
  if(_type STREQUAL "INTERFACE_LIBRARY")
    return()
  endif()
  target_include_directories(${target} BEFORE PRIVATE "${SATCLIP_SYSINC_DIR}")
  satclip_enable_warnings(${target})
endfunction()

# One precompiled header with the torch C++ API, compiled once and reused by every target that
# uses torch (satclip_use_torch_pch). Parsing <torch/torch.h> costs ~25 s of CPU per translation
# unit; loading the precompiled form costs ~1 s. The PCH is valid for a consumer because every
# project target is compiled with the same flags (no per-target PIC, same include order); GCC
# falls back to the plain header, slower but correct, if it ever is not.
option(SATCLIP_TORCH_PCH "Precompile the torch headers once for all targets" ON)
set(SATCLIP_PCH_SOURCE "${CMAKE_BINARY_DIR}/satclip_torch_pch.cpp")
# CONFIGURE writes only when the content changes: a rewrite would rebuild the header and everything.
file(CONFIGURE OUTPUT "${SATCLIP_PCH_SOURCE}" CONTENT "// The precompiled torch header's own translation unit.\n")
function(satclip_use_torch_pch target)
  if(NOT SATCLIP_TORCH_PCH)
    return()
  endif()
  if(NOT TARGET satclip_torch_pch)
    add_library(satclip_torch_pch STATIC "${SATCLIP_PCH_SOURCE}")
    target_link_libraries(satclip_torch_pch PUBLIC satclip::torch)
    target_precompile_headers(satclip_torch_pch PRIVATE <torch/torch.h>)
    satclip_target(satclip_torch_pch)
  endif()
  target_precompile_headers(${target} REUSE_FROM satclip_torch_pch)
endfunction()
