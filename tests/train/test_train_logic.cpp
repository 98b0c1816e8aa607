// The trainer's pure pieces: batch plan, learning-rate schedules, great-circle distance and
// retrieval metrics, the coordinates CSV reader, the metrics log's trim on resume.
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>
#include <torch/types.h>

#include "core/base/error.h"
#include "core/infer/coords_csv.h"
#include "core/infer/data_options.h"
#include "core/infer/geo.h"
#include "core/train/optim/optim.h"
#include "core/train/plan/run_plan.h"
#include "core/train/runlog/run_log.h"

using namespace satclip::core;

TEST(BatchPlan, GlobalBatchDividesAmongRanks) {
  Recipe r;
  r.data.batch_size = 8;
  EXPECT_EQ(plan_batches(r, 4).per_rank, 8);
  r.data.global_batch_size = 96;
  r.train.grad_accum = 2;
  const auto p = plan_batches(r, 3);
  EXPECT_EQ(p.per_rank, 32);
  EXPECT_EQ(p.per_step(), 192);
  try {
    plan_batches(r, 5);
    FAIL();
  } catch (const satclip::Error& e) {
    EXPECT_NE(e.message().find("data.global_batch_size = 96 does not divide among 5 ranks"), std::string::npos);
  }
}

TEST(LoaderOptions, AutoWorkersUseTheRanksCpus) {
  EXPECT_EQ(auto_workers(16), 15);  // one CPU left to the rank's own thread
  EXPECT_EQ(auto_workers(64), 16);  // capped at 16
  EXPECT_EQ(auto_workers(8), 7);
  EXPECT_EQ(auto_workers(2), 1);
  EXPECT_EQ(auto_workers(1), 1);    // never below one
  EXPECT_EQ(auto_workers(0), 1);
  DataConfig d;
  EXPECT_EQ(loader_options(d, 32, false, 12).workers, 11);
  d.workers = 3;
  EXPECT_EQ(loader_options(d, 32, false, 1).workers, 3);  // a count is kept as given
  // data.prefetch: auto gives every thread a slot to build into, plus two finished batches.
  EXPECT_EQ(loader_options(d, 32, false, 8).prefetch, 5);
  d.workers = kAuto;
  EXPECT_EQ(loader_options(d, 32, false, 12).prefetch, 13);
  d.prefetch = 1;
  EXPECT_EQ(loader_options(d, 32, false, 12).prefetch, 1);  // a count is kept as given
}

TEST(LrSchedule, CosineWithWarmupAndPlateau) {
  OptimConfig o;
  o.scheduler = satclip::Scheduler::kCosine;
  o.warmup_steps = 10;
  LrSchedule cosine(o, 110);
  EXPECT_DOUBLE_EQ(cosine.factor(5), 0.5);
  EXPECT_DOUBLE_EQ(cosine.factor(10), 1.0);
  EXPECT_NEAR(cosine.factor(60), 0.5, 1e-12);  // half way through the cosine
  EXPECT_NEAR(cosine.factor(110), 0.0, 1e-12);

  o.scheduler = satclip::Scheduler::kPlateau;
  o.warmup_steps = 0;
  o.plateau_patience = 1;
  o.plateau_factor = 0.8;
  LrSchedule plateau(o, 100);
  EXPECT_FALSE(plateau.on_validation(1.0));
  EXPECT_FALSE(plateau.on_validation(0.99));  // improvement
  EXPECT_FALSE(plateau.on_validation(0.99));  // 1 bad epoch = patience: no drop yet
  EXPECT_TRUE(plateau.on_validation(0.995));  // 2 > patience: drop
  EXPECT_DOUBLE_EQ(plateau.factor(50), 0.8);
  EXPECT_FALSE(plateau.on_validation(0.98));
}

TEST(Geo, HaversineKnownDistances) {
  EXPECT_NEAR(haversine_km(0, 0, 0, 180), M_PI * kEarthRadiusKm, 1e-6);
  EXPECT_NEAR(haversine_km(90, 0, -90, 0), M_PI * kEarthRadiusKm, 1e-6);
  // Zurich - Paris: about 488 km.
  EXPECT_NEAR(haversine_km(47.3769, 8.5417, 48.8566, 2.3522), 488, 5);
  EXPECT_DOUBLE_EQ(haversine_km(10, 20, 10, 20), 0.0);
}

TEST(Geo, RetrievalCountsTopKDistancesAndMedian) {
  // Gallery of 6 orthogonal-ish embeddings; queries 0..2 retrieve their own row, query 3 the row 1.
  const auto gallery = torch::eye(6, torch::kFloat);
  auto queries = gallery.narrow(0, 0, 4).clone();
  queries[3] = gallery[1] + 0.5 * gallery[3];
  const auto ll = torch::tensor({0.0, 0.0, 0.0, 10.0, 0.0, 20.0, 0.0, 30.0, 0.0, 40.0, 0.0, 50.0}, torch::kDouble).view({6, 2});
  const auto m = retrieval_metrics(queries, gallery, {0, 1, 2, 3}, ll.narrow(0, 0, 4), ll);
  EXPECT_EQ(m.n, 4);
  EXPECT_DOUBLE_EQ(m.top1, 0.75);
  EXPECT_DOUBLE_EQ(m.top5, 1.0);
  const double miss = haversine_km(0, 30, 0, 10);  // ~2224 km
  EXPECT_DOUBLE_EQ(m.within[0], 0.75);
  EXPECT_DOUBLE_EQ(m.within[3], 1.0);  // 2224 km <= 2500 km
  EXPECT_DOUBLE_EQ(m.within[2], 0.75);
  EXPECT_NEAR(m.median_km, 0.0, 1e-9);
  EXPECT_GT(miss, 750);
}

