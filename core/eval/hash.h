// splitmix64: the one hash behind satclip-eval's seeded choices (splits, sampled task points), so
// each is a pure function of (seed, index) that a Python reference can recompute.
#pragma once

#include <cstdint>

namespace satclip::core {

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// The key of item `i` of the stream `seed`.
inline uint64_t seeded_key(uint64_t seed, uint64_t i) { return seed * 0x9e3779b97f4a7c15ULL + i; }

}  // namespace satclip::core
