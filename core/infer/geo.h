// Great-circle distances and the retrieval metrics of the validation (and of satclip-eval).
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

namespace satclip::core {

constexpr double kEarthRadiusKm = 6371.0088;  // mean Earth radius (IUGG)

// Haversine distance in km between two points given in degrees.
double haversine_km(double lat1, double lon1, double lat2, double lon2);

// Distance thresholds of the "accuracy within d km" metrics (GeoCLIP's scales, minus 1 km).
inline const std::vector<double>& accuracy_radii_km() {
  static const std::vector<double> radii = {25, 200, 750, 2500};
  return radii;
}

struct RetrievalMetrics {
  int64_t n = 0;                 // queries
  double top1 = 0, top5 = 0;     // share whose true location is the first / among the first 5
  std::vector<double> within;    // share whose top-1 location lies within accuracy_radii_km()[k]
  double median_km = 0;          // median great-circle error of the top-1 location
};

// Image -> location retrieval. `similarity(q, g)` of query image q and gallery location g is given
// as embeddings: `queries` [N, D], `gallery` [G, D] (rows compared by dot product; normalise first
// for cosine). `truth[q]` is the row of q's own location in the gallery (or -1 when the gallery does
// not hold it: top-k then count as misses). `query_latlon` [N, 2], `gallery_latlon` [G, 2] degrees.
// Works in blocks of queries, so memory stays O(block x G).
// `radii` (km) replaces accuracy_radii_km() for RetrievalMetrics::within when given.
RetrievalMetrics retrieval_metrics(const at::Tensor& queries, const at::Tensor& gallery,
                                   const std::vector<int64_t>& truth, const at::Tensor& query_latlon,
                                   const at::Tensor& gallery_latlon, const std::vector<double>& radii = {});

}  // namespace satclip::core
