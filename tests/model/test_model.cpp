// The C++ model and losses against independent references (tests/reference/make_fixtures.py):
// the seed model built from timm + geoclip, GeoCLIP's pretrained encoder, scipy's harmonics.
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "core/base/error.h"
#include "core/train/losses.h"
#include "core/model/pretrained.h"
#include "core/model/satclip.h"
#include "core/model/state_dict.h"
#include "model/model_test_util.h"
#include "support/grad_tolerance.h"

using namespace satclip::core;
using satclip::testing::fill_reference_weights;
using satclip::testing::load_fixture;
using satclip::testing::relative_error;

namespace {

// The seed's configuration, with dropout off (the reference runs in eval mode).
ModelConfig seed_config() {
  ModelConfig m;
  m.freeze_image_encoder = false;  // the fixture also checks a ResNet gradient
  m.train_rff = true;
  m.embed_dim = 1024;
  return m;
}

SatClip seed_model() {
  SatClip model(seed_config(), LossConfig{});
  fill_reference_weights(*model);
  model->train(false);
  return model;
}

const char* kGradParams[] = {
    "image_encoder.visual.conv1.weight",        "image_encoder.visual.layer4.1.bn2.weight",
    "image_projection.fc_layer.bias",           "image_projection.layer_norm.weight",
    "loc_projection.projection_layer.bias",     "location_encoder.encoder.LocEnc0.capsule.0.b",
    "location_encoder.encoder.LocEnc2.head.0.bias"};

}  // namespace

// The three losses on the seed model's embeddings (temperature 1 and 0.5 for soft_clip).
std::vector<std::pair<std::string, torch::Tensor>> seed_losses(const Embeddings& e) {
  const auto scale = torch::full({}, std::log(1 / 0.07), e.image.options());
  return {{"soft_clip_t1", soft_clip_loss(e.image, e.location, 1.0)},
          {"soft_clip_t05", soft_clip_loss(e.image, e.location, 0.5)},
          {"info_nce", info_nce_loss(e.image, e.location, scale)}};
}

// Our model against the timm + geoclip fixture (PyTorch, float32), by the rule of
// tests/support/grad_tolerance.h: the tolerance is 16 x the rounding error of our own float32
// computation against our float64 one. Both our float32 and our float64 results must match the
// fixture; a doubled gradient (a sum over two ranks instead of the average) must not.
TEST(SeedModel, EmbeddingsLossesAndGradientsMatchTimmAndGeoclip) {
  using satclip::testing::float32_tolerance;
  using satclip::testing::mismatch;
  auto fx = load_fixture("seed_model.pt");
  auto model = seed_model();
  auto model64 = seed_model();
  model64->to(torch::kDouble);
  const auto e = model->forward(fx["images"], fx["lat_lon"]);
  const auto e64 = model64->forward(fx["images"].to(torch::kDouble), fx["lat_lon"].to(torch::kDouble));
  for (const auto& [what, got, got64, want] :
       {std::tuple{"image embeddings", e.image, e64.image, fx["image_embeddings"]},
        std::tuple{"location embeddings", e.location, e64.location, fx["location_embeddings"]}}) {
    const double tol = float32_tolerance(got, got64);
    EXPECT_EQ(mismatch(what, got, want, tol), "");
    EXPECT_EQ(mismatch(std::string(what) + " (float64)", got64, want, tol), "");
  }
  const auto losses = seed_losses(e);
  const auto losses64 = seed_losses(e64);
  const auto params = model->named_parameters();
  const auto params64 = model64->named_parameters();
  for (size_t l = 0; l < losses.size(); ++l) {
    const auto& [tag, loss] = losses[l];
    const auto& loss64 = losses64[l].second;
    const auto want_loss = fx["loss_" + tag];
    EXPECT_EQ(mismatch(tag, loss.reshape({1}), want_loss, float32_tolerance(loss.reshape({1}), loss64.reshape({1}))), "");
    model->zero_grad();
    model64->zero_grad();
    loss.backward({}, /*retain_graph=*/true);
    loss64.backward({}, /*retain_graph=*/true);
    for (const char* name : kGradParams) {
      const auto& g = params[name].grad();
      const auto& g64 = params64[name].grad();
      const auto& want = fx["grad_" + tag + "." + name];
      const double tol = float32_tolerance(g, g64);
      EXPECT_EQ(mismatch(tag + " " + name, g, want, tol), "");
      EXPECT_EQ(mismatch(tag + " " + name + " (float64)", g64, want, tol), "");
      EXPECT_NE(mismatch(name, 2 * g, want, tol), "") << tag << ": a doubled gradient passed";
    }
  }
}

