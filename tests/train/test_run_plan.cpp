// RunPlan (core/train/plan/run_plan.h): the run's arithmetic without a model, a tensor or MPI.
// Each test walks a run the way the trainer's loop does (every epoch, step, rank and micro-batch)
// and checks what the trainer relies on: every step reads the next per_step positions of the
// epoch's order, a run stopped after any step and resumed at any world size neither repeats nor
// skips a sample, and epochs, accumulation, max_steps and padding come out as specified.
#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include <gtest/gtest.h>

#include "core/base/error.h"
#include "core/recipe/recipe.h"
#include "core/train/plan/run_plan.h"

using satclip::core::BatchPlan;
using satclip::core::EpochPlan;
using satclip::core::RunCadence;
using satclip::core::RunPlan;
using satclip::core::RunPosition;

namespace {

satclip::data::SamplerOptions sampling(bool drop_last, uint64_t seed = 7) {
  satclip::data::SamplerOptions o;
  o.seed = seed;
  o.drop_last = drop_last;
  return o;
}

RunPlan make_plan(int64_t n, int64_t per_rank, int64_t world, int64_t accum, bool drop_last, int64_t epochs,
                  int64_t max_steps = 0, int64_t val = 10) {
  RunCadence c;
  c.epochs = epochs;
  c.max_steps = max_steps;
  return RunPlan(BatchPlan{per_rank, world, accum}, n, val, sampling(drop_last), c);
}

// The epoch's global order, inverted: training-split position -> place in the order.
std::vector<int64_t> place_in_order(int64_t n, int64_t epoch, bool drop_last) {
  const auto order = satclip::data::DistributedSampler(n, 0, 1, sampling(drop_last)).epoch_order(epoch);
  std::vector<int64_t> place(size_t(n), -1);
  for (int64_t i = 0; i < n; ++i) place[size_t(order[size_t(i)])] = i;
  return place;
}

// Trains `plan` as the loop does until step `stop` (or its end): epoch -> the places in the
// epoch's order of every sample read, over all ranks and micro-batches, in step order. Returns
// where the run stands after its last step.
RunPosition walk(const RunPlan& plan, int64_t stop, std::map<int64_t, std::vector<int64_t>>& read) {
  RunPosition at = plan.start();
  const auto& b = plan.batch();
  for (const EpochPlan& e : plan.epochs()) {
    const auto place = place_in_order(plan.train_size(), e.epoch, true);
    for (int64_t k = 0; k < e.steps; ++k) {
      const int64_t step = e.first_step + k + 1;
      if (step > stop) return at;
      for (int64_t m = 0; m < b.grad_accum; ++m) {
        for (int rank = 0; rank < int(b.world); ++rank) {
          for (int64_t pos : plan.micro_batch(e, k, m, rank)) read[e.epoch].push_back(place[size_t(pos)]);
        }
      }
      at = plan.after(e, step);
    }
  }
  return at;
}

}  // namespace

TEST(RunPlan, EveryStepReadsTheNextPerStepPositionsOfTheEpochsOrder) {
  // 3 ranks x 4 per rank x 2 accumulation = 24 samples a step, over 2 epochs of 100 (drop_last).
  const RunPlan plan = make_plan(100, 4, 3, 2, true, 2);
  EXPECT_EQ(plan.steps_per_epoch(), 4);  // 100 / 3 = 33 per rank, 8 micro-batches, 4 steps
  EXPECT_EQ(plan.total_steps(), 8);
  for (const EpochPlan& e : plan.epochs()) {
    const auto place = place_in_order(100, e.epoch, true);
    for (int64_t k = 0; k < e.steps; ++k) {
      std::vector<int64_t> step;
      for (int64_t m = 0; m < 2; ++m) {
        for (int rank = 0; rank < 3; ++rank) {
          const auto mb = plan.micro_batch(e, k, m, rank);
          ASSERT_EQ(mb.size(), 4u);
          for (int64_t pos : mb) step.push_back(place[size_t(pos)]);
        }
      }
      std::sort(step.begin(), step.end());
      std::vector<int64_t> expected(24);
      std::iota(expected.begin(), expected.end(), e.cursor + k * 24);
      EXPECT_EQ(step, expected) << "epoch " << e.epoch << " step " << k;
    }
  }
}

