#include "chat/builtins.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <unordered_set>

#include "chat/interpreter.h"
#include "chat/text_utils.h"

namespace ridge::chat {

namespace {

[[noreturn]] void fail(const std::string& msg) { throw TemplateError(msg); }

bool is_int_like(const Value& v) { return v.kind == Value::Kind::Int || v.kind == Value::Kind::Bool; }
int64_t int_of(const Value& v) { return v.kind == Value::Kind::Int ? v.i : (v.b ? 1 : 0); }

const std::unordered_set<std::string_view>& filter_names() {
  static const std::unordered_set<std::string_view> names = {
      "abs",    "attr",   "capitalize", "center",    "count",      "d",       "default", "dictsort", "e",
      "escape", "first",  "float",      "forceescape", "indent",    "int",     "items",   "join",     "last",
      "length", "list",   "lower",      "map",       "max",        "min",     "reject",  "rejectattr", "replace",
      "reverse", "round", "safe",       "select",    "selectattr", "sort",    "string",  "sum",      "title",
      "tojson", "trim",   "unique",     "upper",     "wordcount"};
  return names;
}

const std::unordered_set<std::string_view>& test_names() {
  static const std::unordered_set<std::string_view> names = {
      "boolean", "callable", "defined", "divisibleby", "eq",      "equalto", "escaped", "even",   "false",
      "filter",  "float",    "ge",      "gt",          "greaterthan", "in",  "integer", "iterable", "le",
      "lessthan", "lower",   "lt",      "mapping",     "ne",      "none",    "number",  "odd",    "sameas",
      "sequence", "string",  "test",    "true",        "undefined", "upper"};
  return names;
}

std::string arg_string(const Value* v, const char* what) {
  if (!v || !v->is_string()) fail(std::string(what) + " must be a string");
  return v->s();
}

int64_t arg_int(const Value* v, int64_t dflt, const char* what) {
  if (!v || v->is_none()) return dflt;
  if (!is_int_like(*v)) fail(std::string(what) + " must be an integer");
  return int_of(*v);
}

bool arg_bool(const Value* v, bool dflt) { return v ? truthy(*v) : dflt; }

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

// Jinja's attribute getter: dotted path, digits index lists.
Value lookup_path(Interpreter& in, const Value& obj, const std::string& path) {
  Value cur = obj;
  size_t pos = 0;
  while (true) {
    size_t dot = path.find('.', pos);
    std::string part = path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    bool digits = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (digits && part.size() < 18)
      cur = in.get_item(cur, Value::integer(std::stoll(part)));
    else
      cur = in.get_item(cur, Value::string(part));
    if (dot == std::string::npos) return cur;
    pos = dot + 1;
  }
}

// Python's float(str): surrounding whitespace, underscores between digits, inf/nan.
bool parse_python_float(const std::string& raw, double& out) {
  std::string s = text::strip(raw, true, true);
  std::string clean;
  for (size_t k = 0; k < s.size(); ++k) {
    if (s[k] == '_') {
      if (k == 0 || k + 1 == s.size() || !std::isdigit(static_cast<unsigned char>(s[k - 1])) ||
          !std::isdigit(static_cast<unsigned char>(s[k + 1])))
        return false;
      continue;
    }
    clean.push_back(s[k]);
  }
  if (clean.empty()) return false;
  std::string lower = text::to_lower(clean);
  std::string body = (lower[0] == '+' || lower[0] == '-') ? lower.substr(1) : lower;
  if (body == "inf" || body == "infinity" || body == "nan") {
    out = body == "nan" ? NAN : INFINITY;
    if (lower[0] == '-') out = -out;
    return true;
  }
  for (char c : body)
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == 'e' || c == '+' || c == '-')) return false;
  char* end = nullptr;
  out = std::strtod(clean.c_str(), &end);
  return end && *end == '\0';
}

// Python's int(str, base).
bool parse_python_int(const std::string& raw, int base, int64_t& out) {
  std::string s = text::strip(raw, true, true);
  bool neg = false;
  size_t k = 0;
  if (k < s.size() && (s[k] == '+' || s[k] == '-')) neg = s[k++] == '-';
  if (base == 0 || base == 16 || base == 8 || base == 2) {
    if (k + 1 < s.size() && s[k] == '0') {
      char p = static_cast<char>(std::tolower(static_cast<unsigned char>(s[k + 1])));
      int prefixed = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 0;
      if (prefixed && (base == 0 || base == prefixed)) {
        base = prefixed;
        k += 2;
      }
    }
    if (base == 0) base = 10;
  }
  if (base < 2 || base > 36 || k >= s.size()) return false;
  int64_t v = 0;
  bool prev_digit = false;
  for (; k < s.size(); ++k) {
    char c = s[k];
    if (c == '_' && prev_digit && k + 1 < s.size()) {
      prev_digit = false;
      continue;
    }
    int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
            : std::isalpha(static_cast<unsigned char>(c)) ? std::tolower(static_cast<unsigned char>(c)) - 'a' + 10
                                                          : 99;
    if (d >= base) return false;
    if (__builtin_mul_overflow(v, base, &v) || __builtin_add_overflow(v, d, &v)) return false;
    prev_digit = true;
  }
  if (!prev_digit) return false;
  out = neg ? -v : v;
  return true;
}

