// Under mpiexec: each rank loads its DistributedSampler slice with the Loader; together the ranks
// cover the epoch exactly once, and each rank's batches hold the right tiles.
#include <gtest/gtest.h>

#include "core/base/fs_util.h"
#include "datasets/loader.h"
#include "datasets/sampler.h"
#include "datasets/synth.h"
#include "distributed/mpi_communicator.h"
#include "support/data_test_util.h"

using namespace satclip::data;

TEST(LoaderMpi, RanksCoverTheEpochExactlyOnce) {
  satclip::dist::MpiCommunicator comm(MPI_COMM_WORLD);
  const std::string dir = "/tmp/satclip-loader-mpi-" + std::to_string(comm.size());
  if (comm.rank() == 0) {
    satclip::remove_tree(dir);
    write_synthetic_shards(dir, {60, 16, 9, 1}, 2);
  }
  comm.barrier();
  const auto ds = ShardedDataset::open(dir);
  for (int64_t epoch : {0, 1}) {
    DistributedSampler sampler(ds->size(), comm.rank(), comm.size(), {3, true});
    Loader loader(ds, sampler.indices(epoch), {7, 2, 3, false});
    std::vector<int64_t> mine;
    Batch b;
    std::vector<uint16_t> expect(ds->tile_pixels());
    std::vector<uint8_t> scratch;
    while (loader.next(b)) {
      for (int64_t j = 0; j < b.index.size(0); ++j) {
        const int64_t i = b.index[j].item<int64_t>();
        mine.push_back(i);
        ds->read_tile(i, expect.data(), scratch);
        ASSERT_EQ(0, std::memcmp(b.images[j].data_ptr(), expect.data(), expect.size() * 2));
      }
    }
    const auto all = comm.all_gather(torch::tensor(mine, torch::kLong));
    const int64_t expected = ds->size() / comm.size() * comm.size();  // drop_last
    ASSERT_EQ(all.size(0), expected);
    EXPECT_EQ(std::get<0>(at::_unique(all)).size(0), expected) << "a sample was visited twice";
  }
  comm.barrier();
  if (comm.rank() == 0) satclip::remove_tree(dir);
}
