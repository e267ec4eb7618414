#pragma once
// The processes that run one `qbench compare` together: the MPI world when qbench was built with
// MPI (libopenmpi-dev present at configure time) and started by an MPI launcher (mpirun, srun),
// else this process alone. Every wait (a rank idle while rank 0 calibrates or another host times
// a variant) polls every millisecond and sleeps in between: MPI's own blocking calls spin, and a
// spinning rank would steal the core that a calibration or a latency measurement on the same
// host needs.
#include <string>
#include <vector>

namespace qbench::cluster {

class World {
 public:
  // The world, MPI started on first use when an MPI launcher started this process.
  static World& get();
  int rank() const { return rank_; }
  int size() const { return size_; }
  const std::string& host() const { return host_; }
  bool distributed() const { return size_ > 1; }
  // Rank 0's `bytes`, on every rank.
  void broadcast(std::string& bytes);
  // Every rank's `bytes`, in rank order, at rank 0 (empty elsewhere).
  std::vector<std::string> gather(const std::string& bytes);
  // Every rank's host name, in rank order, on every rank.
  std::vector<std::string> hosts();
  void barrier();

 private:
  World();
  int rank_ = 0, size_ = 1;
  std::string host_;
};

// Whether this build has MPI.
bool built_with_mpi();
// " (rank 1 of 4 on node3)" inside a distributed run, else "": for error messages.
std::string where();
// Inside a distributed run, ends every rank (MPI_Abort with `code`, which mpirun reports with
// this rank and host); otherwise returns. For the error path of main().
void abort_if_distributed(int code);

}  // namespace qbench::cluster
