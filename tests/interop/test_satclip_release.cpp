// SatCLIP's released checkpoint format: files made by microsoft/satclip's own Lightning module
// (tests/reference/satclip_fixtures.py make), and the outputs its own loaders gave on them.
//
// The spec, as the tests state it:
//   - satclip-embed and satclip-eval's loader (load_for_inference) builds the model a file's
//     hyper_parameters describe and gives SatCLIP's location embeddings: L = 10 to 1e-6 per row on
//     every coordinate (poles and dateline included); L = 40, whose SatCLIP values carry the
//     rounding of its polynomials, reproduced: to 1e-6 for |lat| < 45, 1e-4 to 60, 5e-3 beyond
//     (one-ulp differences of cos and pow, e.g. another CPU's kernels, move SatCLIP's own L = 40
//     rows by that much; an exact evaluation is 8e-4 off at 55 and 3e-2 near the poles);
//   - image embeddings of the same tiles equal SatCLIP's model's to float32 rounding;
//   - model.weights loads a released file into a recipe of the same architecture, and refuses one
//     that differs, naming the key;
//   - writing a model back in the format (satclip-export --format satclip) keeps every tensor.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>

#include "core/base/error.h"
#include "core/base/fs_util.h"
#include "core/infer/coords_csv.h"
#include "core/infer/data_options.h"
#include "core/infer/embed.h"
#include "core/model/model_file.h"
#include "core/model/pretrained.h"
#include "datasets/geotiff.h"
#include "datasets/packer.h"
#include "datasets/transforms.h"

namespace sc = satclip::core;

namespace {

const std::string kFixtures = std::string(SATCLIP_SOURCE_DIR) + "/tests/reference/fixtures/satclip";
const std::string kUnpacked = SATCLIP_INTEROP_DIR;  // satclip_fixtures.py unpack wrote the .ckpt files here

torch::Tensor fixture_tensor(const std::string& file, const std::string& key) {
  for (auto& e : sc::read_torch_file(satclip::RegularFile(file, "a fixture", "run satclip_fixtures.py"))) {
    if (e.key == key) return e.tensor;
  }
  ADD_FAILURE() << file << " has no " << key;
  return {};
}

torch::Tensor coords() {
  const auto rows = sc::read_coords_csv(kFixtures + "/coords.csv");
  auto ll = torch::empty({int64_t(rows.size()), 2}, torch::kDouble);
  for (size_t i = 0; i < rows.size(); ++i) {
    ll[int64_t(i)][0] = rows[i].lat;
    ll[int64_t(i)][1] = rows[i].lon;
  }
  return ll;
}

torch::Tensor row_relative_error(const torch::Tensor& ours, const torch::Tensor& ref) {
  return (ours.to(torch::kDouble) - ref).norm(2, 1) / ref.norm(2, 1);
}

// Location embeddings as satclip-embed computes them (float64 harmonics and SIREN, float32 out).
torch::Tensor our_locations(const std::string& name) {
  auto model = sc::load_for_inference(kUnpacked + "/" + name + ".ckpt", nullptr, torch::kCPU);
  return sc::embed_locations(model, coords(), satclip::EmbedStage::kProjection, torch::kCPU);
}

}  // namespace

TEST(SatclipRelease, ArchitectureComesFromHyperParameters) {
  const auto f = sc::read_model_file(kUnpacked + "/resnet50-l40.ckpt", "");
  ASSERT_TRUE(f.released);
  EXPECT_EQ(f.model.image_encoder, satclip::ImageEncoderKind::kResnet50);
  EXPECT_EQ(f.model.sh_degree, 40);
  EXPECT_EQ(f.model.harmonics, satclip::Harmonics::kAnalytic);
  EXPECT_EQ(f.model.siren_hidden, 256);
  EXPECT_EQ(f.model.siren_layers, 2);
  EXPECT_EQ(f.model.embed_dim, 256);
  EXPECT_EQ(f.model.projection, satclip::Projection::kSatclip);
  EXPECT_NE(f.description.find("SatCLIP Lightning checkpoint"), std::string::npos) << f.description;
}

TEST(SatclipRelease, L10LocationEmbeddingsEqualSatclipsLoaderOnEveryCoordinate) {
  // The file's storages are tagged cuda:0 (saved as during GPU training): read on a CPU all the same.
  const auto err = row_relative_error(our_locations("resnet18-l10"),
                                      fixture_tensor(kFixtures + "/resnet18-l10.loc.pt", "embeddings"));
  // float64 throughout; the float32 output adds <= 6e-8.
  EXPECT_LE(err.max().item<double>(), 1e-6) << "worst row " << err.argmax().item<int64_t>();
}

