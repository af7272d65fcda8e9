#include "chat/interpreter.h"

#include <algorithm>
#include <cmath>
#include <ctime>

#include "chat/builtins.h"
#include "chat/text_utils.h"

namespace ridge::chat {

namespace {

// Python's sandbox refuses ranges longer than this (jinja2.sandbox.MAX_RANGE).
constexpr long long kMaxRange = 100000;

[[noreturn]] void undefined_error(const Value& v) {
  std::string hint = v.undefined_hint();
  throw TemplateError(hint.empty() ? "value is undefined" : hint);
}

[[noreturn]] void type_error(const std::string& msg) { throw TemplateError(msg); }

bool is_int_like(const Value& v) { return v.kind == Value::Kind::Int || v.kind == Value::Kind::Bool; }
int64_t int_of(const Value& v) { return v.kind == Value::Kind::Int ? v.i : (v.b ? 1 : 0); }
double float_of(const Value& v) { return v.kind == Value::Kind::Float ? v.f : static_cast<double>(int_of(v)); }

const char* op_symbol(BinaryOp op) {
  switch (op) {
    case BinaryOp::Add: return "+";
    case BinaryOp::Sub: return "-";
    case BinaryOp::Mul: return "*";
    case BinaryOp::Div: return "/";
    case BinaryOp::FloorDiv: return "//";
    case BinaryOp::Mod: return "%";
    case BinaryOp::Pow: return "**";
    case BinaryOp::Concat: return "~";
  }
  return "?";
}

// Python slice indices for a sequence of length n.
std::vector<size_t> slice_indices(int64_t n, const Value* start, const Value* stop, const Value* step) {
  int64_t st = 1;
  if (step && !step->is_none()) {
    if (!is_int_like(*step)) type_error("slice indices must be integers or None");
    st = int_of(*step);
    if (st == 0) type_error("slice step cannot be zero");
  }
  auto clamp = [&](const Value* v, int64_t dflt) -> int64_t {
    if (!v || v->is_none()) return dflt;
    if (!is_int_like(*v)) type_error("slice indices must be integers or None");
    int64_t x = int_of(*v);
    if (x < 0) {
      x += n;
      if (x < 0) x = st < 0 ? -1 : 0;
    } else if (x >= n) {
      x = st < 0 ? n - 1 : n;
    }
    return x;
  };
  int64_t b = clamp(start, st < 0 ? n - 1 : 0);
  int64_t e = clamp(stop, st < 0 ? -1 : n);
  std::vector<size_t> idx;
  if (st > 0)
    for (int64_t k = b; k < e; k += st) idx.push_back(static_cast<size_t>(k));
  else
    for (int64_t k = b; k > e; k += st) idx.push_back(static_cast<size_t>(k));
  return idx;
}

}  // namespace

bool contains(const Value& container, const Value& item) {
  switch (container.kind) {
    case Value::Kind::String:
      if (!item.is_string()) type_error("'in <string>' requires string as left operand, not " + type_name(item));
      return container.s().find(item.s()) != std::string::npos;
    case Value::Kind::List:
      for (const auto& x : container.l())
        if (equal(x, item)) return true;
      return false;
    case Value::Kind::Dict:
      return item.is_string() && container.dict->find(item.s()) != nullptr;
    case Value::Kind::Undefined: return false;
    default: type_error("argument of type '" + type_name(container) + "' is not iterable");
  }
}

Interpreter::DepthGuard::DepthGuard(Interpreter& i) : in(i) {
  if (++in.depth_ > kMaxEvalDepth) {
    --in.depth_;
    throw TemplateError("template evaluation nests deeper than " + std::to_string(kMaxEvalDepth) + " levels");
  }
}

Interpreter::Interpreter(const TemplateLimits& limits, const RenderOptions& opts) : limits_(limits), opts_(opts) {
  // Intermediate strings (concatenations, filters) may add up to a few times
  // the output; this bounds what a hostile template can make us allocate.
  work_budget_ = limits_.max_output_bytes > SIZE_MAX / 16 ? SIZE_MAX : limits_.max_output_bytes * 16;
  install_globals();
}

void Interpreter::charge(size_t bytes) {
  work_ += bytes;
  if (work_ > work_budget_)
    throw TemplateError("template built more than " + std::to_string(work_budget_) + " bytes of intermediate data");
}

void Interpreter::check_size(size_t bytes, const char* what) {
  if (bytes > limits_.max_output_bytes)
    throw TemplateError(std::string(what) + " would exceed the output limit of " +
                        std::to_string(limits_.max_output_bytes) + " bytes");
  charge(bytes);
}

void Interpreter::count_iteration() {
  if (++iterations_ > limits_.max_loop_iterations)
    throw TemplateError("template ran more than " + std::to_string(limits_.max_loop_iterations) + " loop iterations");
}

void Interpreter::emit(std::string_view s) {
  if (out_->size() + s.size() > limits_.max_output_bytes)
    throw TemplateError("template output exceeds " + std::to_string(limits_.max_output_bytes) + " bytes");
  out_->append(s);
}

std::string Interpreter::render(const Body& body, std::unordered_map<std::string, Value> vars) {
  Scope root;
  root.parent = &globals_;
  root.vars = std::move(vars);
  root_ = &root;
  std::string out;
  out_ = &out;
  exec_body(body, root);
  out_ = nullptr;
  root_ = nullptr;
  return out;
}

void Interpreter::install_globals() {
  auto& g = globals_.vars;
  g["raise_exception"] = Value::function("raise_exception", [](CallArgs& a) -> Value {
    const Value* msg = find_arg(a, 0, "message");
    throw TemplateError(msg ? to_str(*msg) : std::string(), true);
  });
  g["range"] = Value::function("range", [this](CallArgs& a) -> Value {
    if (!a.keyword.empty()) type_error("range() takes no keyword arguments");
    if (a.positional.empty() || a.positional.size() > 3) type_error("range expected 1 to 3 arguments");
    for (const auto& v : a.positional)
      if (!is_int_like(v)) type_error("'" + type_name(v) + "' object cannot be interpreted as an integer");
    int64_t start = 0, stop, step = 1;
    if (a.positional.size() == 1) {
      stop = int_of(a.positional[0]);
    } else {
      start = int_of(a.positional[0]);
      stop = int_of(a.positional[1]);
      if (a.positional.size() == 3) step = int_of(a.positional[2]);
    }
    if (step == 0) type_error("range() arg 3 must not be zero");
    long double count = step > 0 ? (stop > start ? ((long double)stop - start + step - 1) / step : 0)
                                 : (start > stop ? ((long double)start - stop - step - 1) / -step : 0);
    if (count > kMaxRange) type_error("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
    List items;
    int64_t n = static_cast<int64_t>(count);
    charge(static_cast<size_t>(n) * sizeof(Value));
    items.reserve(static_cast<size_t>(n));
    for (int64_t k = 0; k < n; ++k) items.push_back(Value::integer(start + k * step));
    return Value::list_of(std::move(items));
  });
  g["namespace"] = Value::function("namespace", [](CallArgs& a) -> Value {
    auto d = std::make_shared<Dict>();
    for (const auto& p : a.positional) {
      if (!p.is_mapping()) type_error("namespace() positional argument must be a mapping");
      for (const auto& [k, v] : p.dict->items()) d->set(k, v);
    }
    for (auto& [k, v] : a.keyword) d->set(k, v);
    return Value::namespace_of(std::move(d));
  });
  g["dict"] = Value::function("dict", [](CallArgs& a) -> Value {
    auto d = std::make_shared<Dict>();
    for (const auto& p : a.positional) {
      if (!p.is_mapping()) type_error("dict() positional argument must be a mapping");
      for (const auto& [k, v] : p.dict->items()) d->set(k, v);
    }
    for (auto& [k, v] : a.keyword) d->set(k, v);
    return Value::dict_of(std::move(d));
  });
  g["strftime_now"] = Value::function("strftime_now", [this](CallArgs& a) -> Value {
    const Value* fmt = find_arg(a, 0, "format");
    if (!fmt || !fmt->is_string()) type_error("strftime_now() needs a format string");
    if (fmt->s().size() > 256) type_error("strftime_now() format longer than 256 bytes");
    std::time_t t = opts_.fixed_time >= 0 ? static_cast<std::time_t>(opts_.fixed_time) : std::time(nullptr);
    std::tm tm{};
    if (opts_.fixed_time >= 0)
      gmtime_r(&t, &tm);
    else
      localtime_r(&t, &tm);
    std::string buf(fmt->s().size() * 64 + 64, '\0');
    size_t n = fmt->s().empty() ? 0 : std::strftime(buf.data(), buf.size(), fmt->s().c_str(), &tm);
    buf.resize(n);
    return Value::string(std::move(buf));
  });
}

// ---- statements ----

Interpreter::Flow Interpreter::exec_body(const Body& body, Scope& scope) {
  for (const auto& s : body) {
    Flow f = exec(*s, scope);
    if (f != Flow::Normal) return f;
  }
  return Flow::Normal;
}

Interpreter::Flow Interpreter::exec(const Stmt& s, Scope& scope) {
  DepthGuard guard(*this);
  switch (s.kind) {
    case Stmt::Kind::Text: emit(s.text); return Flow::Normal;
    case Stmt::Kind::Output: {
      Value v = eval(*s.expr, scope);
      if (v.is_string())
        emit(v.s());
      else
        emit(to_str(v));
      return Flow::Normal;
    }
    case Stmt::Kind::If:
      for (const auto& [cond, body] : s.branches)
        if (truthy(eval(*cond, scope))) return exec_body(body, scope);
      return exec_body(s.else_body, scope);
    case Stmt::Kind::For: return exec_for(s, scope);
    case Stmt::Kind::Set:
    case Stmt::Kind::SetAttr:
    case Stmt::Kind::SetBlock: exec_set(s, scope); return Flow::Normal;
    case Stmt::Kind::Macro: scope.vars[s.attr] = make_macro(s); return Flow::Normal;
    case Stmt::Kind::CallBlock: {
      const Expr& call = *s.expr;
      Value callee = eval(*call.a, scope);
      CallArgs args = eval_args(call, scope);
      args.keyword.emplace_back("caller", make_caller(s, scope));
      Value r = this->call(callee, args);
      emit(to_str(r));
      return Flow::Normal;
    }
    case Stmt::Kind::FilterBlock: {
      Value v = Value::string(capture(s.body, scope));
      emit(to_str(apply_filters(s.filters, std::move(v), scope)));
      return Flow::Normal;
    }
    case Stmt::Kind::With: {
      Scope inner;
      inner.parent = &scope;
      for (const auto& [name, expr] : s.assignments) inner.vars[name] = eval(*expr, inner);
      return exec_body(s.body, inner);
    }
    case Stmt::Kind::Break: return Flow::Break;
    case Stmt::Kind::Continue: return Flow::Continue;
  }
  return Flow::Normal;
}

List Interpreter::iterate(const Value& v) {
  switch (v.kind) {
    case Value::Kind::List: return v.l();
    case Value::Kind::Dict: {
      List keys;
      for (const auto& kv : v.dict->items()) keys.push_back(Value::string(kv.first));
      return keys;
    }
    case Value::Kind::String: {
      List chars;
      for (char32_t c : text::decode_utf8(v.s())) {
        std::string ch;
        text::append_utf8(ch, c);
        chars.push_back(Value::string(std::move(ch)));
      }
      charge(chars.size() * sizeof(Value));
      return chars;
    }
    case Value::Kind::Undefined: return {};
    default: type_error("'" + type_name(v) + "' object is not iterable");
  }
}

void Interpreter::assign_targets(const std::vector<std::string>& targets, const Value& v, Scope& scope) {
  if (targets.size() == 1) {
    scope.vars[targets[0]] = v;
    return;
  }
  List parts = iterate(v);
  if (v.is_undefined()) undefined_error(v);
  if (parts.size() != targets.size())
    type_error("cannot unpack " + std::to_string(parts.size()) + " values into " + std::to_string(targets.size()) +
               " names");
  for (size_t k = 0; k < targets.size(); ++k) scope.vars[targets[k]] = parts[k];
}

Interpreter::Flow Interpreter::exec_for(const Stmt& s, Scope& scope) {
  List items = iterate(eval(*s.expr, scope));
  if (s.cond) {
    // `for x in xs if cond` filters first; loop.* then counts the kept items.
    List kept;
    for (auto& item : items) {
      count_iteration();
      Scope probe;
      probe.parent = &scope;
      assign_targets(s.targets, item, probe);
      if (truthy(eval(*s.cond, probe))) kept.push_back(std::move(item));
    }
    items = std::move(kept);
  }
  if (items.empty()) return exec_body(s.else_body, scope);
  const int64_t n = static_cast<int64_t>(items.size());
  auto shared_items = std::make_shared<const List>(std::move(items));
  for (int64_t k = 0; k < n; ++k) {
    count_iteration();
    Scope inner;
    inner.parent = &scope;
    const List& all = *shared_items;
    assign_targets(s.targets, all[static_cast<size_t>(k)], inner);
    auto loop = std::make_shared<Dict>();
    loop->set("index", Value::integer(k + 1));
    loop->set("index0", Value::integer(k));
    loop->set("revindex", Value::integer(n - k));
    loop->set("revindex0", Value::integer(n - k - 1));
    loop->set("first", Value::boolean(k == 0));
    loop->set("last", Value::boolean(k == n - 1));
    loop->set("length", Value::integer(n));
    loop->set("depth", Value::integer(1));
    loop->set("depth0", Value::integer(0));
    loop->set("previtem", k > 0 ? all[static_cast<size_t>(k - 1)] : Value::undefined("there is no previous item"));
    loop->set("nextitem", k + 1 < n ? all[static_cast<size_t>(k + 1)] : Value::undefined("there is no next item"));
    loop->set("cycle", Value::function("cycle", [k](CallArgs& a) -> Value {
      if (a.positional.empty()) type_error("no items for cycling given");
      return a.positional[static_cast<size_t>(k) % a.positional.size()];
    }));
    inner.vars["loop"] = Value::dict_of(std::move(loop));
    Flow f = exec_body(s.body, inner);
    if (f == Flow::Break) break;
  }
  return Flow::Normal;
}

std::string Interpreter::capture(const Body& body, Scope& scope) {
  std::string buf;
  std::string* saved = out_;
  out_ = &buf;
  struct Restore {
    Interpreter& in;
    std::string* saved;
    ~Restore() { in.out_ = saved; }
  } restore{*this, saved};
  Flow f = exec_body(body, scope);
  (void)f;
  return buf;
}

void Interpreter::exec_set(const Stmt& s, Scope& scope) {
  if (s.kind == Stmt::Kind::SetAttr) {
    const Value* target = scope.lookup(s.targets[0]);
    if (!target || target->kind != Value::Kind::Namespace)
      type_error("cannot assign attribute on non-namespace object '" + s.targets[0] + "'");
    Value v = eval(*s.value, scope);
    target->dict->set(s.attr, std::move(v));
    return;
  }
  if (s.kind == Stmt::Kind::SetBlock) {
    Scope inner;  // a block set's body has its own scope, like a macro's
    inner.parent = &scope;
    Value v = Value::string(capture(s.body, inner));
    scope.vars[s.targets[0]] = apply_filters(s.filters, std::move(v), scope);
    return;
  }
  assign_targets(s.targets, eval(*s.value, scope), scope);
}

Value Interpreter::apply_filters(const std::vector<FilterCall>& filters, Value v, Scope& scope) {
  for (const auto& f : filters) {
    CallArgs args;
    for (const auto& a : f.args) args.positional.push_back(eval(*a, scope));
    for (const auto& [k, a] : f.kwargs) args.keyword.emplace_back(k, eval(*a, scope));
    v = apply_filter(*this, f.name, v, args);
  }
  return v;
}

Value Interpreter::make_macro(const Stmt& s) {
  const Stmt* def = &s;
  return Value::function(s.attr, [this, def](CallArgs& a) -> Value {
    if (macro_depth_ >= limits_.max_recursion_depth)
      throw TemplateError("macro recursion deeper than " + std::to_string(limits_.max_recursion_depth) + " calls");
    ++macro_depth_;
    struct Unwind {
      int& d;
      ~Unwind() { --d; }
    } unwind{macro_depth_};
    Scope frame;
    frame.parent = root_;
    const auto& params = def->params;
    if (a.positional.size() > params.size())
      type_error("macro '" + def->attr + "' takes not more than " + std::to_string(params.size()) + " argument(s)");
    std::vector<bool> bound(params.size(), false);
    for (size_t k = 0; k < a.positional.size(); ++k) {
      frame.vars[params[k].name] = a.positional[k];
      bound[k] = true;
    }
    for (auto& kw : a.keyword) {
      const std::string& name = kw.first;
      Value& v = kw.second;
      auto it = std::find_if(params.begin(), params.end(), [&](const MacroParam& p) { return p.name == name; });
      if (it == params.end()) {
        if (name == "caller") {
          frame.vars["caller"] = v;
          continue;
        }
        type_error("macro '" + def->attr + "' takes no keyword argument '" + name + "'");
      }
      size_t idx = static_cast<size_t>(it - params.begin());
      if (bound[idx]) type_error("macro '" + def->attr + "' got multiple values for argument '" + name + "'");
      frame.vars[name] = v;
      bound[idx] = true;
    }
    for (size_t k = 0; k < params.size(); ++k) {
      if (bound[k]) continue;
      frame.vars[params[k].name] = params[k].default_value
                                       ? eval(*params[k].default_value, frame)
                                       : Value::undefined("'" + params[k].name + "' is undefined");
    }
    return Value::string(capture(def->body, frame));
  });
}

Value Interpreter::make_caller(const Stmt& s, Scope& scope) {
  const Stmt* def = &s;
  Scope* outer = &scope;
  return Value::function("caller", [this, def, outer](CallArgs& a) -> Value {
    if (macro_depth_ >= limits_.max_recursion_depth)
      throw TemplateError("macro recursion deeper than " + std::to_string(limits_.max_recursion_depth) + " calls");
    ++macro_depth_;
    struct Unwind {
      int& d;
      ~Unwind() { --d; }
    } unwind{macro_depth_};
    Scope frame;
    frame.parent = outer;
    for (size_t k = 0; k < def->params.size(); ++k) {
      const auto& p = def->params[k];
      if (k < a.positional.size())
        frame.vars[p.name] = a.positional[k];
      else
        frame.vars[p.name] = p.default_value ? eval(*p.default_value, frame) : Value::undefined("'" + p.name + "' is undefined");
    }
    return Value::string(capture(def->body, frame));
  });
}

// ---- expressions ----

CallArgs Interpreter::eval_args(const Expr& e, Scope& scope) {
  CallArgs args;
  for (const auto& a : e.items) args.positional.push_back(eval(*a, scope));
  for (const auto& [k, a] : e.kwargs) args.keyword.emplace_back(k, eval(*a, scope));
  return args;
}

Value Interpreter::call(const Value& callee, CallArgs& args) {
  if (callee.kind == Value::Kind::Function) return callee.fn->call(args);
  if (callee.is_undefined()) undefined_error(callee);
  type_error("'" + type_name(callee) + "' object is not callable");
}

Value Interpreter::get_attr(const Value& obj, const std::string& name) {
  switch (obj.kind) {
    case Value::Kind::Undefined: undefined_error(obj);
    case Value::Kind::Dict: {
      Value m = bound_method(*this, obj, name);
      if (!m.is_undefined()) return m;
      const Value* v = obj.dict->find(name);
      return v ? *v : Value::undefined("'dict object' has no attribute '" + name + "'");
    }
    case Value::Kind::Namespace: {
      const Value* v = obj.dict->find(name);
      return v ? *v : Value::undefined("'Namespace object' has no attribute '" + name + "'");
    }
    case Value::Kind::String:
    case Value::Kind::List: {
      Value m = bound_method(*this, obj, name);
      if (!m.is_undefined()) return m;
      return Value::undefined("'" + type_name(obj) + " object' has no attribute '" + name + "'");
    }
    default: return Value::undefined("'" + type_name(obj) + " object' has no attribute '" + name + "'");
  }
}

Value Interpreter::get_item(const Value& obj, const Value& key) {
  switch (obj.kind) {
    case Value::Kind::Undefined: undefined_error(obj);
    case Value::Kind::Dict: {
      if (!key.is_string()) return Value::undefined("'dict object' has no attribute '" + to_str(key) + "'");
      const Value* v = obj.dict->find(key.s());
      return v ? *v : Value::undefined("'dict object' has no attribute '" + key.s() + "'");
    }
    case Value::Kind::List:
    case Value::Kind::String: {
      if (!is_int_like(key)) {
        if (key.is_string()) return get_attr(obj, key.s());
        return Value::undefined("'" + type_name(obj) + " object' has no element " + to_repr(key));
      }
      int64_t idx = int_of(key);
      if (obj.is_list()) {
        int64_t n = static_cast<int64_t>(obj.l().size());
        if (idx < 0) idx += n;
        if (idx < 0 || idx >= n) return Value::undefined("'list object' has no element " + std::to_string(int_of(key)));
        return obj.l()[static_cast<size_t>(idx)];
      }
      if (text::is_ascii(obj.s())) {
        int64_t n = static_cast<int64_t>(obj.s().size());
        if (idx < 0) idx += n;
        if (idx < 0 || idx >= n) return Value::undefined("'str object' has no element " + std::to_string(int_of(key)));
        return Value::string(std::string(1, obj.s()[static_cast<size_t>(idx)]));
      }
      std::u32string cps = text::decode_utf8(obj.s());
      int64_t n = static_cast<int64_t>(cps.size());
      if (idx < 0) idx += n;
      if (idx < 0 || idx >= n) return Value::undefined("'str object' has no element " + std::to_string(int_of(key)));
      std::string ch;
      text::append_utf8(ch, cps[static_cast<size_t>(idx)]);
      return Value::string(std::move(ch));
    }
    default:
      if (key.is_string()) return get_attr(obj, key.s());
      return Value::undefined("'" + type_name(obj) + " object' has no element " + to_repr(key));
  }
}

Value Interpreter::eval_slice(const Expr& e, Scope& scope) {
  Value obj = eval(*e.a, scope);
  Value parts[3];
  const Value* p[3] = {nullptr, nullptr, nullptr};
  for (int k = 0; k < 3; ++k) {
    if (e.items[static_cast<size_t>(k)]) {
      parts[k] = eval(*e.items[static_cast<size_t>(k)], scope);
      p[k] = &parts[k];
    }
  }
  if (obj.is_undefined()) undefined_error(obj);
  if (obj.is_list()) {
    auto idx = slice_indices(static_cast<int64_t>(obj.l().size()), p[0], p[1], p[2]);
    charge(idx.size() * sizeof(Value));
    List out;
    out.reserve(idx.size());
    for (size_t k : idx) out.push_back(obj.l()[k]);
    return Value::list_of(std::move(out));
  }
  if (obj.is_string()) {
    std::u32string cps = text::decode_utf8(obj.s());
    auto idx = slice_indices(static_cast<int64_t>(cps.size()), p[0], p[1], p[2]);
    std::u32string out;
    out.reserve(idx.size());
    for (size_t k : idx) out.push_back(cps[k]);
    std::string s = text::encode_utf8(out);
    charge(s.size());
    return Value::string(std::move(s));
  }
  type_error("'" + type_name(obj) + "' object is not subscriptable");
}

Value Interpreter::eval_binary(const Expr& e, Scope& scope) {
  Value a = eval(*e.a, scope);
  Value b = eval(*e.b, scope);
  if (e.op == BinaryOp::Concat) {
    std::string s = to_str(a);
    std::string t = to_str(b);
    check_size(s.size() + t.size(), "string concatenation");
    return Value::string(s + t);
  }
  if (a.is_undefined()) undefined_error(a);
  if (b.is_undefined()) undefined_error(b);
  auto unsupported = [&]() -> Value {
    if (e.op == BinaryOp::Add && a.is_string())
      type_error("can only concatenate str (not \"" + type_name(b) + "\") to str");
    type_error(std::string("unsupported operand type(s) for ") + op_symbol(e.op) + ": '" + type_name(a) + "' and '" +
               type_name(b) + "'");
  };
  if (a.is_number() && b.is_number()) {
    bool ints = is_int_like(a) && is_int_like(b);
    int64_t x = ints ? int_of(a) : 0, y = ints ? int_of(b) : 0, r = 0;
    double fx = float_of(a), fy = float_of(b);
    switch (e.op) {
      case BinaryOp::Add:
        if (!ints) return Value::floating(fx + fy);
        if (__builtin_add_overflow(x, y, &r)) type_error("integer overflow in '+'");
        return Value::integer(r);
      case BinaryOp::Sub:
        if (!ints) return Value::floating(fx - fy);
        if (__builtin_sub_overflow(x, y, &r)) type_error("integer overflow in '-'");
        return Value::integer(r);
      case BinaryOp::Mul:
        if (!ints) return Value::floating(fx * fy);
        if (__builtin_mul_overflow(x, y, &r)) type_error("integer overflow in '*'");
        return Value::integer(r);
      case BinaryOp::Div:
        if (fy == 0) type_error("division by zero");
        return Value::floating(fx / fy);
      case BinaryOp::FloorDiv:
        if (ints) {
          if (y == 0) type_error("integer division or modulo by zero");
          if (x == INT64_MIN && y == -1) type_error("integer overflow in '//'");
          int64_t q = x / y;
          if ((x % y != 0) && ((x < 0) != (y < 0))) --q;
          return Value::integer(q);
        }
        if (fy == 0) type_error("float floor division by zero");
        return Value::floating(std::floor(fx / fy));
      case BinaryOp::Mod:
        if (ints) {
          if (y == 0) type_error("integer division or modulo by zero");
          if (y == -1) return Value::integer(0);
          int64_t m = x % y;
          if (m != 0 && ((m < 0) != (y < 0))) m += y;
          return Value::integer(m);
        } else {
          if (fy == 0) type_error("float modulo");
          double m = std::fmod(fx, fy);
          if (m != 0 && ((m < 0) != (fy < 0))) m += fy;
          return Value::floating(m);
        }
      case BinaryOp::Pow:
        if (ints && y >= 0) {
          int64_t acc = 1, base = x;
          int64_t ex = y;
          while (ex > 0) {
            if (ex & 1)
              if (__builtin_mul_overflow(acc, base, &acc)) type_error("integer overflow in '**'");
            ex >>= 1;
            if (ex > 0 && __builtin_mul_overflow(base, base, &base)) type_error("integer overflow in '**'");
          }
          return Value::integer(acc);
        }
        if (fx == 0 && fy < 0) type_error("0.0 cannot be raised to a negative power");
        return Value::floating(std::pow(fx, fy));
      default: break;
    }
    return unsupported();
  }
  switch (e.op) {
    case BinaryOp::Add:
      if (a.is_string() && b.is_string()) {
        check_size(a.s().size() + b.s().size(), "string concatenation");
        std::string s;
        s.reserve(a.s().size() + b.s().size());
        s += a.s();
        s += b.s();
        return Value::string(std::move(s));
      }
      if (a.is_list() && b.is_list()) {
        charge((a.l().size() + b.l().size()) * sizeof(Value));
        List out = a.l();
        out.insert(out.end(), b.l().begin(), b.l().end());
        return Value::list_of(std::move(out));
      }
      return unsupported();
    case BinaryOp::Mul: {
      const Value* seq = a.is_string() || a.is_list() ? &a : &b;
      const Value* count = seq == &a ? &b : &a;
      if (!(seq->is_string() || seq->is_list()) || !is_int_like(*count)) return unsupported();
      int64_t times = std::max<int64_t>(0, int_of(*count));
      if (seq->is_string()) {
        long double total = static_cast<long double>(seq->s().size()) * times;
        if (total > limits_.max_output_bytes) check_size(limits_.max_output_bytes + 1, "string repetition");
        check_size(static_cast<size_t>(total), "string repetition");
        std::string out;
        out.reserve(static_cast<size_t>(total));
        for (int64_t k = 0; k < times; ++k) out += seq->s();
        return Value::string(std::move(out));
      }
      long double total = static_cast<long double>(seq->l().size()) * times;
      if (total > static_cast<long double>(limits_.max_loop_iterations)) type_error("list repetition too large");
      charge(static_cast<size_t>(total) * sizeof(Value));
      List out;
      for (int64_t k = 0; k < times; ++k) out.insert(out.end(), seq->l().begin(), seq->l().end());
      return Value::list_of(std::move(out));
    }
    case BinaryOp::Mod:
      if (a.is_string()) type_error("printf-style '%' string formatting is not supported");
      return unsupported();
    default: return unsupported();
  }
}

Value Interpreter::eval_compare(const Expr& e, Scope& scope) {
  Value left = eval(*e.a, scope);
  for (size_t k = 0; k < e.compare_ops.size(); ++k) {
    Value right = eval(*e.items[k], scope);
    bool ok = false;
    CompareOp op = e.compare_ops[k];
    switch (op) {
      case CompareOp::Eq: ok = equal(left, right); break;
      case CompareOp::Ne: ok = !equal(left, right); break;
      case CompareOp::In: ok = contains(right, left); break;
      case CompareOp::NotIn: ok = !contains(right, left); break;
      default:
        if (left.is_undefined()) undefined_error(left);
        if (right.is_undefined()) undefined_error(right);
        if (op == CompareOp::Lt) ok = less(left, right);
        else if (op == CompareOp::Gt) ok = less(right, left);
        else if (op == CompareOp::Le) ok = !less(right, left);
        else ok = !less(left, right);
        // Python raises for unordered pairs even when one direction returns.
        break;
    }
    if (!ok) return Value::boolean(false);
    left = std::move(right);
  }
  return Value::boolean(true);
}

Value Interpreter::eval(const Expr& e, Scope& scope) {
  DepthGuard guard(*this);
  switch (e.kind) {
    case Expr::Kind::Literal: return e.value;
    case Expr::Kind::Name: {
      const Value* v = scope.lookup(e.name);
      return v ? *v : Value::undefined("'" + e.name + "' is undefined");
    }
    case Expr::Kind::ListLit: {
      List items;
      items.reserve(e.items.size());
      for (const auto& x : e.items) items.push_back(eval(*x, scope));
      charge(items.size() * sizeof(Value));
      return e.tuple ? Value::tuple_of(std::move(items)) : Value::list_of(std::move(items));
    }
    case Expr::Kind::DictLit: {
      auto d = std::make_shared<Dict>();
      for (const auto& [k, v] : e.pairs) {
        Value key = eval(*k, scope);
        if (!key.is_string()) type_error("dict keys in templates must be strings, not " + type_name(key));
        d->set(key.s(), eval(*v, scope));
      }
      charge(d->size() * sizeof(Value));
      return Value::dict_of(std::move(d));
    }
    case Expr::Kind::Attr: return get_attr(eval(*e.a, scope), e.name);
    case Expr::Kind::Item: {
      Value obj = eval(*e.a, scope);
      return get_item(obj, eval(*e.b, scope));
    }
    case Expr::Kind::Slice: return eval_slice(e, scope);
    case Expr::Kind::Call: {
      Value callee = eval(*e.a, scope);
      CallArgs args = eval_args(e, scope);
      return call(callee, args);
    }
    case Expr::Kind::Filter: {
      Value v = eval(*e.a, scope);
      CallArgs args = eval_args(e, scope);
      return apply_filter(*this, e.name, v, args);
    }
    case Expr::Kind::Test: {
      Value v = eval(*e.a, scope);
      CallArgs args = eval_args(e, scope);
      bool r = apply_test(*this, e.name, v, args);
      return Value::boolean(e.negated ? !r : r);
    }
    case Expr::Kind::Neg:
    case Expr::Kind::Pos: {
      Value v = eval(*e.a, scope);
      if (v.is_undefined()) undefined_error(v);
      if (v.kind == Value::Kind::Float) return Value::floating(e.kind == Expr::Kind::Neg ? -v.f : v.f);
      if (!is_int_like(v)) type_error("bad operand type for unary " + std::string(e.kind == Expr::Kind::Neg ? "-" : "+") + ": '" + type_name(v) + "'");
      int64_t x = int_of(v);
      if (e.kind == Expr::Kind::Pos) return Value::integer(x);
      if (x == INT64_MIN) type_error("integer overflow in unary '-'");
      return Value::integer(-x);
    }
    case Expr::Kind::Not: return Value::boolean(!truthy(eval(*e.a, scope)));
    case Expr::Kind::Binary: return eval_binary(e, scope);
    case Expr::Kind::Compare: return eval_compare(e, scope);
    case Expr::Kind::And: {
      Value a = eval(*e.a, scope);
      return truthy(a) ? eval(*e.b, scope) : a;
    }
    case Expr::Kind::Or: {
      Value a = eval(*e.a, scope);
      return truthy(a) ? a : eval(*e.b, scope);
    }
    case Expr::Kind::Cond:
      if (truthy(eval(*e.b, scope))) return eval(*e.a, scope);
      return e.c ? eval(*e.c, scope) : Value::undefined("the inline if-expression evaluated to false and no else section was defined.");
  }
  return Value::undefined();
}

}  // namespace ridge::chat
