// libFuzzer target for chat templates: any input is parsed as a template and,
// when it parses, rendered over a fixed conversation with tools. Both steps
// must either succeed or throw TemplateError; limits are small so that
// hostile loops and blow-ups end quickly in a clean error.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "chat/template.h"

namespace {

const nlohmann::json& conversation() {
  static const nlohmann::json messages = nlohmann::json::parse(R"([
    {"role": "system", "content": "You are helpful. {{ not a tag }}"},
    {"role": "user", "content": "Hi 🌍 \"quoted\" {% if %}"},
    {"role": "assistant", "content": null, "tool_calls": [{"id": "call12345", "type": "function",
      "function": {"name": "get_weather", "arguments": {"city": "Paris", "n": 1.5, "ok": true}}}]},
    {"role": "tool", "tool_call_id": "call12345", "content": "{\"t\": 18}"},
    {"role": "user", "content": ["not", "a", "string", 3, null]}
  ])");
  return messages;
}

const nlohmann::json& tools() {
  static const nlohmann::json t = nlohmann::json::parse(R"([{"type": "function", "function": {
    "name": "get_weather", "description": "Weather.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}])");
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using ridge::chat::ChatTemplate;
  using ridge::chat::RenderOptions;
  using ridge::chat::TemplateError;
  using ridge::chat::TemplateLimits;
  std::string_view source(reinterpret_cast<const char*>(data), size);
  TemplateLimits limits;
  limits.max_output_bytes = 1 << 16;
  limits.max_loop_iterations = 20000;
  limits.max_recursion_depth = 16;
  try {
    ChatTemplate tmpl = ChatTemplate::parse(source, limits);
    RenderOptions opts;
    opts.bos_token = "<s>";
    opts.eos_token = "</s>";
    opts.tools = tools();
    opts.fixed_time = 1700000000;
    opts.extra = {{"enable_thinking", false}};
    (void)tmpl.render(conversation(), opts);
    opts.add_generation_prompt = false;
    opts.tools = nullptr;
    (void)tmpl.render(conversation(), opts);
  } catch (const TemplateError&) {
  }
  return 0;
}
