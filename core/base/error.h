// Error type and check macros shared by every satclip library.
//
// Every user-facing failure is a satclip::Error: a one-line message that says what was expected
// and what was found, an optional HINT telling the user how to fix it, and the source location
// for developers. Library code throws; only main() decides how the process ends.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace satclip {

class Error : public std::runtime_error {
 public:
  Error(std::string message, std::string hint = {}, const char* file = nullptr, int line = 0);

  // The one-line description, without the hint.
  const std::string& message() const { return message_; }
  // How to fix it; may be empty.
  const std::string& hint() const { return hint_; }
  // "file:line" of the throw site in satclip's sources, or empty.
  const std::string& where() const { return where_; }

 private:
  std::string message_;
  std::string hint_;
  std::string where_;
};

// Throws satclip::Error; the macros below fill in file and line.
[[noreturn]] void throw_error(const char* file, int line, const std::string& message,
                              const std::string& hint = {});

// Concatenates its arguments with operator<< (for building messages inline).
template <typename... Args>
std::string cat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}

}  // namespace satclip

#define SATCLIP_FAIL(message, hint) ::satclip::throw_error(__FILE__, __LINE__, (message), (hint))

#define SATCLIP_CHECK(cond, message, hint)                        \
  do {                                                            \
    if (!(cond)) ::satclip::throw_error(__FILE__, __LINE__, (message), (hint)); \
  } while (0)
