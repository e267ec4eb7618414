// qbench: how much accuracy, speed and size does quantizing this model cost, on this machine?
#include <sys/prctl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "bench/sysinfo.h"
#include "cli/commands.h"
#include "compare/cluster.h"
#include "core/error.h"
#include "core/limits.h"

int main(int argc, char** argv) {
  // A timing child of `compare` (compare/compare.cpp) ends when its parent does, even if the parent
  // was killed outright; the pid check closes the race where the parent died before prctl.
  if (const char* parent = std::getenv("QBENCH_PARENT_PID")) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (std::to_string(getppid()) != parent) return 2;
  }
  // OpenMP's wait policy is libgomp's default (workers spin a while after a parallel region,
  // then sleep; less when threads outnumber CPUs) unless OMP_WAIT_POLICY says otherwise. Forcing
  // "passive" here, as qbench once did, reached only compare's timing children (libgomp reads
  // the variable before main) and made every parallel region wake a sleeping worker: the zoo
  // ViT's batch-1 latency at 2 threads was 2.93 ms there against 0.15 ms with the default.
  CLI::App app{
      "qbench: evaluate and benchmark ONNX models and their quantized variants on one "
      "CPU engine (oneDNN)"};
  app.set_version_flag("--version", std::string("qbench ") + QBENCH_VERSION + " (" +
                                        qbench::bench::build_commit() + ", " + QBENCH_BUILD_TYPE +
                                        (qbench::cluster::built_with_mpi() ? ", MPI" : "") + ")");
  app.require_subcommand(1);
  std::string max_memory;
  app.add_option("--max-memory", max_memory,
                 "Largest single allocation (tensor, plan buffers, decoded image, inflated file) "
                 "anything may make, e.g. 4G or 512M; default half of physical memory (" +
                     qbench::memory_str(qbench::max_memory()) + ")");
  app.fallthrough();  // --max-memory may also follow the subcommand
  app.parse_complete_callback([&] {
    if (!max_memory.empty())
      qbench::set_max_memory(qbench::parse_memory_size(max_memory, "--max-memory"));
  });
  qbench::cli::register_bench(app);
  qbench::cli::register_compare(app);
  qbench::cli::register_eval(app);
  qbench::cli::register_inspect(app);
  qbench::cli::register_debug(app);
  qbench::cli::register_demo(app);
  qbench::cli::register_quantize(app);
  qbench::cli::register_run(app);
  qbench::cli::register_tune(app);
  // One line on stderr and exit status 2; under mpirun the line names the rank and host and the
  // whole run ends (mpirun says which rank stopped it).
  auto error = [](const char* what) {
    std::fprintf(stderr, "qbench: error%s: %s\n", qbench::cluster::where().c_str(), what);
    std::fflush(stderr);
    qbench::cluster::abort_if_distributed(2);
    return 2;
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "qbench: error: %s (see qbench --help)\n", e.what());
    return 2;
  } catch (const qbench::Error& e) {
    return error(e.what());
  } catch (const std::bad_alloc&) {
    return error("out of memory (lower --max-memory to fail earlier)");
  } catch (const std::exception& e) {
    // Not ours (the standard library, protobuf, oneDNN): still one line and exit 2, never abort.
    return error(e.what());
  } catch (...) {
    return error("unexpected failure");
  }
  return 0;
}
