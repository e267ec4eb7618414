#include "bench/sysinfo.h"

#include <cpuid.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <set>
#include <sstream>

#include "kernels/onednn/context.h"
#include "kernels/onednn/cpu_paths.h"
#include "qbench_commit.h"  // generated at every build (cmake/commit.cmake)

namespace qbench::bench {
namespace {

std::string cpuinfo_field(const std::string& key) {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(key, 0) == 0) {
      size_t colon = line.find(':');
      return colon == std::string::npos ? "" : line.substr(std::min(colon + 2, line.size()));
    }
  return "";
}

// Whether this process's CPUID reports `flag` (a /proc/cpuinfo name). /proc/cpuinfo lists the
// hardware's flags even where CPUID is faulted and masked (benchmarks/cpu_mask makes a bigger CPU
// look AVX2-only to every engine), and the kernels decide by CPUID: a report made there named
// AVX-512 while everything ran as AVX2. Flags not listed here are kept as /proc/cpuinfo has them.
bool cpuid_reports(const std::string& flag) {
  struct Bit {
    const char* flag;
    unsigned leaf, sub;
    int reg;  // 0 eax, 1 ebx, 2 ecx, 3 edx
    int bit;
  };
  static constexpr Bit kBits[] = {
      {"sse4_2", 1, 0, 2, 20},      {"fma", 1, 0, 2, 12},      {"avx", 1, 0, 2, 28},
      {"f16c", 1, 0, 2, 29},        {"avx2", 7, 0, 1, 5},      {"avx512f", 7, 0, 1, 16},
      {"avx512bw", 7, 0, 1, 30},    {"avx512vl", 7, 0, 1, 31}, {"avx512_vnni", 7, 0, 2, 11},
      {"avx512_fp16", 7, 0, 3, 23}, {"amx_bf16", 7, 0, 3, 22}, {"amx_tile", 7, 0, 3, 24},
      {"amx_int8", 7, 0, 3, 25},    {"avx_vnni", 7, 1, 0, 4},  {"avx512_bf16", 7, 1, 0, 5},
      {"amx_fp16", 7, 1, 0, 21}};
  for (const Bit& b : kBits) {
    if (flag != b.flag) continue;
    unsigned r[4] = {};
    if (!__get_cpuid_count(b.leaf, b.sub, &r[0], &r[1], &r[2], &r[3])) return false;
    return (r[b.reg] >> b.bit) & 1u;
  }
  return true;
}

}  // namespace

std::vector<std::string> isa_flags_of(const std::string& line) {
  static const char* const kLadder[] = {"sse4_2",   "avx",         "avx2",        "fma",
                                        "f16c",     "avx_vnni",    "avx512f",     "avx512bw",
                                        "avx512vl", "avx512_vnni", "avx512_bf16", "avx512_fp16",
                                        "amx_tile", "amx_int8",    "amx_bf16",    "amx_fp16"};
  std::istringstream in(line);
  std::set<std::string> have;
  std::string w;
  while (in >> w) have.insert(w);
  std::vector<std::string> out;
  for (const char* f : kLadder)
    if (have.count(f)) out.emplace_back(f);
  return out;
}

const char* build_commit() {
  return QBENCH_GIT_COMMIT;
}

Machine describe_machine(int threads) {
  Machine m;
  m.cpu = cpuinfo_field("model name");
  if (m.cpu.empty()) m.cpu = "unknown";
  m.logical_cpus = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  for (std::string& f : isa_flags_of(cpuinfo_field("flags")))
    if (cpuid_reports(f)) m.isa.push_back(std::move(f));
  m.onednn_isa = kernels::onednn::effective_isa();
  m.int8_path = kernels::onednn::int8_path();
  m.bf16_path = kernels::onednn::bf16_path();
  m.onednn_version = kernels::onednn::library_version();
  m.threads = threads;
  m.build_type = QBENCH_BUILD_TYPE;
#ifdef __VERSION__
  m.compiler = __VERSION__;
#endif
  m.qbench_version = QBENCH_VERSION;
  m.git_commit = build_commit();
  utsname u{};
  if (uname(&u) == 0) m.os = std::string(u.sysname) + " " + u.release + " " + u.machine;
  return m;
}

int64_t peak_rss_bytes() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<int64_t>(ru.ru_maxrss) * 1024;
}

CpuSample sample_cpu() {
  CpuSample s;
  s.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  std::ifstream f("/proc/stat");
  std::string cpu;
  // cpu  user nice system idle iowait irq softirq steal
  long long v[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  if (f >> cpu && cpu == "cpu")
    for (auto& x : v) f >> x;
  const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  s.system_busy_seconds = static_cast<double>(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / hz;
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  s.self_cpu_seconds = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                       static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
  return s;
}

double other_cpu_share(const CpuSample& a, const CpuSample& b, int cpus) {
  const double capacity = (b.wall_seconds - a.wall_seconds) * std::max(cpus, 1);
  if (capacity <= 0) return 0;
  const double others =
      (b.system_busy_seconds - a.system_busy_seconds) - (b.self_cpu_seconds - a.self_cpu_seconds);
  return std::clamp(others / capacity, 0.0, 1.0);
}

}  // namespace qbench::bench