TEST(RunPlan, NoSampleLostOrRepeatedAcrossAResumeAtAnotherWorldSize) {
  // Every stop point of a 2-epoch run at each world size, resumed at each other world size with the
  // same global batch (data.global_batch_size = 12): the samples of every epoch are the first m
  // places of its order, each once, and only a tail shorter than one step is left unread.
  const int64_t n = 103, global = 12;
  for (int64_t w1 : {1, 2, 3, 4}) {
    const RunPlan first = make_plan(n, global / w1, w1, 1, true, 2);
    for (int64_t stop = 1; stop < first.total_steps(); ++stop) {
      for (int64_t w2 : {1, 2, 3, 4, 6}) {
        std::map<int64_t, std::vector<int64_t>> read;
        const RunPosition at = walk(first, stop, read);
        ASSERT_EQ(at.step, stop);
        const RunPlan second = make_plan(n, global / w2, w2, 1, true, 2).resumed_at(at);
        walk(second, second.total_steps(), read);
        ASSERT_EQ(read.size(), 2u);
        for (auto& [epoch, places] : read) {
          std::sort(places.begin(), places.end());
          for (size_t i = 0; i < places.size(); ++i) {
            ASSERT_EQ(places[i], int64_t(i)) << "world " << w1 << " -> " << w2 << ", stop " << stop << ", epoch "
                                             << epoch << ": a sample repeated or skipped";
          }
          EXPECT_GT(int64_t(places.size()), n - global) << "world " << w1 << " -> " << w2 << ", stop " << stop;
        }
      }
    }
  }
}

TEST(RunPlan, ResumeAtAnEpochsEndOrItsShortRestContinuesAtTheNextEpoch) {
  const RunPlan two = make_plan(100, 5, 2, 1, true, 3);  // 10 steps per epoch, 30 in all
  ASSERT_EQ(two.steps_per_epoch(), 10);
  const auto epochs = two.epochs();
  ASSERT_EQ(epochs.size(), 3u);
  EXPECT_EQ(two.after(epochs[0], 10), (RunPosition{10, 1, 0}));  // the epoch's last step
  EXPECT_EQ(two.after(epochs[0], 9), (RunPosition{9, 0, 90}));
  EXPECT_TRUE(epochs[0].ends_epoch(10));
  EXPECT_FALSE(epochs[0].ends_epoch(9));
  // At 3 ranks of 5 (15 a step) the 10 samples left at position 90 are less than a step: the
  // resumed run starts epoch 2 instead, and has 2 x 6 steps to go.
  const RunPlan three = make_plan(100, 5, 3, 1, true, 3).resumed_at({9, 0, 90});
  EXPECT_EQ(three.start(), (RunPosition{9, 1, 0}));
  EXPECT_EQ(three.total_steps(), 9 + 2 * 6);
  ASSERT_EQ(three.epochs().size(), 2u);
  EXPECT_EQ(three.epochs()[0].first_step, 9);
  // A position after the last epoch: nothing left to train.
  const RunPlan done = two.resumed_at({30, 3, 0});
  EXPECT_TRUE(done.epochs().empty());
  EXPECT_EQ(done.total_steps(), 30);
  EXPECT_THROW(two.resumed_at({5, 0, 101}), satclip::Error);  // beyond the training split
}

TEST(RunPlan, GradAccumulationGroupsMicroBatchesIntoSteps) {
  // 1 rank x 8 x 3 micro-batches: 100 samples give 12 micro-batches = 4 steps; the 4 samples of
  // a 13th micro-batch and nothing else stay unread.
  const RunPlan plan = make_plan(100, 8, 1, 3, true, 1);
  EXPECT_EQ(plan.steps_per_epoch(), 4);
  const auto e = plan.epochs().at(0);
  EXPECT_EQ(plan.rank_samples(e, 0).size(), 96u);
  const auto all = plan.rank_samples(e, 0);
  for (int64_t k = 0; k < 4; ++k) {
    for (int64_t m = 0; m < 3; ++m) {
      const auto mb = plan.micro_batch(e, k, m, 0);
      const std::vector<int64_t> slice(all.begin() + (k * 3 + m) * 8, all.begin() + (k * 3 + m + 1) * 8);
      EXPECT_EQ(mb, slice) << "step " << k << " micro " << m;
    }
  }
  EXPECT_EQ(plan.after(e, 2), (RunPosition{2, 0, 48}));
  EXPECT_THROW(plan.micro_batch(e, 0, 3, 0), satclip::Error);
  // Fewer micro-batches per rank than train.grad_accum: refused, naming the key.
  try {
    make_plan(20, 8, 1, 3, true, 1);
    FAIL() << "an epoch shorter than one step was accepted";
  } catch (const satclip::Error& err) {
    EXPECT_NE(std::string(err.what()).find("train.grad_accum"), std::string::npos) << err.what();
  }
}

