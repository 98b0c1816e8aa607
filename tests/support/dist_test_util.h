// Helpers for tests that run under mpiexec: per-rank inputs every rank can recompute, and
// comparison of tensors with relative tolerances.
#pragma once

#include <mpi.h>
#include <torch/torch.h>

#include <gtest/gtest.h>

#include "support/grad_tolerance.h"

namespace satclip::testing {

inline int world_rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

inline int world_size() {
  int s = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &s);
  return s;
}

// Rows that rank r contributes in the unequal-size tests (0 for r == 1: an empty part).
inline int64_t uneven_rows(int r) { return r == 1 ? 0 : r + 2; }

// Unequal per-rank batches: rank r holds `base + r` rows, starting after the rows of lower ranks.
inline int64_t rows_of(int r, int64_t base) { return base + r; }
inline int64_t offset_of(int r, int64_t base) { return r * base + int64_t(r) * (r - 1) / 2; }

// A tensor that depends only on (r, rows, cols, dtype): every rank can rebuild any rank's input.
inline torch::Tensor rank_values(int r, int64_t rows, int64_t cols, torch::ScalarType dtype) {
  auto t = torch::arange(rows * cols, torch::kDouble).reshape({rows, cols});
  t = (t.remainder(7) + 1.0) * (r + 1);  // small integers: exact in bfloat16 sums
  return t.to(dtype);
}

}  // namespace satclip::testing
