#pragma once
// Which instruction sets this CPU and OS support, and which family of kernels
// (scalar reference, AVX2, AVX-512) the process runs: the best supported one,
// unless the environment variable RIDGE_KERNELS=scalar|avx2|avx512 asks for
// another. One binary serves every x86-64: the SIMD kernels live in files
// compiled for their instruction set and run only when this check allows.
#include <string>
#include <vector>

namespace ridge::kernels {

enum class CpuVendor { Other, Intel, Amd };

struct CpuFeatures {
  CpuVendor vendor = CpuVendor::Other;
  bool avx = false, avx2 = false, fma = false, f16c = false, bmi2 = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512vnni = false, avx512bf16 = false;
  bool amx_tile = false, amx_int8 = false;
  // The OS saves the wide registers on context switches (XGETBV); without that
  // the instructions exist but must not be used.
  bool os_ymm = false, os_zmm = false;
  bool os_amx = false;  // XTILECFG and XTILEDATA enabled in XCR0 (use still needs amx_int8_usable())
};

// Reads CPUID and XGETBV. Cheap, but callers normally use active_kernel_path().
CpuFeatures detect_cpu_features();

enum class KernelPath { Scalar, Avx2, Avx512 };

const char* kernel_path_name(KernelPath path);  // "scalar", "avx2", "avx512"

// Whether `features` can run every instruction the path's files were compiled for.
bool kernel_path_supported(KernelPath path, const CpuFeatures& features);
bool kernel_path_supported(KernelPath path);  // on this machine

// The best path `features` supports.
KernelPath best_kernel_path(const CpuFeatures& features);

// The path for a RIDGE_KERNELS value (nullptr or empty: the best). A request the
// CPU cannot run, or an unknown name, falls back to the best supported path at
// or below it and sets *warning to say so (left empty otherwise).
KernelPath resolve_kernel_path(const char* request, const CpuFeatures& features, std::string* warning);

// The path this process uses: resolved once from CPUID and RIDGE_KERNELS at first
// use (a fallback warning goes to stderr then), constant afterwards.
KernelPath active_kernel_path();
const char* kernel_path_name();  // of active_kernel_path(), for `ridge bench`

// Every path this machine supports, scalar first (tests run each).
std::vector<KernelPath> supported_kernel_paths();

// Whether the AVX-512 path may hand many-token packed Q4_0 / Q8_0 / Q4_K matmuls
// (prefill) to the Intel AMX kernel (repack_matmul_amx.cpp, the same bits):
// the active path is AVX-512, the CPU has AMX-TILE and AMX-INT8, the OS
// enables their state, RIDGE_AMX is not "0", and the kernel granted this
// process the tile data state (arch_prctl ARCH_REQ_XCOMP_PERM, asked once,
// here). Constant after the first call.
bool amx_int8_usable();

// Whether matmuls use the AMX kernel now: amx_int8_usable() and not switched
// off with allow_amx_int8(false) (tests compare both kernels in one process).
bool amx_int8_active();
void allow_amx_int8(bool allowed);

// Which prefetch instruction the decode kernels ask for the lines of their
// weight stream with, a few KiB ahead (kernels/prefetch.h says why and what
// each gained): `stream` for every decode kernel, `light` for the one with
// the least arithmetic per byte (the AVX-512 Q8_0 tile). The values match
// prefetch.h's kLines* constants.
enum class LinePrefetch : int { None = 0, Nta = 1, T0 = 2, T1 = 3 };
const char* line_prefetch_name(LinePrefetch hint);  // "none", "prefetchnta", "prefetcht0", "prefetcht1"

struct LinePrefetchPolicy {
  LinePrefetch stream = LinePrefetch::None;
  LinePrefetch light = LinePrefetch::None;
};

// The measured best for the CPU's vendor: AMD (Zen 5) PREFETCHNTA and none
// for the light stream; Intel PREFETCHT1 for both; others PREFETCHT0 (a gain
// on both of those) and none for the light stream.
LinePrefetchPolicy default_line_prefetch(const CpuFeatures& features);

// The policy for a RIDGE_PREFETCH value (nullptr or empty: the vendor's
// default; "none", "nta", "t0" or "t1": that hint for every stream). An
// unknown value falls back to the default and sets *warning (left empty
// otherwise).
LinePrefetchPolicy resolve_line_prefetch(const char* request, const CpuFeatures& features, std::string* warning);

// The policy this process uses: resolved once from CPUID and RIDGE_PREFETCH
// (a warning goes to stderr then); prefetch.h's g_lines_hint and
// g_lines_hint_light hold it from start-up on.
LinePrefetchPolicy active_line_prefetch();

}  // namespace ridge::kernels
