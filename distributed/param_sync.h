// Start-of-run parameter agreement across ranks.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "distributed/communicator.h"

namespace satclip::dist {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// The module's parameters and buffers, with their full dotted names, parameters first.
NamedTensors parameters_and_buffers(const torch::nn::Module& module);

// Throws on every rank, naming the first difference, unless all ranks hold the same names in the
// same order with the same shapes and dtypes. Collective.
void check_same_parameters(const NamedTensors& tensors, Communicator& comm);

// Overwrites every tensor with rank `root`'s values (checks agreement first). Collective.
void broadcast_parameters(const NamedTensors& tensors, Communicator& comm, int root = 0);

}  // namespace satclip::dist
