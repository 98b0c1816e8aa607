// The project's one set of hashes and seed derivations: fixed, portable functions (a Python
// reference recomputes them), used wherever a seeded choice or a content hash is made.
//   mix64         splitmix64's output function
//   splitmix64    a 64-bit mixer (synthetic pixels, eval splits and task points, feature views)
//   seeded_key    item i of the stream `seed` (feed it to splitmix64, or seed a generator with it)
//   hash_combine  folds one value into a running hash (boost's golden-ratio recipe)
//   mix_pair      mix64 of hash_combine(a, b)
//   seed_of       a batch's seed from (run.seed, epoch, step, micro-batch, rank)
//   Fnv1a         64-bit FNV-1a over bytes (recipe identity, file digests, encoder weights)
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>

namespace satclip {

constexpr uint64_t kGoldenGamma = 0x9e3779b97f4a7c15ULL;

// splitmix64's output function alone (a bijective mixer).
inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

inline uint64_t splitmix64(uint64_t x) { return mix64(x + kGoldenGamma); }

inline uint64_t seeded_key(uint64_t seed, uint64_t i) { return seed * kGoldenGamma + i; }

inline uint64_t hash_combine(uint64_t h, uint64_t v) { return h ^ (v + kGoldenGamma + (h << 6) + (h >> 2)); }

// A mixed hash of two values (seeds of derived streams, content hashes).
inline uint64_t mix_pair(uint64_t a, uint64_t b) { return mix64(hash_combine(a, b)); }

inline uint64_t seed_of(std::initializer_list<int64_t> values) {
  uint64_t h = kGoldenGamma;
  for (const int64_t v : values) h = hash_combine(h, static_cast<uint64_t>(v));
  return h;
}

class Fnv1a {
 public:
  void update(const void* data, size_t n) {
    const auto* b = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) h_ = (h_ ^ b[i]) * 0x100000001b3ULL;
  }
  uint64_t value() const { return h_; }

 private:
  uint64_t h_ = 0xcbf29ce484222325ULL;
};

}  // namespace satclip