TEST(SeedModel, ParameterNamesAndShapesAreTheSeeds) {
  // Every tensor of the reference fixture's gradient list exists with the same shape, and the
  // ResNet50 names equal timm's.
  auto fx = load_fixture("seed_model.pt");
  auto model = seed_model();
  const auto params = model->named_parameters();
  for (const char* name : kGradParams) {
    ASSERT_TRUE(params.contains(name)) << name;
    EXPECT_EQ(params[name].sizes(), fx[std::string("grad_soft_clip_t1.") + name].sizes()) << name;
  }
  ResNet r50(50, 13);
  std::ostringstream ours;
  for (const auto& p : r50->named_parameters()) ours << p.key() << " " << p.value().sizes() << "\n";
  std::ifstream in(std::string(SATCLIP_SOURCE_DIR) + "/tests/reference/fixtures/timm_resnet50_13band_names.txt");
  std::string line, expect;
  while (std::getline(in, line)) {
    if (line.find("running_") != std::string::npos || line.find("num_batches") != std::string::npos) continue;
    std::string name = line.substr(0, line.find(' '));
    std::string shape = line.substr(line.find(' ') + 1);
    for (auto& c : shape) if (c == ' ') c = '\0';
    shape.erase(std::remove(shape.begin(), shape.end(), '\0'), shape.end());
    expect += name + " " + shape + "\n";
  }
  std::string got = ours.str();
  got.erase(std::remove(got.begin(), got.end(), ' '), got.end());
  expect.erase(std::remove(expect.begin(), expect.end(), ' '), expect.end());
  EXPECT_EQ(got, expect);
  EXPECT_EQ(r50->num_features(), 2048);
}

TEST(GeoClip, PretrainedEmbeddingsMatchTheGeoclipPackage) {
  const std::string weights = SATCLIP_GEOCLIP_WEIGHTS;
  if (weights.empty()) GTEST_SKIP() << "the geoclip Python package is not installed (scripts/setup.sh installs it)";
  auto fx = load_fixture("geoclip_pretrained.pt");
  GeoClipLocationEncoder encoder(std::vector<double>{1, 16, 256}, false);
  const auto report = load_state_dict(*encoder, read_state_dict(weights), {"", {}, {}, /*strict=*/true}, weights);
  EXPECT_EQ(report.loaded, 27);
  torch::NoGradGuard no_grad;
  const auto got = encoder->forward(fx["lat_lon"]);
  encoder->to(torch::kDouble);
  const auto got64 = encoder->forward(fx["lat_lon"].to(torch::kDouble));
  const double tol = satclip::testing::float32_tolerance(got, got64);
  EXPECT_EQ(satclip::testing::mismatch("GeoCLIP embeddings", got, fx["embeddings"], tol), "");
  EXPECT_EQ(satclip::testing::mismatch("GeoCLIP embeddings (float64)", got64, fx["embeddings"], tol), "");
}

TEST(SphericalHarmonics, MatchScipyUpToDegree40InFloat64) {
  auto fx = load_fixture("spherical_harmonics.pt");
  const auto ours = spherical_harmonics(fx["lat_lon"], 40);
  ASSERT_EQ(ours.sizes(), fx["values"].sizes());
  EXPECT_EQ(ours.scalar_type(), torch::kDouble);
  const double max_abs = (ours - fx["values"]).abs().max().item<double>();
  EXPECT_LE(max_abs, 1e-10);
  // Lower degrees are the leading columns.
  EXPECT_TRUE(torch::allclose(spherical_harmonics(fx["lat_lon"], 10), fx["values"].narrow(1, 0, 100), 0, 1e-10));
}

// SatCLIP's analytic convention from scipy's orthonormal harmonics (the closed_form convention):
// no Condon-Shortley phase ((-1)^m on m != 0) and pi on m = 0.
torch::Tensor analytic_from_closed_form(const torch::Tensor& values, int64_t L) {
  auto out = values.narrow(1, 0, L * L).clone();
  for (int64_t l = 0; l < L; ++l) {
    for (int64_t m = -l; m <= l; ++m) {
      const double factor = m == 0 ? 3.14159265358979323846 : (m % 2 != 0 ? -1.0 : 1.0);
      out.select(1, l * l + l + m).mul_(factor);
    }
  }
  return out;
}

TEST(SphericalHarmonics, AnalyticConventionMatchesScipyWithSatclipsFactors) {
  auto fx = load_fixture("spherical_harmonics.pt");
  const auto want = analytic_from_closed_form(fx["values"], 40);
  const auto exact = spherical_harmonics(fx["lat_lon"], 40, satclip::Harmonics::kAnalytic);
  EXPECT_LE((exact - want).abs().max().item<double>(), 1e-9);  // pi x the closed_form bound
  // SatCLIP's own arithmetic: within 2e-11 at L = 10 (5e-12 measured); at L = 40 its rounding
  // grows toward the poles (|cos theta| = |sin lat| near 1) and stays small near the equator.
  satclip::core::SatclipAnalyticHarmonics satclip10(10), satclip40(40);
  EXPECT_LE((satclip10(fx["lat_lon"]) - want.narrow(1, 0, 100)).abs().max().item<double>(), 2e-11);
  const auto near_equator = fx["lat_lon"].select(1, 0).abs() < 20;
  ASSERT_TRUE(near_equator.any().item<bool>());
  const auto err40 = (satclip40(fx["lat_lon"]) - want).abs().amax(1);
  EXPECT_LE(err40.masked_select(near_equator).max().item<double>(), 1e-9);
  EXPECT_GE(err40.max().item<double>(), 1e-6) << "the fixture has high latitudes, where SatCLIP's rounding shows";
}

