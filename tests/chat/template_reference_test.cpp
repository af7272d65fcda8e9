// Renders every real chat template in the shared test data over many
// conversations with ridge and with @huggingface/jinja (through
// tests/js/render_template.mjs, one node process for all cases) and requires
// identical text, or the same raise_exception message. Where the JS package and
// Python's Jinja2 (what transformers uses, and what ridge follows) disagree,
// the case carries Python's output as an explicit expected string instead.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "chat/template.h"
#include "common/process.h"
#include "common/testdata.h"

namespace {

using nlohmann::json;
using ridge::chat::ChatTemplate;
using ridge::chat::RenderOptions;
using ridge::chat::TemplateError;

constexpr long long kFixedTime = 1700000000;  // 2023-11-14 22:13:20 UTC

json msg(const char* role, json content) { return json{{"role", role}, {"content", std::move(content)}}; }

json weather_tools() {
  return json::parse(R"([{"type": "function", "function": {
      "name": "get_weather",
      "description": "Get the current weather in a city.",
      "parameters": {"type": "object",
                     "properties": {"city": {"type": "string", "description": "City name, e.g. Paris"},
                                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"],
                                             "description": "Temperature unit"}},
                     "required": ["city"]}}}])");
}

json tool_call_message() {
  return json::parse(R"({"role": "assistant", "content": null, "tool_calls": [
      {"id": "call12345", "type": "function",
       "function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}}]})");
}

json tool_result_message() {
  return json::parse(R"({"role": "tool", "tool_call_id": "call12345", "name": "get_weather",
                         "content": "{\"temperature\": 18, \"sky\": \"cloudy\"}"})");
}

struct Conversation {
  std::string name;
  json messages;
  json tools;  // null when none
  json extra = json::object();
};

