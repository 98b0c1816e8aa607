// Model files in every format satclip-ddp reads, and SatCLIP's released format out.
//
// Read (read_model_file):
//   - a state dict in our (the seed's) names, torch.save'd bare or under "state_dict" / "model":
//     our checkpoints' model.pt, last.pt, best.pt, satclip-export --format seed, the seed's
//     satclip.pt;
//   - a SatCLIP Lightning checkpoint (microsoft/satclip's released satclip-*.ckpt, or any file its
//     SatCLIPLightningModule saved through a lightning Trainer): the architecture comes from its
//     hyper_parameters, the tensors are renamed to ours (see lightning_names below).
//
// Written (lightning_checkpoint): a SatCLIP Lightning checkpoint of a model with SatCLIP's shape
// (sh_siren location encoder, ResNet image encoder, a Linear image head), which SatCLIP's own
// loaders (load_lightweight.get_satclip_loc_encoder, load.get_satclip) accept.
#pragma once

#include <string>
#include <utility>

#include "core/model/satclip.h"
#include "core/model/state_dict.h"
#include "core/model/torch_pickle.h"
#include "core/recipe/recipe.h"

namespace satclip::core {

struct ModelFile {
  StateDict state;          // in our names (image_encoder.visual.*, location_encoder.nnet.*, ...)
  bool released = false;    // a SatCLIP Lightning checkpoint: `model` and `loss` describe it
  ModelConfig model;
  LossConfig loss;
  std::string description;  // one line: the format and, for a Lightning file, its architecture
};

// Reads `path` in any of the formats above. Errors name the file and the entry or
// hyper-parameter; `hint` says how to fix a path that cannot be opened.
ModelFile read_model_file(const std::string& path, const std::string& hint);

// The keys of `model` and `loss` that a released file fixes, as "key: file value, recipe value"
// for each one that differs from `file`'s (empty when the recipe builds the file's model).
std::vector<std::string> architecture_differences(const ModelFile& file, const ModelConfig& model);

// The tensors of `model` (built from `config`) as a SatCLIP Lightning checkpoint (the dict that
// torch.save wrote for SatCLIP's releases): model.visual.* (fc = the image head),
// model.location.nnet.* and model.nnet.* (the same tensors), model.logit_scale, and
// hyper_parameters for SatCLIPLightningModule. A location Linear head is folded into the SIREN's
// last layer (exact algebra, in float64). Throws naming what the format cannot hold.
PyValue lightning_checkpoint(SatClip& model, const ModelConfig& config);

}  // namespace satclip::core
