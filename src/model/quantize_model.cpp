#include "model/quantize_model.h"

#include <algorithm>
#include <cctype>
#include <exception>
#include <filesystem>
#include <thread>

#include "tensor/quant.h"

namespace ridge::model {

namespace {

// LLAMA_FTYPE_* values from llama.h (written to general.file_type).
constexpr QuantSchemeInfo kSchemes[] = {
    {QuantScheme::F16, "f16", GgmlType::F16, 1},
    {QuantScheme::BF16, "bf16", GgmlType::BF16, 32},
    {QuantScheme::Q8_0, "q8_0", GgmlType::Q8_0, 7},
    {QuantScheme::Q4_0, "q4_0", GgmlType::Q4_0, 2},
    {QuantScheme::Q4_K_M, "q4_k_m", GgmlType::Q4_K, 15},
    {QuantScheme::Q6_K, "q6_k", GgmlType::Q6_K, 18},
};

// llama.cpp's GGML_QNT_VERSION, which its quantizer writes into every output.
constexpr uint32_t kQuantizationVersion = 2;

bool contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }
bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

// Whether llama.cpp's quantizer touches this tensor at all.
bool is_quantizable(const gguf::TensorInfo& t) {
  if (t.n_dims < 2 || !ends_with(t.name, "weight")) return false;
  for (std::string_view skip : {"_norm.weight", "ffn_gate_inp.weight", "position_embd", "token_types", "rope_freqs"})
    if (contains(t.name, skip)) return false;
  return true;
}

bool is_float_type(GgmlType t) { return t == GgmlType::F32 || t == GgmlType::F16 || t == GgmlType::BF16; }

// llama.cpp's choice for a tensor whose rows are not whole blocks of `t`.
GgmlType fallback_type(GgmlType t) {
  switch (t) {
    case GgmlType::Q4_K: return GgmlType::Q5_0;
    case GgmlType::Q5_K: return GgmlType::Q5_1;
    case GgmlType::Q6_K: return GgmlType::Q8_0;
    default: return GgmlType::F16;  // 32-element types; F16 fits any row
  }
}

// The first and last eighth of the layers and every third one in between.
bool use_more_bits(int64_t i, int64_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

// Runs fn(begin, end) over [0, n) split into `threads` contiguous ranges; rethrows a worker's exception.
template <class Fn>
void parallel_rows(int64_t n, int threads, Fn&& fn) {
  const int t = static_cast<int>(std::clamp<int64_t>(threads, 1, std::max<int64_t>(1, n)));
  if (t == 1) return fn(int64_t{0}, n);
  std::vector<std::exception_ptr> errors(t);
  std::vector<std::thread> workers;
  for (int i = 0; i < t; ++i) {
    workers.emplace_back([&, i] {
      try {
        fn(n * i / t, n * (i + 1) / t);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    });
  }
  for (auto& w : workers) w.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

// Converts every row of `t` to `to`, one row of floats per thread at a time.
std::vector<uint8_t> convert_tensor(const gguf::TensorInfo& t, GgmlType to, int threads) {
  const int64_t cols = t.ne[0], rows = t.n_rows();
  const size_t in_row = ggml_row_bytes(t.type, cols), out_row = ggml_row_bytes(to, cols);
  std::vector<uint8_t> out(out_row * static_cast<size_t>(rows));
  parallel_rows(rows, threads, [&](int64_t r0, int64_t r1) {
    std::vector<float> row(static_cast<size_t>(cols));
    for (int64_t r = r0; r < r1; ++r) {
      tensor::dequantize_row(t.type, t.data + static_cast<size_t>(r) * in_row, row.data(), cols);
      tensor::quantize_row(to, row.data(), out.data() + static_cast<size_t>(r) * out_row, cols);
    }
  });
  return out;
}

}  // namespace

std::optional<QuantSchemeInfo> quant_scheme_from_name(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& s : kSchemes)
    if (s.name == lower) return s;
  return std::nullopt;
}

QuantSchemeInfo quant_scheme_info(QuantScheme scheme) {
  for (const auto& s : kSchemes)
    if (s.scheme == scheme) return s;
  throw std::invalid_argument("unknown quantization scheme id " + std::to_string(static_cast<int>(scheme)));
}

std::string quant_scheme_names() {
  std::string out;
  for (const auto& s : kSchemes) out += (out.empty() ? "" : ", ") + std::string(s.name);
  return out;
}

std::vector<TensorQuantPlan> plan_quantization(const gguf::File& in, QuantScheme scheme) {
  const QuantSchemeInfo info = quant_scheme_info(scheme);
  const bool quantized_scheme = !is_float_type(info.base_type);
  const bool has_output = in.find_tensor("output.weight") != nullptr;
  int64_t n_attn_v = 0, n_ffn_down = 0, i_attn_v = 0, i_ffn_down = 0;
  for (const auto& t : in.tensors()) {
    n_attn_v += contains(t.name, "attn_v.weight");
    n_ffn_down += contains(t.name, "ffn_down");
  }

  std::vector<TensorQuantPlan> plan;
  for (const auto& t : in.tensors()) {
    TensorQuantPlan p{t.name, t.type, t.type, "copied"};
    if (!is_quantizable(t)) {
      plan.push_back(std::move(p));
      continue;
    }
    p.to = info.base_type;
    p.why.clear();
    if (quantized_scheme) {
      if (t.name == "output.weight" || (!has_output && t.name == "token_embd.weight")) {
        if (info.base_type != GgmlType::Q8_0) p.to = GgmlType::Q6_K, p.why = "output";
      } else if (scheme == QuantScheme::Q4_K_M) {
        if (contains(t.name, "attn_v.weight")) {
          if (use_more_bits(i_attn_v, n_attn_v)) p.to = GgmlType::Q6_K, p.why = "use_more_bits";
          ++i_attn_v;
        } else if (contains(t.name, "ffn_down")) {
          if (use_more_bits(i_ffn_down, n_ffn_down)) p.to = GgmlType::Q6_K, p.why = "use_more_bits";
          ++i_ffn_down;
        } else if (contains(t.name, "attn_qkv.weight")) {
          p.to = GgmlType::Q5_K, p.why = "attn_qkv";
        }
      }
    }
    while (t.ne[0] % ggml_type_traits(p.to).block_size != 0) {
      const GgmlType next = fallback_type(p.to);
      p.why += std::string(p.why.empty() ? "" : ", ") + "rows of " + std::to_string(t.ne[0]) + " are not whole " +
               std::string(ggml_type_name(p.to)) + " blocks";
      p.to = next;
    }
    plan.push_back(std::move(p));
  }
  return plan;
}

std::vector<uint8_t> quantize_rows_parallel(GgmlType type, const float* src, int64_t rows, int64_t cols, int threads) {
  if (rows < 0 || cols < 0) throw std::invalid_argument("quantize_rows_parallel: negative shape");
  if (cols % ggml_type_traits(type).block_size != 0)
    throw std::invalid_argument("quantize_rows_parallel: rows of " + std::to_string(cols) + " are not whole " +
                                std::string(ggml_type_name(type)) + " blocks");
  const size_t row_bytes = ggml_row_bytes(type, cols);
  std::vector<uint8_t> out(row_bytes * static_cast<size_t>(rows));
  if (rows == 0 || cols == 0) return out;
  parallel_rows(rows, threads, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      tensor::quantize_row(type, src + r * cols, out.data() + static_cast<size_t>(r) * row_bytes, cols);
  });
  return out;
}

QuantizeResult quantize_model(const std::string& in_path, const std::string& out_path, QuantScheme scheme,
                              const QuantizeOptions& options) {
  const QuantSchemeInfo info = quant_scheme_info(scheme);
  std::error_code ec;
  if (std::filesystem::exists(out_path, ec) && std::filesystem::equivalent(in_path, out_path, ec))
    throw QuantizeError(out_path + ": is the input file; write the output to another path");
  const gguf::File in = gguf::File::open(in_path);

  QuantizeResult result;
  result.plan = plan_quantization(in, scheme);
  const auto& tensors = in.tensors();
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    const auto& p = result.plan[i];
    if (p.to == p.from) continue;
    if (!tensor::can_dequantize(p.from))
      throw QuantizeError(in_path + ": tensor " + t.name + " has type " + std::string(ggml_type_name(p.from)) +
                          ", which this build cannot read");
    if (!is_float_type(p.from) && !options.allow_requantize)
      throw QuantizeError(in_path + ": tensor " + t.name + " is already quantized (" +
                          std::string(ggml_type_name(p.from)) + "); converting it to " +
                          std::string(ggml_type_name(p.to)) +
                          " loses precision twice (use --allow-requantize to do it anyway, or start from an F32/F16/BF16 model)");
  }

  gguf::Writer w(3, in.alignment());
  for (const auto& [key, value] : in.metadata())
    if (key != "general.alignment") w.set(key, value);  // the writer adds it for a non-default alignment
  w.set("general.quantization_version", gguf::Value::u32(kQuantizationVersion));
  w.set("general.file_type", gguf::Value::u32(info.llama_ftype));
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    w.add_tensor_info(t.name, result.plan[i].to, std::vector<int64_t>(t.ne, t.ne + t.n_dims));
    result.in_tensor_bytes += t.n_bytes;
    result.out_tensor_bytes += ggml_row_bytes(result.plan[i].to, t.ne[0]) * static_cast<uint64_t>(t.n_rows());
  }
  w.write_streaming(out_path, [&](size_t i) {
    const auto& t = tensors[i];
    const auto& p = result.plan[i];
    if (options.on_tensor) options.on_tensor(i, tensors.size(), p);
    if (p.to == p.from) return std::vector<uint8_t>(t.data, t.data + t.n_bytes);
    return convert_tensor(t, p.to, options.threads);
  });
  return result;
}

}  // namespace ridge::model
