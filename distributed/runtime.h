// Runtime: who this process is in the job (rank, world, node-local rank) and which device it uses.
//
// make_runtime() reads MPI_COMM_WORLD; resolve_runtime() is the pure part (environment checks and
// device choice) so it can be tested in one process for any (rank, world, local) combination.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <mpi.h>
#include <torch/torch.h>

#include "distributed/cpu_share.h"

namespace satclip::dist {

// Starts MPI with MPI_THREAD_MULTIPLE (gradient reduction runs on its own thread) and finalizes
// it on destruction. One per process, in main().
class MpiSession {
 public:
  MpiSession(int* argc, char*** argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
};

// What MPI says about this process.
struct ProcessInfo {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  int local_size = 1;
  CpuPlacement cpus;               // from the node's affinity masks (cpu_share.h)
  std::vector<std::string> hosts;  // every rank's host name (MPI_Get_processor_name), by rank
};

struct Runtime {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;   // rank among the processes on this node
  int local_size = 1;   // processes on this node
  torch::Device device{torch::kCPU};
  bool ranks_share_gpu = false;  // more ranks on this node than visible GPUs
  CpuPlacement cpus;             // the CPUs this rank may count on (sizes data.workers: auto)
  std::vector<std::string> hosts;  // every rank's host name, by rank (empty when not queried)
  // The host of `rank`, or "?" when unknown.
  const std::string& host_of(int rank) const;
  bool is_main() const { return rank == 0; }
  MPI_Comm world_comm() const { return MPI_COMM_WORLD; }
};

// `request` (run.device, or a tool's --device): "auto" (cuda:local_rank % visible GPUs, else cpu),
// "cpu", "cuda" (cuda:local_rank % visible GPUs), "cuda:N". Throws satclip::Error naming the request
// when it is malformed or names a device that is not there.
torch::Device choose_device(const std::string& request, int local_rank, int visible_gpus);

// choose_device for a single process (local rank 0) with this machine's CUDA devices.
torch::Device this_process_device(const std::string& request);

// `device_request`: as for choose_device.
// `env` holds the environment variables that matter (SLURM_NTASKS); `visible_gpus` is the CUDA
// device count. Throws satclip::Error on an inconsistent launch.
Runtime resolve_runtime(const ProcessInfo& process, const std::map<std::string, std::string>& env,
                        const std::string& device_request, int visible_gpus);

// ProcessInfo from MPI_COMM_WORLD (local rank via MPI_Comm_split_type(MPI_COMM_TYPE_SHARED); the
// CPU placement from the affinity masks of the node's ranks, gathered on that communicator; the
// host names of all ranks, gathered on MPI_COMM_WORLD).
ProcessInfo query_mpi_process();

// resolve_runtime() over the real MPI world, environment and CUDA device count. Collective call
// (query_mpi_process()); pass `process` when the caller has already queried it.
Runtime make_runtime(const std::string& device_request = "auto");
Runtime make_runtime(const ProcessInfo& process, const std::string& device_request);

// One-line description, e.g. "rank 1/4 (local 1/2, host gpu07) on cuda:1, 8 CPUs (8 of 64 allowed)".
std::string describe(const Runtime& runtime);

// Where the ranks run, host by host in order of first rank, e.g. "node1: ranks 0-3; node2: ranks
// 4-7" ("" when the hosts are unknown).
std::string describe_hosts(const Runtime& runtime);

}  // namespace satclip::dist
