#include "compare/cluster.h"

#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdlib>
#include <thread>

#include "core/error.h"

#ifdef QBENCH_HAVE_MPI
#include <mpi.h>
#endif

namespace qbench::cluster {
namespace {

// QBENCH_HOST names this host in reports, where host names say little (containers that are
// all "localhost"); else the system's host name.
std::string host_name() {
  if (const char* h = std::getenv("QBENCH_HOST"); h && *h) return h;
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown-host";
  return buf;
}

// Whether an MPI launcher started this process (Open MPI's mpirun, PMIx or PMI as Slurm's srun
// sets them). Without one, MPI is never started: a singleton MPI_Init would start daemons for
// every plain `qbench compare`.
bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
    if (std::getenv(v)) return true;
  return false;
}

World* g_world = nullptr;

#ifdef QBENCH_HAVE_MPI
bool g_started = false;

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  fail("MPI {} failed{}: {}", what, where(), std::string(msg, static_cast<size_t>(len)));
}

void wait(MPI_Request& req, const char* what) {
  for (;;) {
    int done = 0;
    check(MPI_Test(&req, &done, MPI_STATUS_IGNORE), what);
    if (done) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void finalize_at_exit() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

constexpr size_t kChunk = size_t(1) << 30;  // MPI counts are int
#endif

}  // namespace

World::World() : host_(host_name()) {
#ifdef QBENCH_HAVE_MPI
  if (!launched_by_mpi()) return;
  int provided = 0;
  // OpenMP threads compute, but only the main thread calls MPI.
  check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "initialisation");
  g_started = true;
  std::atexit(finalize_at_exit);
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "rank");
  check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "size");
#else
  if (launched_by_mpi() && std::getenv("OMPI_COMM_WORLD_SIZE") &&
      std::atoi(std::getenv("OMPI_COMM_WORLD_SIZE")) > 1)
    fail(
        "started by an MPI launcher with {} ranks, but this qbench was built without MPI "
        "(install libopenmpi-dev and build again); every rank would repeat the whole run",
        std::getenv("OMPI_COMM_WORLD_SIZE"));
#endif
}

World& World::get() {
  if (!g_world) g_world = new World();  // lives until exit, after MPI_Finalize's atexit
  return *g_world;
}

void World::broadcast(std::string& bytes) {
  if (size_ == 1) return;
#ifdef QBENCH_HAVE_MPI
  unsigned long long n = bytes.size();
  MPI_Request req;
  check(MPI_Ibcast(&n, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD, &req), "broadcast");
  wait(req, "broadcast");
  bytes.resize(n);
  for (size_t off = 0; off < n; off += kChunk) {
    const int count = static_cast<int>(std::min<size_t>(kChunk, n - off));
    check(MPI_Ibcast(bytes.data() + off, count, MPI_BYTE, 0, MPI_COMM_WORLD, &req), "broadcast");
    wait(req, "broadcast");
  }
#else
  (void)bytes;
#endif
}

std::vector<std::string> World::gather(const std::string& bytes) {
  if (size_ == 1) return {bytes};
  std::vector<std::string> out;
#ifdef QBENCH_HAVE_MPI
  if (bytes.size() > static_cast<size_t>(INT_MAX))
    fail("rank {} has {} bytes of results to gather, more than MPI's 2 GB per message", rank_,
         bytes.size());
  int n = static_cast<int>(bytes.size());
  std::vector<int> sizes(static_cast<size_t>(size_));
  MPI_Request req;
  check(MPI_Igather(&n, 1, MPI_INT, sizes.data(), 1, MPI_INT, 0, MPI_COMM_WORLD, &req), "gather");
  wait(req, "gather");
  std::vector<int> displs(static_cast<size_t>(size_));
  long long total = 0;
  for (int r = 0; r < size_; ++r) {
    displs[r] = static_cast<int>(total);
    total += sizes[r];
  }
  if (rank_ == 0 && total > INT_MAX)
    fail("the ranks' results take {} bytes, more than MPI's 2 GB per gather", total);
  std::string all(rank_ == 0 ? static_cast<size_t>(total) : 0, '\0');
  check(MPI_Igatherv(bytes.data(), n, MPI_BYTE, all.data(), sizes.data(), displs.data(), MPI_BYTE,
                     0, MPI_COMM_WORLD, &req),
        "gather");
  wait(req, "gather");
  if (rank_ == 0)
    for (int r = 0; r < size_; ++r) out.push_back(all.substr(displs[r], sizes[r]));
#endif
  return out;
}

std::vector<std::string> World::hosts() {
  std::vector<std::string> all = gather(host_);
  std::string joined;
  for (const auto& h : all) joined += h + '\n';
  broadcast(joined);
  all.clear();
  for (size_t start = 0, nl; (nl = joined.find('\n', start)) != std::string::npos; start = nl + 1)
    all.push_back(joined.substr(start, nl - start));
  return all;
}

void World::barrier() {
  if (size_ == 1) return;
#ifdef QBENCH_HAVE_MPI
  MPI_Request req;
  check(MPI_Ibarrier(MPI_COMM_WORLD, &req), "barrier");
  wait(req, "barrier");
#endif
}

bool built_with_mpi() {
#ifdef QBENCH_HAVE_MPI
  return true;
#else
  return false;
#endif
}

std::string where() {
  if (!g_world || !g_world->distributed()) return "";
  return " (rank " + std::to_string(g_world->rank()) + " of " + std::to_string(g_world->size()) +
         " on " + g_world->host() + ")";
}

void abort_if_distributed(int code) {
#ifdef QBENCH_HAVE_MPI
  if (g_world && g_world->distributed()) MPI_Abort(MPI_COMM_WORLD, code);
#endif
  (void)code;
}

}  // namespace qbench::cluster
