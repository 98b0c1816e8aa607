#include "core/base/stop_signal.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <initializer_list>

#include "core/base/error.h"

namespace satclip {
namespace {

std::atomic<int> g_signal{0};
std::atomic<int> g_interrupts{0};

extern "C" void on_stop_signal(int sig) {
  if (sig == SIGINT && g_interrupts.fetch_add(1) >= 1) {
    static const char kMsg[] = "\nsecond SIGINT: aborting at once (no checkpoint)\n";
    (void)!::write(STDERR_FILENO, kMsg, sizeof kMsg - 1);
    ::_exit(130);
  }
  int none = 0;
  g_signal.compare_exchange_strong(none, sig);
}

}  // namespace

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int sig : {SIGTERM, SIGUSR1, SIGINT}) sigaction(sig, &sa, nullptr);
}

int stop_signal() { return g_signal.load(); }

const char* signal_name(int sig) {
  switch (sig) {
    case SIGTERM: return "SIGTERM";
    case SIGUSR1: return "SIGUSR1";
    case SIGINT: return "SIGINT";
    default: return "a signal";
  }
}

void throw_if_any_stopped(const std::vector<int64_t>& signal_by_rank, const std::string& during) {
  for (size_t r = 0; r < signal_by_rank.size(); ++r) {
    if (const auto sig = signal_by_rank[r]; sig != 0) {
      throw StoppedBeforeTraining(cat(signal_name(int(sig)), " received ", during, " (rank ", r, ")"));
    }
  }
}

}  // namespace satclip
