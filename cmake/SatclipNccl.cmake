# Resolves SATCLIP_WITH_NCCL. NCCL needs CUDA; its code lives in distributed/nccl_communicator.cpp.
include_guard(GLOBAL)
include(SatclipOptions)

set(_nccl_ok FALSE)
if(SATCLIP_HAVE_CUDA)
  string(TOUPPER "${SATCLIP_WITH_NCCL}" _want_nccl)
  if(NOT _want_nccl MATCHES "^(OFF|FALSE|NO|0)$")
    find_package(NCCL)
    set(_nccl_ok ${NCCL_FOUND})
  endif()
endif()
satclip_feature(NCCL ${_nccl_ok}
  "needs CUDA support and NCCL (the pip nvidia-nccl wheel that comes with torch, or /usr/local/cuda, or NCCL_ROOT)")
if(SATCLIP_HAVE_NCCL)
  message(STATUS "satclip: NCCL ${NCCL_VERSION}: ${NCCL_LIBRARY}")
endif()
