#include "chat/value.h"

#include <algorithm>
#include <cmath>

#include "chat/template.h"
#include "chat/text_utils.h"

namespace ridge::chat {

namespace {
// Bound on container nesting for the recursive helpers below: a namespace can
// be made to hold itself, and request JSON can be deep.
constexpr int kMaxValueDepth = 256;

void check_depth(int depth) {
  if (depth > kMaxValueDepth) throw TemplateError("value nesting deeper than 256 levels (or a cycle)");
}
}  // namespace

const Value* Dict::find(std::string_view key) const {
  if (items_.size() <= 8) {
    for (const auto& kv : items_)
      if (kv.first == key) return &kv.second;
    return nullptr;
  }
  auto it = index_.find(std::string(key));
  return it == index_.end() ? nullptr : &items_[it->second].second;
}

void Dict::set(const std::string& key, Value v) {
  auto it = index_.find(key);
  if (it != index_.end()) {
    items_[it->second].second = std::move(v);
    return;
  }
  index_.emplace(key, items_.size());
  items_.emplace_back(key, std::move(v));
}

Value Value::undefined(std::string what) {
  Value v;
  if (!what.empty()) v.str = std::make_shared<const std::string>(std::move(what));
  return v;
}
Value Value::none() {
  Value v;
  v.kind = Kind::None;
  return v;
}
Value Value::boolean(bool b) {
  Value v;
  v.kind = Kind::Bool;
  v.b = b;
  return v;
}
Value Value::integer(int64_t i) {
  Value v;
  v.kind = Kind::Int;
  v.i = i;
  return v;
}
Value Value::floating(double f) {
  Value v;
  v.kind = Kind::Float;
  v.f = f;
  return v;
}
Value Value::string(std::string s) {
  Value v;
  v.kind = Kind::String;
  v.str = std::make_shared<const std::string>(std::move(s));
  return v;
}
Value Value::list_of(List items) {
  Value v;
  v.kind = Kind::List;
  v.list = std::make_shared<const List>(std::move(items));
  return v;
}
Value Value::tuple_of(List items) {
  Value v = list_of(std::move(items));
  v.tuple = true;
  return v;
}
Value Value::dict_of(std::shared_ptr<Dict> d) {
  Value v;
  v.kind = Kind::Dict;
  v.dict = std::move(d);
  return v;
}
Value Value::namespace_of(std::shared_ptr<Dict> d) {
  Value v;
  v.kind = Kind::Namespace;
  v.dict = std::move(d);
  return v;
}
Value Value::function(std::string name, std::function<Value(CallArgs&)> call) {
  Value v;
  v.kind = Kind::Function;
  v.fn = std::make_shared<const Function>(Function{std::move(name), std::move(call)});
  return v;
}

bool truthy(const Value& v) {
  switch (v.kind) {
    case Value::Kind::Undefined:
    case Value::Kind::None: return false;
    case Value::Kind::Bool: return v.b;
    case Value::Kind::Int: return v.i != 0;
    case Value::Kind::Float: return v.f != 0;
    case Value::Kind::String: return !v.str->empty();
    case Value::Kind::List: return !v.list->empty();
    case Value::Kind::Dict: return v.dict->size() != 0;
    case Value::Kind::Namespace:
    case Value::Kind::Function: return true;
  }
  return false;
}

namespace {

double as_double(const Value& v) {
  return v.kind == Value::Kind::Float ? v.f : v.kind == Value::Kind::Int ? static_cast<double>(v.i) : (v.b ? 1.0 : 0.0);
}
int64_t as_int(const Value& v) { return v.kind == Value::Kind::Int ? v.i : (v.b ? 1 : 0); }

bool equal_at(const Value& a, const Value& b, int depth) {
  check_depth(depth);
  if (a.is_number() && b.is_number()) {
    if (a.kind == Value::Kind::Float || b.kind == Value::Kind::Float) return as_double(a) == as_double(b);
    return as_int(a) == as_int(b);
  }
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Value::Kind::Undefined:
    case Value::Kind::None: return true;
    case Value::Kind::String: return *a.str == *b.str;
    case Value::Kind::List: {
      if (a.tuple != b.tuple || a.list->size() != b.list->size()) return false;
      for (size_t i = 0; i < a.list->size(); ++i)
        if (!equal_at((*a.list)[i], (*b.list)[i], depth + 1)) return false;
      return true;
    }
    case Value::Kind::Dict: {
      if (a.dict->size() != b.dict->size()) return false;
      for (const auto& [k, v] : a.dict->items()) {
        const Value* o = b.dict->find(k);
        if (!o || !equal_at(v, *o, depth + 1)) return false;
      }
      return true;
    }
    case Value::Kind::Namespace: return a.dict == b.dict;
    case Value::Kind::Function: return a.fn == b.fn;
    default: return false;
  }
}

bool less_at(const Value& a, const Value& b, int depth) {
  check_depth(depth);
  if (a.is_number() && b.is_number()) {
    if (a.kind == Value::Kind::Float || b.kind == Value::Kind::Float) return as_double(a) < as_double(b);
    return as_int(a) < as_int(b);
  }
  if (a.is_string() && b.is_string()) return *a.str < *b.str;  // UTF-8 byte order is code-point order
  if (a.is_list() && b.is_list() && a.tuple == b.tuple) {
    size_t n = std::min(a.list->size(), b.list->size());
    for (size_t i = 0; i < n; ++i) {
      const Value& x = (*a.list)[i];
      const Value& y = (*b.list)[i];
      if (!equal_at(x, y, depth + 1)) return less_at(x, y, depth + 1);
    }
    return a.list->size() < b.list->size();
  }
  throw TemplateError("'<' not supported between instances of '" + type_name(a) + "' and '" + type_name(b) + "'");
}

void repr_into(std::string& out, const Value& v, int depth);

void str_into(std::string& out, const Value& v, int depth) {
  switch (v.kind) {
    case Value::Kind::Undefined: return;
    case Value::Kind::String: out += *v.str; return;
    default: repr_into(out, v, depth);
  }
}

void repr_into(std::string& out, const Value& v, int depth) {
  check_depth(depth);
  switch (v.kind) {
    case Value::Kind::Undefined: out += "Undefined"; return;
    case Value::Kind::None: out += "None"; return;
    case Value::Kind::Bool: out += v.b ? "True" : "False"; return;
    case Value::Kind::Int: out += std::to_string(v.i); return;
    case Value::Kind::Float: out += text::python_float_repr(v.f); return;
    case Value::Kind::String: out += text::python_string_repr(*v.str); return;
    case Value::Kind::List: {
      out += v.tuple ? '(' : '[';
      bool first = true;
      for (const auto& x : *v.list) {
        if (!first) out += ", ";
        first = false;
        repr_into(out, x, depth + 1);
      }
      if (v.tuple && v.list->size() == 1) out += ',';
      out += v.tuple ? ')' : ']';
      return;
    }
    case Value::Kind::Dict:
    case Value::Kind::Namespace: {
      if (v.kind == Value::Kind::Namespace) out += "<Namespace ";
      out += '{';
      bool first = true;
      for (const auto& [k, x] : v.dict->items()) {
        if (!first) out += ", ";
        first = false;
        out += text::python_string_repr(k);
        out += ": ";
        repr_into(out, x, depth + 1);
      }
      out += '}';
      if (v.kind == Value::Kind::Namespace) out += '>';
      return;
    }
    case Value::Kind::Function: out += "<function " + v.fn->name + ">"; return;
  }
}

void json_into(std::string& out, const Value& v, const JsonDumpOptions& o, int depth) {
  check_depth(depth);
  auto newline = [&](int level) {
    out += '\n';
    for (int k = 0; k < level; ++k) {
      if (o.indent_is_text)
        out += o.indent_text;
      else
        out.append(static_cast<size_t>(o.indent), ' ');
    }
  };
  bool pretty = o.indent >= 0 || o.indent_is_text;
  switch (v.kind) {
    case Value::Kind::None: out += "null"; return;
    case Value::Kind::Bool: out += v.b ? "true" : "false"; return;
    case Value::Kind::Int: out += std::to_string(v.i); return;
    case Value::Kind::Float:
      if (std::isnan(v.f))
        out += "NaN";
      else if (std::isinf(v.f))
        out += v.f > 0 ? "Infinity" : "-Infinity";
      else
        out += text::python_float_repr(v.f);
      return;
    case Value::Kind::String: text::append_json_string(out, *v.str, o.ensure_ascii); return;
    case Value::Kind::List: {
      if (v.list->empty()) {
        out += "[]";
        return;
      }
      out += '[';
      bool first = true;
      for (const auto& x : *v.list) {
        if (!first) out += o.item_separator;
        first = false;
        if (pretty) newline(depth + 1);
        json_into(out, x, o, depth + 1);
      }
      if (pretty) newline(depth);
      out += ']';
      return;
    }
    case Value::Kind::Dict: {
      if (v.dict->size() == 0) {
        out += "{}";
        return;
      }
      std::vector<const std::pair<std::string, Value>*> entries;
      for (const auto& kv : v.dict->items()) entries.push_back(&kv);
      if (o.sort_keys)
        std::stable_sort(entries.begin(), entries.end(), [](auto* x, auto* y) { return x->first < y->first; });
      out += '{';
      bool first = true;
      for (const auto* kv : entries) {
        if (!first) out += o.item_separator;
        first = false;
        if (pretty) newline(depth + 1);
        text::append_json_string(out, kv->first, o.ensure_ascii);
        out += o.key_separator;
        json_into(out, kv->second, o, depth + 1);
      }
      if (pretty) newline(depth);
      out += '}';
      return;
    }
    default:
      throw TemplateError("Object of type " + type_name(v) + " is not JSON serializable");
  }
}

Value from_json_at(const nlohmann::json& j, int depth) {
  check_depth(depth);
  switch (j.type()) {
    case nlohmann::json::value_t::null: return Value::none();
    case nlohmann::json::value_t::boolean: return Value::boolean(j.get<bool>());
    case nlohmann::json::value_t::number_integer: return Value::integer(j.get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      uint64_t u = j.get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) return Value::floating(static_cast<double>(u));
      return Value::integer(static_cast<int64_t>(u));
    }
    case nlohmann::json::value_t::number_float: return Value::floating(j.get<double>());
    case nlohmann::json::value_t::string: return Value::string(j.get_ref<const std::string&>());
    case nlohmann::json::value_t::array: {
      List items;
      items.reserve(j.size());
      for (const auto& x : j) items.push_back(from_json_at(x, depth + 1));
      return Value::list_of(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      auto d = std::make_shared<Dict>();
      for (auto it = j.begin(); it != j.end(); ++it) d->set(it.key(), from_json_at(it.value(), depth + 1));
      return Value::dict_of(std::move(d));
    }
    case nlohmann::json::value_t::binary: throw TemplateError("binary JSON values are not supported in templates");
    case nlohmann::json::value_t::discarded: return Value::undefined();
  }
  return Value::undefined();
}

}  // namespace

