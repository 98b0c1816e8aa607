#include "distributed/runtime.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <thread>
#include <vector>

#include "core/base/error.h"
#include "core/base/text.h"
#include "distributed/mpi_check.h"

namespace satclip::dist {

MpiSession::MpiSession(int* argc, char*** argv) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) return;
  // Gradient buckets are reduced on a background thread while the autograd thread computes. A
  // rank waiting in MPI would otherwise busy-poll and take a core from its own computation, so
  // Open MPI is asked to yield while idle (set OMPI_MCA_mpi_yield_when_idle=0 to opt out).
  setenv("OMPI_MCA_mpi_yield_when_idle", "1", /*overwrite=*/0);
  int provided = 0;
  MPI_CHECK(MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided));
  if (provided < MPI_THREAD_MULTIPLE) {
    MPI_Finalize();
    SATCLIP_FAIL("the MPI library does not provide MPI_THREAD_MULTIPLE",
                 "satclip reduces gradients on a background thread; use an MPI built with thread "
                 "support (Open MPI 4.x from Debian/Ubuntu has it)");
  }
}

MpiSession::~MpiSession() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

namespace {

int parse_int(const std::string& key, const std::string& value) {
  int64_t v = 0;
  SATCLIP_CHECK(parse_integer(value, v) && v >= 0 && v <= std::numeric_limits<int>::max(),
                cat("environment variable ", key, "='", value, "' is not a non-negative integer"),
                cat("unset ", key, " or give it a number"));
  return static_cast<int>(v);
}

}  // namespace

torch::Device choose_device(const std::string& request, int local_rank, int visible) {
  if (request == "cpu") return torch::Device(torch::kCPU);
  const auto by_rank = [&] { return torch::Device(torch::kCUDA, static_cast<int8_t>(local_rank % visible)); };
  if (request == "auto") return visible > 0 ? by_rank() : torch::Device(torch::kCPU);
  const bool numbered = request.size() > 5 && starts_with(request, "cuda:") &&
                        request.find_first_not_of("0123456789", 5) == std::string::npos;
  SATCLIP_CHECK(request == "cuda" || numbered, cat("unknown device '", request, "'"), "use auto, cpu, cuda or cuda:N");
  SATCLIP_CHECK(visible > 0, cat("device '", request, "' was requested but no CUDA device is visible"),
                "use device auto or cpu, or check CUDA_VISIBLE_DEVICES and the driver (nvidia-smi)");
  if (request == "cuda") return by_rank();
  const long index = std::strtol(request.c_str() + 5, nullptr, 10);  // LONG_MAX when it overflows
  SATCLIP_CHECK(index < visible, cat("device '", request, "' does not exist: ", visible, " CUDA device(s) visible"),
                cat("use cuda:0 .. cuda:", visible - 1, ", or cuda to pick by local rank"));
  return torch::Device(torch::kCUDA, static_cast<int8_t>(index));
}

torch::Device this_process_device(const std::string& request) {
  const int visible = torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
  return choose_device(request, 0, visible);
}

Runtime resolve_runtime(const ProcessInfo& p, const std::map<std::string, std::string>& env,
                        const std::string& device_request, int visible_gpus) {
  SATCLIP_CHECK(p.world_size >= 1 && p.rank >= 0 && p.rank < p.world_size,
                cat("invalid process placement: rank ", p.rank, " of ", p.world_size), "");
  auto it = env.find("SLURM_NTASKS");
  if (it != env.end() && !it->second.empty()) {
    const int ntasks = parse_int("SLURM_NTASKS", it->second);
    // srun without a working PMI plugin starts every task as an MPI singleton (world size 1): every
    // task sees it. A world of the wrong size under mpirun is seen by rank 0, which mpirun starts
    // on the batch node, in the job's environment; mpirun's ranks on other nodes inherit the
    // environment of the srun step that started its daemon there (SLURM_NTASKS = that step's).
    const bool singleton = p.world_size == 1 && ntasks > 1;
    SATCLIP_CHECK(!(singleton || p.rank == 0) || ntasks == p.world_size,
                  cat("SLURM_NTASKS=", ntasks, " but MPI sees a world of ", p.world_size,
                      " process(es)"),
                  ntasks > p.world_size
                      ? "srun started the tasks as separate MPI singletons: launch with "
                        "`srun --mpi=pmix` (see `srun --mpi=list`) or use mpirun inside the allocation"
                      : "run one MPI process per SLURM task (match --ntasks to mpirun -n)");
  }
  Runtime r;
  r.rank = p.rank;
  r.world_size = p.world_size;
  r.local_rank = p.local_rank;
  r.local_size = p.local_size;
  r.device = choose_device(device_request, p.local_rank, visible_gpus);
  r.ranks_share_gpu = r.device.is_cuda() && p.local_size > visible_gpus;
  r.cpus = p.cpus;
  r.hosts = p.hosts;
  return r;
}

