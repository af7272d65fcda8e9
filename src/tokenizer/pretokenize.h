#pragma once
// Pre-tokenizers of byte-level BPE vocabularies: split text into the pieces BPE
// merges run inside, exactly as llama.cpp does for each `tokenizer.ggml.pre`
// type. Each type is a list of regexes applied in turn; a regex splits every
// current piece into its matches and the unmatched stretches between them (both
// kept), and the next regex works on the resulting pieces.
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ridge::tokenizer {

// One value per distinct llama.cpp pre-tokenizer behaviour that ridge supports.
// Several `tokenizer.ggml.pre` names map to the same value (see pre_tokenizer_from_name).
enum class PreTokenizer {
  Default,        // "default" (and BPE vocabularies without a pre key): llama.cpp's fallback list
  Gpt2,           // "gpt-2", "phi-2", "jais", "olmo", "exaone4", "roberta-bpe", ...
  Mpt,            // "mpt" (GPT-2's regex)
  Llama3,         // "llama3", "llama-bpe", "llama-v3", "falcon3", "pixtral", ...
  Dbrx,           // "dbrx" (Llama 3's regex)
  Smaug,          // "smaug-bpe" (Llama 3's regex)
  ChatGlm4,       // "chatglm-bpe", "glm4" (Llama 3's regex)
  Qwen2,          // "qwen2", "deepseek-r1-qwen", "stablelm2", "megrez", "hunyuan", "grok-2", ...
  Qwen35,         // "qwen35"
  DeepseekLlm,    // "deepseek-llm"
  DeepseekCoder,  // "deepseek-coder"
  Deepseek3Llm,   // "deepseek-v3", "hunyuan-dense", "joyai-llm", "hy_v4"
  Falcon,         // "falcon"
  Starcoder,      // "starcoder", "smollm", "codeshell", "exaone", "minerva-7b", "mellum2"
  Refact,         // "refact" (StarCoder's list)
  CommandR,       // "command-r" (StarCoder's list)
  Bloom,          // "bloom", "poro-chat", "gpt3-finnish"
  Viking,         // "viking"
  Tekken,         // "tekken"
  Gpt4o,          // "gpt-4o", "llama4", "kanana2", "minimax-m2"
  Chameleon,      // "chameleon"
  SeedCoder,      // "seed-coder"
  BailingMoe,     // "bailingmoe", "bailingmoe2", "llada-moe"
};

// Maps tokenizer.ggml.pre to a pre-tokenizer; nullopt for names ridge does not know.
std::optional<PreTokenizer> pre_tokenizer_from_name(std::string_view name);

// A short stable name for messages and tests ("llama3", "qwen2", ...).
std::string_view pre_tokenizer_name(PreTokenizer p);

// Every supported value, for tests and listings.
std::span<const PreTokenizer> all_pre_tokenizers();

// The regexes llama.cpp applies for this type, in order (the patterns as written there).
std::span<const std::string_view> pre_tokenizer_patterns(PreTokenizer p);

// llama.cpp sets `ignore_merges` for these types: a whole piece that is itself a
// vocabulary token becomes that token without running BPE merges on it.
bool pre_tokenizer_ignores_merges(PreTokenizer p);

// Splits UTF-8 text into the pieces BPE is applied to. Pieces are views into
// `text`, in order, non-empty, and together cover all of it. Invalid UTF-8 never
// throws: each undecodable byte is one unit that classifies as U+FFFD (llama.cpp
// also substitutes U+FFFD's bytes for it in the piece text; these views keep the
// original byte, so a caller that wants llama.cpp's ids maps such bytes itself).
std::vector<std::string_view> pre_tokenize(PreTokenizer p, std::string_view text);

// The bytes llama.cpp hands to BPE for a piece: it re-encodes the decoded
// codepoints, so each undecodable byte becomes U+FFFD (EF BF BD) and overlong
// forms become their shortest form. Equal to `piece` for valid UTF-8.
std::string llama_piece_bytes(std::string_view piece);

}  // namespace ridge::tokenizer
