// OrderedWork (core/base/ordered_work.h): results in order whatever order the workers finish in,
// never more than `window` ahead of the consumer, a worker's exception rethrown at its index, and
// a destructor that returns with results left untaken.
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "core/base/ordered_work.h"

using satclip::OrderedWork;

TEST(OrderedWork, ResultsComeInOrderAndNoMoreThanTheWindowAhead) {
  std::atomic<int64_t> taken{0}, furthest_ahead{0};
  OrderedWork<int64_t> work(200, 4, 8, [&](int64_t j) {
    const int64_t ahead = j - taken.load();
    for (int64_t seen = furthest_ahead.load(); ahead > seen && !furthest_ahead.compare_exchange_weak(seen, ahead);) {
    }
    std::this_thread::sleep_for(std::chrono::microseconds((j * 7919) % 300));  // finish out of order
    return j * j;
  });
  for (int64_t j = 0; j < 200; ++j) {
    ASSERT_EQ(work.next(), j * j);
    taken = j + 1;
  }
  EXPECT_LT(furthest_ahead.load(), 8 + 1);  // work(j) starts only once j < taken + window
  EXPECT_THROW(work.next(), satclip::Error);  // all taken
}

TEST(OrderedWork, AWorkersExceptionIsRethrownAtItsIndex) {
  OrderedWork<int> work(50, 3, 6, [](int64_t j) {
    if (j == 17) throw std::runtime_error("record 17 is bad");
    return int(j);
  });
  for (int j = 0; j < 17; ++j) ASSERT_EQ(work.next(), j);
  try {
    work.next();
    FAIL() << "no exception for record 17";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "record 17 is bad");
  }
  EXPECT_EQ(work.next(), 18);  // the others go on
}

TEST(OrderedWork, TheDestructorReturnsWithResultsLeftUntaken) {
  std::atomic<int> calls{0};
  {
    OrderedWork<int> work(1000000, 2, 4, [&](int64_t j) {
      ++calls;
      return int(j);
    });
    EXPECT_EQ(work.next(), 0);
  }
  EXPECT_LE(calls.load(), 1 + 4);
}