ProcessInfo query_mpi_process() {
  ProcessInfo p;
  MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &p.rank));
  MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &p.world_size));
  MPI_Comm node = MPI_COMM_NULL;
  MPI_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, p.rank, MPI_INFO_NULL, &node));
  struct FreeComm {
    MPI_Comm* comm;
    ~FreeComm() { MPI_Comm_free(comm); }
  } free_node{&node};
  MPI_CHECK(MPI_Comm_rank(node, &p.local_rank));
  MPI_CHECK(MPI_Comm_size(node, &p.local_size));
  // Every rank's affinity mask, padded to the node's longest, to weigh the CPUs ranks share.
  CpuMask mine = this_process_cpus();
  int words = static_cast<int>(mine.size());
  MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &words, 1, MPI_INT, MPI_MAX, node));
  mine.resize(static_cast<size_t>(words), 0);
  std::vector<uint64_t> all(static_cast<size_t>(words) * static_cast<size_t>(p.local_size));
  MPI_CHECK(MPI_Allgather(mine.data(), words, MPI_UINT64_T, all.data(), words, MPI_UINT64_T, node));
  std::vector<CpuMask> masks;
  for (int i = 0; i < p.local_size; ++i) masks.emplace_back(all.begin() + i * words, all.begin() + (i + 1) * words);
  p.cpus.node_cpus = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  p.cpus.allowed = count_cpus(mine);
  p.cpus.share = std::max(1, static_cast<int>(std::floor(cpu_share(masks, p.local_rank) + 1e-9)));
  // Host names, fixed width (MPI_MAX_PROCESSOR_NAME), so that a log can say where each rank runs.
  std::vector<char> name(MPI_MAX_PROCESSOR_NAME, '\0');
  int length = 0;
  MPI_CHECK(MPI_Get_processor_name(name.data(), &length));
  std::vector<char> names(name.size() * static_cast<size_t>(p.world_size), '\0');
  MPI_CHECK(MPI_Allgather(name.data(), MPI_MAX_PROCESSOR_NAME, MPI_CHAR, names.data(), MPI_MAX_PROCESSOR_NAME,
                          MPI_CHAR, MPI_COMM_WORLD));
  for (int r = 0; r < p.world_size; ++r) {
    const char* begin = names.data() + static_cast<size_t>(r) * MPI_MAX_PROCESSOR_NAME;
    p.hosts.emplace_back(begin, strnlen(begin, MPI_MAX_PROCESSOR_NAME));
  }
  return p;
}

Runtime make_runtime(const std::string& device_request) {
  return make_runtime(query_mpi_process(), device_request);
}

Runtime make_runtime(const ProcessInfo& process, const std::string& device_request) {
  std::map<std::string, std::string> env;
  for (const char* key : {"SLURM_NTASKS"}) {
    if (const char* v = std::getenv(key)) env[key] = v;
  }
  const int visible = torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
  return resolve_runtime(process, env, device_request, visible);
}

const std::string& Runtime::host_of(int k) const {
  static const std::string unknown = "?";
  return k >= 0 && static_cast<size_t>(k) < hosts.size() ? hosts[static_cast<size_t>(k)] : unknown;
}

std::string describe(const Runtime& r) {
  return cat("rank ", r.rank, "/", r.world_size, " (local ", r.local_rank, "/", r.local_size, ", host ",
             r.host_of(r.rank), ") on ",
             r.device.str(), ", ", r.cpus.share, " CPUs (", r.cpus.allowed, " of ", r.cpus.node_cpus, " allowed)");
}

std::string describe_hosts(const Runtime& r) {
  std::vector<std::pair<std::string, std::vector<int>>> by_host;
  for (int k = 0; k < static_cast<int>(r.hosts.size()); ++k) {
    auto it = std::find_if(by_host.begin(), by_host.end(), [&](const auto& h) { return h.first == r.hosts[k]; });
    if (it == by_host.end()) it = by_host.insert(by_host.end(), {r.hosts[k], {}});
    it->second.push_back(k);
  }
  std::string out;
  for (const auto& [host, ranks] : by_host) {
    if (!out.empty()) out += "; ";
    out += host + (ranks.size() == 1 ? ": rank " : ": ranks ");
    for (size_t i = 0; i < ranks.size();) {  // runs of consecutive ranks as A-B
      size_t j = i;
      while (j + 1 < ranks.size() && ranks[j + 1] == ranks[j] + 1) ++j;
      out += (i ? "," : "") + std::to_string(ranks[i]) + (j > i ? "-" + std::to_string(ranks[j]) : "");
      i = j + 1;
    }
  }
  return out;
}

}  // namespace satclip::dist
