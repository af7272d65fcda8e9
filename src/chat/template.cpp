// ChatTemplate: parse once, render per request (see template.h).
#include "chat/template.h"

#include "chat/interpreter.h"
#include "chat/lexer.h"
#include "chat/parser.h"

namespace ridge::chat {

struct ChatTemplate::Impl {
  std::string source;  // normalized; the AST's offsets point into it
  Body body;
  TemplateLimits limits;
};

ChatTemplate::ChatTemplate(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;
ChatTemplate::~ChatTemplate() = default;

ChatTemplate ChatTemplate::parse(std::string_view source, TemplateLimits limits) {
  auto impl = std::make_unique<Impl>();
  impl->limits = limits;
  impl->source = normalize_template_source(source);
  std::vector<Token> tokens = tokenize_template(impl->source);
  impl->body = parse_template_tokens(impl->source, tokens);
  return ChatTemplate(std::move(impl));
}

std::string ChatTemplate::render(const nlohmann::json& messages, const RenderOptions& opts) const {
  // The variables transformers' apply_chat_template passes: messages, tools
  // (None when absent), documents, add_generation_prompt and the special tokens.
  std::unordered_map<std::string, Value> vars;
  vars["messages"] = from_json(messages);
  vars["tools"] = from_json(opts.tools);
  vars["documents"] = Value::none();
  vars["add_generation_prompt"] = Value::boolean(opts.add_generation_prompt);
  vars["bos_token"] = Value::string(opts.bos_token);
  vars["eos_token"] = Value::string(opts.eos_token);
  if (!opts.extra.is_null()) {
    if (!opts.extra.is_object()) throw TemplateError("RenderOptions::extra must be a JSON object");
    for (auto it = opts.extra.begin(); it != opts.extra.end(); ++it) vars[it.key()] = from_json(it.value());
  }
  Interpreter interpreter(impl_->limits, opts);
  return interpreter.render(impl_->body, std::move(vars));
}

}  // namespace ridge::chat
