// Geolocalisation: image -> location retrieval of packed tiles against a gallery of locations,
// with the trainer's validation definitions (core/infer/geo.h): top-1 / top-5 (is the tile's own
// location retrieved, when the gallery holds it), accuracy within 1 / 25 / 200 / 750 / 2500 km
// and the median great-circle error of the top-1 location.
#pragma once

#include <memory>
#include <vector>

#include "core/infer/geo.h"
#include "core/model/satclip.h"
#include "datasets/dataset.h"
#include "datasets/transforms.h"

namespace satclip::core {

inline const std::vector<double>& geoloc_radii_km() {
  static const std::vector<double> radii = {1, 25, 200, 750, 2500};
  return radii;
}

// Every tile of `dataset` is a query (image embedding: the feature cache's encoding pass, then the
// image projection). The gallery is `gallery_latlon` [G, 2] degrees, or, when undefined, the
// tiles' own locations. `cosine`: compare normalised embeddings (info_nce), else dot products.
RetrievalMetrics geolocalise(SatClip& model, std::shared_ptr<const data::ShardedDataset> dataset,
                             const data::TransformOptions& transforms, const torch::Device& device,
                             const torch::Tensor& gallery_latlon, bool cosine);

}  // namespace satclip::core