TEST(Model, FrozenImageEncoderStaysInEvalModeWithoutGradients) {
  ModelConfig m;
  m.embed_dim = 16;
  m.location_encoder = satclip::LocationEncoderKind::kShSiren;
  m.sh_degree = 4;
  m.siren_hidden = 16;
  m.projection = satclip::Projection::kLinear;
  SatClip model(m, LossConfig{satclip::LossKind::kInfoNce});
  model->train(true);
  EXPECT_FALSE(model->image_encoder->is_training());
  EXPECT_TRUE(model->location_encoder->is_training());
  EXPECT_TRUE(model->logit_scale.defined());
  const auto e = model->forward(torch::rand({2, 13, 16, 16}), torch::tensor({{10.0, 20.0}, {-30.0, 40.0}}));
  EXPECT_EQ(e.image.sizes(), (std::vector<int64_t>{2, 16}));
  EXPECT_FALSE(e.image.requires_grad() && model->image_encoder->parameters()[0].requires_grad());
  for (const auto& p : model->image_encoder->parameters()) EXPECT_FALSE(p.requires_grad());
  EXPECT_TRUE(e.location.requires_grad());
}

TEST(StateDict, StrictLoadingNamesMissingUnexpectedAndMisshapenTensors) {
  auto model = seed_model();
  StateDict sd;
  for (const auto& p : model->named_parameters()) sd.emplace_back(p.key(), p.value().detach().clone());
  sd.emplace_back("extra.weight", torch::zeros({3}));
  sd[0].second = torch::zeros({1, 2});
  sd.erase(sd.begin() + 1);
  try {
    load_state_dict(*model, sd, {"", {}, {}, /*strict=*/true}, "test.pt");
    FAIL() << "strict load accepted a broken state dict";
  } catch (const satclip::Error& e) {
    EXPECT_NE(e.message().find("test.pt"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("extra.weight"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("shape mismatch"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("missing from the file"), std::string::npos) << e.message();
  }
  const auto report = load_state_dict(*model, sd, {"", {}, {}, false});
  EXPECT_EQ(report.unexpected, std::vector<std::string>{"extra.weight"});
  EXPECT_EQ(report.mismatched.size(), 1u);
}

TEST(StateDict, ImageWeightsLoadIntoTheBackboneIgnoringFc) {
  auto model = seed_model();
  StateDict timm_like;
  for (const auto& p : model->image_encoder->visual->named_parameters()) {
    timm_like.emplace_back(p.key(), torch::ones_like(p.value()));
  }
  timm_like.emplace_back("fc.weight", torch::zeros({1000, 512}));
  timm_like.emplace_back("fc.bias", torch::zeros({1000}));
  const auto r = load_state_dict(*model, timm_like, {"image_encoder.visual.", {"fc."}, {}, false});
  EXPECT_EQ(r.ignored, 2);
  EXPECT_TRUE(r.unexpected.empty());
  EXPECT_EQ(model->image_encoder->visual->conv1->weight.sum().item<double>(),
            double(model->image_encoder->visual->conv1->weight.numel()));
}

TEST(StateDict, NonStateDictFilesAreRejectedClearly) {
  const std::string path = "/tmp/satclip-not-a-state-dict.pt";
  std::ofstream(path) << "hello";
  try {
    read_state_dict(path);
    FAIL();
  } catch (const satclip::Error& e) {
    EXPECT_NE(e.message().find(path), std::string::npos);
    EXPECT_NE(e.message().find("not a PyTorch state dict"), std::string::npos) << e.message();
  }
}

TEST(Pretrained, RecipeWeightsLoadByNameIntoTheirParts) {
  const std::string weights = SATCLIP_GEOCLIP_WEIGHTS;
  if (weights.empty()) GTEST_SKIP() << "the geoclip Python package is not installed";
  ModelConfig m;
  m.location_weights = weights;
  SatClip model(m, LossConfig{});
  const auto lines = load_pretrained(model, m);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("27 tensors loaded"), std::string::npos) << lines[0];
  // A whole-model file that is only a location encoder is not the model: strict mode says so.
  ModelConfig whole;
  whole.weights = weights;
  SatClip other(whole, LossConfig{});
  try {
    load_pretrained(other, whole);
    FAIL() << "strict whole-model load accepted a partial file";
  } catch (const satclip::Error& e) {
    EXPECT_NE(e.message().find("location_encoder_weights.pth"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("not in the model: LocEnc0"), std::string::npos) << e.message();
  }
  whole.strict_weights = false;
  EXPECT_NO_THROW(load_pretrained(other, whole));
}