std::vector<Conversation> conversations() {
  std::vector<Conversation> c;
  c.push_back({"user", json::array({msg("user", "Hello!")}), nullptr});
  c.push_back({"system_user", json::array({msg("system", "You are a helpful assistant."), msg("user", "What is 2+2?")}), nullptr});
  c.push_back({"multi_turn",
               json::array({msg("system", "You are terse."), msg("user", "Hi"), msg("assistant", "Hello! How can I help?"),
                            msg("user", "Tell me a joke.")}),
               nullptr});
  c.push_back({"assistant_last",
               json::array({msg("user", "Hi"), msg("assistant", "Hello there."), msg("user", "Bye"),
                            msg("assistant", "Goodbye!")}),
               nullptr});
  c.push_back({"unicode",
               json::array({msg("system", "Réponds en français 🇫🇷"),
                            msg("user", "你好，世界 🌍 — naïve café, שלום, Ελληνικά, 𝔘𝔫𝔦𝔠𝔬𝔡𝔢"),
                            msg("assistant", "こんにちは 😀 Ünïcödé"), msg("user", "Ça va? ✓ 한국어")}),
               nullptr});
  c.push_back({"jinja_lookalike",
               json::array({msg("user", "{{ messages }} {% if true %}yes{% endif %} {# c #} {{ raise_exception('no') }}"),
                            msg("assistant", "{%- raw -%} {{ x }} {% endraw %}"), msg("user", "}}{{ %} {% {#")}),
               nullptr});
  c.push_back({"empty_content", json::array({msg("user", ""), msg("assistant", ""), msg("user", "")}), nullptr});
  c.push_back({"whitespace",
               json::array({msg("system", "  \n padded system \t\n"), msg("user", "\n\n  leading and trailing  \n\n"),
                            msg("assistant", "  answer  "), msg("user", "x")}),
               nullptr});
  c.push_back({"quotes_escapes",
               json::array({msg("user", "He said \"hi\" and 'bye' \\ back\\slash\ttab <b>&amp;</b>"),
                            msg("assistant", "Line1\nLine2\r\nLine3"), msg("user", "ok")}),
               nullptr});
  c.push_back({"thinking",
               json::array({msg("user", "Solve 2+2"),
                            msg("assistant", "<think>\nLet me think.\n</think>\n\nThe answer is 4."),
                            msg("user", "Thanks")}),
               nullptr});
  c.push_back({"bad_alternation", json::array({msg("user", "a"), msg("user", "b")}), nullptr});
  c.push_back({"assistant_first", json::array({msg("assistant", "I start."), msg("user", "ok")}), nullptr});
  c.push_back({"system_only", json::array({msg("system", "Only a system prompt.")}), nullptr});
  c.push_back({"tools_declared", json::array({msg("user", "What's the weather in Paris?")}), weather_tools()});
  c.push_back({"tools_declared_system",
               json::array({msg("system", "Use tools when needed."), msg("user", "What's the weather in Paris?")}),
               weather_tools()});
  c.push_back({"tool_roundtrip",
               json::array({msg("user", "What's the weather in Paris?"), tool_call_message(), tool_result_message(),
                            msg("assistant", "It is 18 °C and cloudy in Paris.")}),
               weather_tools()});
  c.push_back({"tool_pending",
               json::array({msg("user", "What's the weather in Paris?"), tool_call_message(), tool_result_message()}),
               weather_tools()});
  c.push_back({"content_parts",
               json::array({msg("system", json::array({{{"type", "text"}, {"text", "Be brief."}}})),
                            msg("user", json::array({{{"type", "text"}, {"text", "Describe this:"}}, {{"type", "image"}}}))}),
               nullptr});
  Conversation no_think{"thinking_disabled", json::array({msg("user", "Quick answer: 3*3?")}), nullptr};
  no_think.extra = {{"enable_thinking", false}};
  c.push_back(no_think);
  Conversation tools_in_system{"tools_in_system", json::array({msg("system", "Be exact."), msg("user", "Weather?")}),
                               weather_tools()};
  tools_in_system.extra = {{"tools_in_user_message", false}};
  c.push_back(tools_in_system);
  Conversation builtin{"builtin_tools", json::array({msg("user", "Search the web for ridge.")}), nullptr};
  builtin.extra = {{"builtin_tools", json::array({"brave_search", "wolfram_alpha", "code_interpreter"})},
                   {"date_string", "01 Jan 2025"}};
  c.push_back(builtin);
  json string_args = tool_call_message();
  string_args["tool_calls"][0]["function"]["arguments"] = R"({"city": "Zürich", "days": 3})";
  c.push_back({"tool_string_arguments",
               json::array({msg("user", "Weather in Zürich?"), string_args, tool_result_message()}), weather_tools()});
  json two_calls = tool_call_message();
  json second = two_calls["tool_calls"][0];
  second["id"] = "call67890";
  second["function"]["arguments"] = json{{"city", "Oslo"}};
  two_calls["tool_calls"].push_back(second);
  two_calls["content"] = "Checking both.";
  c.push_back({"two_tool_calls",
               json::array({msg("user", "Paris and Oslo?"), two_calls, tool_result_message(), tool_result_message()}),
               weather_tools()});
  json bad_id = tool_call_message();
  bad_id["tool_calls"][0]["id"] = "call_1";
  c.push_back({"tool_bad_id", json::array({msg("user", "Weather?"), bad_id}), weather_tools()});
  json odd_args = tool_call_message();
  odd_args["tool_calls"][0]["function"]["arguments"] =
      json::parse(R"({"city": "Saint-Étienne \"centre\"", "ratio": 1.0, "precise": true, "note": null, "list": [1, 2.5]})");
  c.push_back({"tool_json_values", json::array({msg("user", "Odd values"), odd_args}), weather_tools()});
  json reasoning = msg("assistant", "Final answer.");
  reasoning["reasoning_content"] = "Hidden chain of thought.";
  c.push_back({"reasoning_content", json::array({msg("user", "Q1"), reasoning, msg("user", "Q2")}), nullptr});
  json longconv = json::array({msg("system", "Count with me.")});
  for (int k = 1; k <= 10; ++k) {
    longconv.push_back(msg("user", "Number " + std::to_string(2 * k - 1)));
    longconv.push_back(msg("assistant", "Number " + std::to_string(2 * k)));
  }
  longconv.push_back(msg("user", "Done?"));
  c.push_back({"long", longconv, nullptr});
  return c;
}

