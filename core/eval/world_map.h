// The embedding world map: location embeddings on a global lat/lon grid, their first three
// principal components as red, green and blue, drawn equirectangular (north up, 180 W at the
// left) with a 30-degree graticule. The picture SatCLIP and GeoCLIP users look at first.
#pragma once

#include <functional>
#include <vector>

#include <torch/types.h>

#include "core/eval/countries.h"
#include "core/eval/png.h"

namespace satclip::core {

// lat_lon float32 [B, 2] degrees -> embeddings [B, D] (any device; returned on any device).
using LocationEmbedder = std::function<torch::Tensor(const torch::Tensor& lat_lon)>;

struct WorldMap {
  RgbImage image;
  std::vector<double> explained;  // share of the variance of each of the three components
  int64_t rows = 0, cols = 0;     // grid cells (latitude rows, longitude columns)
};

// Cells per 30 degrees for a grid of `grid_deg` degrees; an error naming --grid-deg unless that is
// a whole number and grid_deg is in 0.1 .. 30 (the cells then tile the globe, graticule on edges).
int64_t grid_cells_per_30_deg(double grid_deg);

// Cells of `grid_deg` degrees (cell centres: lat 90 - g/2 down to -90 + g/2, lon -180 + g/2 ...),
// `pixels` pixels per cell. Each component is scaled to 0..255 by its 1st and 99th percentile;
// its sign is chosen so that its largest loading is positive (the same map on every machine).
WorldMap embedding_world_map(const LocationEmbedder& embed, double grid_deg, int64_t pixels);

// Draws every ring (coastlines and borders, (lon, lat) degrees) over an equirectangular image of
// the whole globe, one pixel wide, in black; a segment crossing the dateline is not drawn.
void draw_outlines(RgbImage& image, const std::vector<std::vector<LonLat>>& rings);

}  // namespace satclip::core
