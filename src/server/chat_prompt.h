#pragma once
// Turns a validated chat conversation into the model's prompt tokens: picks
// the chat template (a --chat-template-file, else the model's own
// `tokenizer.chat_template`, else a built-in one), renders it and tokenizes
// the result. Built-in choice when the model has none: "llama2" for
// SentencePiece ("llama") vocabularies, whose <s>/[INST] markers such models
// were trained with, and "chatml" for everything else.
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/template.h"
#include "tokenizer/tokenizer.h"

namespace ridge::server {

struct ChatTemplateChoice {
  std::string source;
  std::string origin;  // "file FILE", "model", "built-in chatml", ... (for the startup log)
};

// `override_source`: the --chat-template-file contents ("" when none);
// `model_template`: the GGUF's tokenizer.chat_template ("" when none).
ChatTemplateChoice choose_chat_template(const std::string& override_source, const std::string& model_template,
                                        const std::string& tokenizer_model);

class ChatPrompt {
 public:
  // Parses the chosen template. When the model's own template does not parse,
  // falls back to the built-in one and says so in `warning`; a bad
  // --chat-template-file throws chat::TemplateError.
  ChatPrompt(ChatTemplateChoice choice, const tokenizer::Tokenizer& tok, std::string* warning);

  // The rendered prompt text; throws ApiError (400 with the template's own
  // message for raise_exception, 500 for other template failures).
  std::string render(const nlohmann::json& messages) const;
  // Tokens of a rendered prompt: special-token text becomes the token, and a
  // BOS is prepended when the vocabulary wants one and the template did not write it.
  std::vector<int32_t> tokenize(const std::string& prompt) const;
  const std::string& origin() const { return origin_; }

 private:
  const tokenizer::Tokenizer& tok_;
  std::unique_ptr<chat::ChatTemplate> tmpl_;
  std::string origin_;
  chat::RenderOptions opts_;
  mutable std::mutex mu_;  // rendering is cheap; serialise it rather than rely on the interpreter being reentrant
};

}  // namespace ridge::server
