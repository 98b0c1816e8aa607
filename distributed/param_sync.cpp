#include "distributed/param_sync.h"

#include <sstream>

#include "core/base/error.h"

namespace satclip::dist {
namespace {

std::vector<std::string> describe_all(const NamedTensors& tensors) {
  std::vector<std::string> lines;
  for (const auto& [name, t] : tensors) {
    std::ostringstream line;
    line << name << " " << t.sizes() << " " << t.dtype();
    lines.push_back(line.str());
  }
  return lines;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

}  // namespace

NamedTensors parameters_and_buffers(const torch::nn::Module& module) {
  NamedTensors out;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) out.emplace_back(item.key(), item.value());
  for (const auto& item : module.named_buffers(/*recurse=*/true)) out.emplace_back(item.key(), item.value());
  return out;
}

void check_same_parameters(const NamedTensors& tensors, Communicator& comm) {
  const auto mine = describe_all(tensors);
  std::string text;
  for (const auto& l : mine) text += l + "\n";
  std::vector<std::vector<std::string>> per_rank;
  for (const auto& theirs : all_gather_text(comm, text)) per_rank.push_back(split_lines(theirs));
  const auto& ref = per_rank[0];
  for (size_t r = 1; r < per_rank.size(); ++r) {
    const auto& other = per_rank[r];
    for (size_t i = 0; i < std::max(ref.size(), other.size()); ++i) {
      const std::string a = i < ref.size() ? ref[i] : "(nothing)";
      const std::string b = i < other.size() ? other[i] : "(nothing)";
      SATCLIP_CHECK(a == b,
                    cat("model differs between ranks at tensor #", i, ": rank 0 has '", a, "', rank ",
                        r, " has '", b, "'"),
                    "every rank must build the model from the same recipe and code version");
    }
  }
}

void broadcast_parameters(const NamedTensors& tensors, Communicator& comm, int root) {
  check_same_parameters(tensors, comm);
  torch::NoGradGuard no_grad;
  for (const auto& [name, t] : tensors) comm.broadcast(t.detach(), root);
}

}  // namespace satclip::dist
