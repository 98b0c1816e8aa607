// Test helper: loads DIR/satclip.pt (written by Python's torch.save of the seed model's state
// dict, an OrderedDict) into the C++ SatClip strictly, and exports it again as DIR/exported.pt.
#include <cstdio>

#include "core/model/satclip.h"
#include "core/model/state_dict.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  using namespace satclip::core;
  const std::string dir = argv[1];
  ModelConfig m;
  m.train_rff = true;
  SatClip model(m, LossConfig{});
  const auto report = load_state_dict(*model, read_state_dict(dir + "/satclip.pt"), {"", {}, {}, true}, "satclip.pt");
  std::printf("C++: %s\n", report.summary().c_str());
  save_state_dict(*model, dir + "/exported.pt");
  return 0;
}
