#include "core/base/text.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <system_error>

namespace satclip {

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  if (from.empty()) return s;
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
  return s;
}

std::string round_trip_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  if (std::strtod(buf, nullptr) != v) std::snprintf(buf, sizeof buf, "%.17g", v);
  std::string out = buf;
  // YAML 1.1 readers (PyYAML) take 1e-05 for a string: a mantissa with a point reads as a number.
  const auto e = out.find('e');
  if (e != std::string::npos && out.find('.') == std::string::npos) out.insert(e, ".0");
  return out;
}

namespace {

// from_chars reads no '+' and no blanks, hexadecimal only when asked, and ignores the locale; a
// leading '+' is skipped here (but not "+-1").
template <typename T>
bool parse_whole(const std::string& s, T& out) {
  const char* b = s.data();
  const char* e = b + s.size();
  if (b != e && *b == '+') {
    ++b;
    if (b != e && *b == '-') return false;
  }
  T v{};
  const auto [at, ec] = std::from_chars(b, e, v);
  if (b == e || ec != std::errc() || at != e) return false;
  out = v;
  return true;
}

}  // namespace

bool parse_decimal(const std::string& s, double& out) {
  double v = 0;
  if (!parse_whole(s, v) || !std::isfinite(v)) return false;  // from_chars also reads inf and nan
  out = v;
  return true;
}

bool parse_integer(const std::string& s, int64_t& out) {
  long long v = 0;
  if (!parse_whole(s, v)) return false;
  out = v;
  return true;
}

std::string to_lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim_blanks(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c != '\r') {
      fields.back() += c;
    }
  }
  return fields;
}

size_t filled_fields(const std::vector<std::string>& fields) {
  size_t n = fields.size();
  while (n > 0 && fields[n - 1].find_first_not_of(" \t") == std::string::npos) --n;
  return n;
}

}  // namespace satclip