TEST(RunPlan, MaxStepsCutsTheRunAndItsLastStepLogsValidatesAndCheckpoints) {
  RunCadence c;
  c.epochs = 5;
  c.max_steps = 13;
  c.log_every = 4;
  c.val_every_epochs = 2;
  c.checkpoint_every_epochs = 1;
  const RunPlan plan(BatchPlan{10, 1, 1}, 50, 8, sampling(true), c);  // 5 steps per epoch
  EXPECT_EQ(plan.total_steps(), 13);
  const auto epochs = plan.epochs();
  ASSERT_EQ(epochs.size(), 3u);
  EXPECT_EQ(epochs[2].steps, 3);
  EXPECT_EQ(epochs[2].rest, 5);
  EXPECT_FALSE(epochs[2].ends_epoch(13));
  EXPECT_EQ(plan.after(epochs[2], 13), (RunPosition{13, 2, 30}));
  const auto last = plan.events(epochs[2], 13);
  EXPECT_TRUE(last.log && last.validate && last.checkpoint);
  // Step 5 ends epoch 1: a checkpoint (every epoch) but no validation (every 2nd) and no log.
  const auto e5 = plan.events(epochs[0], 5);
  EXPECT_TRUE(e5.checkpoint);
  EXPECT_FALSE(e5.validate || e5.log);
  const auto e10 = plan.events(epochs[1], 10);
  EXPECT_TRUE(e10.validate && e10.checkpoint);
  EXPECT_TRUE(plan.events(epochs[1], 8).log);
  EXPECT_FALSE(plan.events(epochs[1], 7).any());
  // No validation split: never validates.
  const RunPlan no_val(BatchPlan{10, 1, 1}, 50, 0, sampling(true), c);
  EXPECT_FALSE(no_val.events(no_val.epochs()[1], 10).validate);
  // A resumed run keeps max_steps as the run's total.
  EXPECT_EQ(plan.resumed_at({7, 1, 20}).total_steps(), 13);
}

TEST(RunPlan, PaddingGivesEqualSharesCoversTheEpochAndShrinksOnlyTheLastMicroBatch) {
  // data.drop_last off: 3 ranks x 8 over 100 samples: 34 per rank (2 wrapped around), 5
  // micro-batches of 8, 8, 8, 8 and 2.
  const RunPlan plan = make_plan(100, 8, 3, 1, false, 1);
  EXPECT_EQ(plan.steps_per_epoch(), 5);
  const auto e = plan.epochs().at(0);
  std::multiset<int64_t> read;
  for (int rank = 0; rank < 3; ++rank) {
    std::vector<size_t> sizes;
    for (int64_t k = 0; k < e.steps; ++k) {
      const auto mb = plan.micro_batch(e, k, 0, rank);
      sizes.push_back(mb.size());
      read.insert(mb.begin(), mb.end());
    }
    EXPECT_EQ(sizes, (std::vector<size_t>{8, 8, 8, 8, 2})) << "rank " << rank;
  }
  EXPECT_EQ(read.size(), 102u);
  for (int64_t i = 0; i < 100; ++i) EXPECT_GE(read.count(i), 1u) << "sample " << i << " never read";
  EXPECT_EQ(std::set<int64_t>(read.begin(), read.end()).size(), 100u);  // 2 read twice: the padding
  EXPECT_TRUE(e.ends_epoch(5));
  EXPECT_EQ(plan.after(e, 5), (RunPosition{5, 1, 0}));
}

TEST(RunPlan, FromTheRecipe) {
  satclip::core::Recipe r;
  r.data.global_batch_size = 12;
  r.train.epochs = 2;
  r.train.max_steps = 0;
  r.train.grad_accum = 2;
  const RunPlan plan = RunPlan::from_recipe(r, 3, 100, 10, /*debug=*/true);
  EXPECT_EQ(plan.batch().per_rank, 4);
  EXPECT_EQ(plan.batch().per_step(), 24);
  EXPECT_EQ(plan.steps_per_epoch(), 4);
  EXPECT_EQ(plan.total_steps(), 8);
  EXPECT_TRUE(plan.events(plan.epochs()[0], 1).log);  // --debug logs every step
  EXPECT_THROW(RunPlan::from_recipe(r, 5, 100, 10), satclip::Error);  // 12 does not divide among 5
}
