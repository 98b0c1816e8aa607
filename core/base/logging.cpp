#include "core/base/logging.h"

#include <filesystem>
#include <vector>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "core/base/error.h"

namespace satclip {

void init_logging(const LogOptions& options) {
  const auto level = spdlog::level::from_str(options.level);
  if (level == spdlog::level::off && options.level != "off") {
    SATCLIP_FAIL(cat("unknown log level '", options.level, "'"),
                 "use one of trace, debug, info, warn, error, critical, off");
  }
  std::vector<spdlog::sink_ptr> sinks;
  auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  console->set_level(options.rank == 0 ? level : spdlog::level::err);
  sinks.push_back(console);
  if (!options.dir.empty()) {
    std::filesystem::create_directories(options.dir);
    const auto path = options.dir + "/log-rank" + std::to_string(options.rank) + ".txt";
    auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, /*truncate=*/false);
    file->set_level(level);
    sinks.push_back(file);
  }
  auto logger = std::make_shared<spdlog::logger>("satclip", sinks.begin(), sinks.end());
  logger->set_level(level);
  const std::string rank_tag =
      options.world_size > 1 ? "[rank " + std::to_string(options.rank) + "] " : "";
  logger->set_pattern("[%H:%M:%S.%e] [%^%l%$] " + rank_tag + "%v");
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
}

void flush_logs() {
  if (auto logger = spdlog::default_logger()) logger->flush();
}

}  // namespace satclip
