#include "core/train/checkpoint/run_dir.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/base/error.h"
#include "core/train/checkpoint/checkpoint_dir.h"

namespace satclip::core {

std::string RunDir::checkpoint(int64_t step) const { return checkpoints() + "/" + checkpoint_name(step); }

void RunDir::create() const {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(checkpoints(), ec);
  SATCLIP_CHECK(!ec, cat("output.dir = ", root_, ": cannot create it or its checkpoints/ folder: ", ec.message()),
                "choose a writable output.dir (--set output.dir=...)");
  for (const auto& folder : {root_, checkpoints()}) {
    const auto probe = fs::path(folder) / cat(".write-test-", ::getpid());
    const bool ok = static_cast<bool>(std::ofstream(probe) << "ok\n");
    fs::remove(probe, ec);
    SATCLIP_CHECK(ok, cat("output.dir = ", root_, ": cannot write into ", folder),
                  "choose a writable output.dir (--set output.dir=...), or fix its permissions or free space");
  }
}

}  // namespace satclip::core