Value sort_key(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_string()) return Value::string(text::to_lower(v.s()));
  return v;
}

Value do_tojson(const Value& v, CallArgs& a) {
  // transformers' override: tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)
  JsonDumpOptions o;
  o.ensure_ascii = arg_bool(find_arg(a, 0, "ensure_ascii"), false);
  const Value* indent = find_arg(a, 1, "indent");
  if (indent && !indent->is_none()) {
    if (indent->is_string()) {
      if (indent->s().size() > 256) fail("tojson indent longer than 256 characters");
      o.indent_is_text = true;
      o.indent_text = indent->s();
      o.indent = 0;
    } else if (is_int_like(*indent)) {
      int64_t n = int_of(*indent);
      if (n > 256) fail("tojson indent larger than 256");
      o.indent = static_cast<int>(std::max<int64_t>(n, 0));
    } else {
      fail("tojson indent must be an integer or a string");
    }
    o.item_separator = ",";
  }
  const Value* seps = find_arg(a, 2, "separators");
  if (seps && !seps->is_none()) {
    if (!seps->is_list() || seps->l().size() != 2 || !seps->l()[0].is_string() || !seps->l()[1].is_string())
      fail("tojson separators must be a pair of strings");
    o.item_separator = seps->l()[0].s();
    o.key_separator = seps->l()[1].s();
    if (o.item_separator.size() > 256 || o.key_separator.size() > 256) fail("tojson separators too long");
  }
  o.sort_keys = arg_bool(find_arg(a, 3, "sort_keys"), false);
  return Value::string(to_json_text(v, o));
}

Value do_indent(Interpreter& in, const Value& v, CallArgs& a) {
  std::string s = to_str(v);
  const Value* width = find_arg(a, 0, "width");
  std::string pad;
  if (width && width->is_string()) {
    pad = width->s();
  } else {
    int64_t n = arg_int(width, 4, "indent width");
    if (n > 1024) fail("indent width larger than 1024");
    pad.assign(static_cast<size_t>(std::max<int64_t>(n, 0)), ' ');
  }
  bool first = arg_bool(find_arg(a, 1, "first"), false);
  bool blank = arg_bool(find_arg(a, 2, "blank"), false);
  s += "\n";  // Jinja appends a newline so splitlines keeps a trailing empty line
  std::vector<std::string> lines = text::splitlines(s, false);
  in.check_size(s.size() + lines.size() * pad.size(), "indent result");
  std::string out;
  if (blank) {
    for (size_t k = 0; k < lines.size(); ++k) {
      if (k) out += "\n" + pad;
      out += lines[k];
    }
  } else {
    out = lines.empty() ? std::string() : lines[0];
    for (size_t k = 1; k < lines.size(); ++k) {
      out += "\n";
      if (!lines[k].empty()) out += pad;
      out += lines[k];
    }
  }
  if (first) out = pad + out;
  return Value::string(std::move(out));
}

std::vector<Value> select_items(Interpreter& in, const Value& v, CallArgs& a, bool want, bool by_attr) {
  List items = in.iterate(v);
  std::string attr;
  size_t test_pos = 0;
  if (by_attr) {
    attr = arg_string(find_arg(a, 0, "attribute"), "selectattr attribute");
    test_pos = 1;
  }
  std::string test;
  CallArgs test_args;
  if (a.positional.size() > test_pos) {
    test = arg_string(&a.positional[test_pos], "test name");
    if (!is_known_test(test)) fail("no test named '" + test + "'");
    test_args.positional.assign(a.positional.begin() + static_cast<long>(test_pos) + 1, a.positional.end());
  }
  std::vector<Value> out;
  for (const auto& item : items) {
    in.count_iteration();
    Value subject = by_attr ? lookup_path(in, item, attr) : item;
    CallArgs copy = test_args;
    bool ok = test.empty() ? truthy(subject) : apply_test(in, test, subject, copy);
    if (ok == want) out.push_back(item);
  }
  return out;
}

