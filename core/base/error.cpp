#include "core/base/error.h"

namespace satclip {
namespace {

std::string compose(const std::string& message, const std::string& hint) {
  return hint.empty() ? message : message + "\nHINT: " + hint;
}

std::string short_path(const char* file) {
  // Keep the path relative to the source tree: ".../satclip/distributed/x.cpp" -> "distributed/x.cpp".
  std::string f = file ? file : "";
  for (const char* top : {"/core/", "/distributed/", "/datasets/", "/tests/"}) {
    auto pos = f.rfind(top);
    if (pos != std::string::npos) return f.substr(pos + 1);
  }
  return f;
}

}  // namespace

Error::Error(std::string message, std::string hint, const char* file, int line)
    : std::runtime_error(compose(message, hint)),
      message_(std::move(message)),
      hint_(std::move(hint)),
      where_(file ? short_path(file) + ":" + std::to_string(line) : std::string()) {}

void throw_error(const char* file, int line, const std::string& message, const std::string& hint) {
  throw Error(message, hint, file, line);
}

}  // namespace satclip
