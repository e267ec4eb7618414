#pragma once
// The machine a result was measured on, and the process and system counters the harness reads
// to decide whether its numbers can be trusted (peak memory, CPU used by other processes).
#include <cstdint>
#include <string>
#include <vector>

namespace qbench::bench {

struct Machine {
  std::string cpu;               // /proc/cpuinfo "model name"
  int logical_cpus = 0;          // online CPUs
  std::vector<std::string> isa;  // the /proc/cpuinfo flags that matter for the kernels and
                                 // this process's CPUID reports (masked CPUs)
  std::string onednn_isa;        // the ISA oneDNN dispatched to
  // How int8 and bf16 really run here (kernels/onednn/cpu_paths.h): "VNNI (avx512_core_vnni):
  // u8 x s8 dot products exact in int32", "AVX2 pairwise (vpmaddubsw, avx2): ...",
  // "native (avx512_core_bf16)", "emulated: this CPU has no native bf16 ...".
  std::string int8_path;
  std::string bf16_path;
  std::string onednn_version;
  int threads = 1;
  std::string build_type;  // QBENCH_BUILD_TYPE
  std::string compiler;    // __VERSION__
  std::string qbench_version;
  std::string git_commit;  // build_commit()
  std::string os;          // uname: sysname release machine
};

Machine describe_machine(int threads);

// The commit qbench was built from, as of that build: "22590ea", "22590ea+dirty.1f2e3d4c" where
// tracked sources differed from it (a hash of the difference), "unknown" outside git.
const char* build_commit();

// Of the flags in /proc/cpuinfo's first "flags" line, those in the kernels' ISA ladder (avx2,
// fma, avx512f, avx512bw, avx512_vnni, avx_vnni, avx512_bf16, amx_tile, amx_int8, amx_bf16, ...),
// in that order.
std::vector<std::string> isa_flags_of(const std::string& cpuinfo_flags_line);

// Peak resident set size of this process in bytes: VmHWM from /proc/self/status, else
// getrusage's ru_maxrss.
int64_t peak_rss_bytes();

// CPU time counters, sampled before and after a timed run.
struct CpuSample {
  double wall_seconds = 0;         // steady clock
  double system_busy_seconds = 0;  // /proc/stat: user+nice+system+irq+softirq+steal, all CPUs
  double self_cpu_seconds = 0;     // this process, all threads (user + system)
};

CpuSample sample_cpu();

// Share of the machine's CPU capacity (wall time x CPUs) spent by other processes between the two
// samples: (system busy - own CPU time) / (wall x cpus), clamped to [0, 1].
double other_cpu_share(const CpuSample& before, const CpuSample& after, int cpus);

}  // namespace qbench::bench
