// The Trainer in-process, on one rank, on the CPU: the one C++ test that constructs it (the
// integration tests run satclip-ddp under mpiexec). A run of the checkpoint tests' recipe on the
// synthetic sample trains the steps its plan says, logs every step, writes its checkpoints, and a
// second Trainer resumed from one of them trains the same later steps to the same losses, bit for
// bit; a dry run describes the plan without writing anything.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>

#include <ATen/Context.h>
#include <gtest/gtest.h>

#include "core/base/fs_util.h"
#include "core/recipe/config.h"
#include "core/train/trainer.h"
#include "distributed/local_communicator.h"
#include "distributed/runtime.h"

namespace fs = std::filesystem;
using namespace satclip;

namespace {

const std::string kRecipe = std::string(SATCLIP_SOURCE_DIR) + "/tests/train/data/resume.yaml";

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/satclip-trainer-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { remove_tree(path); }
};

dist::Runtime one_cpu_rank() { return dist::resolve_runtime(dist::ProcessInfo{}, {}, "cpu", 0); }

// metrics.jsonl's train losses by step, as written.
std::map<int64_t, std::string> train_losses(const std::string& run) {
  std::map<int64_t, std::string> out;
  std::ifstream in(run + "/metrics.jsonl");
  const std::regex line(R"re("event": ?"train".*"step": ?(\d+).*"loss": ?([^,}]+))re");
  std::smatch m;
  for (std::string text; std::getline(in, text);) {
    if (std::regex_search(text, m, line)) out[std::stoll(m[1])] = m[2];
  }
  return out;
}

core::FitResult train(const std::string& dir, int64_t max_steps, const std::string& resume = "",
                      const std::string& deterministic = "false") {
  auto recipe = core::load_recipe(kRecipe, {"output.dir=" + dir, cat("train.max_steps=", max_steps),
                                            "train.deterministic=" + deterministic});
  dist::LocalCommunicator comm;
  core::TrainOptions options;
  options.resume = resume;
  core::Trainer trainer(recipe, one_cpu_rank(), comm, options);
  return trainer.fit();
}

}  // namespace

TEST(Trainer, TrainsItsPlanAndAResumedTrainerContinuesWithTheSameLosses) {
  TempDir tmp;
  const std::string a = tmp.path + "/a", b = tmp.path + "/b";
  const auto first = train(a, 14);
  EXPECT_EQ(first.steps, 14);
  EXPECT_EQ(first.stop_signal, 0);
  EXPECT_EQ(first.checkpoint, a + "/checkpoints/step-00000014");
  for (const char* f : {"/config.yaml", "/checkpoints/step-00000010/COMPLETE", "/checkpoints/step-00000014/COMPLETE",
                        "/checkpoints/last.pt"}) {
    EXPECT_TRUE(fs::exists(a + f)) << a + f;
  }
  const auto la = train_losses(a);
  ASSERT_EQ(la.size(), 14u);  // train.log_every = 1
  EXPECT_EQ(la.begin()->first, 1);
  EXPECT_EQ(la.rbegin()->first, 14);

  const auto second = train(b, 14, a + "/checkpoints/step-00000010");
  EXPECT_EQ(second.steps, 14);
  const auto lb = train_losses(b);
  ASSERT_EQ(lb.size(), 4u) << "the resumed run trains steps 11..14 only";
  for (const auto& [step, loss] : lb) EXPECT_EQ(loss, la.at(step)) << "step " << step;
}

TEST(Trainer, DeterministicAlgorithmsComputeTheSameOnTheCpu) {
  // train.deterministic turns on ATen's deterministic mode, in which every operation without a
  // deterministic algorithm throws and torch::empty fills its memory with NaN: a run (dropout,
  // random crops, flips, jitter, resume) that trains to the same losses as without shows that no
  // step uses such an operation or reads memory it did not write.
  TempDir tmp;
  const std::string plain = tmp.path + "/plain", det = tmp.path + "/det", resumed = tmp.path + "/resumed";
  train(plain, 12);
  train(det, 12, "", "true");
  EXPECT_TRUE(at::globalContext().deterministicAlgorithms());
  train(resumed, 12, det + "/checkpoints/step-00000010", "true");
  const auto lp = train_losses(plain), ld = train_losses(det), lr = train_losses(resumed);
  ASSERT_EQ(ld.size(), 12u);
  EXPECT_EQ(ld, lp);
  ASSERT_EQ(lr.size(), 2u);
  for (const auto& [step, loss] : lr) EXPECT_EQ(loss, ld.at(step)) << "step " << step;
  train(plain + "-again", 1);
  EXPECT_FALSE(at::globalContext().deterministicAlgorithms()) << "a run without it turns the mode off again";
}

TEST(Trainer, ADryRunDescribesThePlanAndWritesNothing) {
  TempDir tmp;
  const std::string dir = tmp.path + "/dry";
  auto recipe = core::load_recipe(kRecipe, {"output.dir=" + dir});
  dist::LocalCommunicator comm;
  core::TrainOptions options;
  options.dry_run = true;
  core::Trainer trainer(recipe, one_cpu_rank(), comm, options);
  const std::string text = trainer.describe();
  // 800 tiles, val_fraction's split, one rank of 32: the plan's figures.
  EXPECT_NE(text.find("batch: 32 per rank x 1 ranks x 1 accumulation = 32 samples per step"), std::string::npos)
      << text;
  EXPECT_NE(text.find("steps in all"), std::string::npos) << text;
  EXPECT_FALSE(fs::exists(dir)) << "a dry run wrote " << dir;
  EXPECT_THROW(trainer.fit(), Error);
}
