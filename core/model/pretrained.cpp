#include "core/model/pretrained.h"

#include "core/base/error.h"
#include "core/model/model_file.h"
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
  if (!m.weights.empty()) {
    // Our state dicts or a SatCLIP Lightning checkpoint, whose architecture must be the recipe's.
    const ModelFile file = read_model_file(m.weights, "check model.weights in the recipe");
    if (file.released) {
      const auto diffs = architecture_differences(file, m);
      std::string list;
      for (const auto& d : diffs) list += "\n  " + d;
      SATCLIP_CHECK(diffs.empty(), cat(m.weights, ": ", file.description, " does not fit the recipe's model:", list),
                    "set these model.* keys as the file has them (recipes/satclip-finetune.yaml does for the released "
                    "ResNet18-L10)");
    }
    const auto report = load_state_dict(*model, file.state, {"", {}, {"module."}, m.strict_weights}, m.weights);
    lines.push_back(m.weights + ": " + file.description + ", " + report.summary());
  }
  // torchgeo/timm checkpoints may prefix the backbone; the classifier does not exist here.
  load(m.image_weights, {"image_encoder.visual.", {"fc.", "head."}, {"module.", "backbone.", "model.", "image_encoder.visual.", "visual."}, false});
  load(m.location_weights, {"location_encoder.encoder.", {}, {"module.", "location_encoder.encoder.", "encoder."}, false});
  return lines;
}

}  // namespace satclip::core
