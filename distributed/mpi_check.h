// MPI_CHECK and the mapping from torch dtypes to MPI datatypes.
#pragma once

#include <string>

#include <mpi.h>
#include <torch/torch.h>

#include "core/base/error.h"

namespace satclip::dist {

// Text of an MPI error code.
std::string mpi_error_string(int code);

// The MPI datatype that reduces `dtype` element-wise, or MPI_DATATYPE_NULL when MPI cannot
// (bfloat16 and float16 are reduced as float32 by the caller).
MPI_Datatype mpi_reduce_type(torch::ScalarType dtype);

}  // namespace satclip::dist

#define MPI_CHECK(call)                                                                     \
  do {                                                                                      \
    const int satclip_mpi_rc_ = (call);                                                     \
    if (satclip_mpi_rc_ != MPI_SUCCESS)                                                     \
      ::satclip::throw_error(__FILE__, __LINE__,                                            \
                             std::string(#call " failed: ") +                               \
                                 ::satclip::dist::mpi_error_string(satclip_mpi_rc_),        \
                             "check that every rank calls the same collectives in the same " \
                             "order with matching shapes");                                  \
  } while (0)
