#pragma once
// Walks a parsed template and renders it: scopes, loops, macros, namespaces,
// output capture, and the limits that keep untrusted templates bounded
// (output bytes, loop iterations, macro recursion, evaluation depth, and a
// budget on bytes built by string and list operations).
#include <string>
#include <unordered_map>

#include "chat/ast.h"
#include "chat/template.h"
#include "chat/value.h"

namespace ridge::chat {

struct Scope {
  Scope* parent = nullptr;
  std::unordered_map<std::string, Value> vars;

  const Value* lookup(const std::string& name) const {
    for (const Scope* s = this; s; s = s->parent) {
      auto it = s->vars.find(name);
      if (it != s->vars.end()) return &it->second;
    }
    return nullptr;
  }
};

// Nesting bound for expression evaluation and statement execution, macro
// frames included; keeps the C++ stack small even under sanitizers.
constexpr int kMaxEvalDepth = 400;

class Interpreter {
 public:
  Interpreter(const TemplateLimits& limits, const RenderOptions& opts);

  // Renders `body` with `vars` as the template's variables.
  std::string render(const Body& body, std::unordered_map<std::string, Value> vars);

  // Accounts `bytes` of newly built data against the work budget.
  void charge(size_t bytes);
  // Refuses a string/list result that would exceed the output bound, before it is built.
  void check_size(size_t bytes, const char* what);
  // Counts one loop iteration (templates' loops and filters' internal ones).
  void count_iteration();
  const TemplateLimits& limits() const { return limits_; }
  const RenderOptions& options() const { return opts_; }

  Value call(const Value& callee, CallArgs& args);
  Value get_attr(const Value& obj, const std::string& name);
  Value get_item(const Value& obj, const Value& key);
  // Python iteration: list items, dict keys, string characters; undefined is empty.
  List iterate(const Value& v);

 private:
  enum class Flow { Normal, Break, Continue };

  TemplateLimits limits_;
  const RenderOptions& opts_;
  Scope globals_;
  Scope* root_ = nullptr;
  std::string* out_ = nullptr;
  long long iterations_ = 0;
  size_t work_ = 0;
  size_t work_budget_ = 0;
  int depth_ = 0;
  int macro_depth_ = 0;

  struct DepthGuard {
    Interpreter& in;
    explicit DepthGuard(Interpreter& i);
    ~DepthGuard() { --in.depth_; }
  };

  void emit(std::string_view s);
  Flow exec_body(const Body& body, Scope& scope);
  Flow exec(const Stmt& s, Scope& scope);
  Flow exec_for(const Stmt& s, Scope& scope);
  void exec_set(const Stmt& s, Scope& scope);
  std::string capture(const Body& body, Scope& scope);
  Value make_macro(const Stmt& s);
  Value make_caller(const Stmt& s, Scope& scope);
  void assign_targets(const std::vector<std::string>& targets, const Value& v, Scope& scope);

  Value eval(const Expr& e, Scope& scope);
  Value eval_binary(const Expr& e, Scope& scope);
  Value eval_compare(const Expr& e, Scope& scope);
  Value eval_slice(const Expr& e, Scope& scope);
  CallArgs eval_args(const Expr& e, Scope& scope);
  Value apply_filters(const std::vector<FilterCall>& filters, Value v, Scope& scope);
  void install_globals();
};

// Python `a in b`.
bool contains(const Value& container, const Value& item);

}  // namespace ridge::chat