TEST(SatclipRelease, L40LocationEmbeddingsWithinTheDocumentedBounds) {
  const auto ll = coords();
  const auto lat = ll.select(1, 0).abs();
  for (const std::string name : {"resnet18-l40", "resnet50-l40"}) {  // (vit16-l10: L = 10, tested by satclip-embed)
    const auto err = row_relative_error(our_locations(name), fixture_tensor(kFixtures + "/" + name + ".loc.pt", "embeddings"));
    EXPECT_LE(err.masked_select(lat < 45).max().item<double>(), 1e-6) << name;
    EXPECT_LE(err.masked_select(lat <= 60).max().item<double>(), 1e-4) << name;
    EXPECT_LE(err.max().item<double>(), 5e-3) << name;
    std::string bands;
    for (int lo = 0; lo < 90; lo += 15) {
      const auto in = (lat >= lo) & (lat < lo + 15 + (lo == 75 ? 1 : 0));
      if (in.any().item<bool>()) bands += satclip::cat(" |lat| ", lo, "-", lo + 15, ": ", err.masked_select(in).max().item<double>());
    }
    std::printf("%s: max relative error per row by band:%s\n", name.c_str(), bands.c_str());
  }
}

TEST(SatclipRelease, ImageEmbeddingsEqualSatclipsModel) {
  const auto tiles = fixture_tensor(kFixtures + "/tiles.pt", "tiles");  // int16 [4, 12, 48, 48]
  satclip::data::Batch batch;
  batch.images = tiles.contiguous().view(torch::kUInt16);
  batch.lat = torch::zeros({tiles.size(0)}, torch::kDouble);
  batch.lon = torch::zeros({tiles.size(0)}, torch::kDouble);
  // satclip-embed --shards without a recipe: / 10000, zero B10 at 10; the ViT's tiles resized to
  // 224 (antialiased bilinear, as torchvision's resize on SatCLIP's side).
  for (const auto& [name, size] : std::vector<std::pair<std::string, int64_t>>{
           {"resnet18-l10", 48}, {"resnet50-l40", 48}, {"vit16-l10", 224}}) {
    sc::DataConfig data;
    data.image_size = size;
    const auto options = sc::transform_options(data);
    auto model = sc::load_for_inference(kUnpacked + "/" + name + ".ckpt", nullptr, torch::kCPU);
    torch::NoGradGuard no_grad;
    const auto images = satclip::data::prepare_batch(batch, options, torch::kCPU, 0, false).images;
    const auto ours = model->encode_image(images);
    const auto ref = fixture_tensor(kFixtures + "/" + name + ".img.pt", "embeddings");
    // float32 rounding: the inputs differ by <= 1 ulp (SatCLIP divides in float64, then rounds),
    // and each of the network's ~20-50 layers may sum in another order (K up to 4608 terms):
    // a relative error of a few hundred ulp (2^-23 = 1.2e-7) per row bounds both.
    const auto err = row_relative_error(ours, ref.to(torch::kDouble));
    EXPECT_LE(err.max().item<double>(), 3e-5) << name;
  }
}

TEST(SatclipRelease, ModelWeightsLoadsIntoARecipeOfTheSameArchitecture) {
  for (const std::string name : {"resnet18-l10", "resnet18-l40", "resnet50-l40", "vit16-l10"}) {
    const std::string path = kUnpacked + "/" + name + ".ckpt";
    const auto file = sc::read_model_file(path, "");
    sc::ModelConfig m = file.model;
    m.weights = path;
    sc::SatClip model(m, file.loss);
    const auto lines = sc::load_pretrained(model, m);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find("SatCLIP Lightning checkpoint"), std::string::npos) << lines[0];
    EXPECT_NE(lines[0].find("tensors loaded"), std::string::npos) << lines[0];
  }
  const std::string path = kUnpacked + "/resnet18-l10.ckpt";
  const auto file = sc::read_model_file(path, "");
  sc::ModelConfig m = file.model;
  m.weights = path;
  m.harmonics = satclip::Harmonics::kClosedForm;  // the recipe's own convention: refused, named
  sc::SatClip other(m, file.loss);
  try {
    sc::load_pretrained(other, m);
    FAIL() << "a recipe with other harmonics loaded the file";
  } catch (const satclip::Error& e) {
    EXPECT_NE(e.message().find("model.harmonics: the file has analytic, the recipe closed_form"), std::string::npos)
        << e.message();
  }
}

TEST(SatclipRelease, WritingBackKeepsEveryTensor) {
  const std::string path = kUnpacked + "/resnet18-l10.ckpt";
  sc::ModelConfig config;
  auto model = sc::load_for_inference(path, nullptr, torch::kCPU, &config);
  const std::string out = kUnpacked + "/resnet18-l10.rewritten.ckpt";
  sc::write_torch_file(out, sc::lightning_checkpoint(model, config));
  const auto original = sc::read_model_file(path, "");
  const auto again = sc::read_model_file(out, "");
  ASSERT_TRUE(again.released);
  EXPECT_TRUE(sc::architecture_differences(again, original.model).empty());
  ASSERT_EQ(again.state.size(), original.state.size());
  std::map<std::string, torch::Tensor> written(again.state.begin(), again.state.end());
  for (const auto& [name, tensor] : original.state) {
    ASSERT_TRUE(written.count(name)) << name;
    EXPECT_EQ(written[name].scalar_type(), tensor.scalar_type()) << name;
    EXPECT_TRUE(torch::equal(written[name], tensor)) << name;
  }
}

