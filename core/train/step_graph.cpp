#include "core/train/step_graph.h"

#include "core/base/error.h"
#include "distributed/local_communicator.h"

#if SATCLIP_HAVE_CUDA
#include <ATen/Context.h>
#include <ATen/ops/_foreach_add.h>
#include <ATen/ops/_foreach_copy.h>
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace satclip::core {
namespace {

std::string describe(const torch::Tensor& t) {
  if (!t.defined()) return "none";
  std::string dims;
  for (int64_t d : t.sizes()) dims += (dims.empty() ? "" : "x") + std::to_string(d);
  return cat(c10::toString(t.scalar_type()), " [", dims, "]");
}

bool same_kind(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.defined() != b.defined()) return false;
  return !a.defined() || (a.sizes() == b.sizes() && a.scalar_type() == b.scalar_type() && a.device() == b.device());
}

#if SATCLIP_HAVE_CUDA
torch::Tensor generator_state(at::Generator& g) {
  std::lock_guard<std::mutex> lock(g.mutex());
  return g.get_state();
}

void set_generator_state(at::Generator& g, const torch::Tensor& state) {
  std::lock_guard<std::mutex> lock(g.mutex());
  g.set_state(state);
}
#endif

}  // namespace

struct StepGraph::Impl {
  SatClip model{nullptr};
  std::vector<ParamGroup> groups;
  StepCompute how;
  dist::LocalCommunicator local;  // one rank: the gather is the identity
  StepInputs inputs;              // the graph's static inputs
  std::vector<torch::Tensor> params, grads;  // grads: the graph's own (static) gradient tensors
  std::vector<torch::Tensor> sums;           // GradMode kFirst / kAdd: the step's gradients, owned here
  torch::Tensor objective, sq;
  bool captured = false;
#if SATCLIP_HAVE_CUDA
  std::unique_ptr<at::cuda::CUDAGraph> graph;  // made at the capture (its constructor needs a GPU)

  void set_grads_to_none() {
    for (auto& p : params) p.mutable_grad() = torch::Tensor();
  }

  // The parameters' gradients after a replay, as `mode` says; `prior`: their gradients before it
  // (kAdd). One multi-tensor copy and one multi-tensor add, whatever the number of parameters.
  void hand_over(GradMode mode, const std::vector<torch::Tensor>& prior) {
    if (mode == GradMode::kOnly) {
      for (size_t i = 0; i < params.size(); ++i) params[i].mutable_grad() = grads[i];
      return;
    }
    sums.resize(grads.size());
    std::vector<torch::Tensor> copy_to, copy_from, add_to, add_from;
    for (size_t i = 0; i < params.size(); ++i) {
      const auto& g = grads[i];
      const auto before = mode == GradMode::kAdd ? prior[i] : torch::Tensor();
      if (!g.defined()) {  // no gradient from this micro-batch: the parameter keeps what it had
        params[i].mutable_grad() = before;
      } else if (before.defined()) {
        add_to.push_back(before);
        add_from.push_back(g);
        params[i].mutable_grad() = before;
      } else {
        if (!sums[i].defined()) sums[i] = torch::empty_like(g, torch::MemoryFormat::Preserve);
        copy_to.push_back(sums[i]);
        copy_from.push_back(g);
        params[i].mutable_grad() = sums[i];
      }
    }
    torch::NoGradGuard no_grad;
    if (!copy_to.empty()) at::_foreach_copy_(copy_to, copy_from);
    if (!add_to.empty()) at::_foreach_add_(add_to, add_from);
  }

  std::pair<torch::Tensor, torch::Tensor> compute() {
    set_grads_to_none();
    auto obj = forward_backward(model, inputs, local, how);
    return {obj, grad_sq_norm(groups)};
  }

