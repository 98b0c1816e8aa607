// The ridge and kNN probes and the spatial folds against scikit-learn
// (tests/reference/probes_reference.py make wrote FILE: the same data and folds, and what
// GridSearchCV(..., cv=KFold(5)) chose and predicted on each fold). Ridge predictions and every
// metric to 1e-6; the chosen alpha and k and the kNN class labels exactly; kNN means to 1e-12.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "core/base/fs_util.h"
#include "core/eval/classic_probes.h"
#include "core/eval/probe.h"
#include "core/eval/splits.h"
#include "core/model/torch_pickle.h"

namespace sc = satclip::core;

namespace {

std::map<std::string, torch::Tensor> reference() {
  std::map<std::string, torch::Tensor> out;
  for (auto& e : sc::read_torch_file(satclip::RegularFile(SATCLIP_PROBES_REFERENCE, "the probes reference", ""))) {
    out[e.key] = e.tensor;
  }
  return out;
}

std::vector<double> values(const torch::Tensor& t) {
  const auto c = t.to(torch::kDouble).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

std::vector<int64_t> indices(const torch::Tensor& t) {
  const auto c = t.to(torch::kLong).contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

}  // namespace

TEST(Probes, SpatialFoldsAreDisjointBlocksAndReproducible) {
  auto ref = reference();
  const auto lat = values(ref["lat"]), lon = values(ref["lon"]);
  for (uint64_t seed = 0; seed < 3; ++seed) {
    const auto folds = sc::spatial_folds(lat, lon, 20.0, 4, seed);
    ASSERT_EQ(folds.size(), 4u);
    std::vector<int> tested(lat.size(), 0);
    std::map<std::pair<int, int>, size_t> block_fold;
    for (size_t f = 0; f < folds.size(); ++f) {
      const std::string key = "s" + std::to_string(seed) + "f" + std::to_string(f);
      EXPECT_EQ(folds[f].train, indices(ref[key + "_train"])) << key;
      EXPECT_EQ(folds[f].test, indices(ref[key + "_test"])) << key;
      EXPECT_EQ(folds[f].train.size() + folds[f].test.size(), lat.size());
      for (const int64_t i : folds[f].test) {
        ++tested[size_t(i)];
        const std::pair<int, int> block{int((lat[size_t(i)] + 90) / 20), int((lon[size_t(i)] + 180) / 20)};
        auto [it, fresh] = block_fold.emplace(block, f);
        EXPECT_EQ(it->second, f) << "a block is split between folds";
      }
    }
    for (const int t : tested) EXPECT_EQ(t, 1);
    EXPECT_EQ(sc::spatial_folds(lat, lon, 20.0, 4, seed)[0].test, folds[0].test);  // reproducible
  }
  EXPECT_NE(sc::spatial_folds(lat, lon, 20.0, 4, 0)[0].test, sc::spatial_folds(lat, lon, 20.0, 4, 1)[0].test);
}

TEST(Probes, RidgeAndKnnEqualScikitLearnOnEveryFold) {
  auto ref = reference();
  const auto x = ref["x"];
  for (int seed = 0; seed < 3; ++seed) {
    for (int f = 0; f < 4; ++f) {
      const std::string key = "s" + std::to_string(seed) + "f" + std::to_string(f);
      const auto train = indices(ref[key + "_train"]), test = indices(ref[key + "_test"]);
      for (const std::string task : {"reg", "cls"}) {
        const auto kind = task == "reg" ? sc::ProbeTask::kRegression : sc::ProbeTask::kClassification;
        const auto y = ref[task == "reg" ? "y_reg" : "y_cls"];
        const auto truth = y.index_select(0, torch::tensor(test, torch::kLong));
        for (const std::string probe : {"ridge", "knn"}) {
          const std::string p = key + "_" + task + "_" + probe;
          const auto fit = probe == "ridge" ? sc::ridge_probe(x, y, train, test, kind) : sc::knn_probe(x, y, train, test, kind);
          EXPECT_EQ(fit.chosen, ref[p + "_chosen"].item<double>()) << p;
          const auto want = ref[p + "_pred"];
          if (task == "cls") {
            EXPECT_TRUE(torch::equal(fit.predicted, want.to(torch::kLong))) << p;
            EXPECT_NEAR(sc::accuracy(fit.predicted, truth), ref[p + "_acc"].item<double>(), 1e-12) << p;
            EXPECT_NEAR(sc::macro_f1(fit.predicted, truth), ref[p + "_f1"].item<double>(), 1e-12) << p;
          } else {
            const double tol = probe == "ridge" ? 1e-6 : 1e-12;
            EXPECT_LE((fit.predicted - want).abs().max().item<double>(), tol) << p;
            EXPECT_NEAR(sc::mse(fit.predicted, truth), ref[p + "_mse"].item<double>(), 1e-6) << p;
            EXPECT_NEAR(sc::r2(fit.predicted, truth), ref[p + "_r2"].item<double>(), 1e-6) << p;
          }
        }
      }
    }
  }
}

// The benchmark's MLP probe against the same steps in PyTorch (probes_reference.py mlp): 4 epochs
// of mini-batches of 64 in epoch_order, Adam at 3e-3 with cosine decay, on fold 0 of seed 0. Both
// sides run the same ATen kernels in the same order, so the 20 steps agree to float32 rounding:
// 1e-5 on predictions of order 1 leaves room for a few ulps per step, and no room for a different
// batch order, learning rate or initialisation (each moves the predictions by 1e-3 or more).
TEST(Probes, MlpEqualsPyTorchStepForStep) {
  auto ref = reference();
  EXPECT_EQ(sc::epoch_order(10, 3, 2), indices(ref["epoch_order_10_s3_e2"]));
  const auto train = indices(ref["s0f0_train"]), test = indices(ref["s0f0_test"]);
  sc::MlpOptions o;
  o.epochs = 4;
  o.batch = 64;
  o.lr = 3e-3;
  const auto reg = sc::mlp_predict(ref["x"], ref["y_reg"], train, test, 0, 5, o);
  EXPECT_LE((reg - ref["mlp_reg_pred"]).abs().max().item<double>(), 1e-5);
  const auto cls = sc::mlp_predict(ref["x"], ref["y_cls"], train, test, 4, 5, o);
  EXPECT_TRUE(torch::equal(cls, ref["mlp_cls_pred"].to(torch::kLong)));
}
