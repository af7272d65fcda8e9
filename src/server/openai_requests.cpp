#include "server/openai_requests.h"

#include <algorithm>
#include <set>

#include "server/api_error.h"
#include "server/request_fields.h"

namespace ridge::server {

namespace {

using nlohmann::json;
using namespace fields;

std::string at(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

// Refuses every key that is neither accepted nor known-but-unsupported.
// `harmless`: keys OpenAI defines that do not change the result; accepted and ignored.
void check_keys(const json& body, const std::set<std::string>& accepted, const std::set<std::string>& unsupported,
                const std::set<std::string>& harmless = {}) {
  for (auto it = body.begin(); it != body.end(); ++it) {
    const std::string& k = it.key();
    if (accepted.count(k) || harmless.count(k)) continue;
    if (unsupported.count(k)) {
      if (it->is_null()) continue;  // explicitly "not set"
      throw unsupported_field(k);
    }
    throw unknown_field(k);
  }
}

std::string check_model(const json& body, const ServedModel& model) {
  auto name = opt_string(body, "model", "model");
  if (!name) return model.id;
  if (*name != model.id) throw model_not_found(*name);
  return *name;
}

int32_t token_id(const json& v, const std::string& path, const ServedModel& model) {
  return static_cast<int32_t>(int_value(v, path, 0, int64_t(model.n_vocab) - 1));
}

std::vector<int32_t> token_array(const json& arr, const std::string& path, const ServedModel& model) {
  std::vector<int32_t> ids;
  ids.reserve(arr.size());
  for (size_t i = 0; i < arr.size(); ++i) ids.push_back(token_id(arr[i], at(path, i), model));
  return ids;
}

bool is_token_array(const json& v) {
  return v.is_array() && !v.empty() && std::all_of(v.begin(), v.end(), [](const json& x) { return x.is_number(); });
}

// The fields both generation endpoints share.
GenerationOptions parse_generation(const json& body, const ServedModel& model, bool chat) {
  GenerationOptions g;
  g.model = check_model(body, model);
  auto& sp = g.sampling;
  // OpenAI's defaults (temperature 1, top_p 1, nothing else), not llama.cpp's.
  sp.temperature = 1.0f;
  sp.top_p = 1.0f;
  sp.top_k = 0;
  sp.min_p = 0.0f;
  sp.repeat_penalty = 1.0f;
  sp.repeat_last_n = 64;
  if (auto t = opt_number(body, "temperature", "temperature", 0, 2)) sp.temperature = static_cast<float>(*t);
  if (auto p = opt_number(body, "top_p", "top_p", 0, 1)) sp.top_p = static_cast<float>(*p);
  if (auto k = opt_int(body, "top_k", "top_k", 0, model.n_vocab)) sp.top_k = static_cast<int32_t>(*k);
  if (auto m = opt_number(body, "min_p", "min_p", 0, 1)) sp.min_p = static_cast<float>(*m);
  if (auto r = opt_number(body, "repeat_penalty", "repeat_penalty", 1e-3, 100)) sp.repeat_penalty = static_cast<float>(*r);
  if (auto p = opt_number(body, "presence_penalty", "presence_penalty", -2, 2)) sp.presence_penalty = static_cast<float>(*p);
  if (auto f = opt_number(body, "frequency_penalty", "frequency_penalty", -2, 2))
    sp.frequency_penalty = static_cast<float>(*f);
  g.seed = opt_u64_bits(body, "seed", "seed");

  // max_completion_tokens is the newer name of max_tokens; it wins when both are given.
  auto mt = opt_int(body, "max_tokens", "max_tokens", 1, model.n_ctx);
  auto mct = chat ? opt_int(body, "max_completion_tokens", "max_completion_tokens", 1, model.n_ctx) : std::nullopt;
  if (mct) g.max_tokens = *mct;
  else if (mt) g.max_tokens = *mt;

  if (auto n = opt_int(body, "n", "n", 1, kMaxChoices)) g.n = static_cast<int>(*n);

  if (const auto* stop = find(body, "stop")) {
    auto add = [&](const json& s, const std::string& path) {
      if (!s.is_string()) throw bad_field(path, "'" + path + "' must be a string, got " + describe_type(s));
      if (s.get_ref<const std::string&>().empty()) throw bad_field(path, "'" + path + "' must not be empty");
      g.stop.push_back(s.get<std::string>());
    };
    if (stop->is_string()) {
      add(*stop, "stop");
    } else if (stop->is_array()) {
      if (stop->size() > kMaxStopStrings)
        throw bad_field("stop", "'stop' takes at most " + std::to_string(kMaxStopStrings) + " strings, got " +
                                    std::to_string(stop->size()));
      for (size_t i = 0; i < stop->size(); ++i) add((*stop)[i], at("stop", i));
    } else {
      throw bad_field("stop", "'stop' must be a string or an array of strings, got " + describe_type(*stop));
    }
  }

  if (const auto* bias = find(body, "logit_bias")) {
    if (!bias->is_object())
      throw bad_field("logit_bias", "'logit_bias' must be an object mapping token ids to numbers, got " +
                                        describe_type(*bias));
    if (bias->size() > kMaxLogitBias)
      throw bad_field("logit_bias", "'logit_bias' has more than " + std::to_string(kMaxLogitBias) + " entries");
    for (auto it = bias->begin(); it != bias->end(); ++it) {
      const std::string path = "logit_bias." + it.key();
      const std::string& k = it.key();
      int64_t id = -1;
      if (!k.empty() && k.size() <= 10 && std::all_of(k.begin(), k.end(), [](char c) { return c >= '0' && c <= '9'; }))
        id = std::stoll(k);
      if (id < 0 || id >= model.n_vocab)
        throw bad_field("logit_bias", "'logit_bias' key '" + k + "' is not a token id in [0, " +
                                          std::to_string(model.n_vocab) + ")");
      json one = {{"v", it.value()}};
      const double v = *opt_number(one, "v", path, -100, 100);
      sp.logit_bias.emplace_back(static_cast<int32_t>(id), static_cast<float>(v));
    }
  }

  g.stream = opt_bool(body, "stream", "stream").value_or(false);
  if (const auto* so = find(body, "stream_options")) {
    if (!so->is_object())
      throw bad_field("stream_options", "'stream_options' must be an object, got " + describe_type(*so));
    if (!g.stream)
      throw bad_field("stream_options", "'stream_options' is only allowed when 'stream' is true");
    for (auto it = so->begin(); it != so->end(); ++it) {
      if (it.key() == "include_usage") continue;
      if (it.key() == "include_obfuscation") continue;  // ridge never pads chunks
      throw unknown_field("stream_options." + it.key());
    }
    g.include_usage = opt_bool(*so, "include_usage", "stream_options.include_usage").value_or(false);
  }

  if (chat) {
    const bool logprobs = opt_bool(body, "logprobs", "logprobs").value_or(false);
    auto top = opt_int(body, "top_logprobs", "top_logprobs", 0, kMaxTopLogprobs);
    if (top && !logprobs)
      throw bad_field("top_logprobs", "'top_logprobs' requires 'logprobs' to be true");
    if (logprobs) g.top_logprobs = static_cast<int>(top.value_or(0));
  } else {
    if (auto lp = opt_int(body, "logprobs", "logprobs", 0, kMaxTopLogprobs)) g.top_logprobs = static_cast<int>(*lp);
  }
  return g;
}

std::string content_text(const json& content, const std::string& path, bool allow_null) {
  if (content.is_null()) {
    if (allow_null) return "";
    throw bad_field(path, "'" + path + "' must be a string or an array of text parts, got null");
  }
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array())
    throw bad_field(path, "'" + path + "' must be a string or an array of text parts, got " + describe_type(content));
  std::string text;
  for (size_t i = 0; i < content.size(); ++i) {
    const json& part = content[i];
    const std::string pp = at(path, i);
    if (!part.is_object()) throw bad_field(pp, "'" + pp + "' must be an object, got " + describe_type(part));
    auto type = opt_string(part, "type", pp + ".type");
    if (!type) throw missing_field(pp + ".type");
    if (*type == "image_url" || *type == "input_audio" || *type == "file" || *type == "image")
      throw ApiError(400, "'" + pp + "' is a content part of type '" + *type + "', which is not supported yet by ridge",
                     "invalid_request_error", pp + ".type", "unsupported_parameter");
    if (*type != "text" && *type != "refusal")
      throw bad_field(pp + ".type", "'" + pp + ".type' must be 'text', got '" + *type + "'");
    const std::string field = *type == "text" ? "text" : "refusal";
    auto t = opt_string(part, field, pp + "." + field);
    if (!t) throw missing_field(pp + "." + field);
    for (auto it = part.begin(); it != part.end(); ++it)
      if (it.key() != "type" && it.key() != field && it.key() != "cache_control") throw unknown_field(pp + "." + it.key());
    if (i > 0) text += "\n";
    text += *t;
  }
  return text;
}

json normalize_tool_calls(const json& calls, const std::string& path, std::set<std::string>& call_ids) {
  if (!calls.is_array()) throw bad_field(path, "'" + path + "' must be an array, got " + describe_type(calls));
  json out = json::array();
  for (size_t i = 0; i < calls.size(); ++i) {
    const json& c = calls[i];
    const std::string cp = at(path, i);
    if (!c.is_object()) throw bad_field(cp, "'" + cp + "' must be an object, got " + describe_type(c));
    auto id = opt_string(c, "id", cp + ".id");
    if (!id || id->empty()) throw missing_field(cp + ".id");
    auto type = opt_string(c, "type", cp + ".type").value_or("function");
    if (type != "function") throw bad_field(cp + ".type", "'" + cp + ".type' must be 'function', got '" + type + "'");
    const json* fn = find(c, "function");
    if (!fn) throw missing_field(cp + ".function");
    if (!fn->is_object())
      throw bad_field(cp + ".function", "'" + cp + ".function' must be an object, got " + describe_type(*fn));
    auto name = opt_string(*fn, "name", cp + ".function.name");
    if (!name || name->empty()) throw missing_field(cp + ".function.name");
    const std::string ap = cp + ".function.arguments";
    const json* args = find(*fn, "arguments");
    json parsed = json::object();
    if (args) {
      // OpenAI sends the arguments as JSON text; templates index into them as an object.
      if (args->is_string()) {
        try {
          parsed = json::parse(args->get<std::string>());
        } catch (const json::exception&) {
          throw bad_field(ap, "'" + ap + "' is not valid JSON text");
        }
        if (!parsed.is_object()) throw bad_field(ap, "'" + ap + "' must encode a JSON object");
      } else if (args->is_object()) {
        parsed = *args;
      } else {
        throw bad_field(ap, "'" + ap + "' must be a JSON string or an object, got " + describe_type(*args));
      }
    }
    call_ids.insert(*id);
    out.push_back({{"id", *id}, {"type", "function"}, {"function", {{"name", *name}, {"arguments", parsed}}}});
  }
  return out;
}

}  // namespace

json normalize_messages(const json& messages) {
  if (!messages.is_array())
    throw bad_field("messages", "'messages' must be an array of messages, got " + describe_type(messages));
  if (messages.empty()) throw bad_field("messages", "'messages' must contain at least one message");
  json out = json::array();
  std::set<std::string> call_ids;
  for (size_t i = 0; i < messages.size(); ++i) {
    const json& m = messages[i];
    const std::string mp = at("messages", i);
    if (!m.is_object()) throw bad_field(mp, "'" + mp + "' must be an object, got " + describe_type(m));
    auto role = opt_string(m, "role", mp + ".role");
    if (!role) throw missing_field(mp + ".role");
    if (*role == "developer") role = "system";
    if (*role != "system" && *role != "user" && *role != "assistant" && *role != "tool")
      throw bad_field(mp + ".role", "'" + mp + ".role' is '" + *role +
                                        "', which is not one of system, developer, user, assistant, tool");
    json n = {{"role", *role}};
    bool has_calls = false;
    for (auto it = m.begin(); it != m.end(); ++it) {
      const std::string& k = it.key();
      if (k == "role" || k == "content") continue;
      if (k == "name") {
        n["name"] = *opt_string(m, "name", mp + ".name");
      } else if (k == "tool_calls" && *role == "assistant") {
        if (it->is_null() || (it->is_array() && it->empty())) continue;
        n["tool_calls"] = normalize_tool_calls(*it, mp + ".tool_calls", call_ids);
        has_calls = true;
      } else if (k == "tool_call_id" && *role == "tool") {
        n["tool_call_id"] = *opt_string(m, "tool_call_id", mp + ".tool_call_id");
      } else if (k == "refusal" && *role == "assistant") {
        opt_string(m, "refusal", mp + ".refusal");
      } else if (k == "function_call" || k == "audio") {
        if (!it->is_null()) throw unsupported_field(mp + "." + k);
      } else {
        throw unknown_field(mp + "." + k);
      }
    }
    auto c = m.find("content");
    if (c == m.end()) {
      if (!(*role == "assistant" && has_calls)) throw missing_field(mp + ".content");
      n["content"] = "";
    } else {
      n["content"] = content_text(*c, mp + ".content", *role == "assistant" && has_calls);
    }
    if (*role == "tool") {
      if (!n.contains("tool_call_id")) throw missing_field(mp + ".tool_call_id");
      const std::string id = n["tool_call_id"].get<std::string>();
      if (!call_ids.count(id))
        throw bad_field(mp + ".tool_call_id", "'" + mp + ".tool_call_id' is '" + id +
                                                  "', which answers no tool call of an earlier assistant message");
    }
    out.push_back(std::move(n));
  }
  return out;
}

ChatCompletionRequest parse_chat_completion_request(const json& body, const ServedModel& model) {
  static const std::set<std::string> accepted = {
      "model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "n", "stop", "seed",
      "presence_penalty", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs", "stream", "stream_options",
      "top_k", "min_p", "repeat_penalty"};
  static const std::set<std::string> unsupported = {
      "tools", "tool_choice", "functions", "function_call", "response_format", "parallel_tool_calls", "audio",
      "modalities", "prediction", "reasoning_effort", "web_search_options", "service_tier", "verbosity"};
  static const std::set<std::string> harmless = {"user", "metadata", "store", "safety_identifier", "prompt_cache_key"};
  // Empty or "text" forms of the unsupported fields ask for nothing and are accepted.
  json trimmed = body;
  if (const auto* tools = find(body, "tools"); tools && tools->is_array() && tools->empty()) trimmed.erase("tools");
  if (const auto* tc = find(body, "tool_choice"); tc && *tc == "none") trimmed.erase("tool_choice");
  if (const auto* pt = find(body, "parallel_tool_calls"); pt && !trimmed.contains("tools")) trimmed.erase("parallel_tool_calls");
  if (const auto* rf = find(body, "response_format");
      rf && rf->is_object() && rf->size() == 1 && rf->value("type", json()) == "text")
    trimmed.erase("response_format");
  check_keys(trimmed, accepted, unsupported, harmless);
  if (auto u = body.find("user"); u != body.end() && !u->is_null() && !u->is_string())
    throw bad_field("user", "'user' must be a string, got " + describe_type(*u));

  ChatCompletionRequest r;
  const json* messages = find(body, "messages");
  if (!messages) throw missing_field("messages");
  r.messages = normalize_messages(*messages);
  r.gen = parse_generation(body, model, /*chat=*/true);
  return r;
}

CompletionRequest parse_completion_request(const json& body, const ServedModel& model) {
  static const std::set<std::string> accepted = {
      "model", "prompt", "max_tokens", "temperature", "top_p", "n", "stop", "seed", "presence_penalty",
      "frequency_penalty", "logit_bias", "logprobs", "stream", "stream_options", "top_k", "min_p", "repeat_penalty"};
  static const std::set<std::string> unsupported = {"echo", "best_of", "suffix"};
  static const std::set<std::string> harmless = {"user", "metadata"};
  json trimmed = body;
  if (const auto* e = find(body, "echo"); e && *e == false) trimmed.erase("echo");
  if (const auto* b = find(body, "best_of"); b && *b == 1) trimmed.erase("best_of");
  check_keys(trimmed, accepted, unsupported, harmless);
  if (auto u = body.find("user"); u != body.end() && !u->is_null() && !u->is_string())
    throw bad_field("user", "'user' must be a string, got " + describe_type(*u));

  CompletionRequest r;
  const json* prompt = find(body, "prompt");
  if (!prompt) throw missing_field("prompt");
  if (prompt->is_string()) {
    r.prompt_text = prompt->get<std::string>();
  } else if (prompt->is_array()) {
    if (prompt->empty()) throw bad_field("prompt", "'prompt' must not be an empty array");
    if (is_token_array(*prompt)) {
      r.prompt_tokens = token_array(*prompt, "prompt", model);
    } else if (prompt->size() == 1 && (*prompt)[0].is_string()) {
      r.prompt_text = (*prompt)[0].get<std::string>();
    } else if (prompt->size() == 1 && is_token_array((*prompt)[0])) {
      r.prompt_tokens = token_array((*prompt)[0], "prompt[0]", model);
    } else if (prompt->size() > 1 && std::all_of(prompt->begin(), prompt->end(), [](const json& p) {
                 return p.is_string() || p.is_array();
               })) {
      throw ApiError(400, "'prompt' with more than one prompt (a batch) is not supported yet by ridge; send one request per prompt",
                     "invalid_request_error", "prompt", "unsupported_parameter");
    } else {
      throw bad_field("prompt", "'prompt' must be a string, an array of token ids, or an array of one string");
    }
  } else {
    throw bad_field("prompt", "'prompt' must be a string or an array of token ids, got " + describe_type(*prompt));
  }
  r.gen = parse_generation(body, model, /*chat=*/false);
  return r;
}

EmbeddingRequest parse_embedding_request(const json& body, const ServedModel& model) {
  check_keys(body, {"model", "input", "encoding_format"}, {"dimensions"}, {"user"});
  EmbeddingRequest r;
  r.model = check_model(body, model);
  if (auto f = opt_string(body, "encoding_format", "encoding_format")) {
    if (*f == "base64") r.base64 = true;
    else if (*f != "float")
      throw bad_field("encoding_format", "'encoding_format' must be 'float' or 'base64', got '" + *f + "'");
  }
  const json* input = find(body, "input");
  if (!input) throw missing_field("input");
  auto add_text = [&](const json& s, const std::string& path) {
    if (s.get_ref<const std::string&>().empty()) throw bad_field(path, "'" + path + "' must not be empty");
    r.inputs.push_back({s.get<std::string>(), {}});
  };
  if (input->is_string()) {
    add_text(*input, "input");
  } else if (input->is_array()) {
    if (input->empty()) throw bad_field("input", "'input' must not be an empty array");
    if (is_token_array(*input)) {
      r.inputs.push_back({std::nullopt, token_array(*input, "input", model)});
    } else {
      if (input->size() > kMaxEmbeddingInputs)
        throw bad_field("input", "'input' takes at most " + std::to_string(kMaxEmbeddingInputs) + " items");
      for (size_t i = 0; i < input->size(); ++i) {
        const json& item = (*input)[i];
        if (item.is_string()) add_text(item, at("input", i));
        else if (is_token_array(item)) r.inputs.push_back({std::nullopt, token_array(item, at("input", i), model)});
        else
          throw bad_field(at("input", i), "'" + at("input", i) + "' must be a string or a non-empty array of token ids");
      }
    }
  } else {
    throw bad_field("input", "'input' must be a string or an array, got " + describe_type(*input));
  }
  return r;
}

TokenizeRequest parse_tokenize_request(const json& body) {
  check_keys(body, {"content", "add_special", "parse_special", "with_pieces", "model"}, {});
  TokenizeRequest r;
  auto c = opt_string(body, "content", "content");
  if (!c) throw missing_field("content");
  r.content = *c;
  r.add_special = opt_bool(body, "add_special", "add_special").value_or(false);
  r.parse_special = opt_bool(body, "parse_special", "parse_special").value_or(true);
  r.with_pieces = opt_bool(body, "with_pieces", "with_pieces").value_or(false);
  return r;
}

DetokenizeRequest parse_detokenize_request(const json& body, const ServedModel& model) {
  check_keys(body, {"tokens", "model"}, {});
  const json* t = find(body, "tokens");
  if (!t) throw missing_field("tokens");
  if (!t->is_array()) throw bad_field("tokens", "'tokens' must be an array of token ids, got " + describe_type(*t));
  return {token_array(*t, "tokens", model)};
}

json parse_apply_template_request(const json& body) {
  check_keys(body, {"messages", "model"}, {"tools"});
  const json* messages = find(body, "messages");
  if (!messages) throw missing_field("messages");
  return normalize_messages(*messages);
}

}  // namespace ridge::server
