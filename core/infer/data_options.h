// The recipe's data section as the loader's and the transforms' options, for training and for
// inference alike (satclip-embed, satclip-eval's tile encoding).
#pragma once

#include <cstdint>

#include "core/recipe/recipe.h"
#include "datasets/loader.h"
#include "datasets/transforms.h"

namespace satclip::core {

data::TransformOptions transform_options(const DataConfig& data);
// data.workers: auto: the CPUs this rank may count on (Runtime::cpus.share: its affinity mask,
// shared with the node's ranks that may run on the same CPUs), one left to the rank's own
// thread: max(1, min(16, rank_cpus - 1)).
int auto_workers(int rank_cpus);
// data.prefetch: auto: workers + 2. The loader builds at most `prefetch` batches ahead of the step,
// so with fewer slots than threads the extra threads idle; two more let every thread build while
// two finished batches wait for the step.
int auto_prefetch(int workers);
// `rank_cpus` (Runtime::cpus.share) resolves data.workers and data.prefetch: auto; a single-process
// tool (satclip-embed, satclip-eval) leaves it out and gets the CPUs of its own affinity mask.
data::LoaderOptions loader_options(const DataConfig& data, int64_t batch_size, bool pin_memory, int rank_cpus = -1);

}  // namespace satclip::core
