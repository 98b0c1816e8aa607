// Replays fuzz inputs through a target without libFuzzer: every file given, or every file in
// every folder given. Exit 0 when all inputs were handled (accepted or refused with
// satclip::Error); a crash or another exception fails the run, naming the input.
#include <dirent.h>
#include <sys/stat.h>

#include <cstdio>
#include <exception>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

void collect(const std::string& path, std::vector<std::string>& out) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return;
  if (!S_ISDIR(st.st_mode)) {
    out.push_back(path);
    return;
  }
  DIR* d = ::opendir(path.c_str());
  if (!d) return;
  while (const dirent* e = ::readdir(d)) {
    const std::string n = e->d_name;
    if (n != "." && n != ".." && n[0] != '.') collect(path + "/" + n, out);
  }
  ::closedir(d);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> inputs;
  for (int i = 1; i < argc; ++i) collect(argv[i], inputs);
  for (const auto& path : inputs) {
    std::ifstream in(path, std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    try {
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "FAIL: %s: unexpected exception: %s\n", path.c_str(), e.what());
      return 1;
    }
  }
  std::printf("%zu inputs replayed, all handled cleanly\n", inputs.size());
  return inputs.empty() ? 1 : 0;
}
