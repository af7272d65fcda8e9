#pragma once
// The syntax tree of a parsed template: expressions and statements. Nodes are
// plain data; the interpreter walks them.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/value.h"

namespace ridge::chat {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

enum class BinaryOp { Add, Sub, Mul, Div, FloorDiv, Mod, Pow, Concat };
enum class CompareOp { Eq, Ne, Lt, Le, Gt, Ge, In, NotIn };

struct Expr {
  enum class Kind {
    Literal,    // value
    Name,       // name
    ListLit,    // items
    DictLit,    // pairs
    Attr,       // a.name
    Item,       // a[b]
    Slice,      // a[b:c:d] (null parts absent)
    Call,       // a(items, kwargs)
    Filter,     // a | name(items, kwargs)
    Test,       // a is [not] name(items, kwargs)
    Neg,        // -a
    Pos,        // +a
    Not,        // not a
    Binary,     // a op b
    Compare,    // a (ops[i] items[i])...
    And,        // a and b
    Or,         // a or b
    Cond,       // a if b else c
  };
  Kind kind;
  size_t offset = 0;
  Value value;
  std::string name;
  bool negated = false;  // `is not`
  bool tuple = false;    // ListLit written as a tuple: (a, b)
  BinaryOp op = BinaryOp::Add;
  ExprPtr a, b, c;
  std::vector<ExprPtr> items;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::pair<ExprPtr, ExprPtr>> pairs;
  std::vector<CompareOp> compare_ops;
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

// A filter applied by a `{% filter %}` block or a block `{% set x | f %}`.
struct FilterCall {
  std::string name;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  size_t offset = 0;
};

struct MacroParam {
  std::string name;
  ExprPtr default_value;  // may be null
};

struct Stmt {
  enum class Kind {
    Text,         // text
    Output,       // {{ expr }}
    If,           // branches (cond, body); else_body
    For,          // targets in expr [if cond]: body; else_body
    Set,          // targets = expr
    SetAttr,      // expr(.name) = value_expr  (namespace attribute)
    SetBlock,     // targets[0] = rendered body | filters
    Macro,        // name(params): body
    CallBlock,    // call(params) expr: body
    FilterBlock,  // body | filters
    With,         // with assignments: body
    Break,
    Continue,
  };
  Kind kind;
  size_t offset = 0;
  std::string text;
  ExprPtr expr, cond, value;
  std::vector<std::string> targets;
  std::string attr;
  std::vector<std::pair<ExprPtr, Body>> branches;
  Body body, else_body;
  std::vector<MacroParam> params;
  std::vector<FilterCall> filters;
  std::vector<std::pair<std::string, ExprPtr>> assignments;  // With
};

}  // namespace ridge::chat
