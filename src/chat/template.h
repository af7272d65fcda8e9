#pragma once
// Chat templates: a Jinja-subset interpreter that renders a model's own
// `tokenizer.chat_template` the way Hugging Face's reference implementation
// (Python Jinja2 with trim_blocks and lstrip_blocks) does, plus built-in
// fallback templates for models that carry none. Templates are untrusted
// code: output size, loop iterations and recursion are bounded; there is no I/O.
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace ridge::chat {

// A template that fails to parse or to render. For `raise_exception(msg)` the
// message is exactly the template's own text `msg` (is_raised() is true).
class TemplateError : public std::runtime_error {
 public:
  TemplateError(std::string msg, bool raised = false) : std::runtime_error(std::move(msg)), raised_(raised) {}
  bool is_raised() const { return raised_; }

 private:
  bool raised_;
};

struct RenderOptions {
  bool add_generation_prompt = true;
  std::string bos_token;       // the model's BOS text, e.g. "<s>"
  std::string eos_token;       // the model's EOS text
  nlohmann::json tools;        // null when the request has none
  nlohmann::json extra = nlohmann::json::object();  // further variables (e.g. enable_thinking)
  // strftime_now() uses this time (seconds since the epoch) when set, for reproducible tests.
  long long fixed_time = -1;
};

struct TemplateLimits {
  size_t max_output_bytes = 16 << 20;
  long long max_loop_iterations = 1'000'000;
  int max_recursion_depth = 64;
};

class ChatTemplate {
 public:
  // Parses `source`; throws TemplateError naming the line/column on a syntax error.
  static ChatTemplate parse(std::string_view source, TemplateLimits limits = {});
  ChatTemplate(ChatTemplate&&) noexcept;
  ChatTemplate& operator=(ChatTemplate&&) noexcept;
  ~ChatTemplate();

  // Renders with `messages` (the OpenAI-style array of {role, content, ...})
  // and the options as template variables. Throws TemplateError.
  std::string render(const nlohmann::json& messages, const RenderOptions& opts) const;

 private:
  struct Impl;
  explicit ChatTemplate(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Source of a built-in template: "llama2", "llama3", "chatml", "mistral";
// throws std::invalid_argument for other names.
std::string builtin_template(std::string_view name);

}  // namespace ridge::chat
