#include "core/infer/autocast.h"

#include <ATen/autocast_mode.h>

namespace satclip::core {

AutocastScope::AutocastScope(bool on, bool cache) : on_(on) {
  if (!on_) return;
  cache_was_ = at::autocast::is_autocast_cache_enabled();
  at::autocast::set_autocast_cache_enabled(cache);
  at::autocast::set_autocast_enabled(at::kCUDA, true);
  at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
}

AutocastScope::~AutocastScope() {
  if (!on_) return;
  at::autocast::set_autocast_enabled(at::kCUDA, false);
  at::autocast::clear_cache();
  at::autocast::set_autocast_cache_enabled(cache_was_);
}

}  // namespace satclip::core
