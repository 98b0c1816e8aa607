#include "core/model/pretrained.h"

#include "core/model/state_dict.h"

namespace satclip::core {

std::vector<std::string> load_pretrained(SatClip& model, const ModelConfig& m) {
  std::vector<std::string> lines;
  auto load = [&](const std::string& path, LoadOptions options) {
    if (path.empty()) return;
    options.strict = m.strict_weights;
    const auto report = load_state_dict(*model, read_state_dict(path), options, path);
    lines.push_back(path + ": " + report.summary());
  };
  load(m.weights, {"", {}, {"module."}, false});
  // torchgeo/timm checkpoints may prefix the backbone; the classifier does not exist here.
  load(m.image_weights, {"image_encoder.visual.", {"fc."}, {"module.", "backbone.", "model.", "image_encoder.visual.", "visual."}, false});
  load(m.location_weights, {"location_encoder.encoder.", {}, {"module.", "location_encoder.encoder.", "encoder."}, false});
  return lines;
}

}  // namespace satclip::core
