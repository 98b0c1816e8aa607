#include "datasets/manifest.h"

#include <unistd.h>

#include <sstream>

#include <yaml-cpp/yaml.h>

#include "core/base/error.h"
#include "core/base/fs_util.h"
#include "core/base/json_text.h"

namespace satclip::data {
namespace {

// A manifest lists its shards in about 50 bytes each: 16 MiB is more than 300,000 shards.
constexpr size_t kMaxManifestBytes = size_t{16} << 20;

template <typename T>
T get(const YAML::Node& root, const char* key, const std::string& path) {
  const YAML::Node n = root[key];
  SATCLIP_CHECK(n.IsDefined(), cat(path, ": manifest has no '", key, "'"),
                "the directory was not written by satclip-pack, or the manifest is damaged; pack again");
  try {
    return n.as<T>();
  } catch (const YAML::Exception&) {
    SATCLIP_FAIL(cat(path, ": manifest key '", key, "' has the wrong type"), "pack the dataset again");
  }
}

}  // namespace

void write_manifest(const std::string& path, const Manifest& m) {
  std::ostringstream j;
  j << "{\n  \"format\": " << json_quote(m.format) << ",\n  \"version\": " << m.version << ",\n  \"bands\": [";
  for (size_t i = 0; i < m.bands.size(); ++i) j << (i ? ", " : "") << json_quote(m.bands[i]);
  j << "],\n  \"channels\": " << m.channels << ",\n  \"height\": " << m.height << ",\n  \"width\": " << m.width
    << ",\n  \"dtype\": " << json_quote(m.dtype) << ",\n  \"compression\": " << json_quote(m.compression)
    << ",\n  \"source_index\": " << json_quote(m.source_index) << ",\n  \"count\": " << m.count
    << ",\n  \"skipped\": " << m.skipped << ",\n  \"shards\": [\n";
  for (size_t i = 0; i < m.shards.size(); ++i) {
    j << "    {\"file\": " << json_quote(m.shards[i].file) << ", \"count\": " << m.shards[i].count << "}"
      << (i + 1 < m.shards.size() ? "," : "") << "\n";
  }
  j << "  ]\n}\n";
  write_file_atomically(path, j.str());
}

namespace {
Manifest parse_manifest(const std::string& path, bool also_version_1);
}  // namespace

Manifest read_manifest(const std::string& path, bool also_version_1) {
  try {
    return parse_manifest(path, also_version_1);
  } catch (const YAML::Exception& e) {  // a value of the wrong kind somewhere in a crafted file
    SATCLIP_FAIL(cat(path, ": unexpected manifest structure (", e.msg, ")"), "pack the dataset again");
  }
}

namespace {

Manifest parse_manifest(const std::string& path, bool also_version_1) {
  const auto where = "point data.path at a directory written by satclip-pack (it ends with manifest.json)";
  SATCLIP_CHECK(::access(path.c_str(), F_OK) == 0, cat(path, ": no manifest"),
                cat(where, "; an interrupted pack leaves none"));
  // Read with a size limit and never from a FIFO (yaml-cpp's LoadFile would wait on one forever).
  const std::string text = read_regular_file(path, kMaxManifestBytes, "the manifest", where);
  YAML::Node root;
  try {
    root = YAML::Load(text);  // JSON is valid YAML
  } catch (const YAML::Exception& e) {
    SATCLIP_FAIL(cat(path, ": the manifest is not valid JSON (", e.msg, ")"), "pack the dataset again");
  }
  SATCLIP_CHECK(root.IsMap(), cat(path, ": the manifest is not a JSON object"), "pack the dataset again");
  Manifest m;
  m.format = get<std::string>(root, "format", path);
  SATCLIP_CHECK(m.format == kShardFormat, cat(path, ": format '", m.format, "', expected '", kShardFormat, "'"),
                "this is not a satclip shard directory");
  m.version = get<int>(root, "version", path);
  SATCLIP_CHECK(m.version == kShardVersion || (also_version_1 && m.version == 1),
                cat(path, ": shard format version ", m.version, ", this build reads version ", kShardVersion),
                m.version == 1 ? kUpgradeHint : "pack the dataset again with this version of satclip-pack");
  m.bands = get<std::vector<std::string>>(root, "bands", path);
  m.channels = get<int>(root, "channels", path);
  m.height = get<int>(root, "height", path);
  m.width = get<int>(root, "width", path);
  m.dtype = get<std::string>(root, "dtype", path);
  m.compression = get<std::string>(root, "compression", path);
  m.source_index = get<std::string>(root, "source_index", path);
  m.count = get<int64_t>(root, "count", path);
  m.skipped = get<int64_t>(root, "skipped", path);
  SATCLIP_CHECK(m.dtype == "uint16", cat(path, ": dtype '", m.dtype, "', expected uint16"), "pack again");
  SATCLIP_CHECK(m.channels > 0 && m.height > 0 && m.width > 0 && static_cast<int>(m.bands.size()) == m.channels,
                cat(path, ": inconsistent tile shape (", m.channels, " channels, ", m.bands.size(), " band names, ",
                    m.height, "x", m.width, ")"), "pack the dataset again");
  const YAML::Node shards = root["shards"];
  SATCLIP_CHECK(shards.IsSequence() && shards.size() > 0, cat(path, ": 'shards' is missing or empty"), "pack again");
  SATCLIP_CHECK(shards.size() <= 100000, cat(path, ": ", shards.size(), " shards listed"), "pack again");
  constexpr int64_t kMaxCount = int64_t{1} << 40;
  int64_t sum = 0;
  for (const auto& s : shards) {
    SATCLIP_CHECK(s.IsMap(), cat(path, ": an entry of 'shards' is not an object"), "pack the dataset again");
    const auto file = get<std::string>(s, "file", path);
    const auto count = get<int64_t>(s, "count", path);
    SATCLIP_CHECK(!file.empty() && file.find('/') == std::string::npos && file != "." && file != "..",
                  cat(path, ": shard file name '", file, "' is not a plain file name in the manifest's folder"),
                  "pack the dataset again");
    SATCLIP_CHECK(count >= 0 && count <= kMaxCount, cat(path, ": shard ", file, " has count ", count),
                  "pack the dataset again");
    m.shards.push_back({file, count});
    sum += count;  // at most shards.size() x 2^40: no overflow
  }
  SATCLIP_CHECK(sum == m.count, cat(path, ": shard counts add up to ", sum, " but count is ", m.count),
                "the manifest is damaged; pack again");
  return m;
}

}  // namespace

}  // namespace satclip::data
