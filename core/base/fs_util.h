// File-tree helpers that avoid std::filesystem::remove_all and recursive copy.
//
// The pip torch wheel's libtorch.so exports its own copy of parts of std::filesystem; programs
// linking libtorch resolve those symbols to it, and its remove_all crashes (a null call). These
// helpers use POSIX nftw() instead. Use them in every target that links torch.
#pragma once

#include <string>

namespace satclip {

// Removes `path` and everything below it; a missing path is not an error. Returns false when
// something could not be removed.
bool remove_tree(const std::string& path);

// Copies the folder `from` (files and subfolders) to `to`, which must not exist yet.
void copy_tree(const std::string& from, const std::string& to);

}  // namespace satclip
