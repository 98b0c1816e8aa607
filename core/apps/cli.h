// Minimal command-line parsing for the satclip binaries: `--flag value` or `--flag=value`,
// `--help`, and a clear error for anything unknown or malformed.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/base/error.h"
#include "core/base/options.h"

namespace satclip::cli {

class Args {
 public:
  // `flags`: the accepted --names (without dashes); `switches`: accepted value-less flags;
  // `repeatable`: flags (among `flags`) that may be given more than once (all() returns every
  // value). Any other flag given twice is an error naming it.
  Args(int argc, char** argv, std::vector<std::string> flags, std::vector<std::string> switches = {},
       std::vector<std::string> repeatable = {});

  bool help() const { return help_; }
  bool has(const std::string& name) const { return values_.count(name) > 0; }
  std::string str(const std::string& name, const std::string& fallback = "") const;
  // Every value of a repeatable flag, in the order given (empty when absent).
  std::vector<std::string> all(const std::string& name) const;
  // Throws satclip::Error when the flag is missing (naming it).
  std::string required(const std::string& name) const;
  int64_t integer(const std::string& name, int64_t fallback, int64_t lo, int64_t hi) const;
  // --name parsed into its enum (core/base/options.h), or `fallback` when absent. Throws naming
  // the flag and its choices.
  template <typename E>
  E choice(const std::string& name, E fallback) const {
    if (!has(name)) return fallback;
    const std::string text = str(name);
    const auto value = parse_option<E>(text);
    SATCLIP_CHECK(value.has_value(), cat("--", name, " ", text, " is not one of ", option_choices<E>()), "see --help");
    return *value;
  }
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::string> values_;
  std::map<std::string, std::vector<std::string>> all_;
  std::vector<std::string> positional_;
  bool help_ = false;
};

// Removes every `--set key=value` / `--set=key=value` from argv (updating argc) and returns the
// overrides in order, so a repeatable option does not need the generic parser.
std::vector<std::string> take_overrides(int& argc, char** argv);

// Runs `body`, printing a satclip::Error as "error: ..." + "HINT: ..." and returning 2 on one,
// 1 on other exceptions. With --version anywhere in argv it prints "PROGRAM VERSION" (the
// project's version) and returns 0 instead, for every program alike.
int run_cli(const char* program, int (*body)(int, char**), int argc, char** argv);

}  // namespace satclip::cli
