#pragma once
// The values a chat template computes with, modelled on the Python objects
// Jinja2 sees: undefined, None, bool, int, float, str, list, dict, namespace and
// callables. Strings, lists and dicts are shared and immutable once built (the
// reference renders in an immutable sandbox); a namespace is the one mutable
// object, as `{% set ns.x = ... %}` requires.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace ridge::chat {

struct Value;
using List = std::vector<Value>;

class Dict;
struct CallArgs;
struct Function;

struct Value {
  enum class Kind : uint8_t { Undefined, None, Bool, Int, Float, String, List, Dict, Namespace, Function };

  Kind kind = Kind::Undefined;
  bool tuple = false;  // a List made as a Python tuple: prints as (a, b), never equals a list
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::shared_ptr<const std::string> str;  // String; for Undefined, what was missing (for errors)
  std::shared_ptr<const List> list;
  std::shared_ptr<Dict> dict;  // Dict (never mutated once built) and Namespace (mutable)
  std::shared_ptr<const Function> fn;

  static Value undefined(std::string what = {});
  static Value none();
  static Value boolean(bool v);
  static Value integer(int64_t v);
  static Value floating(double v);
  static Value string(std::string s);
  static Value list_of(List items);
  static Value tuple_of(List items);
  static Value dict_of(std::shared_ptr<Dict> d);
  static Value namespace_of(std::shared_ptr<Dict> d);
  static Value function(std::string name, std::function<Value(CallArgs&)> call);

  bool is_undefined() const { return kind == Kind::Undefined; }
  bool is_none() const { return kind == Kind::None; }
  bool is_string() const { return kind == Kind::String; }
  bool is_number() const { return kind == Kind::Int || kind == Kind::Float || kind == Kind::Bool; }
  bool is_list() const { return kind == Kind::List; }
  bool is_mapping() const { return kind == Kind::Dict; }

  const std::string& s() const { return *str; }
  const List& l() const { return *list; }
  // The missing name an undefined value stands for.
  std::string undefined_hint() const { return str ? *str : std::string(); }
};

// Insertion-ordered string-keyed map (Python dicts keep insertion order).
class Dict {
 public:
  const Value* find(std::string_view key) const;
  void set(const std::string& key, Value v);
  size_t size() const { return items_.size(); }
  const std::vector<std::pair<std::string, Value>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, Value>> items_;
  std::unordered_map<std::string, size_t> index_;
};

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};

struct Function {
  std::string name;
  std::function<Value(CallArgs&)> call;
};


// Python truthiness.
bool truthy(const Value& v);
// Python ==, deep (1 == 1.0 == True). Throws TemplateError past a nesting bound.
bool equal(const Value& a, const Value& b);
// Python <: numbers, strings, lists; throws TemplateError for other pairs.
bool less(const Value& a, const Value& b);
// Python type name, for error messages ("str", "list", "dict", "NoneType", ...).
std::string type_name(const Value& v);

// str(v) as Jinja prints it ("" for undefined, "None", "True", repr for containers).
std::string to_str(const Value& v);
// repr(v).
std::string to_repr(const Value& v);

struct JsonDumpOptions {
  bool ensure_ascii = false;
  int indent = -1;  // <0: no newlines
  std::string indent_text;  // used when indent_is_text
  bool indent_is_text = false;
  std::string item_separator = ", ";
  std::string key_separator = ": ";
  bool sort_keys = false;
};
// json.dumps(v, ...). Throws TemplateError for values JSON cannot hold.
std::string to_json_text(const Value& v, const JsonDumpOptions& opts);

// Conversions between request JSON and template values.
Value from_json(const nlohmann::json& j);

// Code-point based length of a string, element count of a list/dict.
size_t python_len(const Value& v);

}  // namespace ridge::chat