TEST(SatclipRelease, OwnModelWithALinearLocationHeadExportsFolded) {
  // A model of ours (recipes/satclip.yaml before it became SatCLIP's shape: SIREN to 128, then a
  // Linear location head to 64): exported, the head is folded into the SIREN's last layer.
  sc::ModelConfig m;
  m.location_encoder = satclip::LocationEncoderKind::kShSiren;
  m.projection = satclip::Projection::kLinear;
  m.sh_degree = 10;
  m.harmonics = satclip::Harmonics::kAnalytic;
  m.siren_hidden = 128;
  m.embed_dim = 64;
  sc::LossConfig l;
  l.kind = satclip::LossKind::kInfoNce;
  torch::manual_seed(3);
  sc::SatClip model(m, l);
  const std::string ours = kUnpacked + "/own-linear.pt";
  sc::save_state_dict(*model, ours);
  auto inferred = sc::load_for_inference(ours, nullptr, torch::kCPU);  // the analytic marker says which harmonics
  const auto want = sc::embed_locations(inferred, coords(), satclip::EmbedStage::kProjection, torch::kCPU);

  sc::ModelConfig config;
  auto loaded = sc::load_for_inference(ours, nullptr, torch::kCPU, &config);
  EXPECT_EQ(config.harmonics, satclip::Harmonics::kAnalytic);
  EXPECT_EQ(config.projection, satclip::Projection::kLinear);
  const std::string exported = kUnpacked + "/own-linear.ckpt";
  sc::write_torch_file(exported, sc::lightning_checkpoint(loaded, config));
  auto back = sc::load_for_inference(exported, nullptr, torch::kCPU);
  const auto got = sc::embed_locations(back, coords(), satclip::EmbedStage::kProjection, torch::kCPU);
  EXPECT_LE(row_relative_error(got, want.to(torch::kDouble)).max().item<double>(), 1e-6);
  // For SatCLIP's own loaders (satclip_fixtures.py upstream, where its code is at hand): ours in
  // float64 throughout, the head included.
  torch::NoGradGuard no_grad;
  inferred->loc_projection.ptr()->to(torch::kDouble);
  auto loc = inferred->encode_location(coords());
  sc::write_torch_file(kUnpacked + "/own-linear.expected.pt", {{"embeddings", loc.to(torch::kDouble)}});
}

TEST(SatclipRelease, TheSeedsProjectHeadsAreRefusedByTheFormat) {
  sc::ModelConfig m;
  m.location_encoder = satclip::LocationEncoderKind::kShSiren;
  m.projection = satclip::Projection::kProject;
  sc::SatClip model(m, sc::LossConfig{});
  EXPECT_THROW(sc::lightning_checkpoint(model, m), satclip::Error);
  m.location_encoder = satclip::LocationEncoderKind::kGeoclip;
  m.projection = satclip::Projection::kLinear;
  sc::SatClip geoclip(m, sc::LossConfig{});
  try {
    sc::lightning_checkpoint(geoclip, m);
    FAIL();
  } catch (const satclip::Error& e) {
    EXPECT_NE(e.message().find("geoclip"), std::string::npos) << e.message();
  }
}

TEST(SatclipRelease, TheFixtureTilesPackedAsS2Shards) {
  // For satclip-embed --shards (ctest interop_embed_shards_*): the fixture's tiles as S2-100k
  // GeoTIFFs, packed by satclip-pack's code.
  const auto tiles = fixture_tensor(kFixtures + "/tiles.pt", "tiles").to(torch::kInt32);
  const std::string dir = kUnpacked + "/tiles";
  satclip::remove_tree(dir);
  satclip::remove_tree(kUnpacked + "/shards");
  std::filesystem::create_directories(dir + "/images");
  std::ofstream index(dir + "/index.csv");
  index << "fn,lat,lon\n";
  for (int64_t i = 0; i < tiles.size(0); ++i) {
    satclip::data::Tile t;
    t.bands = int(tiles.size(1));
    t.height = int(tiles.size(2));
    t.width = int(tiles.size(3));
    const auto flat = tiles[i].contiguous().view({-1});
    for (int64_t k = 0; k < flat.numel(); ++k) t.data.push_back(uint16_t(flat[k].item<int32_t>()));
    const std::string fn = satclip::cat("patch_", i, ".tif");
    satclip::data::write_geotiff(dir + "/images/" + fn, t, 10.0 * double(i), 20.0 * double(i));
    index << fn << "," << 10 * i << "," << 20 * i << "\n";
  }
  index.close();
  satclip::data::PackOptions o;
  o.index = dir + "/index.csv";
  o.images = dir + "/images";
  o.out = kUnpacked + "/shards";
  o.threads = 1;
  o.progress = satclip::ProgressStyle::kLines;
  EXPECT_EQ(satclip::data::pack_s2(o).packed, tiles.size(0));
}
