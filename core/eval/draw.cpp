#include "core/eval/draw.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>

#include "core/base/error.h"
#include "core/base/text.h"

namespace satclip::core {
namespace {

// 7 rows of 5 pixels per glyph, '#' set.
struct Glyph {
  char c;
  const char* rows;
};
constexpr Glyph kFont[] = {
    {'A', ".###.#...##...#######...##...##...#"}, {'B', "####.#...##...#####.#...##...#####."},
    {'C', ".###.#...##....#....#....#...#.###."}, {'D', "####.#...##...##...##...##...#####."},
    {'E', "######....#....####.#....#....#####"}, {'F', "######....#....####.#....#....#...."},
    {'G', ".###.#...##....#.####...##...#.####"}, {'H', "#...##...##...#######...##...##...#"},
    {'I', ".###...#....#....#....#....#...###."}, {'J', "..###...#....#....#....#.#..#..##.."},
    {'K', "#...##..#.#.#..##...#.#..#..#.#...#"}, {'L', "#....#....#....#....#....#....#####"},
    {'M', "#...###.###.#.##.#.##...##...##...#"}, {'N', "#...##...###..##.#.##..###...##...#"},
    {'O', ".###.#...##...##...##...##...#.###."}, {'P', "####.#...##...#####.#....#....#...."},
    {'Q', ".###.#...##...##...##.#.##..#..##.#"}, {'R', "####.#...##...#####.#.#..#..#.#...#"},
    {'S', ".#####....#.....###.....#....#####."}, {'T', "#####..#....#....#....#....#....#.."},
    {'U', "#...##...##...##...##...##...#.###."}, {'V', "#...##...##...##...##...#.#.#...#.."},
    {'W', "#...##...##...##.#.##.#.##.#.#.#.#."}, {'X', "#...##...#.#.#...#...#.#.#...##...#"},
    {'Y', "#...##...#.#.#...#....#....#....#.."}, {'Z', "#####....#...#...#...#...#....#####"},
    {'0', ".###.#...##..###.#.###..##...#.###."}, {'1', "..#...##....#....#....#....#...###."},
    {'2', ".###.#...#....#...#...#...#...#####"}, {'3', "####.....#....#.###.....#....#####."},
    {'4', "...#...##..#.#.#..#.#####...#....#."}, {'5', "######....####.....#....##...#.###."},
    {'6', "..##..#...#....####.#...##...#.###."}, {'7', "#####....#...#...#...#....#....#..."},
    {'8', ".###.#...##...#.###.#...##...#.###."}, {'9', ".###.#...##...#.####....#...#..##.."},
    {' ', "..................................."}, {'.', "..........................##...##.."},
    {',', ".....................##....#...#..."}, {':', "......##...##........##...##......."},
    {';', "......##...##........##....#...#..."}, {'-', "...............#####..............."},
    {'+', ".......#....#..#####..#....#......."}, {'%', "##...##..#...#...#...#...#..##...##"},
    {'(', "...#...#...#....#....#.....#.....#."}, {')', ".#.....#.....#....#....#...#...#..."},
    {'/', ".........#...#...#...#...#........."}, {'=', "..........#####.....#####.........."},
    {'_', "..............................#####"}, {'#', ".#.#..#.#.#####.#.#.#####.#.#..#.#."},
    {'\'', "..#....#...#......................."}, {'[', ".###..#....#....#....#....#....###."},
    {']', ".###....#....#....#....#....#..###."}, {'<', "...#...#...#...#.....#.....#.....#."},
    {'>', ".#.....#.....#.....#...#...#...#..."}, {'?', ".###.#...#....#...#...#.........#.."},
    {'!', "..#....#....#....#....#.........#.."}, {'*', ".......#..#.#.#.###.#.#.#..#......."},
    {'|', "..#....#....#....#....#....#....#.."}, {'&', ".##..#..#.#.#...#...#.#.##..#..##.#"},
};

const char* glyph(char c) {
  const char u = char(std::toupper(static_cast<unsigned char>(c)));
  for (const auto& g : kFont) {
    if (g.c == u) return g.rows;
  }
  return glyph('?');
}

}  // namespace

MapView parse_bbox(const std::string& text) {
  std::array<double, 4> v{};
  std::string rest = text + ",";
  size_t n = 0;
  for (; n < 5 && !rest.empty(); ++n) {
    const std::string item = rest.substr(0, rest.find(','));
    rest.erase(0, rest.find(',') + 1);
    if (n == 4 || !parse_decimal(item, v[n])) {
      n = 5;
      break;
    }
  }
  const MapView m{v[0], v[1], v[2], v[3]};
  SATCLIP_CHECK(n == 4 && m.lon0 >= -180 && m.lon0 < m.lon1 && m.lon1 <= 180 && m.lat0 >= -90 && m.lat0 < m.lat1 &&
                    m.lat1 <= 90,
                cat("--bbox ", text, ": expected lon0,lat0,lon1,lat1 in degrees with -180 <= lon0 < lon1 <= 180 and "
                                     "-90 <= lat0 < lat1 <= 90"),
                "e.g. --bbox -25,34,45,72 for Europe (a box across the dateline is not supported)");
  return m;
}

void draw_graticule(RgbImage& image, const MapView& view, double step) {
  for (double lon = std::ceil(view.lon0 / step) * step; lon < view.lon1; lon += step) {
    const auto x = int64_t(std::lround(view.x(lon, image.width)));
    if (x <= 0 || x >= image.width) continue;
    for (int64_t y = 0; y < image.height; ++y) std::fill_n(image.at(x, y), 3, uint8_t(128));
  }
  for (double lat = std::ceil(view.lat0 / step) * step; lat < view.lat1; lat += step) {
    const auto y = int64_t(std::lround(view.y(lat, image.height)));
    if (y <= 0 || y >= image.height) continue;
    for (int64_t x = 0; x < image.width; ++x) std::fill_n(image.at(x, y), 3, uint8_t(128));
  }
}

void draw_outlines(RgbImage& image, const std::vector<std::vector<LonLat>>& rings, const MapView& view, uint8_t colour) {
  auto plot = [&](double x, double y) {
    const auto px = int64_t(std::floor(x)), py = int64_t(std::floor(y));
    if (px < 0 || py < 0 || px >= image.width || py >= image.height) return;
    std::fill_n(image.at(px, py), 3, colour);
  };
  for (const auto& ring : rings) {
    for (size_t i = 1; i < ring.size(); ++i) {
      const LonLat& a = ring[i - 1];
      const LonLat& b = ring[i];
      if (std::abs(a.lon - b.lon) > 180) continue;  // wraps around the dateline
      const double x0 = view.x(a.lon, image.width), y0 = view.y(a.lat, image.height);
      const double x1 = view.x(b.lon, image.width), y1 = view.y(b.lat, image.height);
      if (std::max(x0, x1) < 0 || std::min(x0, x1) > double(image.width) || std::max(y0, y1) < 0 ||
          std::min(y0, y1) > double(image.height)) {
        continue;
      }
      const auto steps = int64_t(std::ceil(std::max(std::abs(x1 - x0), std::abs(y1 - y0)))) + 1;
      for (int64_t k = 0; k <= steps; ++k) {
        const double t = double(k) / double(steps);
        plot(x0 + t * (x1 - x0), y0 + t * (y1 - y0));
      }
    }
  }
}

void ramp(double t, uint8_t rgb[3]) {
  // Anchors from dark blue through teal and green to yellow, linear in between.
  static constexpr double kAnchors[5][3] = {{40, 20, 90}, {40, 90, 150}, {30, 150, 130}, {120, 200, 70}, {250, 230, 40}};
  t = std::clamp(std::isfinite(t) ? t : 0.0, 0.0, 1.0) * 4;
  const int i = std::min(3, int(t));
  const double f = t - i;
  for (int c = 0; c < 3; ++c) rgb[c] = uint8_t(std::lround(kAnchors[i][c] + f * (kAnchors[i + 1][c] - kAnchors[i][c])));
}

RgbImage point_map(const MapView& view, int64_t width, const std::vector<double>& lat, const std::vector<double>& lon,
                   const std::vector<double>& values, double lo, double hi,
                   const std::vector<std::vector<LonLat>>& rings) {
  RgbImage image;
  image.width = width;
  image.height = std::max<int64_t>(1, std::llround(double(width) * (view.lat1 - view.lat0) / (view.lon1 - view.lon0)));
  image.rgb.assign(size_t(image.width * image.height * 3), 235);
  draw_outlines(image, rings, view, 150);
  for (size_t i = 0; i < values.size() && i < lat.size() && i < lon.size(); ++i) {
    uint8_t c[3];
    ramp(hi > lo ? (values[i] - lo) / (hi - lo) : 0.5, c);
    const auto cx = int64_t(std::floor(view.x(lon[i], width))), cy = int64_t(std::floor(view.y(lat[i], image.height)));
    for (int64_t y = cy - 1; y <= cy + 1; ++y) {
      for (int64_t x = cx - 1; x <= cx + 1; ++x) {
        if (x >= 0 && y >= 0 && x < image.width && y < image.height) std::copy_n(c, 3, image.at(x, y));
      }
    }
  }
  return image;
}

int64_t text_width(const std::string& text, int scale) {
  return text.empty() ? 0 : int64_t(text.size()) * 6 * scale - scale;
}

void draw_text(RgbImage& image, int64_t x, int64_t y, const std::string& text, int scale, uint8_t grey) {
  for (size_t k = 0; k < text.size(); ++k) {
    const char* rows = glyph(text[k]);
    for (int r = 0; r < 7; ++r) {
      for (int c = 0; c < 5; ++c) {
        if (rows[r * 5 + c] != '#') continue;
        for (int dy = 0; dy < scale; ++dy) {
          for (int dx = 0; dx < scale; ++dx) {
            const int64_t px = x + (int64_t(k) * 6 + c) * scale + dx, py = y + r * scale + dy;
            if (px >= 0 && py >= 0 && px < image.width && py < image.height) std::fill_n(image.at(px, py), 3, grey);
          }
        }
      }
    }
  }
}

RgbImage with_title(const RgbImage& image, const std::string& title) {
  const int scale = text_width(title, 2) + 16 <= image.width ? 2 : 1;
  const int64_t band = 7 * scale + 10;
  RgbImage out;
  out.width = image.width;
  out.height = image.height + band;
  out.rgb.assign(size_t(out.width * band * 3), 255);
  out.rgb.insert(out.rgb.end(), image.rgb.begin(), image.rgb.end());
  const size_t fits = size_t(std::max<int64_t>(0, (image.width - 16 + scale) / (6 * scale)));
  draw_text(out, 8, 5, title.size() > fits ? title.substr(0, fits) : title, scale);
  return out;
}

RgbImage stack(const std::vector<RgbImage>& images) {
  RgbImage out;
  for (const auto& i : images) out.width = std::max(out.width, i.width), out.height += i.height;
  out.rgb.assign(size_t(out.width * out.height * 3), 255);
  int64_t top = 0;
  for (const auto& i : images) {
    for (int64_t y = 0; y < i.height; ++y) {
      std::copy_n(i.rgb.begin() + (y * i.width * 3), i.width * 3, out.rgb.begin() + ((top + y) * out.width * 3));
    }
    top += i.height;
  }
  return out;
}

}  // namespace satclip::core
