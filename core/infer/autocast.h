// AutocastScope: the one place the project switches autocast (the training step, tile encoding).
#pragma once

namespace satclip::core {

// bf16 autocast on CUDA while it lives (when `on`), with autocast's weight cache on or off
// (`cache`: off while a CUDA graph is captured); the previous state comes back when it ends, also
// when an exception unwinds. The one place the project switches autocast.
class AutocastScope {
 public:
  AutocastScope(bool on, bool cache = true);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool on_;
  bool cache_was_ = true;
};

}  // namespace satclip::core
