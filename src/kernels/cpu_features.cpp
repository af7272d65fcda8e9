#include "kernels/cpu_features.h"

#include "kernels/prefetch.h"

#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace ridge::kernels {

namespace {

// XGETBV without -mxsave: the instruction is only executed after CPUID said OSXSAVE.
uint64_t read_xcr0() {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

bool bit(uint32_t word, int n) { return (word >> n) & 1u; }

}  // namespace

CpuFeatures detect_cpu_features() {
  CpuFeatures f;
  unsigned a, b, c, d;
  if (!__get_cpuid(0, &a, &b, &c, &d)) return f;
  const unsigned max_leaf = a;
  char vendor[13] = {};
  std::memcpy(vendor, &b, 4);
  std::memcpy(vendor + 4, &d, 4);
  std::memcpy(vendor + 8, &c, 4);
  if (std::strcmp(vendor, "GenuineIntel") == 0) f.vendor = CpuVendor::Intel;
  else if (std::strcmp(vendor, "AuthenticAMD") == 0 || std::strcmp(vendor, "HygonGenuine") == 0) f.vendor = CpuVendor::Amd;
  __get_cpuid(1, &a, &b, &c, &d);
  const bool osxsave = bit(c, 27);
  f.avx = bit(c, 28);
  f.fma = bit(c, 12);
  f.f16c = bit(c, 29);
  if (osxsave) {
    const uint64_t xcr0 = read_xcr0();
    f.os_ymm = (xcr0 & 0x6) == 0x6;      // SSE and AVX state
    f.os_zmm = (xcr0 & 0xe6) == 0xe6;    // plus opmask, ZMM_Hi256, Hi16_ZMM
    f.os_amx = (xcr0 & 0x60000) == 0x60000;  // XTILECFG, XTILEDATA
  }
  if (max_leaf >= 7) {
    __cpuid_count(7, 0, a, b, c, d);
    f.avx2 = bit(b, 5);
    f.bmi2 = bit(b, 8);
    f.avx512f = bit(b, 16);
    f.avx512dq = bit(b, 17);
    f.avx512bw = bit(b, 30);
    f.avx512vl = bit(b, 31);
    f.avx512vnni = bit(c, 11);
    f.amx_tile = bit(d, 24);
    f.amx_int8 = bit(d, 25);
    const unsigned max_sub = a;
    if (max_sub >= 1) {
      __cpuid_count(7, 1, a, b, c, d);
      f.avx512bf16 = bit(a, 5);
    }
  }
  return f;
}

const char* kernel_path_name(KernelPath path) {
  switch (path) {
    case KernelPath::Scalar: return "scalar";
    case KernelPath::Avx2: return "avx2";
    case KernelPath::Avx512: return "avx512";
  }
  return "unknown";
}

bool kernel_path_supported(KernelPath path, const CpuFeatures& f) {
  // Each path needs every extension its files are compiled with (see CMakeLists.txt):
  // the compiler may use any of them anywhere in those files.
  const bool avx2 = f.avx && f.os_ymm && f.avx2 && f.fma && f.f16c && f.bmi2;
  switch (path) {
    case KernelPath::Scalar: return true;
    case KernelPath::Avx2: return avx2;
    case KernelPath::Avx512:
      return avx2 && f.os_zmm && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.avx512vnni &&
             f.avx512bf16;
  }
  return false;
}

bool kernel_path_supported(KernelPath path) {
  static const CpuFeatures features = detect_cpu_features();
  return kernel_path_supported(path, features);
}

KernelPath best_kernel_path(const CpuFeatures& f) {
  for (KernelPath p : {KernelPath::Avx512, KernelPath::Avx2})
    if (kernel_path_supported(p, f)) return p;
  return KernelPath::Scalar;
}

KernelPath resolve_kernel_path(const char* request, const CpuFeatures& f, std::string* warning) {
  if (warning) warning->clear();
  const KernelPath best = best_kernel_path(f);
  if (request == nullptr || *request == '\0') return best;
  KernelPath wanted;
  if (std::strcmp(request, "scalar") == 0) wanted = KernelPath::Scalar;
  else if (std::strcmp(request, "avx2") == 0) wanted = KernelPath::Avx2;
  else if (std::strcmp(request, "avx512") == 0) wanted = KernelPath::Avx512;
  else {
    if (warning)
      *warning = std::string("RIDGE_KERNELS=") + request + " is not one of scalar, avx2, avx512; using " +
                 kernel_path_name(best);
    return best;
  }
  KernelPath p = wanted;
  while (!kernel_path_supported(p, f)) p = static_cast<KernelPath>(static_cast<int>(p) - 1);
  if (p != wanted && warning)
    *warning = std::string("RIDGE_KERNELS=") + request + ": this CPU does not support it; using " +
               kernel_path_name(p);
  return p;
}

KernelPath active_kernel_path() {
  static const KernelPath path = [] {
    std::string warning;
    const KernelPath p = resolve_kernel_path(std::getenv("RIDGE_KERNELS"), detect_cpu_features(), &warning);
    if (!warning.empty()) std::fprintf(stderr, "ridge: %s\n", warning.c_str());
    return p;
  }();
  return path;
}

const char* kernel_path_name() { return kernel_path_name(active_kernel_path()); }

std::vector<KernelPath> supported_kernel_paths() {
  std::vector<KernelPath> out;
  for (KernelPath p : {KernelPath::Scalar, KernelPath::Avx2, KernelPath::Avx512})
    if (kernel_path_supported(p)) out.push_back(p);
  return out;
}

bool amx_int8_usable() {
  static const bool usable = [] {
    const CpuFeatures f = detect_cpu_features();
    if (active_kernel_path() != KernelPath::Avx512 || !f.amx_tile || !f.amx_int8 || !f.os_amx) return false;
    const char* env = std::getenv("RIDGE_AMX");
    if (env != nullptr && std::strcmp(env, "0") == 0) return false;
    // Linux keeps the 8 KiB tile data state off until a process asks for it.
    constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
    return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
  }();
  return usable;
}

namespace {
std::atomic<bool> amx_allowed{true};
}  // namespace

bool amx_int8_active() { return amx_allowed.load(std::memory_order_relaxed) && amx_int8_usable(); }

void allow_amx_int8(bool allowed) { amx_allowed.store(allowed, std::memory_order_relaxed); }

const char* line_prefetch_name(LinePrefetch hint) {
  switch (hint) {
    case LinePrefetch::None: return "none";
    case LinePrefetch::Nta: return "prefetchnta";
    case LinePrefetch::T0: return "prefetcht0";
    case LinePrefetch::T1: return "prefetcht1";
  }
  return "unknown";
}

LinePrefetchPolicy default_line_prefetch(const CpuFeatures& f) {
  switch (f.vendor) {
    case CpuVendor::Amd: return {LinePrefetch::Nta, LinePrefetch::None};
    case CpuVendor::Intel: return {LinePrefetch::T1, LinePrefetch::T1};
    case CpuVendor::Other: break;
  }
  return {LinePrefetch::T0, LinePrefetch::None};
}

LinePrefetchPolicy resolve_line_prefetch(const char* request, const CpuFeatures& f, std::string* warning) {
  if (warning) warning->clear();
  if (request == nullptr || *request == '\0') return default_line_prefetch(f);
  static constexpr struct {
    const char* name;
    LinePrefetch hint;
  } kNames[] = {{"none", LinePrefetch::None}, {"nta", LinePrefetch::Nta}, {"t0", LinePrefetch::T0}, {"t1", LinePrefetch::T1}};
  for (const auto& n : kNames)
    if (std::strcmp(request, n.name) == 0) return {n.hint, n.hint};
  if (warning)
    *warning = std::string("RIDGE_PREFETCH=") + request + " is not one of none, nta, t0, t1; using this CPU's default";
  return default_line_prefetch(f);
}

LinePrefetchPolicy active_line_prefetch() {
  static const LinePrefetchPolicy policy = [] {
    std::string warning;
    const LinePrefetchPolicy p = resolve_line_prefetch(std::getenv("RIDGE_PREFETCH"), detect_cpu_features(), &warning);
    if (!warning.empty()) std::fprintf(stderr, "ridge: %s\n", warning.c_str());
    return p;
  }();
  return policy;
}

namespace isa {
// Read by the kernels on every call, so set before main (and before any
// kernel could run).
int g_lines_hint = static_cast<int>(active_line_prefetch().stream);
int g_lines_hint_light = static_cast<int>(active_line_prefetch().light);
int g_whole_line_loads = [] {
  const char* env = std::getenv("RIDGE_LOAD_BYTES");
  if (env != nullptr && std::strcmp(env, "64") == 0) return 1;
  if (env != nullptr && std::strcmp(env, "32") == 0) return 0;
  if (env != nullptr && *env != '\0')
    std::fprintf(stderr, "ridge: RIDGE_LOAD_BYTES=%s is not 32 or 64; using this CPU's default\n", env);
  return detect_cpu_features().vendor == CpuVendor::Intel ? 1 : 0;
}();
static_assert(static_cast<int>(LinePrefetch::None) == kLinesNone && static_cast<int>(LinePrefetch::Nta) == kLinesNta &&
              static_cast<int>(LinePrefetch::T0) == kLinesT0 && static_cast<int>(LinePrefetch::T1) == kLinesT1);
}  // namespace isa

}  // namespace ridge::kernels
