// Drawing on satclip-eval's PNGs: an equirectangular view of a lat/lon box, coastlines, station
// dots on a colour ramp, and titles in a built-in 5 x 7 pixel font (capitals, digits and the usual
// punctuation; lower case is drawn in capitals, anything else as '?').
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/eval/countries.h"
#include "core/eval/png.h"

namespace satclip::core {

// A lon/lat box drawn equirectangular, north up; lon0 < lon1, lat0 < lat1 (no dateline crossing).
struct MapView {
  double lon0 = -180, lat0 = -90, lon1 = 180, lat1 = 90;
  double x(double lon, int64_t width) const { return (lon - lon0) / (lon1 - lon0) * double(width); }
  double y(double lat, int64_t height) const { return (lat1 - lat) / (lat1 - lat0) * double(height); }
};

// "lon0,lat0,lon1,lat1" (degrees) -> a view; an error naming --bbox unless -180 <= lon0 < lon1 <= 180
// and -90 <= lat0 < lat1 <= 90.
MapView parse_bbox(const std::string& text);

// Grey lines every `step` degrees of latitude and longitude (multiples of step, inside the view).
void draw_graticule(RgbImage& image, const MapView& view, double step);

// Every ring (coastlines and borders) in `colour`, one pixel wide; a segment crossing the dateline is
// not drawn.
void draw_outlines(RgbImage& image, const std::vector<std::vector<LonLat>>& rings, const MapView& view,
                   uint8_t colour = 0);

// t in [0, 1] -> a dark-blue .. green .. yellow ramp (monotonic in lightness).
void ramp(double t, uint8_t rgb[3]);

// The values at (lat, lon) as 3 x 3 px dots coloured by ramp((v - lo) / (hi - lo)), over a light
// grey `width` px map of `view` with the rings in dark grey.
RgbImage point_map(const MapView& view, int64_t width, const std::vector<double>& lat, const std::vector<double>& lon,
                   const std::vector<double>& values, double lo, double hi,
                   const std::vector<std::vector<LonLat>>& rings);

// Width in pixels of `text` at `scale` (6 * scale per character, less the last gap).
int64_t text_width(const std::string& text, int scale);
void draw_text(RgbImage& image, int64_t x, int64_t y, const std::string& text, int scale, uint8_t grey = 0);

// `image` under a white band carrying `title` (scale 2, or 1 when that is too wide; cut to fit).
RgbImage with_title(const RgbImage& image, const std::string& title);

// The images one below the other (as wide as the widest, white where narrower).
RgbImage stack(const std::vector<RgbImage>& images);

}  // namespace satclip::core