  void capture(const StepInputs& in) {
    inputs = {in.images.defined() ? in.images.clone() : in.images,
              in.features.defined() ? in.features.clone() : in.features, in.lat_lon.clone()};
    std::vector<torch::Tensor> buffers, saved;
    for (auto& b : model->buffers()) {
      buffers.push_back(b);
      saved.push_back(b.clone());
    }
    const auto main = c10::cuda::getCurrentCUDAStream();
    auto side = c10::cuda::getStreamFromPool();
    at::cuda::CUDAEvent ready;
    ready.record(main);
    ready.block(side);
    how.autocast_cache = false;  // autocast's weight cache cannot live across captures
    // The warm-up's random draws (dropout) are undone too: the first replay then draws what an
    // eager step would have, so a run that captures at another step (a resumed one) draws the
    // same numbers at every step as one that never stopped.
    auto generator = at::globalContext().defaultGenerator(inputs.lat_lon.device());
    const auto rng = generator_state(generator);
    bool capturing = false;
    try {
      c10::cuda::CUDAStreamGuard on_side(side);
      for (int i = 0; i < 3; ++i) compute();  // cuDNN/cuBLAS pick and allocate their workspaces
      set_generator_state(generator, rng);
      set_grads_to_none();
      graph = std::make_unique<at::cuda::CUDAGraph>();
      // Thread-local capture: the loader's threads may allocate pinned memory meanwhile.
      graph->capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
      capturing = true;
      std::tie(objective, sq) = compute();
      capturing = false;
      graph->capture_end();
    } catch (const std::exception& e) {
      if (capturing) {
        try {
          graph->capture_end();
        } catch (...) {
        }
      }
      graph.reset();  // the unique_ptr: destroys the partial graph
      set_generator_state(generator, rng);
      set_grads_to_none();
      torch::NoGradGuard no_grad;
      for (size_t i = 0; i < buffers.size(); ++i) buffers[i].copy_(saved[i]);
      SATCLIP_FAIL(cat("train.cuda_graphs: capturing the step failed: ", e.what()),
                   "set train.cuda_graphs: false (the eager step computes the same)");
    }
    at::cuda::CUDAEvent done;
    done.record(side);
    done.block(main);
    {
      torch::NoGradGuard no_grad;  // the warm-up's BatchNorm updates are undone
      for (size_t i = 0; i < buffers.size(); ++i) buffers[i].copy_(saved[i]);
    }
    grads.clear();
    for (auto& p : params) grads.push_back(p.grad());
    captured = true;
  }
#endif
};

StepGraph::StepGraph(SatClip model, std::vector<ParamGroup> groups, StepCompute how) : impl_(std::make_unique<Impl>()) {
  SATCLIP_CHECK(compiled(), "train.cuda_graphs: this build has no CUDA",
                "build with -DSATCLIP_WITH_CUDA=ON, or set train.cuda_graphs: false");
  SATCLIP_CHECK(!how.timer && !how.check, "StepGraph: no timer or check inside a graph", "");
  impl_->model = std::move(model);
  impl_->groups = std::move(groups);
  impl_->how = std::move(how);
  for (const auto& g : impl_->groups) {
    for (const auto& p : g.params) impl_->params.push_back(p);
  }
}

StepGraph::~StepGraph() = default;

bool StepGraph::compiled() {
#if SATCLIP_HAVE_CUDA
  return true;
#else
  return false;
#endif
}

bool StepGraph::captured() const { return impl_->captured; }

torch::Tensor StepGraph::static_images() const { return impl_->captured ? impl_->inputs.images : torch::Tensor(); }

std::string StepGraph::mismatch(const StepInputs& in) const {
  const auto& ref = impl_->inputs;
  const auto* t = in.images.defined() ? &in.images : &in.features;
  if (!t->defined() || !t->is_cuda()) return "the inputs are not on a CUDA device";
  if (!impl_->captured) return "";
  if (!same_kind(in.images, ref.images) || !same_kind(in.features, ref.features) ||
      !same_kind(in.lat_lon, ref.lat_lon)) {
    const bool images = ref.images.defined();
    return cat(images ? "images " : "features ", describe(images ? in.images : in.features), " differ from the captured ",
               describe(images ? ref.images : ref.features));
  }
  return "";
}

std::pair<torch::Tensor, torch::Tensor> StepGraph::run(const StepInputs& in, GradMode mode) {
#if SATCLIP_HAVE_CUDA
  auto& m = *impl_;
  const auto why = mismatch(in);
  SATCLIP_CHECK(why.empty(), cat("StepGraph::run: ", why), "check mismatch() first");
  std::vector<torch::Tensor> prior;  // kAdd: the step's gradients so far (a capture clears them)
  if (mode == GradMode::kAdd) {
    for (const auto& p : m.params) prior.push_back(p.grad());
  }
  if (!m.captured) {
    try {
      m.capture(in);
    } catch (...) {
      for (size_t i = 0; i < prior.size(); ++i) m.params[i].mutable_grad() = prior[i];
      throw;
    }
  } else {
    if (in.images.defined() && !in.images.is_same(m.inputs.images)) m.inputs.images.copy_(in.images, true);
    if (in.features.defined()) m.inputs.features.copy_(in.features, /*non_blocking=*/true);
    m.inputs.lat_lon.copy_(in.lat_lon, /*non_blocking=*/true);
  }
  m.graph->replay();
  m.hand_over(mode, prior);  // the optimizer reads the parameters' gradients
  return {m.objective, mode == GradMode::kOnly ? m.sq : torch::Tensor()};
#else
  (void)in;
  (void)mode;
  SATCLIP_FAIL("train.cuda_graphs: this build has no CUDA", "set train.cuda_graphs: false");
#endif
}

}  // namespace satclip::core
