// The built-in fallback templates: each renders its family's format, and where
// the shared test data holds the family's real template the renderings agree.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "chat/template.h"
#include "common/testdata.h"

namespace {

using nlohmann::json;
using ridge::chat::builtin_template;
using ridge::chat::ChatTemplate;
using ridge::chat::RenderOptions;
using ridge::chat::TemplateError;

json msg(const char* role, const char* content) { return json{{"role", role}, {"content", content}}; }

json sample_conversation() {
  return json::array({msg("system", "Be brief."), msg("user", "Hi"), msg("assistant", " Hello! "), msg("user", "Bye")});
}

std::string render_builtin(const char* name, const json& messages, bool gen = true) {
  RenderOptions opts;
  opts.add_generation_prompt = gen;
  opts.bos_token = "<s>";
  opts.eos_token = "</s>";
  return ChatTemplate::parse(builtin_template(name)).render(messages, opts);
}

TEST(BuiltinTemplates, RenderTheirFamilyFormats) {
  EXPECT_EQ(render_builtin("chatml", sample_conversation()),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n Hello! "
            "<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(render_builtin("llama3", sample_conversation()),
            "<s><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>"
            "\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|><|start_header_id|>user"
            "<|end_header_id|>\n\nBye<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(render_builtin("llama2", sample_conversation()),
            "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello! </s><s>[INST] Bye [/INST]");
  EXPECT_EQ(render_builtin("mistral", sample_conversation()),
            "<s>[INST] Be brief.\n\nHi [/INST]  Hello! </s>[INST] Bye [/INST]");
  EXPECT_EQ(render_builtin("mistral", json::array({msg("user", "Hi")})), "<s>[INST] Hi [/INST]");
  EXPECT_EQ(render_builtin("chatml", json::array({msg("user", "Hi")}), false), "<|im_start|>user\nHi<|im_end|>\n");
}

TEST(BuiltinTemplates, AlternationIsEnforcedWithTheTemplatesMessage) {
  for (const char* name : {"llama2", "mistral"}) {
    try {
      render_builtin(name, json::array({msg("user", "a"), msg("user", "b")}));
      ADD_FAILURE() << name << " accepted two user turns in a row";
    } catch (const TemplateError& e) {
      EXPECT_TRUE(e.is_raised());
      EXPECT_STREQ(e.what(), "Conversation roles must alternate user/assistant/user/assistant/...");
    }
  }
}

TEST(BuiltinTemplates, UnknownNameIsRefused) {
  EXPECT_THROW(builtin_template("gpt"), std::invalid_argument);
  EXPECT_THROW(builtin_template(""), std::invalid_argument);
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(BuiltinTemplates, AgreeWithTheRealFamilyTemplates) {
  RIDGE_TESTDATA_OR_SKIP(llama2, "chat-templates/llama-2-chat.jinja");
  RIDGE_TESTDATA_OR_SKIP(llama3, "chat-templates/llama-3-instruct.jinja");
  RIDGE_TESTDATA_OR_SKIP(chatml, "chat-templates/chatml.jinja");
  std::vector<json> convs = {
      sample_conversation(),
      json::array({msg("user", "Only one")}),
      json::array({msg("user", " spaced "), msg("assistant", "reply\n"), msg("user", "again")}),
      json::array({msg("system", "S"), msg("user", "你好 🌍")}),
  };
  for (const auto& [name, path] : std::vector<std::pair<const char*, std::filesystem::path>>{
           {"llama2", llama2}, {"llama3", llama3}, {"chatml", chatml}}) {
    auto real = ChatTemplate::parse(read_file(path));
    auto ours = ChatTemplate::parse(builtin_template(name));
    for (const auto& conv : convs) {
      for (bool gen : {true, false}) {
        RenderOptions opts;
        opts.add_generation_prompt = gen;
        opts.bos_token = "<s>";
        opts.eos_token = "</s>";
        EXPECT_EQ(ours.render(conv, opts), real.render(conv, opts)) << name << " on " << conv.dump();
      }
    }
  }
}

}  // namespace
