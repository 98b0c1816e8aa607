// The embedding world map: location embeddings on a global lat/lon grid, their first three
// principal components as red, green and blue, drawn equirectangular (north up, 180 W at the
// left) with a 30-degree graticule. The picture SatCLIP and GeoCLIP users look at first.
#pragma once

#include <functional>
#include <vector>

#include <torch/types.h>

#include "core/eval/draw.h"
#include "core/eval/png.h"

namespace satclip::core {

// lat_lon float32 [B, 2] degrees -> embeddings [B, D] (any device; returned on any device).
using LocationEmbedder = std::function<torch::Tensor(const torch::Tensor& lat_lon)>;

struct WorldMap {
  RgbImage image;
  std::vector<double> explained;  // share of the variance of each of the three components
  int64_t rows = 0, cols = 0;     // grid cells (latitude rows, longitude columns)
  MapView view;                   // the box the cells cover
};

// Cells per 30 degrees for a grid of `grid_deg` degrees; an error naming --grid-deg unless that is
// a whole number and grid_deg is in 0.1 .. 30 (the cells then tile the globe, graticule on edges).
int64_t grid_cells_per_30_deg(double grid_deg);

// Cells of `grid_deg` degrees from the top left corner of `region` (cell centres: lat lat1 - g/2
// down, lon lon0 + g/2 on; as many as cover the region, so the map's view may reach past lat0 and
// lon1 by less than a cell), `pixels` pixels per cell. Each component is scaled to 0..255 by its
// 1st and 99th percentile over the region; its sign is chosen so that its largest loading is
// positive (the same map on every machine). Graticule every 30 degrees (10, 5 or 1 for a smaller
// region).
WorldMap embedding_world_map(const LocationEmbedder& embed, double grid_deg, int64_t pixels, const MapView& region = {});

}  // namespace satclip::core
