#include "core/eval/world_map.h"

#include <ATen/ops/linalg_eigh.h>

#include <algorithm>
#include <cmath>

#include "core/base/error.h"

namespace satclip::core {

int64_t grid_cells_per_30_deg(double grid_deg) {
  // Tested on the quotient: fmod(180, 0.1) is 0.0999..., 0.1 having no exact double.
  const double per30 = 30.0 / grid_deg;
  const int64_t cells = std::llround(per30);
  SATCLIP_CHECK(grid_deg >= 0.1 && grid_deg <= 30 && std::abs(per30 - double(cells)) <= 1e-9 * per30,
                cat("--grid-deg ", grid_deg, ": expected a divisor of 30 between 0.1 and 30"),
                "e.g. 0.1, 0.25, 0.5, 1, 2, 5 or 10");
  return cells;
}

WorldMap embedding_world_map(const LocationEmbedder& embed, double grid_deg, int64_t pixels, const MapView& region) {
  grid_cells_per_30_deg(grid_deg);
  WorldMap m;
  m.rows = std::max<int64_t>(1, int64_t(std::ceil((region.lat1 - region.lat0) / grid_deg - 1e-9)));
  m.cols = std::max<int64_t>(1, int64_t(std::ceil((region.lon1 - region.lon0) / grid_deg - 1e-9)));
  m.view = {region.lon0, region.lat1 - double(m.rows) * grid_deg, region.lon0 + double(m.cols) * grid_deg, region.lat1};
  auto ll = torch::empty({m.rows * m.cols, 2}, torch::kFloat);
  float* p = ll.data_ptr<float>();
  for (int64_t r = 0; r < m.rows; ++r) {
    for (int64_t c = 0; c < m.cols; ++c, p += 2) {
      p[0] = float(region.lat1 - (double(r) + 0.5) * grid_deg);
      p[1] = float(region.lon0 + (double(c) + 0.5) * grid_deg);
    }
  }
  std::vector<torch::Tensor> parts;
  for (int64_t s = 0; s < ll.size(0); s += 4096) {
    parts.push_back(embed(ll.narrow(0, s, std::min<int64_t>(4096, ll.size(0) - s))).to(torch::kCPU, torch::kDouble));
  }
  const auto e = torch::cat(parts);
  const auto centred = e - e.mean(0, /*keepdim=*/true);
  const auto cov = centred.t().mm(centred) / double(std::max<int64_t>(1, e.size(0) - 1));
  auto [values, vectors] = at::linalg_eigh(cov);  // ascending eigenvalues
  const int64_t d = values.size(0), k = std::min<int64_t>(3, d);
  const double total = std::max(values.sum().item<double>(), 1e-300);
  auto comps = torch::zeros({e.size(0), 3}, torch::kDouble);
  for (int64_t j = 0; j < k; ++j) {
    auto v = vectors.select(1, d - 1 - j);
    if (v.index({v.abs().argmax()}).item<double>() < 0) v = -v;
    comps.select(1, j).copy_(centred.mv(v));
    m.explained.push_back(std::max(0.0, values[d - 1 - j].item<double>()) / total);
  }
  m.image.width = m.cols * pixels;
  m.image.height = m.rows * pixels;
  m.image.rgb.assign(size_t(m.image.width * m.image.height * 3), 0);
  for (int64_t j = 0; j < 3; ++j) {
    const auto col = comps.select(1, j).contiguous();
    const auto sorted = std::get<0>(col.sort());
    const double lo = sorted[int64_t(0.01 * double(col.size(0) - 1))].item<double>();
    const double hi = sorted[int64_t(0.99 * double(col.size(0) - 1))].item<double>();
    const double* v = col.data_ptr<double>();
    for (int64_t cell = 0; cell < col.size(0); ++cell) {
      const double t = hi > lo ? std::clamp((v[cell] - lo) / (hi - lo), 0.0, 1.0) : 0.5;
      const auto byte = uint8_t(std::lround(255.0 * t));
      const int64_t r = cell / m.cols, c = cell % m.cols;
      for (int64_t y = r * pixels; y < (r + 1) * pixels; ++y) {
        for (int64_t x = c * pixels; x < (c + 1) * pixels; ++x) m.image.at(x, y)[j] = byte;
      }
    }
  }
  const double span = std::max(m.view.lon1 - m.view.lon0, m.view.lat1 - m.view.lat0);
  draw_graticule(m.image, m.view, span >= 90 ? 30 : span >= 30 ? 10 : span >= 10 ? 5 : 1);
  return m;
}

}  // namespace satclip::core