Value do_map(Interpreter& in, const Value& v, CallArgs& a) {
  List items = in.iterate(v);
  List out;
  const Value* attribute = nullptr;
  const Value* dflt = nullptr;
  for (auto& [k, x] : a.keyword) {
    if (k == "attribute") attribute = &x;
    else if (k == "default") dflt = &x;
  }
  if (attribute) {
    std::string path = arg_string(attribute, "map attribute");
    for (const auto& item : items) {
      in.count_iteration();
      Value r = lookup_path(in, item, path);
      if (r.is_undefined() && dflt) r = *dflt;
      out.push_back(std::move(r));
    }
  } else {
    if (a.positional.empty()) fail("map() needs a filter name or attribute=");
    std::string name = arg_string(&a.positional[0], "map filter name");
    if (!is_known_filter(name)) fail("no filter named '" + name + "'");
    for (const auto& item : items) {
      in.count_iteration();
      CallArgs rest;
      rest.positional.assign(a.positional.begin() + 1, a.positional.end());
      rest.keyword = a.keyword;
      out.push_back(apply_filter(in, name, item, rest));
    }
  }
  in.charge(out.size() * sizeof(Value));
  return Value::list_of(std::move(out));
}

Value min_max(Interpreter& in, const Value& v, CallArgs& a, bool want_max) {
  List items = in.iterate(v);
  bool cs = arg_bool(find_arg(a, 0, "case_sensitive"), false);
  const Value* attr = find_arg(a, 1, "attribute");
  if (items.empty()) return Value::undefined(std::string("No aggregated item, sequence was empty."));
  const Value* best = &items[0];
  Value best_key = sort_key(attr ? lookup_path(in, *best, arg_string(attr, "attribute")) : *best, cs);
  for (size_t k = 1; k < items.size(); ++k) {
    Value key = sort_key(attr ? lookup_path(in, items[k], arg_string(attr, "attribute")) : items[k], cs);
    if (want_max ? less(best_key, key) : less(key, best_key)) {
      best = &items[k];
      best_key = key;
    }
  }
  return *best;
}

Value do_round(const Value& v, CallArgs& a) {
  if (!v.is_number()) fail("round() needs a number");
  int64_t precision = arg_int(find_arg(a, 0, "precision"), 0, "round precision");
  const Value* method_v = find_arg(a, 1, "method");
  std::string method = method_v ? arg_string(method_v, "round method") : "common";
  double x = v.kind == Value::Kind::Float ? v.f : static_cast<double>(int_of(v));
  double scale = std::pow(10.0, static_cast<double>(precision));
  double r;
  if (method == "common") {
    if (v.kind != Value::Kind::Float) return Value::integer(int_of(v));
    r = std::nearbyint(x * scale) / scale;  // round half to even, as Python's round()
  } else if (method == "ceil") {
    r = std::ceil(x * scale) / scale;
  } else if (method == "floor") {
    r = std::floor(x * scale) / scale;
  } else {
    fail("round method must be 'common', 'ceil' or 'floor'");
  }
  return Value::floating(r);
}

Value do_first_last(Interpreter& in, const Value& v, bool first) {
  if (v.is_undefined() && !first) fail(v.undefined_hint().empty() ? "value is undefined" : v.undefined_hint());
  List items = in.iterate(v);
  if (items.empty()) return Value::undefined(std::string("No ") + (first ? "first" : "last") + " item, sequence was empty.");
  return first ? items.front() : items.back();
}

Value do_sort(Interpreter& in, const Value& v, CallArgs& a) {
  List items = in.iterate(v);
  bool reverse = arg_bool(find_arg(a, 0, "reverse"), false);
  bool cs = arg_bool(find_arg(a, 1, "case_sensitive"), false);
  const Value* attr = find_arg(a, 2, "attribute");
  std::string path = attr ? arg_string(attr, "sort attribute") : std::string();
  std::vector<std::pair<Value, Value>> keyed;
  for (auto& item : items) keyed.emplace_back(sort_key(attr ? lookup_path(in, item, path) : item, cs), item);
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
    return reverse ? less(y.first, x.first) : less(x.first, y.first);
  });
  List out;
  for (auto& kv : keyed) out.push_back(std::move(kv.second));
  return Value::list_of(std::move(out));
}

Value do_dictsort(const Value& v, CallArgs& a) {
  if (!v.is_mapping()) fail("dictsort needs a mapping");
  bool cs = arg_bool(find_arg(a, 0, "case_sensitive"), false);
  const Value* by_v = find_arg(a, 1, "by");
  std::string by = by_v ? arg_string(by_v, "dictsort by") : "key";
  bool reverse = arg_bool(find_arg(a, 2, "reverse"), false);
  if (by != "key" && by != "value") fail("dictsort 'by' must be 'key' or 'value'");
  List pairs;
  for (const auto& [k, x] : v.dict->items()) pairs.push_back(Value::tuple_of({Value::string(k), x}));
  size_t idx = by == "key" ? 0 : 1;
  std::stable_sort(pairs.begin(), pairs.end(), [&](const Value& x, const Value& y) {
    Value kx = sort_key(x.l()[idx], cs), ky = sort_key(y.l()[idx], cs);
    return reverse ? less(ky, kx) : less(kx, ky);
  });
  return Value::list_of(std::move(pairs));
}

