#include "core/apps/cli.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "core/base/error.h"
#include "core/base/text.h"

namespace satclip::cli {

Args::Args(int argc, char** argv, std::vector<std::string> flags, std::vector<std::string> switches,
           std::vector<std::string> repeatable) {
  auto known = [](const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  };
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      help_ = true;
      continue;
    }
    if (!starts_with(a, "--")) {
      positional_.push_back(a);
      continue;
    }
    a = a.substr(2);
    std::string value;
    const auto eq = a.find('=');
    if (eq != std::string::npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
    }
    if (known(switches, a)) {
      SATCLIP_CHECK(eq == std::string::npos, cat("option --", a, " takes no value, got --", a, "=", value),
                    cat("write --", a, " alone"));
      values_[a] = "1";
      continue;
    }
    SATCLIP_CHECK(known(flags, a), cat("unknown option --", a), "see --help for the options");
    if (eq == std::string::npos) {
      SATCLIP_CHECK(i + 1 < argc, cat("option --", a, " needs a value"), cat("write --", a, " VALUE"));
      value = argv[++i];
    }
    SATCLIP_CHECK(!has(a) || known(repeatable, a), cat("option --", a, " is given twice ('", values_[a], "' and '", value, "')"),
                  cat("give --", a, " once"));
    values_[a] = value;
    all_[a].push_back(value);
  }
}

std::string Args::str(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

std::vector<std::string> Args::all(const std::string& name) const {
  auto it = all_.find(name);
  return it == all_.end() ? std::vector<std::string>{} : it->second;
}

std::string Args::required(const std::string& name) const {
  SATCLIP_CHECK(has(name), cat("missing option --", name), "see --help for the options");
  return values_.at(name);
}

int64_t Args::integer(const std::string& name, int64_t fallback, int64_t lo, int64_t hi) const {
  if (!has(name)) return fallback;
  const std::string& s = values_.at(name);
  int64_t v = 0;
  const bool read = parse_integer(s, v);
  SATCLIP_CHECK(read && v >= lo && v <= hi,
                cat("--", name, " ", s, read ? " is out of range" : " is not a whole number", ": expected an integer in ",
                    lo, " .. ", hi), "");
  return v;
}

std::vector<std::string> take_overrides(int& argc, char** argv) {
  std::vector<std::string> overrides;
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--set") {
      SATCLIP_CHECK(i + 1 < argc, "option --set needs a value", "write --set key.path=value");
      overrides.push_back(argv[++i]);
    } else if (starts_with(arg, "--set=")) {
      overrides.push_back(arg.substr(6));
    } else {
      argv[out++] = argv[i];
    }
  }
  argc = out;
  return overrides;
}

int run_cli(const char* program, int (*body)(int, char**), int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--version") == 0) {
      std::printf("%s %s\n", program, SATCLIP_VERSION);
      return 0;
    }
  }
  try {
    return body(argc, argv);
  } catch (const Error& e) {
    std::fprintf(stderr, "%s: error: %s\n", program, e.message().c_str());
    if (!e.hint().empty()) std::fprintf(stderr, "HINT: %s\n", e.hint().c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: %s\n", program, e.what());
    return 1;
  }
}

}  // namespace satclip::cli
