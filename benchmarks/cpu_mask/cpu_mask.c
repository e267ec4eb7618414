// An AVX2-only CPU on a bigger one, for measuring: an ld.so audit library that makes every
// program it is loaded into (qbench, node with ONNX Runtime, python with PyTorch) see a CPUID
// without AVX-512, VNNI (AVX-512 or AVX), BF16, FP16 or AMX, so each engine picks the kernels
// it would pick on an AVX2-only CPU (Zen 2-like): oneDNN its avx2 kernels, ONNX Runtime's MLAS
// its AVX2 ones (u8 x s8 via vpmaddubsw), PyTorch its AVX2 build.
//
// How: Linux's CPUID faulting (arch_prctl(ARCH_SET_CPUID, 0); /proc/cpuinfo flag cpuid_fault)
// makes the cpuid instruction raise SIGSEGV in user space; the handler here runs the real cpuid,
// clears the masked bits and steps over the instruction. LD_AUDIT libraries are loaded before any
// of the program's own libraries run their constructors, so no engine probes the CPU first. The
// setting is per thread, inherited by threads and forks, reset by execve: set LD_AUDIT in the
// environment (run-as-avx2.sh does) and every process of a benchmark gets it again.
//
// What it cannot change: the cores' speed (AVX2 code on this core, not on a Zen 2), XGETBV (the
// OS still enables AVX-512 state; every engine seen checks the CPUID bits too), and glibc's own
// string functions, chosen before any audit library loads (GLIBC_TUNABLES in run-as-avx2.sh).
// Where CPUID faulting is missing it says so and exits 3 rather than measure the wrong CPU.
// A program that installs its own SIGSEGV handler must chain to the previous one (node does).
//
// Build: cc -O2 -shared -fPIC -o /tmp/cpu_mask.so benchmarks/cpu_mask/cpu_mask.c
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <cpuid.h>
#include <link.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

static struct sigaction previous;

static long set_cpuid(int enabled) { return syscall(SYS_arch_prctl, ARCH_SET_CPUID, enabled); }

static void say(const char* s) {
  ssize_t r = write(2, s, strlen(s));
  (void)r;
}

static void mask(uint32_t leaf, uint32_t sub, uint32_t* a, uint32_t* b, uint32_t* c, uint32_t* d) {
  if (leaf == 7 && sub == 0) {
    // EBX: avx512f 16, dq 17, ifma 21, pf 26, er 27, cd 28, bw 30, vl 31.
    *b &= ~((1u << 16) | (1u << 17) | (1u << 21) | (1u << 26) | (1u << 27) | (1u << 28) |
            (1u << 30) | (1u << 31));
    // ECX: avx512_vbmi 1, vbmi2 6, gfni 8, vaes 9, vpclmulqdq 10, avx512_vnni 11, bitalg 12,
    // vpopcntdq 14.
    *c &= ~((1u << 1) | (1u << 6) | (1u << 8) | (1u << 9) | (1u << 10) | (1u << 11) |
            (1u << 12) | (1u << 14));
    // EDX: avx512_4vnniw 2, 4fmaps 3, vp2intersect 8, amx_bf16 22, avx512_fp16 23, amx_tile 24,
    // amx_int8 25.
    *d &= ~((1u << 2) | (1u << 3) | (1u << 8) | (1u << 22) | (1u << 23) | (1u << 24) |
            (1u << 25));
  } else if (leaf == 7 && sub == 1) {
    // EAX: avx_vnni 4, avx512_bf16 5, amx_fp16 21, avx_ifma 23; EDX: avx_vnni_int8 4,
    // avx_ne_convert 5, amx_complex 8, avx10 19.
    *a &= ~((1u << 4) | (1u << 5) | (1u << 21) | (1u << 23));
    *d &= ~((1u << 4) | (1u << 5) | (1u << 8) | (1u << 19));
  } else if (leaf == 0x1d || leaf == 0x1e || leaf == 0x24) {
    *a = *b = *c = *d = 0;  // AMX tile and AVX10 information
  }
}

static void on_segv(int sig, siginfo_t* info, void* context) {
  ucontext_t* uc = (ucontext_t*)context;
  greg_t* r = uc->uc_mcontext.gregs;
  const unsigned char* ip = (const unsigned char*)r[REG_RIP];
  if (info->si_code == SI_KERNEL && ip[0] == 0x0f && ip[1] == 0xa2) {
    uint32_t leaf = (uint32_t)r[REG_RAX], sub = (uint32_t)r[REG_RCX], a, b, c, d;
    set_cpuid(1);
    __cpuid_count(leaf, sub, a, b, c, d);
    set_cpuid(0);
    mask(leaf, sub, &a, &b, &c, &d);
    r[REG_RAX] = a;
    r[REG_RBX] = b;
    r[REG_RCX] = c;
    r[REG_RDX] = d;
    r[REG_RIP] += 2;
    return;
  }
  if (previous.sa_flags & SA_SIGINFO) {
    previous.sa_sigaction(sig, info, context);
  } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
    previous.sa_handler(sig);
  } else {
    signal(sig, SIG_DFL);  // a real fault: let it crash where it happened
  }
}

unsigned la_version(unsigned version) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGSEGV, &sa, &previous) != 0 || set_cpuid(0) != 0) {
    say("cpu_mask: this kernel or CPU has no CPUID faulting (arch_prctl ARCH_SET_CPUID failed; "
        "/proc/cpuinfo lacks cpuid_fault): cannot present an AVX2-only CPU here\n");
    _exit(3);
  }
  return version;
}
