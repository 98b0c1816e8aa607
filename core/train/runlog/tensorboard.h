// TensorBoard event files, written without TensorFlow: rank 0 mirrors every metrics.jsonl line
// as scalars (tag "<event>/<key>", e.g. train/loss, val/top1, at the line's step) and, at a fresh
// start, the resolved recipe as text (tag "recipe", step 0), into
// output.dir/tensorboard/events.out.tfevents.satclip-ddp.
//
// The format: a sequence of records, each uint64 length (little-endian), uint32 masked CRC-32C of
// those 8 bytes, the data, uint32 masked CRC-32C of the data; masked(c) = ((c >> 15) | (c << 17))
// + 0xa282ead8. Each record is a serialised tensorflow.Event: wall_time (field 1, double), step
// (2, int64), file_version (3, "brain.Event:2" in the first record), summary (5): Summary.value
// (1, repeated): tag (1), simple_value (2, float) or tensor (8, a scalar DT_STRING TensorProto)
// with metadata (9: plugin_data { plugin_name: "text" }).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace satclip::core {

inline constexpr const char* kEventsFile = "events.out.tfevents.satclip-ddp";

class EventWriter {
 public:
  // Creates `dir` and starts dir/kEventsFile anew (a file_version record first), or appends to it.
  EventWriter(const std::string& dir, bool append);
  ~EventWriter();
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;
  void scalar(const std::string& tag, int64_t step, double value);
  void text(const std::string& tag, int64_t step, const std::string& text);

 private:
  void record(const std::string& event);
  std::FILE* file_ = nullptr;
  std::string path_;
};

// Keeps the records of `path` whose step is at most `max_step` (the file_version record has step
// 0) and drops a torn or damaged tail (a length, CRC or protobuf that does not check out ends the
// kept part). Returns how many records were dropped, -1 when the tail was damaged. A missing file
// is empty; a file that is not a regular file throws satclip::Error naming it.
int64_t trim_events(const std::string& path, int64_t max_step);

uint32_t crc32c(const void* data, size_t n);

}  // namespace satclip::core
