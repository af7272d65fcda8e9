#include "server/chat_prompt.h"

#include "server/api_error.h"

namespace ridge::server {

ChatTemplateChoice choose_chat_template(const std::string& override_source, const std::string& model_template,
                                        const std::string& tokenizer_model) {
  if (!override_source.empty()) return {override_source, "--chat-template-file"};
  if (!model_template.empty()) return {model_template, "the model's tokenizer.chat_template"};
  const std::string name = tokenizer_model == "llama" ? "llama2" : "chatml";
  return {chat::builtin_template(name), "built-in " + name + " (the model has no chat template)"};
}

ChatPrompt::ChatPrompt(ChatTemplateChoice choice, const tokenizer::Tokenizer& tok, std::string* warning)
    : tok_(tok), origin_(choice.origin) {
  try {
    tmpl_ = std::make_unique<chat::ChatTemplate>(chat::ChatTemplate::parse(choice.source));
  } catch (const chat::TemplateError& e) {
    if (choice.origin == "--chat-template-file") throw;
    const std::string name = tok.model_name() == "llama" ? "llama2" : "chatml";
    if (warning) *warning = std::string("the model's chat template does not parse (") + e.what() + "); using built-in " + name;
    tmpl_ = std::make_unique<chat::ChatTemplate>(chat::ChatTemplate::parse(chat::builtin_template(name)));
    origin_ = "built-in " + name + " (the model's template does not parse)";
  }
  if (tok.bos() >= 0) opts_.bos_token = tok.token_text(tok.bos());
  if (tok.eos() >= 0) opts_.eos_token = tok.token_text(tok.eos());
  opts_.add_generation_prompt = true;
}

std::string ChatPrompt::render(const nlohmann::json& messages) const {
  std::lock_guard lock(mu_);
  try {
    return tmpl_->render(messages, opts_);
  } catch (const chat::TemplateError& e) {
    if (e.is_raised()) throw ApiError(400, e.what(), "invalid_request_error", "messages", "chat_template_error");
    throw ApiError(500, std::string("the chat template failed: ") + e.what(), "server_error", "messages",
                   "chat_template_error");
  }
}

std::vector<int32_t> ChatPrompt::tokenize(const std::string& prompt) const {
  std::vector<int32_t> ids = tok_.encode(prompt, /*add_special=*/false, /*parse_special=*/true);
  if (tok_.add_bos() && tok_.bos() >= 0 && (ids.empty() || ids.front() != tok_.bos())) ids.insert(ids.begin(), tok_.bos());
  return ids;
}

}  // namespace ridge::server
