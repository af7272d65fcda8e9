// Name-based special-token conventions, as llama.cpp applies them after
// loading a vocabulary: GGUF files often lack explicit EOT/FIM ids, so tokens
// are recognised by their text. Such tokens become CONTROL (so plain text that
// happens to spell them is not turned into them), and the end-of-generation
// set collects every token a model may use to stop.
#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <string>

#include "tokenizer/vocab.h"

namespace ridge::tokenizer {
namespace {

using Texts = std::initializer_list<std::string_view>;

bool is_one_of(std::string_view text, Texts texts) {
  return std::find(texts.begin(), texts.end(), text) != texts.end();
}

bool contains_any(std::string_view s, Texts parts) {
  for (auto p : parts)
    if (s.find(p) != std::string_view::npos) return true;
  return false;
}

// When `id` is unset, takes the first token (by id) spelled as one of `texts`
// and marks it CONTROL.
void detect_role(Vocab& v, int32_t& id, Texts texts) {
  if (id >= 0) return;
  for (int32_t t = 0; t < v.size(); ++t) {
    if (is_one_of(v.texts[t], texts)) {
      id = t;
      v.attrs[t] |= kAttrControl;
      return;
    }
  }
}

void set_attr(Vocab& v, std::string_view text, uint32_t attr, bool on) {
  const int32_t id = v.find(text);
  if (id < 0) return;
  if (on) v.attrs[id] |= attr;
  else v.attrs[id] &= ~attr;
}

}  // namespace

void assign_special_roles(Vocab& v, std::string_view general_name, std::string_view architecture) {
  detect_role(v, v.eot, {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
                         "<EOT>", "_<EOT>", "[EOT]", "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",
                         "<end_of_utterance>"});
  detect_role(v, v.eom, {"<|eom_id|>"});
  detect_role(v, v.fim_pre, {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<\xEF\xBD\x9C" "fim\xE2\x96\x81" "begin\xEF\xBD\x9C>",
                             "<PRE>", "\xE2\x96\x81<PRE>", "<|code_prefix|>", "<|prefix|>"});
  detect_role(v, v.fim_suf, {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<\xEF\xBD\x9C" "fim\xE2\x96\x81hole\xEF\xBD\x9C>",
                             "<SUF>", "\xE2\x96\x81<SUF>", "<|code_suffix|>", "<|suffix|>"});
  detect_role(v, v.fim_mid, {"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<\xEF\xBD\x9C" "fim\xE2\x96\x81" "end\xEF\xBD\x9C>",
                             "<MID>", "\xE2\x96\x81<MID>", "<|code_middle|>", "<|middle|>"});
  detect_role(v, v.fim_pad, {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"});
  detect_role(v, v.fim_rep, {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"});
  detect_role(v, v.fim_sep, {"<|file_sep|>"});

  v.eog.clear();
  for (int32_t id : {v.fim_pad, v.fim_rep, v.fim_sep})
    if (id >= 0) v.eog.insert(id);
  for (int32_t t = 0; t < v.size(); ++t) {
    if (is_one_of(v.texts[t], {"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>",
                               "<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>",
                               "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>",
                               "<|tool_response>", "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",
                               "[e~["})) {
      v.eog.insert(t);
      v.attrs[t] |= kAttrControl;
    }
  }
  // gpt-oss (harmony) structure tokens are always rendered, like user-defined text.
  for (std::string_view text : {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"}) {
    const int32_t id = v.find(text);
    if (id >= 0) v.attrs[id] = kAttrUserDefined;
  }
  for (int32_t id : {v.eos, v.eot, v.eom})
    if (id >= 0) v.eog.insert(id);

  auto eog_has = [&](std::string_view text) {
    const int32_t id = v.find(text);
    return id >= 0 && v.eog.count(id) > 0;
  };
  // Harmony and solar-open use <|end|> between messages, not to stop.
  if (eog_has("<|end|>") && ((eog_has("<|return|>") && eog_has("<|call|>")) ||
                             (eog_has("<|calls|>") && eog_has("<|flush|>")))) {
    const int32_t end = v.find("<|end|>");
    v.eog.erase(end);
    v.attrs[end] = kAttrUserDefined;
  }
  // Vocabularies with <|tool_response> (Gemma 4) use </s> as ordinary text.
  if (eog_has("<|tool_response>") && eog_has("</s>")) {
    const int32_t s = v.find("</s>");
    v.eog.erase(s);
    v.attrs[s] = kAttrNormal;
  }

  v.special_tokens.clear();
  for (int32_t t = 0; t < v.size(); ++t)
    if (v.attrs[t] & (kAttrControl | kAttrUserDefined | kAttrUnknown)) v.special_tokens.push_back(t);
  // Longest first so that a token containing another is matched whole; ties by id keep it deterministic.
  std::stable_sort(v.special_tokens.begin(), v.special_tokens.end(),
                   [&](int32_t a, int32_t b) { return v.texts[a].size() > v.texts[b].size(); });

  std::string name(general_name);
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  if (contains_any(v.pre_name, {"jina-v2-de", "jina-v2-es", "jina-v2-code"}) ||
      contains_any(architecture, {"nomic-bert-moe", "jina-bert-v3"})) {
    set_attr(v, "<mask>", kAttrLstrip, true);
  } else if (contains_any(name, {"phi-3", "phi3"})) {
    // Phi-3's tokenizer strips whitespace after its special tokens, except these three.
    for (int32_t id : v.special_tokens) v.attrs[id] |= kAttrRstrip;
    set_attr(v, "</s>", kAttrRstrip, true);
    for (std::string_view text : {"<unk>", "<s>", "<|endoftext|>"}) set_attr(v, text, kAttrRstrip, false);
  } else if (contains_any(name, {"modern-bert"})) {
    set_attr(v, "[MASK]", kAttrLstrip, true);
  }
}

}  // namespace ridge::tokenizer