Value do_unique(Interpreter& in, const Value& v, CallArgs& a) {
  List items = in.iterate(v);
  bool cs = arg_bool(find_arg(a, 0, "case_sensitive"), false);
  const Value* attr = find_arg(a, 1, "attribute");
  std::string path = attr ? arg_string(attr, "unique attribute") : std::string();
  List out, seen;
  for (auto& item : items) {
    in.count_iteration();
    Value key = sort_key(attr ? lookup_path(in, item, path) : item, cs);
    bool dup = false;
    for (const auto& s : seen) {
      in.count_iteration();
      if (equal(s, key)) {
        dup = true;
        break;
      }
    }
    if (!dup) {
      seen.push_back(key);
      out.push_back(item);
    }
  }
  return Value::list_of(std::move(out));
}

// Python str.format with {}, {0} and {name} fields (no format specs).
std::string python_format(Interpreter& in, const std::string& fmt, CallArgs& a) {
  std::string out;
  size_t auto_index = 0;
  for (size_t k = 0; k < fmt.size(); ++k) {
    char c = fmt[k];
    if (c == '{' && k + 1 < fmt.size() && fmt[k + 1] == '{') {
      out.push_back('{');
      ++k;
    } else if (c == '}' && k + 1 < fmt.size() && fmt[k + 1] == '}') {
      out.push_back('}');
      ++k;
    } else if (c == '{') {
      size_t close = fmt.find('}', k);
      if (close == std::string::npos) fail("Single '{' encountered in format string");
      std::string field = fmt.substr(k + 1, close - k - 1);
      if (field.find_first_of(":!") != std::string::npos) fail("format specs in str.format are not supported");
      const Value* v = nullptr;
      if (field.empty()) {
        if (auto_index >= a.positional.size()) fail("Replacement index " + std::to_string(auto_index) + " out of range");
        v = &a.positional[auto_index++];
      } else if (std::all_of(field.begin(), field.end(), [](char d) { return d >= '0' && d <= '9'; }) && field.size() < 9) {
        size_t idx = std::stoul(field);
        if (idx >= a.positional.size()) fail("Replacement index " + field + " out of range");
        v = &a.positional[idx];
      } else {
        for (auto& [name, x] : a.keyword)
          if (name == field) v = &x;
        if (!v) fail("format key '" + field + "' not given");
      }
      out += to_str(*v);
      in.check_size(out.size(), "str.format result");
      k = close;
    } else if (c == '}') {
      fail("Single '}' encountered in format string");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

size_t byte_to_cp_index(const std::string& s, size_t byte_pos) {
  return text::codepoint_count(std::string_view(s).substr(0, byte_pos));
}

Value string_method(Interpreter& in, const std::string& self, const std::string& name, CallArgs& a) {
  auto opt_chars = [&](size_t pos) -> const Value* {
    const Value* c = find_arg(a, pos, "chars");
    return c && !c->is_none() ? c : nullptr;
  };
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    bool l = name != "rstrip", r = name != "lstrip";
    const Value* chars = opt_chars(0);
    return Value::string(chars ? text::strip_chars(self, arg_string(chars, "strip chars"), l, r) : text::strip(self, l, r));
  }
  if (name == "split" || name == "rsplit") {
    const Value* sep = find_arg(a, 0, "sep");
    int64_t maxsplit = arg_int(find_arg(a, 1, "maxsplit"), -1, "maxsplit");
    std::vector<std::string> parts;
    if (!sep || sep->is_none()) {
      if (name == "rsplit" && maxsplit >= 0) fail("rsplit() on whitespace with maxsplit is not supported");
      parts = text::split_whitespace(self, maxsplit);
    } else {
      std::string s = arg_string(sep, "split separator");
      if (s.empty()) fail("empty separator");
      parts = name == "split" ? text::split_sep(self, s, maxsplit) : text::rsplit_sep(self, s, maxsplit);
    }
    in.charge(self.size() + parts.size() * sizeof(Value));
    List out;
    for (auto& p : parts) out.push_back(Value::string(std::move(p)));
    return Value::list_of(std::move(out));
  }
  if (name == "splitlines") {
    List out;
    for (auto& p : text::splitlines(self, arg_bool(find_arg(a, 0, "keepends"), false))) out.push_back(Value::string(std::move(p)));
    in.charge(self.size() + out.size() * sizeof(Value));
    return Value::list_of(std::move(out));
  }
  if (name == "startswith" || name == "endswith") {
    const Value* p = find_arg(a, 0, "prefix");
    if (!p) fail(name + "() takes at least 1 argument");
    std::vector<std::string> options;
    if (p->is_list()) {
      for (const auto& x : p->l()) options.push_back(arg_string(&x, name.c_str()));
    } else {
      options.push_back(arg_string(p, (name + " argument").c_str()));
    }
    if (a.positional.size() > 1) fail(name + "() with start/end positions is not supported");
    for (const auto& o : options) {
      bool hit = name == "startswith" ? self.compare(0, o.size(), o) == 0 && self.size() >= o.size()
                                      : self.size() >= o.size() && self.compare(self.size() - o.size(), o.size(), o) == 0;
      if (hit) return Value::boolean(true);
    }
    return Value::boolean(false);
  }
  if (name == "upper") return Value::string(text::to_upper(self));
  if (name == "lower") return Value::string(text::to_lower(self));
  if (name == "title") return Value::string(text::python_title(self));
  if (name == "capitalize") return Value::string(text::python_capitalize(self));
  if (name == "replace") {
    std::string from = arg_string(find_arg(a, 0, "old"), "replace old");
    std::string to = arg_string(find_arg(a, 1, "new"), "replace new");
    int64_t count = arg_int(find_arg(a, 2, "count"), -1, "replace count");
    size_t hits = from.empty() ? text::codepoint_count(self) + 1 : 0;
    if (!from.empty())
      for (size_t p = self.find(from); p != std::string::npos; p = self.find(from, p + from.size())) ++hits;
    if (count >= 0) hits = std::min<size_t>(hits, static_cast<size_t>(count));
    long double size = static_cast<long double>(self.size()) + static_cast<long double>(hits) * to.size();
    if (size > in.limits().max_output_bytes) in.check_size(in.limits().max_output_bytes + 1, "replace result");
    in.check_size(static_cast<size_t>(size), "replace result");
    return Value::string(text::replace(self, from, to, count));
  }
  if (name == "find" || name == "rfind" || name == "index" || name == "rindex" || name == "count") {
    std::string sub = arg_string(find_arg(a, 0, "sub"), (name + " argument").c_str());
    if (a.positional.size() > 1) fail(name + "() with start/end positions is not supported");
    if (name == "count") {
      if (sub.empty()) return Value::integer(static_cast<int64_t>(text::codepoint_count(self) + 1));
      int64_t n = 0;
      for (size_t p = self.find(sub); p != std::string::npos; p = self.find(sub, p + sub.size())) ++n;
      return Value::integer(n);
    }
    size_t p = (name == "find" || name == "index") ? self.find(sub) : self.rfind(sub);
    if (p == std::string::npos) {
      if (name == "index" || name == "rindex") fail("substring not found");
      return Value::integer(-1);
    }
    return Value::integer(static_cast<int64_t>(byte_to_cp_index(self, p)));
  }
  if (name == "join") {
    const Value* seq = find_arg(a, 0, "iterable");
    if (!seq) fail("join() takes exactly one argument");
    std::string out;
    bool first = true;
    for (const auto& x : in.iterate(*seq)) {
      if (!x.is_string()) fail("sequence item: expected str instance, " + type_name(x) + " found");
      if (!first) out += self;
      first = false;
      out += x.s();
      in.check_size(out.size(), "join result");
    }
    return Value::string(std::move(out));
  }
  if (name == "format") return Value::string(python_format(in, self, a));
  if (name == "removeprefix" || name == "removesuffix") {
    std::string x = arg_string(find_arg(a, 0, "prefix"), name.c_str());
    if (name == "removeprefix" && self.compare(0, x.size(), x) == 0 && self.size() >= x.size())
      return Value::string(self.substr(x.size()));
    if (name == "removesuffix" && !x.empty() && self.size() >= x.size() &&
        self.compare(self.size() - x.size(), x.size(), x) == 0)
      return Value::string(self.substr(0, self.size() - x.size()));
    return Value::string(self);
  }
  std::u32string cps = text::decode_utf8(self);
  auto all = [&](auto pred) {
    if (cps.empty()) return Value::boolean(false);
    return Value::boolean(std::all_of(cps.begin(), cps.end(), pred));
  };
  if (name == "isdigit") return all(text::is_digit_cp);
  if (name == "isalpha") return all(text::is_alpha_cp);
  if (name == "isalnum") return all([](char32_t c) { return text::is_alpha_cp(c) || text::is_digit_cp(c); });
  if (name == "isspace") return all(text::is_python_space);
  if (name == "isupper") return Value::boolean(text::python_isupper(self));
  if (name == "islower") return Value::boolean(text::python_islower(self));
  fail("'str object' has no attribute '" + name + "'");
}

bool is_string_method(const std::string& n) {
  static const std::unordered_set<std::string> names = {
      "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "startswith", "endswith", "upper", "lower",
      "title", "capitalize", "replace", "find", "rfind", "index", "rindex", "count", "join", "format",
      "removeprefix", "removesuffix", "isdigit", "isalpha", "isalnum", "isspace", "isupper", "islower"};
  return names.count(n) != 0;
}

}  // namespace

const Value* find_arg(CallArgs& args, size_t position, std::string_view keyword) {
  if (position < args.positional.size()) return &args.positional[position];
  for (auto& [k, v] : args.keyword)
    if (k == keyword) return &v;
  return nullptr;
}

bool is_known_filter(std::string_view name) { return filter_names().count(name) != 0; }
bool is_known_test(std::string_view name) { return test_names().count(name) != 0; }

Value bound_method(Interpreter& in, const Value& obj, const std::string& name) {
  Interpreter* ip = &in;
  if (obj.is_string()) {
    if (!is_string_method(name)) return Value::undefined();
    auto self = obj.str;
    return Value::function(name, [ip, self, name](CallArgs& a) { return string_method(*ip, *self, name, a); });
  }
  if (obj.is_mapping()) {
    auto d = obj.dict;
    if (name == "get")
      return Value::function(name, [d](CallArgs& a) -> Value {
        const Value* k = find_arg(a, 0, "key");
        if (!k) fail("get() takes at least 1 argument");
        const Value* dflt = find_arg(a, 1, "default");
        const Value* v = k->is_string() ? d->find(k->s()) : nullptr;
        return v ? *v : (dflt ? *dflt : Value::none());
      });
    if (name == "items" || name == "keys" || name == "values")
      return Value::function(name, [d, name](CallArgs&) -> Value {
        List out;
        for (const auto& [k, v] : d->items()) {
          if (name == "items") out.push_back(Value::tuple_of({Value::string(k), v}));
          else if (name == "keys") out.push_back(Value::string(k));
          else out.push_back(v);
        }
        return Value::list_of(std::move(out));
      });
    if (name == "copy") {
      Value self = obj;
      return Value::function(name, [self](CallArgs&) { return self; });
    }
    if (name == "pop" || name == "popitem" || name == "update" || name == "setdefault" || name == "clear")
      return Value::function(name, [name](CallArgs&) -> Value {
        fail("access to attribute '" + name + "' of 'dict' object is unsafe.");
      });
    return Value::undefined();
  }
  if (obj.is_list()) {
    auto l = obj.list;
    if (name == "index" || name == "count")
      return Value::function(name, [l, name](CallArgs& a) -> Value {
        const Value* x = find_arg(a, 0, "value");
        if (!x) fail(name + "() takes exactly one argument");
        int64_t n = 0;
        for (size_t k = 0; k < l->size(); ++k) {
          if (equal((*l)[k], *x)) {
            if (name == "index") return Value::integer(static_cast<int64_t>(k));
            ++n;
          }
        }
        if (name == "index") fail("value is not in list");
        return Value::integer(n);
      });
    if (name == "append" || name == "extend" || name == "insert" || name == "pop" || name == "remove" ||
        name == "reverse" || name == "sort" || name == "clear")
      return Value::function(name, [name](CallArgs&) -> Value {
        fail("access to attribute '" + name + "' of 'list' object is unsafe.");
      });
  }
  return Value::undefined();
}

Value apply_filter(Interpreter& in, std::string_view name_view, const Value& v, CallArgs& a) {
  std::string name(name_view);
  auto undefined_fail = [&]() {
    fail(v.undefined_hint().empty() ? "value is undefined" : v.undefined_hint());
  };
  if (name == "trim") {
    const Value* chars = find_arg(a, 0, "chars");
    std::string s = to_str(v);
    if (chars && !chars->is_none()) return Value::string(text::strip_chars(s, arg_string(chars, "trim chars"), true, true));
    return Value::string(text::strip(s, true, true));
  }
  if (name == "upper") return Value::string(text::to_upper(to_str(v)));
  if (name == "lower") return Value::string(text::to_lower(to_str(v)));
  if (name == "title") return Value::string(text::jinja_title(to_str(v)));
  if (name == "capitalize") return Value::string(text::python_capitalize(to_str(v)));
  if (name == "length" || name == "count") return Value::integer(static_cast<int64_t>(python_len(v)));
  if (name == "first") return do_first_last(in, v, true);
  if (name == "last") return do_first_last(in, v, false);
  if (name == "join") {
    const Value* sep_v = find_arg(a, 0, "d");
    std::string sep = sep_v ? to_str(*sep_v) : std::string();
    const Value* attr = find_arg(a, 1, "attribute");
    std::string out;
    bool first = true;
    for (const auto& x : in.iterate(v)) {
      in.count_iteration();
      if (!first) out += sep;
      first = false;
      out += to_str(attr ? lookup_path(in, x, arg_string(attr, "join attribute")) : x);
      in.check_size(out.size(), "join result");
    }
    return Value::string(std::move(out));
  }
  if (name == "replace") {
    std::string self = to_str(v);
    CallArgs sargs;
    const Value* from = find_arg(a, 0, "old");
    const Value* to = find_arg(a, 1, "new");
    if (!from || !to) fail("replace filter needs old and new");
    sargs.positional = {Value::string(to_str(*from)), Value::string(to_str(*to))};
    if (const Value* c = find_arg(a, 2, "count")) sargs.positional.push_back(*c);
    return string_method(in, self, "replace", sargs);
  }
  if (name == "default" || name == "d") {
    const Value* dflt = find_arg(a, 0, "default_value");
    bool boolean = arg_bool(find_arg(a, 1, "boolean"), false);
    if (v.is_undefined() || (boolean && !truthy(v))) return dflt ? *dflt : Value::string("");
    return v;
  }
  if (name == "tojson") {
    Value r = do_tojson(v, a);
    in.check_size(r.s().size(), "tojson result");
    return r;
  }
  if (name == "string") return v.is_string() ? v : Value::string(to_str(v));
  if (name == "safe") return v;
  if (name == "e" || name == "escape" || name == "forceescape") return Value::string(html_escape(to_str(v)));
  if (name == "int") {
    const Value* dflt = find_arg(a, 0, "default");
    int64_t base = arg_int(find_arg(a, 1, "base"), 10, "int base");
    Value fallback = dflt ? *dflt : Value::integer(0);
    if (is_int_like(v)) return Value::integer(int_of(v));
    if (v.kind == Value::Kind::Float) {
      if (!std::isfinite(v.f) || std::fabs(v.f) >= 9.2e18) return fallback;
      return Value::integer(static_cast<int64_t>(v.f));
    }
    if (v.is_string()) {
      int64_t r;
      if (parse_python_int(v.s(), static_cast<int>(base), r)) return Value::integer(r);
      double f;
      if (parse_python_float(v.s(), f) && std::isfinite(f) && std::fabs(f) < 9.2e18)
        return Value::integer(static_cast<int64_t>(f));
    }
    return fallback;
  }
  if (name == "float") {
    const Value* dflt = find_arg(a, 0, "default");
    Value fallback = dflt ? *dflt : Value::floating(0.0);
    if (v.kind == Value::Kind::Float) return v;
    if (is_int_like(v)) return Value::floating(static_cast<double>(int_of(v)));
    double f;
    if (v.is_string() && parse_python_float(v.s(), f)) return Value::floating(f);
    return fallback;
  }
  if (name == "list") {
    List items = in.iterate(v);
    in.charge(items.size() * sizeof(Value));
    return Value::list_of(std::move(items));
  }
  if (name == "items") {
    if (v.is_undefined()) return Value::list_of({});
    if (!v.is_mapping()) fail("Can only get item pairs from a mapping.");
    List out;
    for (const auto& [k, x] : v.dict->items()) out.push_back(Value::tuple_of({Value::string(k), x}));
    in.charge(out.size() * 2 * sizeof(Value));
    return Value::list_of(std::move(out));
  }
  if (name == "selectattr" || name == "rejectattr" || name == "select" || name == "reject") {
    bool want = name == "selectattr" || name == "select";
    return Value::list_of(select_items(in, v, a, want, name == "selectattr" || name == "rejectattr"));
  }
  if (name == "map") return do_map(in, v, a);
  if (name == "unique") return do_unique(in, v, a);
  if (name == "indent") return do_indent(in, v, a);
  if (name == "abs") {
    if (v.kind == Value::Kind::Float) return Value::floating(std::fabs(v.f));
    if (!is_int_like(v)) fail("bad operand type for abs(): '" + type_name(v) + "'");
    int64_t x = int_of(v);
    if (x == INT64_MIN) fail("integer overflow in abs()");
    return Value::integer(x < 0 ? -x : x);
  }
  if (name == "attr") {
    // Jinja's attr() looks up attributes only, never dict items.
    std::string attr = arg_string(find_arg(a, 0, "name"), "attr name");
    if (v.is_mapping()) return bound_method(in, v, attr);
    return in.get_attr(v, attr);
  }
  if (name == "center") {
    std::string s = to_str(v);
    int64_t width = arg_int(find_arg(a, 0, "width"), 80, "center width");
    int64_t len = static_cast<int64_t>(text::codepoint_count(s));
    if (width <= len) return Value::string(s);
    in.check_size(s.size() + static_cast<size_t>(width - len), "center result");
    int64_t total = width - len;
    int64_t left = total / 2 + (total & width & 1);
    return Value::string(std::string(static_cast<size_t>(left), ' ') + s + std::string(static_cast<size_t>(total - left), ' '));
  }
  if (name == "dictsort") return do_dictsort(v, a);
  if (name == "max" || name == "min") return min_max(in, v, a, name == "max");
  if (name == "reverse") {
    if (v.is_string()) {
      std::u32string cps = text::decode_utf8(v.s());
      std::reverse(cps.begin(), cps.end());
      return Value::string(text::encode_utf8(cps));
    }
    List items = in.iterate(v);
    std::reverse(items.begin(), items.end());
    return Value::list_of(std::move(items));
  }
  if (name == "round") return do_round(v, a);
  if (name == "sort") return do_sort(in, v, a);
  if (name == "sum") {
    const Value* attr = find_arg(a, 0, "attribute");
    const Value* start = find_arg(a, 1, "start");
    Value acc = start ? *start : Value::integer(0);
    for (const auto& x : in.iterate(v)) {
      in.count_iteration();
      Value item = attr ? lookup_path(in, x, arg_string(attr, "sum attribute")) : x;
      if (!acc.is_number() || !item.is_number()) fail("unsupported operand type(s) for +: '" + type_name(acc) + "' and '" + type_name(item) + "'");
      if (acc.kind == Value::Kind::Float || item.kind == Value::Kind::Float) {
        double fa = acc.kind == Value::Kind::Float ? acc.f : static_cast<double>(int_of(acc));
        double fb = item.kind == Value::Kind::Float ? item.f : static_cast<double>(int_of(item));
        acc = Value::floating(fa + fb);
      } else {
        int64_t r;
        if (__builtin_add_overflow(int_of(acc), int_of(item), &r)) fail("integer overflow in sum()");
        acc = Value::integer(r);
      }
    }
    return acc;
  }
  if (name == "wordcount") {
    int64_t n = 0;
    bool in_word = false;
    for (char32_t c : text::decode_utf8(to_str(v))) {
      bool w = text::is_alpha_cp(c) || text::is_digit_cp(c) || c == '_';
      if (w && !in_word) ++n;
      in_word = w;
    }
    return Value::integer(n);
  }
  (void)undefined_fail;
  fail("no filter named '" + name + "'");
}

bool apply_test(Interpreter& in, std::string_view name_view, const Value& v, CallArgs& a) {
  std::string name(name_view);
  auto arg0 = [&]() -> const Value& {
    const Value* x = find_arg(a, 0, "other");
    if (!x) fail("test '" + name + "' needs an argument");
    return *x;
  };
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "boolean") return v.kind == Value::Kind::Bool;
  if (name == "true") return v.kind == Value::Kind::Bool && v.b;
  if (name == "false") return v.kind == Value::Kind::Bool && !v.b;
  if (name == "integer") return v.kind == Value::Kind::Int;
  if (name == "float") return v.kind == Value::Kind::Float;
  if (name == "number") return v.is_number();
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.is_mapping();
  if (name == "iterable")
    return v.is_string() || v.is_list() || v.is_mapping() || v.is_undefined();
  if (name == "sequence") return v.is_string() || v.is_list() || v.is_mapping();
  if (name == "callable") return v.kind == Value::Kind::Function;
  if (name == "sameas") {
    const Value& o = arg0();
    if (v.kind != o.kind) return false;
    switch (v.kind) {
      case Value::Kind::None:
      case Value::Kind::Undefined: return true;
      case Value::Kind::Bool: return v.b == o.b;
      case Value::Kind::Int: return v.i == o.i && v.i >= -5 && v.i <= 256;  // CPython's small-int cache
      case Value::Kind::String: return v.str == o.str;
      case Value::Kind::List: return v.list == o.list;
      case Value::Kind::Dict:
      case Value::Kind::Namespace: return v.dict == o.dict;
      case Value::Kind::Function: return v.fn == o.fn;
      default: return false;
    }
  }
  if (name == "eq" || name == "equalto") return equal(v, arg0());
  if (name == "ne") return !equal(v, arg0());
  if (name == "lt" || name == "lessthan") return less(v, arg0());
  if (name == "gt" || name == "greaterthan") return less(arg0(), v);
  if (name == "le") return !less(arg0(), v);
  if (name == "ge") return !less(v, arg0());
  if (name == "in") return contains(arg0(), v);
  if (name == "even" || name == "odd") {
    if (!is_int_like(v)) fail("test '" + name + "' needs an integer");
    return (int_of(v) % 2 == 0) == (name == "even");
  }
  if (name == "divisibleby") {
    const Value& d = arg0();
    if (!is_int_like(v) || !is_int_like(d)) fail("divisibleby needs integers");
    if (int_of(d) == 0) fail("integer division or modulo by zero");
    if (int_of(d) == -1) return true;
    return int_of(v) % int_of(d) == 0;
  }
  if (name == "lower") return text::python_islower(to_str(v));
  if (name == "upper") return text::python_isupper(to_str(v));
  if (name == "escaped") return false;
  if (name == "filter") return v.is_string() && is_known_filter(v.s());
  if (name == "test") return v.is_string() && is_known_test(v.s());
  (void)in;
  fail("no test named '" + name + "'");
}

}  // namespace ridge::chat
