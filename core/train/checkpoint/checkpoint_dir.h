// The on-disk protocol of resumable checkpoints, independent of what they hold.
//
// A checkpoint is a directory `<root>/step-<8 digits>/` of files plus a completion marker
// `COMPLETE` listing every file with its size and FNV-1a 64 hash. It is written so that a crash
// at any moment leaves either the previous state or a complete new checkpoint:
//   1. the files go into `<root>/.step-<N>.partial/`, each fsync'ed, then the directory;
//   2. that directory is renamed to `step-<N>` (and `<root>` fsync'ed);
//   3. `COMPLETE` is written (temporary name, fsync, rename, fsync);
//   4. the pointer file `<root>/latest` (one line: the directory name) is replaced atomically.
// Readers only ever choose a directory whose `COMPLETE` exists and whose files match it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace satclip::core {

// "step-00000020".
std::string checkpoint_name(int64_t step);

// One file of a checkpoint: its name inside the directory and a function that writes it to the
// path it is given.
using CheckpointFile = std::pair<std::string, std::function<void(const std::string& path)>>;

// Writes checkpoint `name` under `root` following the protocol above and returns its path. On
// failure (full disk, unwritable folder, a writer throwing) the partial directory is removed, the
// earlier checkpoints are untouched, and satclip::Error names the path and the cause.
std::string write_checkpoint_dir(const std::string& root, const std::string& name,
                                 const std::vector<CheckpointFile>& files);

// Replaces `<root>/<pointer>` (e.g. "latest", "best") atomically with one line holding `name`.
void write_pointer(const std::string& root, const std::string& pointer, const std::string& name);
// The name in `<root>/<pointer>`, or "" when there is none or it is malformed.
std::string read_pointer(const std::string& root, const std::string& pointer);

// Throws satclip::Error naming the file when `dir` is not a complete checkpoint: no COMPLETE
// marker, a malformed one, or a listed file that is missing, of another size or hash.
void verify_checkpoint_dir(const std::string& dir);

// The step of a `step-<digits>` name, or -1 for any other name.
int64_t checkpoint_step(const std::string& name);

// The newest complete checkpoint directory under `root` (highest step that verifies), or "" when
// there is none. Every damaged candidate passed over is described in `skipped` (path: why).
std::string find_newest_checkpoint(const std::string& root, std::vector<std::string>* skipped = nullptr);

// Removes partial and incomplete directories and all complete checkpoints but the newest `keep`
// and those named in `protect`. Returns what it could not remove (warnings, not errors).
std::vector<std::string> prune_checkpoints(const std::string& root, int64_t keep,
                                           const std::vector<std::string>& protect);

// Where to resume from, given a user's path: a checkpoint directory itself, or a run directory
// or its `checkpoints/` folder (then the newest complete checkpoint in it). Throws naming the path
// when nothing usable is there.
std::string resolve_checkpoint_path(const std::string& path, std::vector<std::string>* skipped = nullptr);

// The weights file a user's --checkpoint names: a directory resolves as above, to its model.pt;
// anything else that exists (a .pt file, a state dict) is returned as given.
std::string checkpoint_weights_path(const std::string& path);
// What --checkpoint takes (the hint of its errors).
inline constexpr const char* kWeightsHint =
    "give --checkpoint a checkpoints/step-<N> folder, a run directory (output.dir), checkpoints/last.pt or "
    "best.pt, or a PyTorch state dict file";

}  // namespace satclip::core
