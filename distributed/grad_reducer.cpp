#include "distributed/grad_reducer.h"

#include <exception>

#include <torch/csrc/autograd/utils/lambda_post_hook.h>

#include "core/base/error.h"

namespace satclip::dist {

GradReducer::GradReducer(const NamedTensors& params, Communicator& comm, GradReducerOptions options)
    : comm_(comm.clone()), options_(options) {
  SATCLIP_CHECK(options_.first_bucket_bytes > 0 && options_.bucket_bytes > 0,
                "GradReducer bucket sizes must be positive", "set bucket sizes of at least 1 byte");
  for (const auto& [name, p] : params) {
    if (!p.requires_grad()) continue;  // frozen parameters take no part
    SATCLIP_CHECK(p.is_leaf(), cat("parameter '", name, "' is not a leaf tensor"),
                  "pass the module's parameters, not tensors computed from them");
    Slot s;
    s.name = name;
    s.param = p;
    slots_.push_back(std::move(s));
  }
  build_buckets();
  for (int64_t i = 0; i < static_cast<int64_t>(slots_.size()); ++i) {
    Slot& s = slots_[i];
    s.accumulator = torch::autograd::impl::grad_accumulator(s.param);
    s.hook_key = s.accumulator->add_post_hook(std::make_unique<torch::autograd::utils::LambdaPostHook>(
        [this, i](const torch::autograd::variable_list& outputs, const torch::autograd::variable_list&) {
          on_grad_ready(i);
          return outputs;
        }));
  }
  reset_step();
}

GradReducer::~GradReducer() {
  for (auto& s : slots_) {
    if (s.accumulator) s.accumulator->del_post_hook(s.hook_key);
  }
  // While an exception unwinds (e.g. thrown in the middle of backward with buckets in flight), the
  // other ranks will never complete those reductions: do not wait for them (comm_ abandons them).
  if (std::uncaught_exceptions() > 0) return;
  for (auto& b : buckets_) {
    try {
      if (b.work) b.work->wait();
    } catch (...) {  // a destructor must not throw; the error was reported by finish() already
    }
  }
}

void GradReducer::build_buckets() {
  // Reverse registration order: the last layers' gradients are produced first in backward.
  int64_t bucket_bytes = 0;
  for (int64_t k = static_cast<int64_t>(slots_.size()) - 1; k >= 0; --k) {
    Slot& s = slots_[k];
    const int64_t bytes = s.param.numel() * s.param.element_size();
    const int64_t cap = buckets_.size() <= 1 ? options_.first_bucket_bytes : options_.bucket_bytes;
    bool fresh = buckets_.empty();
    if (!fresh) {
      const Slot& head = slots_[buckets_.back().slots.front()];
      fresh = head.param.scalar_type() != s.param.scalar_type() ||
              head.param.device() != s.param.device() || bucket_bytes + bytes > cap;
    }
    if (fresh) {
      buckets_.emplace_back();
      bucket_bytes = 0;
    }
    Bucket& b = buckets_.back();
    s.bucket = static_cast<int64_t>(buckets_.size()) - 1;
    s.offset = bucket_bytes / s.param.element_size();
    bucket_bytes += bytes;
    b.slots.push_back(k);
  }
  for (auto& b : buckets_) {
    int64_t numel = 0;
    for (int64_t k : b.slots) numel += slots_[k].param.numel();
    const auto& p = slots_[b.slots.front()].param;
    b.flat = torch::zeros({numel}, p.options().requires_grad(false));
  }
}

std::vector<std::string> GradReducer::bucket_names(int64_t i) const {
  std::vector<std::string> names;
  for (int64_t k : buckets_.at(i).slots) names.push_back(slots_[k].name);
  return names;
}

void GradReducer::reset_step() {
  for (auto& s : slots_) s.ready = false;
  for (auto& b : buckets_) {
    b.pending = static_cast<int64_t>(b.slots.size());
    b.work.reset();
  }
  next_launch_ = 0;
}

void GradReducer::copy_in(Slot& s) {
  torch::NoGradGuard no_grad;
  auto view = buckets_[s.bucket].flat.narrow(0, s.offset, s.param.numel());
  const auto& grad = s.param.grad();
  if (grad.defined()) {
    SATCLIP_CHECK(!grad.is_sparse(), cat("parameter '", s.name, "' has a sparse gradient"),
                  "GradReducer averages dense gradients only");
    view.copy_(grad.reshape({-1}));
  } else {
    view.zero_();
  }
  s.ready = true;
}

void GradReducer::on_grad_ready(int64_t k) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!sync_enabled_ || !options_.overlap) return;
  Slot& s = slots_[k];
  SATCLIP_CHECK(!s.ready, cat("the gradient of '", s.name, "' arrived twice before finish()"),
                "call finish() after every backward pass, or wrap all but the last micro-batch "
                "of an accumulation in no_sync()");
  copy_in(s);
  if (--buckets_[s.bucket].pending == 0) launch_ready();
}

void GradReducer::launch_ready() {
  const auto n = static_cast<int64_t>(buckets_.size());
  while (next_launch_ < n && buckets_[next_launch_].pending == 0) launch(next_launch_++);
}

void GradReducer::launch(int64_t i) {
  buckets_[i].work = comm_->all_reduce_async(buckets_[i].flat, ReduceOp::kAvg);
}

void GradReducer::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!sync_enabled_) return;
  // Parameters whose hook did not fire contribute their current gradient (or zeros).
  for (int64_t i = next_launch_; i < static_cast<int64_t>(buckets_.size()); ++i) {
    Bucket& b = buckets_[i];
    for (int64_t k : b.slots) {
      if (!slots_[k].ready) copy_in(slots_[k]);
    }
    b.pending = 0;
  }
  launch_ready();
  std::exception_ptr error;
  for (auto& b : buckets_) {
    try {
      b.work->wait();
    } catch (...) {
      if (!error) error = std::current_exception();
    }
  }
  if (error) {
    reset_step();
    std::rethrow_exception(error);
  }
  torch::NoGradGuard no_grad;
  for (auto& s : slots_) {
    auto view = buckets_[s.bucket].flat.narrow(0, s.offset, s.param.numel()).view_as(s.param);
    if (s.param.grad().defined()) {
      s.param.mutable_grad().copy_(view);
    } else {
      s.param.mutable_grad() = view.clone();
    }
  }
  reset_step();
}

GradReducer::NoSync::NoSync(GradReducer& r) : reducer_(r) {
  std::lock_guard<std::mutex> lock(reducer_.mutex_);
  reducer_.sync_enabled_ = false;
}

GradReducer::NoSync::~NoSync() {
  std::lock_guard<std::mutex> lock(reducer_.mutex_);
  reducer_.sync_enabled_ = true;
}

}  // namespace satclip::dist
