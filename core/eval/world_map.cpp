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

WorldMap embedding_world_map(const LocationEmbedder& embed, double grid_deg, int64_t pixels) {
  const int64_t cells30 = grid_cells_per_30_deg(grid_deg);
  WorldMap m;
  m.rows = 6 * cells30;
  m.cols = 2 * m.rows;
  auto ll = torch::empty({m.rows * m.cols, 2}, torch::kFloat);
  float* p = ll.data_ptr<float>();
  for (int64_t r = 0; r < m.rows; ++r) {
    for (int64_t c = 0; c < m.cols; ++c, p += 2) {
      p[0] = float(90.0 - (double(r) + 0.5) * grid_deg);
      p[1] = float(-180.0 + (double(c) + 0.5) * grid_deg);
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
  // Graticule every 30 degrees: grey lines on cell boundaries.
  const int64_t step = cells30 * pixels;
  for (int64_t y = 0; y < m.image.height; ++y) {
    for (int64_t x = 0; x < m.image.width; ++x) {
      if ((step > 0 && y % step == 0 && y > 0) || (step > 0 && x % step == 0 && x > 0)) {
        auto* px = m.image.at(x, y);
        px[0] = px[1] = px[2] = 128;
      }
    }
  }
  return m;
}

void draw_outlines(RgbImage& image, const std::vector<std::vector<LonLat>>& rings) {
  const double sx = double(image.width) / 360.0, sy = double(image.height) / 180.0;
  auto plot = [&](double x, double y) {
    const auto px = int64_t(std::floor(x)), py = int64_t(std::floor(y));
    if (px < 0 || py < 0 || px >= image.width || py >= image.height) return;
    auto* p = image.at(px, py);
    p[0] = p[1] = p[2] = 0;
  };
  for (const auto& ring : rings) {
    for (size_t i = 1; i < ring.size(); ++i) {
      const LonLat& a = ring[i - 1];
      const LonLat& b = ring[i];
      if (std::abs(a.lon - b.lon) > 180) continue;  // wraps around the dateline
      const double x0 = (a.lon + 180) * sx, y0 = (90 - a.lat) * sy, x1 = (b.lon + 180) * sx, y1 = (90 - b.lat) * sy;
      const auto steps = int64_t(std::ceil(std::max(std::abs(x1 - x0), std::abs(y1 - y0)))) + 1;
      for (int64_t k = 0; k <= steps; ++k) {
        const double t = double(k) / double(steps);
        plot(x0 + t * (x1 - x0), y0 + t * (y1 - y0));
      }
    }
  }
}

}  // namespace satclip::core