struct Case {
  std::string template_name;
  std::string conversation;
  bool add_generation_prompt;
  std::string key() const {
    return template_name + "|" + conversation + "|" + (add_generation_prompt ? "gen" : "nogen");
  }
};

}  // namespace

// Python's renderings where @huggingface/jinja differs (template_python_expectations.cpp).
namespace ridge::chat::testing {
struct PythonExpectation {
  bool raises;
  std::string text;
  const char* why;
};
const std::map<std::string, PythonExpectation>& python_expectations();
}  // namespace ridge::chat::testing

namespace {

using ridge::chat::testing::python_expectations;

std::string read_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::optional<std::string> find_node() {
  const char* path = std::getenv("PATH");
  std::stringstream ss(path ? path : "");
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    auto p = std::filesystem::path(dir) / "node";
    if (!dir.empty() && ::access(p.c_str(), X_OK) == 0) return p.string();
  }
  return std::nullopt;
}

// JSON-quoted for readable failure messages; cut-off UTF-8 shows as U+FFFD.
std::string quote_json(const std::string& s) { return json(s).dump(-1, ' ', false, json::error_handler_t::replace); }

std::string first_difference(const std::string& a, const std::string& b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  auto around = [&](const std::string& s) { return quote_json(s.substr(i < 40 ? 0 : i - 40, 120)); };
  return "first difference at byte " + std::to_string(i) + "\n    ridge: " + around(a) + "\n    reference: " + around(b);
}

