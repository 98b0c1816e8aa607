// A duration as people read it in logs: the trainer's ETA and elapsed time, the feature cache's
// build progress.
#pragma once

#include <string>

namespace satclip {

// "1h02m", "3m05s", "12s" (rounded to the second); "?" when negative or not finite.
std::string format_duration(double seconds);

}  // namespace satclip
