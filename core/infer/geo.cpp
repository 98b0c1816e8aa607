#include "core/infer/geo.h"

#include <algorithm>
#include <cmath>

#include <ATen/ATen.h>

#include "core/base/error.h"

namespace satclip::core {

double haversine_km(double lat1, double lon1, double lat2, double lon2) {
  constexpr double kRad = M_PI / 180.0;
  const double dlat = (lat2 - lat1) * kRad, dlon = (lon2 - lon1) * kRad;
  const double a = std::sin(dlat / 2) * std::sin(dlat / 2) +
                   std::cos(lat1 * kRad) * std::cos(lat2 * kRad) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * kEarthRadiusKm * std::asin(std::min(1.0, std::sqrt(a)));
}

RetrievalMetrics retrieval_metrics(const at::Tensor& queries, const at::Tensor& gallery,
                                   const std::vector<int64_t>& truth, const at::Tensor& query_latlon,
                                   const at::Tensor& gallery_latlon, const std::vector<double>& radii_in) {
  const std::vector<double>& radii = radii_in.empty() ? accuracy_radii_km() : radii_in;
  const int64_t n = queries.size(0), g = gallery.size(0);
  SATCLIP_CHECK(int64_t(truth.size()) == n && query_latlon.size(0) == n && gallery_latlon.size(0) == g && g > 0,
                cat("retrieval: ", n, " queries with ", truth.size(), " truths and ", query_latlon.size(0),
                    " coordinates against ", g, " gallery rows with ", gallery_latlon.size(0), " coordinates"),
                "");
  RetrievalMetrics m;
  m.n = n;
  m.within.assign(radii.size(), 0.0);
  if (n == 0) return m;
  const auto q_ll = query_latlon.to(at::kCPU, at::kDouble).contiguous();
  const auto g_ll = gallery_latlon.to(at::kCPU, at::kDouble).contiguous();
  const double* ql = q_ll.data_ptr<double>();
  const double* gl = g_ll.data_ptr<double>();
  const auto gal = gallery.to(at::kFloat);
  const int64_t k = std::min<int64_t>(5, g);
  std::vector<double> errors(n);
  int64_t hit1 = 0, hit5 = 0;
  std::vector<int64_t> within(radii.size(), 0);
  constexpr int64_t kBlock = 1024;
  for (int64_t start = 0; start < n; start += kBlock) {
    const int64_t rows = std::min(kBlock, n - start);
    const auto sim = queries.narrow(0, start, rows).to(gal.device(), at::kFloat).matmul(gal.t());
    const auto top = std::get<1>(sim.topk(k, /*dim=*/1)).to(at::kCPU, at::kLong).contiguous();
    const int64_t* t = top.data_ptr<int64_t>();
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t q = start + r;
      const int64_t* row = t + r * k;
      if (truth[q] >= 0) {
        hit1 += row[0] == truth[q];
        hit5 += std::find(row, row + k, truth[q]) != row + k;
      }
      const double e = haversine_km(ql[2 * q], ql[2 * q + 1], gl[2 * row[0]], gl[2 * row[0] + 1]);
      errors[q] = e;
      for (size_t d = 0; d < within.size(); ++d) within[d] += e <= radii[d];
    }
  }
  m.top1 = double(hit1) / n;
  m.top5 = double(hit5) / n;
  for (size_t d = 0; d < within.size(); ++d) m.within[d] = double(within[d]) / n;
  std::sort(errors.begin(), errors.end());
  m.median_km = n % 2 ? errors[n / 2] : (errors[n / 2 - 1] + errors[n / 2]) / 2;
  return m;
}

}  // namespace satclip::core