TEST(TemplateReference, EveryTemplateMatchesHuggingFaceJinja) {
  auto dir = ridge::test::testdata_dir();
  if (!dir || !std::filesystem::is_directory(*dir / "chat-templates"))
    GTEST_SKIP() << "test data missing: chat-templates/ (set RIDGE_TEST_DATA or provide ../shared/testdata)";
  auto node = find_node();
  if (!node) GTEST_SKIP() << "node is not on PATH (scripts/setup-node.sh installs the JS test clients)";
  auto js_dir = ridge::test::source_dir() / "tests" / "js";
  if (!std::filesystem::exists(js_dir / "node_modules" / "@huggingface" / "jinja" / "package.json"))
    GTEST_SKIP() << "npm package @huggingface/jinja missing in tests/js/node_modules (run scripts/setup-node.sh)";

  std::map<std::string, std::string> sources;
  for (const auto& entry : std::filesystem::directory_iterator(*dir / "chat-templates"))
    if (entry.path().extension() == ".jinja") sources[entry.path().stem().string()] = read_file(entry.path());
  ASSERT_FALSE(sources.empty());

  const auto convs = conversations();
  std::vector<Case> cases;
  json job_cases = json::array();
  for (const auto& [name, source] : sources) {
    for (const auto& conv : convs) {
      for (bool gen : {true, false}) {
        cases.push_back({name, conv.name, gen});
        json vars = {{"messages", conv.messages}, {"tools", conv.tools}, {"documents", nullptr},
                     {"add_generation_prompt", gen}, {"bos_token", "<s>"}, {"eos_token", "</s>"}};
        for (auto it = conv.extra.begin(); it != conv.extra.end(); ++it) vars[it.key()] = it.value();
        job_cases.push_back({{"template", source}, {"vars", vars}, {"fixed_time", kFixedTime}});
      }
    }
  }
  std::set<std::string> keys;
  for (const auto& c : cases) keys.insert(c.key());
  for (const auto& [key, expectation] : python_expectations())
    EXPECT_TRUE(keys.count(key)) << "documented Python difference for a case that does not exist: " << key;
  json job = {{"cases", job_cases}};
  if (const char* dump = std::getenv("RIDGE_TEMPLATE_JOB_DUMP")) std::ofstream(dump) << job.dump();

  auto proc = ridge::test::run_process({*node, (js_dir / "render_template.mjs").string()}, job.dump());
  ASSERT_FALSE(proc.signaled) << "node crashed: " << proc.err;
  ASSERT_EQ(proc.exit_code, 0) << "render_template.mjs failed: " << proc.err;
  json reference = json::parse(proc.out);
  ASSERT_EQ(reference.size(), cases.size());

  std::map<std::string, ChatTemplate> parsed;
  for (const auto& [name, source] : sources) {
    try {
      parsed.emplace(name, ChatTemplate::parse(source));
    } catch (const TemplateError& e) {
      ADD_FAILURE() << name << ": ridge cannot parse it: " << e.what();
    }
  }

  std::map<std::string, std::pair<int, int>> per_template;  // passed, total
  json ours_dump = json::array();
  size_t conv_index = 0;
  for (size_t k = 0; k < cases.size(); ++k, ++conv_index) {
    const Case& c = cases[k];
    const Conversation& conv = convs[(k / 2) % convs.size()];
    ASSERT_EQ(conv.name, c.conversation);
    auto& counts = per_template[c.template_name];
    ++counts.second;
    auto it = parsed.find(c.template_name);
    if (it == parsed.end()) continue;

    RenderOptions opts;
    opts.add_generation_prompt = c.add_generation_prompt;
    opts.bos_token = "<s>";
    opts.eos_token = "</s>";
    opts.tools = conv.tools;
    opts.extra = conv.extra;
    opts.fixed_time = kFixedTime;
    bool ours_ok = true, ours_raised = false;
    std::string ours;
    try {
      ours = it->second.render(conv.messages, opts);
    } catch (const TemplateError& e) {
      ours_ok = false;
      ours_raised = e.is_raised();
      ours = e.what();
    }
    ours_dump.push_back({{"key", c.key()}, {"ok", ours_ok}, {ours_ok ? "text" : "error", ours}});  // for RIDGE_TEMPLATE_OURS_DUMP

    bool expect_ok;
    bool expect_message;  // an error message that must match (raise_exception text)
    std::string expected;
    auto py = python_expectations().find(c.key());
    if (py != python_expectations().end()) {
      expect_ok = !py->second.raises;
      expected = py->second.text;
      expect_message = py->second.raises;
    } else {
      const json& ref = reference[k];
      expect_ok = ref["ok"].get<bool>();
      expected = expect_ok ? ref["text"].get<std::string>() : ref["error"].get<std::string>();
      expect_message = !expect_ok && ours_raised;
    }
    bool pass;
    if (expect_ok) {
      pass = ours_ok && ours == expected;
      if (!pass)
        ADD_FAILURE() << c.key() << ": "
                      << (ours_ok ? first_difference(ours, expected) : "ridge raised: " + ours);
    } else {
      pass = !ours_ok && (!expect_message || ours == expected);
      if (!pass)
        ADD_FAILURE() << c.key() << ": reference raised " << quote_json(expected) << " but ridge "
                      << (ours_ok ? "rendered " + quote_json(ours.substr(0, 200)) : "raised " + quote_json(ours));
    }
    if (pass) ++counts.first;
  }
  if (const char* dump = std::getenv("RIDGE_TEMPLATE_OURS_DUMP"))
    std::ofstream(dump) << ours_dump.dump(-1, ' ', false, json::error_handler_t::replace);

  std::ostringstream summary;
  for (const auto& [name, counts] : per_template)
    summary << "  " << name << ": " << counts.first << "/" << counts.second << "\n";
  std::cout << "[ reference ] per-template agreement:\n" << summary.str();
}

}  // namespace