bool equal(const Value& a, const Value& b) { return equal_at(a, b, 0); }
bool less(const Value& a, const Value& b) { return less_at(a, b, 0); }

std::string type_name(const Value& v) {
  switch (v.kind) {
    case Value::Kind::Undefined: return "Undefined";
    case Value::Kind::None: return "NoneType";
    case Value::Kind::Bool: return "bool";
    case Value::Kind::Int: return "int";
    case Value::Kind::Float: return "float";
    case Value::Kind::String: return "str";
    case Value::Kind::List: return "list";
    case Value::Kind::Dict: return "dict";
    case Value::Kind::Namespace: return "Namespace";
    case Value::Kind::Function: return "function";
  }
  return "object";
}

std::string to_str(const Value& v) {
  if (v.kind == Value::Kind::String) return *v.str;
  std::string out;
  str_into(out, v, 0);
  return out;
}

std::string to_repr(const Value& v) {
  std::string out;
  repr_into(out, v, 0);
  return out;
}

std::string to_json_text(const Value& v, const JsonDumpOptions& opts) {
  std::string out;
  json_into(out, v, opts, 0);
  return out;
}

Value from_json(const nlohmann::json& j) { return from_json_at(j, 0); }

size_t python_len(const Value& v) {
  switch (v.kind) {
    case Value::Kind::String: return text::codepoint_count(*v.str);
    case Value::Kind::List: return v.list->size();
    case Value::Kind::Dict: return v.dict->size();
    case Value::Kind::Undefined: return 0;
    default: throw TemplateError("object of type '" + type_name(v) + "' has no len()");
  }
}

}  // namespace ridge::chat