TEST(CoordsCsv, ColumnsInAnyOrderAndBadRowsNamed) {
  const std::string path = "/tmp/satclip-coords-test.csv";
  std::ofstream(path) << "id,lon,lat\na,8.5,47.4\nb,200,-10\n\n";
  const auto c = read_coords_csv(path);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_DOUBLE_EQ(c[0].lat, 47.4);
  EXPECT_DOUBLE_EQ(c[1].lon, -160);
  // RFC 4180 quoting, blanks around fields, CRLF: a name with a comma and a doubled quote keeps
  // the columns in place.
  std::ofstream(path) << "name , \"lat\",lon\r\n\"Zurich, \"\"HB\"\"\", 47.378 ,8.540\r\n";
  const auto q = read_coords_csv(path);
  ASSERT_EQ(q.size(), 1u);
  EXPECT_DOUBLE_EQ(q[0].lat, 47.378);
  EXPECT_DOUBLE_EQ(q[0].lon, 8.540);
  // Not numbers, also those C's strtod reads (hexadecimal, inf, nan).
  for (const std::string bad : {"x", "0x10", "inf", "nan"}) {
    std::ofstream(path) << "lat,lon\n1,2\n" << bad << ",3\n";
    try {
      read_coords_csv(path);
      ADD_FAILURE() << bad;
    } catch (const satclip::Error& e) {
      EXPECT_NE(e.message().find(path + ":3: lat '" + bad + "' is not a number"), std::string::npos) << e.message();
    }
  }
  // Decimal commas give a row more fields than the header: refused, not read as lat 47, lon 37.
  std::ofstream(path) << "lat,lon\n1,2\n47,37,8,54\n";
  try {
    read_coords_csv(path);
    FAIL();
  } catch (const satclip::Error& e) {
    EXPECT_NE(e.message().find(path + ":3: 4 fields, the header has 2"), std::string::npos) << e.message();
    EXPECT_NE(e.hint().find("decimal commas"), std::string::npos) << e.hint();
  }
  std::ofstream(path) << "lat,lon\n47.37,8.54,\n";  // a trailing comma adds no field
  ASSERT_EQ(read_coords_csv(path).size(), 1u);
  std::ofstream(path) << "\xEF\xBB\xBF" "lat,lon\n47.37,8.54\n";  // a spreadsheet's byte-order mark
  ASSERT_EQ(read_coords_csv(path).size(), 1u);
  std::ofstream(path) << "lat,lon\n95,2\n";
  EXPECT_THROW(read_coords_csv(path), satclip::Error);
  std::ofstream(path) << "x,y\n1,2\n";
  EXPECT_THROW(read_coords_csv(path), satclip::Error);
  // A header, then 4 GiB of zeros without a newline (sparse): refused after its first MiB.
  std::ofstream(path) << "lat,lon\n";
  ASSERT_EQ(0, ::truncate(path.c_str(), off_t{4} << 30));
  try {
    read_coords_csv(path);
    FAIL();
  } catch (const satclip::Error& e) {
    EXPECT_NE(e.message().find(path + ":2: line longer than 1048576 bytes"), std::string::npos) << e.message();
  }
  std::remove(path.c_str());
}

TEST(MetricsLog, TrimKeepsTheStepsUpToTheCheckpointAndRefusesWhatIsNotAFile) {
  char tmpl[] = "metrics-test-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  const std::string path = dir + "/metrics.jsonl";
  EXPECT_EQ(trim_metrics(path, 10), 0);  // no log yet: nothing to trim
  {
    std::ofstream out(path);
    out << "{\"event\":\"start\"}\n{\"event\":\"train\",\"step\":10,\"loss\":1}\n"
        << "{\"event\":\"train\",\"step\":11,\"loss\":2}\n{\"event\":\"val\",\"step\":12}\n";
  }
  EXPECT_EQ(trim_metrics(path, 10), 2);
  std::ifstream in(path);
  const std::string kept((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(kept, "{\"event\":\"start\"}\n{\"event\":\"train\",\"step\":10,\"loss\":1}\n");
  // A line cut short by a crash is dropped; a whole last line that lost only its '\n' gets it back,
  // so that the resumed run's first line is not glued to it.
  for (const std::string& end : {std::string("{\"event\":\"train\",\"ste"), std::string("{\"event\":\"val\",\"step\":9}")}) {
    std::ofstream(path) << "{\"event\":\"train\",\"step\":8,\"loss\":1}\n" << end;
    EXPECT_EQ(trim_metrics(path, 10), end.back() == '}' ? 0 : 1) << end;
    std::ifstream again(path);
    const std::string text((std::istreambuf_iterator<char>(again)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text, "{\"event\":\"train\",\"step\":8,\"loss\":1}\n" + (end.back() == '}' ? end + "\n" : ""));
  }
  EXPECT_EQ(trim_metrics(path, 10), 0);  // a whole file is left as it is
  // A FIFO in its place is refused at once (opened by name, it would wait for a writer forever).
  ASSERT_EQ(std::remove(path.c_str()), 0);
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  try {
    trim_metrics(path, 10);
    ADD_FAILURE() << "a FIFO was read as the metrics log";
  } catch (const satclip::Error& e) {
    EXPECT_EQ(e.message(), path + ": a FIFO (named pipe), expected the metrics log as a regular file");
  }
  std::remove(path.c_str());
  ::rmdir(dir.c_str());
}
