#include "chat/parser.h"

#include <initializer_list>

#include "chat/builtins.h"
#include "chat/template.h"

namespace ridge::chat {

namespace {

class Parser {
 public:
  Parser(std::string_view src, const std::vector<Token>& toks) : src_(src), toks_(toks) {}

  Body parse_all() {
    Body body = parse_body({});
    if (cur().type != TokenType::Eof) fail(cur().offset, "unexpected tag");
    return body;
  }

 private:
  std::string_view src_;
  const std::vector<Token>& toks_;
  size_t i_ = 0;
  int depth_ = 0;
  int loop_depth_ = 0;

  struct DepthGuard {
    Parser& p;
    DepthGuard(Parser& parser, size_t offset) : p(parser) {
      if (++p.depth_ > kMaxParseDepth) p.fail(offset, "template nests deeper than " + std::to_string(kMaxParseDepth) + " levels");
    }
    ~DepthGuard() { --p.depth_; }
  };

  [[noreturn]] void fail(size_t offset, const std::string& what) const {
    throw TemplateError("template syntax error at " + describe_position(src_, offset) + ": " + what);
  }

  const Token& cur() const { return toks_[i_]; }
  const Token& peek(size_t k = 1) const { return toks_[std::min(i_ + k, toks_.size() - 1)]; }
  void advance() {
    if (i_ + 1 < toks_.size()) ++i_;
  }
  bool is_op(const char* op) const { return cur().type == TokenType::Op && cur().text == op; }
  bool is_name(const char* name) const { return cur().type == TokenType::Name && cur().text == name; }
  static std::string describe(const Token& t) {
    switch (t.type) {
      case TokenType::Text: return "text";
      case TokenType::BlockBegin: return "'{%'";
      case TokenType::BlockEnd: return "'%}'";
      case TokenType::VarBegin: return "'{{'";
      case TokenType::VarEnd: return "'}}'";
      case TokenType::Name: return "'" + t.text + "'";
      case TokenType::String: return "string literal";
      case TokenType::Int:
      case TokenType::Float: return "number " + t.text;
      case TokenType::Op: return "'" + t.text + "'";
      case TokenType::Eof: return "end of template";
    }
    return "token";
  }
  void expect_op(const char* op) {
    if (!is_op(op)) fail(cur().offset, std::string("expected '") + op + "', got " + describe(cur()));
    advance();
  }
  std::string expect_name() {
    if (cur().type != TokenType::Name) fail(cur().offset, "expected a name, got " + describe(cur()));
    std::string n = cur().text;
    advance();
    return n;
  }
  void expect_block_end() {
    if (cur().type != TokenType::BlockEnd) fail(cur().offset, "expected end of block tag, got " + describe(cur()));
    advance();
  }

  ExprPtr node(Expr::Kind k, size_t offset) {
    auto e = std::make_unique<Expr>();
    e->kind = k;
    e->offset = offset;
    return e;
  }

  // ---- statements ----

  Body parse_body(std::initializer_list<const char*> end_tags) {
    DepthGuard guard(*this, cur().offset);
    Body body;
    while (true) {
      const Token& t = cur();
      if (t.type == TokenType::Eof) {
        if (end_tags.size() != 0)
          fail(t.offset, std::string("unexpected end of template, expected '") + *end_tags.begin() + "'");
        return body;
      }
      if (t.type == TokenType::Text) {
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::Text;
        s->offset = t.offset;
        s->text = t.text;
        body.push_back(std::move(s));
        advance();
      } else if (t.type == TokenType::VarBegin) {
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::Output;
        s->offset = t.offset;
        advance();
        s->expr = parse_expression();
        if (cur().type != TokenType::VarEnd) fail(cur().offset, "expected '}}', got " + describe(cur()));
        advance();
        body.push_back(std::move(s));
      } else if (t.type == TokenType::BlockBegin) {
        const Token& name = peek();
        if (name.type != TokenType::Name) fail(name.offset, "expected a statement name, got " + describe(name));
        for (const char* end : end_tags)
          if (name.text == end) return body;
        advance();
        parse_statement(body);
      } else {
        fail(t.offset, "unexpected " + describe(t));
      }
    }
  }

  // Consumes `{% name %}` for an end tag.
  void expect_end_tag(const char* name) {
    if (cur().type != TokenType::BlockBegin || !(peek().type == TokenType::Name && peek().text == name))
      fail(cur().offset, std::string("expected '") + name + "'");
    advance();
    advance();
    expect_block_end();
  }

  void parse_statement(Body& out) {
    size_t offset = cur().offset;
    std::string tag = expect_name();
    auto s = std::make_unique<Stmt>();
    s->offset = offset;
    if (tag == "if") {
      s->kind = Stmt::Kind::If;
      ExprPtr cond = parse_expression();
      expect_block_end();
      Body b = parse_body({"elif", "else", "endif"});
      s->branches.emplace_back(std::move(cond), std::move(b));
      while (true) {
        advance();  // '{%'
        std::string which = expect_name();
        if (which == "elif") {
          ExprPtr c = parse_expression();
          expect_block_end();
          Body eb = parse_body({"elif", "else", "endif"});
          s->branches.emplace_back(std::move(c), std::move(eb));
        } else if (which == "else") {
          expect_block_end();
          s->else_body = parse_body({"endif"});
          expect_end_tag("endif");
          break;
        } else {
          expect_block_end();
          break;
        }
      }
    } else if (tag == "for") {
      s->kind = Stmt::Kind::For;
      s->targets = parse_targets();
      if (!is_name("in")) fail(cur().offset, "expected 'in' in for loop, got " + describe(cur()));
      advance();
      s->expr = parse_or();
      if (is_name("if")) {
        advance();
        s->cond = parse_expression();
      }
      if (is_name("recursive")) fail(cur().offset, "recursive for loops are not supported");
      expect_block_end();
      ++loop_depth_;
      s->body = parse_body({"else", "endfor"});
      --loop_depth_;
      if (peek().text == "else") {
        advance();
        advance();
        expect_block_end();
        s->else_body = parse_body({"endfor"});
      }
      expect_end_tag("endfor");
    } else if (tag == "set") {
      std::string first = expect_name();
      if (is_op(".")) {
        advance();
        s->kind = Stmt::Kind::SetAttr;
        s->targets.push_back(first);
        s->attr = expect_name();
        expect_op("=");
        s->value = parse_tuple_expression();
        expect_block_end();
      } else {
        s->targets.push_back(first);
        while (is_op(",")) {
          advance();
          s->targets.push_back(expect_name());
        }
        if (is_op("=")) {
          advance();
          s->kind = Stmt::Kind::Set;
          s->value = parse_tuple_expression();
          expect_block_end();
        } else {
          if (s->targets.size() != 1) fail(cur().offset, "block set takes one name");
          s->kind = Stmt::Kind::SetBlock;
          while (is_op("|")) {
            advance();
            s->filters.push_back(parse_filter_call());
          }
          expect_block_end();
          s->body = parse_body({"endset"});
          expect_end_tag("endset");
        }
      }
    } else if (tag == "macro") {
      s->kind = Stmt::Kind::Macro;
      s->attr = expect_name();
      s->params = parse_params();
      expect_block_end();
      int saved = loop_depth_;
      loop_depth_ = 0;
      s->body = parse_body({"endmacro"});
      loop_depth_ = saved;
      expect_end_tag("endmacro");
    } else if (tag == "call") {
      s->kind = Stmt::Kind::CallBlock;
      if (is_op("(")) s->params = parse_params();
      s->expr = parse_expression();
      if (s->expr->kind != Expr::Kind::Call) fail(s->expr->offset, "call block needs a macro call");
      expect_block_end();
      int saved = loop_depth_;
      loop_depth_ = 0;
      s->body = parse_body({"endcall"});
      loop_depth_ = saved;
      expect_end_tag("endcall");
    } else if (tag == "filter") {
      s->kind = Stmt::Kind::FilterBlock;
      s->filters.push_back(parse_filter_call());
      while (is_op("|")) {
        advance();
        s->filters.push_back(parse_filter_call());
      }
      expect_block_end();
      s->body = parse_body({"endfilter"});
      expect_end_tag("endfilter");
    } else if (tag == "with") {
      s->kind = Stmt::Kind::With;
      while (cur().type != TokenType::BlockEnd) {
        if (!s->assignments.empty()) expect_op(",");
        std::string n = expect_name();
        expect_op("=");
        s->assignments.emplace_back(n, parse_expression());
      }
      expect_block_end();
      s->body = parse_body({"endwith"});
      expect_end_tag("endwith");
    } else if (tag == "generation") {
      // transformers' assistant-mask extension: renders its body unchanged.
      s->kind = Stmt::Kind::With;
      expect_block_end();
      s->body = parse_body({"endgeneration"});
      expect_end_tag("endgeneration");
    } else if (tag == "break" || tag == "continue") {
      if (loop_depth_ == 0) fail(offset, "'" + tag + "' outside of a loop");
      s->kind = tag == "break" ? Stmt::Kind::Break : Stmt::Kind::Continue;
      expect_block_end();
    } else if (tag == "include" || tag == "extends" || tag == "import" || tag == "from" || tag == "block") {
      fail(offset, "'" + tag + "' is not supported: chat templates cannot load other templates");
    } else {
      fail(offset, "unknown tag '" + tag + "'");
    }
    out.push_back(std::move(s));
  }

  std::vector<std::string> parse_targets() {
    std::vector<std::string> names;
    bool paren = is_op("(");
    if (paren) advance();
    names.push_back(expect_name());
    while (is_op(",")) {
      advance();
      if (cur().type != TokenType::Name || cur().text == "in") break;
      names.push_back(expect_name());
    }
    if (paren) expect_op(")");
    return names;
  }

  std::vector<MacroParam> parse_params() {
    std::vector<MacroParam> params;
    expect_op("(");
    while (!is_op(")")) {
      if (!params.empty()) expect_op(",");
      if (is_op(")")) break;
      MacroParam p;
      p.name = expect_name();
      if (is_op("=")) {
        advance();
        p.default_value = parse_expression();
      }
      params.push_back(std::move(p));
    }
    advance();
    return params;
  }

  FilterCall parse_filter_call() {
    FilterCall f;
    f.offset = cur().offset;
    f.name = expect_name();
    if (!is_known_filter(f.name)) fail(f.offset, "no filter named '" + f.name + "'");
    if (is_op("(")) parse_call_args(f.args, f.kwargs);
    return f;
  }

  // ---- expressions ----

  // `a, b` without brackets in `set` makes a tuple.
  ExprPtr parse_tuple_expression() {
    size_t offset = cur().offset;
    ExprPtr first = parse_expression();
    if (!is_op(",")) return first;
    auto list = node(Expr::Kind::ListLit, offset);
    list->tuple = true;
    list->items.push_back(std::move(first));
    while (is_op(",")) {
      advance();
      if (cur().type == TokenType::BlockEnd) break;
      list->items.push_back(parse_expression());
    }
    return list;
  }

  ExprPtr parse_expression() {
    DepthGuard guard(*this, cur().offset);
    ExprPtr e = parse_or();
    while (is_name("if")) {
      size_t offset = cur().offset;
      advance();
      auto c = node(Expr::Kind::Cond, offset);
      c->b = parse_or();
      if (is_name("else")) {
        advance();
        c->c = parse_expression();
      }
      c->a = std::move(e);
      e = std::move(c);
    }
    return e;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (is_name("or")) {
      auto n = node(Expr::Kind::Or, cur().offset);
      advance();
      n->a = std::move(left);
      n->b = parse_and();
      left = std::move(n);
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (is_name("and")) {
      auto n = node(Expr::Kind::And, cur().offset);
      advance();
      n->a = std::move(left);
      n->b = parse_not();
      left = std::move(n);
    }
    return left;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      DepthGuard guard(*this, cur().offset);
      auto n = node(Expr::Kind::Not, cur().offset);
      advance();
      n->a = parse_not();
      return n;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    size_t offset = cur().offset;
    ExprPtr first = parse_math1();
    ExprPtr cmp;
    while (true) {
      CompareOp op;
      if (cur().type == TokenType::Op && (cur().text == "==" || cur().text == "!=" || cur().text == "<" ||
                                          cur().text == "<=" || cur().text == ">" || cur().text == ">=")) {
        const std::string& t = cur().text;
        op = t == "==" ? CompareOp::Eq : t == "!=" ? CompareOp::Ne : t == "<" ? CompareOp::Lt
           : t == "<=" ? CompareOp::Le : t == ">" ? CompareOp::Gt : CompareOp::Ge;
        advance();
      } else if (is_name("in")) {
        op = CompareOp::In;
        advance();
      } else if (is_name("not") && peek().type == TokenType::Name && peek().text == "in") {
        op = CompareOp::NotIn;
        advance();
        advance();
      } else {
        break;
      }
      if (!cmp) {
        cmp = node(Expr::Kind::Compare, offset);
        cmp->a = std::move(first);
      }
      cmp->compare_ops.push_back(op);
      cmp->items.push_back(parse_math1());
    }
    return cmp ? std::move(cmp) : std::move(first);
  }

  ExprPtr binary(BinaryOp op, ExprPtr a, ExprPtr b, size_t offset) {
    auto n = node(Expr::Kind::Binary, offset);
    n->op = op;
    n->a = std::move(a);
    n->b = std::move(b);
    return n;
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (is_op("+") || is_op("-")) {
      BinaryOp op = is_op("+") ? BinaryOp::Add : BinaryOp::Sub;
      size_t offset = cur().offset;
      advance();
      left = binary(op, std::move(left), parse_concat(), offset);
    }
    return left;
  }

  ExprPtr parse_concat() {
    ExprPtr left = parse_math2();
    while (is_op("~")) {
      size_t offset = cur().offset;
      advance();
      left = binary(BinaryOp::Concat, std::move(left), parse_math2(), offset);
    }
    return left;
  }

  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      BinaryOp op = is_op("*") ? BinaryOp::Mul : is_op("/") ? BinaryOp::Div : is_op("//") ? BinaryOp::FloorDiv : BinaryOp::Mod;
      size_t offset = cur().offset;
      advance();
      left = binary(op, std::move(left), parse_pow(), offset);
    }
    return left;
  }

  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    while (is_op("**")) {
      size_t offset = cur().offset;
      advance();
      left = binary(BinaryOp::Pow, std::move(left), parse_unary(true), offset);
    }
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    DepthGuard guard(*this, cur().offset);
    ExprPtr n;
    if (is_op("-") || is_op("+")) {
      n = node(is_op("-") ? Expr::Kind::Neg : Expr::Kind::Pos, cur().offset);
      advance();
      n->a = parse_unary(false);
    } else {
      n = parse_primary();
    }
    n = parse_postfix(std::move(n));
    if (with_filter) n = parse_filter_expr(std::move(n));
    return n;
  }

  ExprPtr parse_primary() {
    const Token& t = cur();
    size_t offset = t.offset;
    switch (t.type) {
      case TokenType::Name: {
        auto n = node(Expr::Kind::Literal, offset);
        if (t.text == "true" || t.text == "True") {
          n->value = Value::boolean(true);
        } else if (t.text == "false" || t.text == "False") {
          n->value = Value::boolean(false);
        } else if (t.text == "none" || t.text == "None") {
          n->value = Value::none();
        } else {
          n->kind = Expr::Kind::Name;
          n->name = t.text;
        }
        advance();
        return n;
      }
      case TokenType::String: {
        std::string s = t.text;
        advance();
        while (cur().type == TokenType::String) {
          s += cur().text;
          advance();
        }
        auto n = node(Expr::Kind::Literal, offset);
        n->value = Value::string(std::move(s));
        return n;
      }
      case TokenType::Int: {
        auto n = node(Expr::Kind::Literal, offset);
        n->value = Value::integer(t.int_value);
        advance();
        return n;
      }
      case TokenType::Float: {
        auto n = node(Expr::Kind::Literal, offset);
        n->value = Value::floating(t.float_value);
        advance();
        return n;
      }
      case TokenType::Op:
        if (t.text == "(") {
          advance();
          if (is_op(")")) {
            advance();
            auto empty = node(Expr::Kind::ListLit, offset);
            empty->tuple = true;
            return empty;
          }
          ExprPtr e = parse_expression();
          if (is_op(",")) {
            auto list = node(Expr::Kind::ListLit, offset);
            list->tuple = true;
            list->items.push_back(std::move(e));
            while (is_op(",")) {
              advance();
              if (is_op(")")) break;
              list->items.push_back(parse_expression());
            }
            e = std::move(list);
          }
          expect_op(")");
          return e;
        }
        if (t.text == "[") {
          advance();
          auto list = node(Expr::Kind::ListLit, offset);
          while (!is_op("]")) {
            if (!list->items.empty()) {
              expect_op(",");
              if (is_op("]")) break;
            }
            list->items.push_back(parse_expression());
          }
          advance();
          return list;
        }
        if (t.text == "{") {
          advance();
          auto dict = node(Expr::Kind::DictLit, offset);
          while (!is_op("}")) {
            if (!dict->pairs.empty()) {
              expect_op(",");
              if (is_op("}")) break;
            }
            ExprPtr k = parse_expression();
            expect_op(":");
            ExprPtr v = parse_expression();
            dict->pairs.emplace_back(std::move(k), std::move(v));
          }
          advance();
          return dict;
        }
        break;
      default:
        break;
    }
    fail(offset, "unexpected " + describe(t));
  }

  ExprPtr parse_postfix(ExprPtr n) {
    while (true) {
      if (is_op(".")) {
        size_t offset = cur().offset;
        advance();
        if (cur().type == TokenType::Name) {
          auto a = node(Expr::Kind::Attr, offset);
          a->name = cur().text;
          a->a = std::move(n);
          advance();
          n = std::move(a);
        } else if (cur().type == TokenType::Int) {
          auto item = node(Expr::Kind::Item, offset);
          item->a = std::move(n);
          item->b = node(Expr::Kind::Literal, offset);
          item->b->value = Value::integer(cur().int_value);
          advance();
          n = std::move(item);
        } else {
          fail(cur().offset, "expected an attribute name after '.', got " + describe(cur()));
        }
      } else if (is_op("[")) {
        n = parse_subscript(std::move(n));
      } else if (is_op("(")) {
        n = parse_call(std::move(n));
      } else {
        return n;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr target) {
    size_t offset = cur().offset;
    advance();  // '['
    ExprPtr parts[3];
    int colons = 0;
    bool any = false;
    while (!is_op("]")) {
      if (is_op(":")) {
        if (++colons > 2) fail(cur().offset, "too many ':' in slice");
        advance();
        continue;
      }
      if (parts[colons]) fail(cur().offset, "expected ':' or ']' in subscript");
      parts[colons] = parse_expression();
      any = true;
    }
    advance();
    if (colons == 0) {
      if (!any) fail(offset, "empty subscript");
      auto item = node(Expr::Kind::Item, offset);
      item->a = std::move(target);
      item->b = std::move(parts[0]);
      return item;
    }
    auto slice = node(Expr::Kind::Slice, offset);
    slice->a = std::move(target);
    slice->items.resize(3);
    for (int k = 0; k < 3; ++k) slice->items[k] = std::move(parts[k]);
    return slice;
  }

  void parse_call_args(std::vector<ExprPtr>& args, std::vector<std::pair<std::string, ExprPtr>>& kwargs) {
    expect_op("(");
    bool first = true;
    while (!is_op(")")) {
      if (!first) {
        expect_op(",");
        if (is_op(")")) break;
      }
      first = false;
      if (is_op("*") || is_op("**")) fail(cur().offset, "*args and **kwargs in calls are not supported");
      if (cur().type == TokenType::Name && peek().type == TokenType::Op && peek().text == "=") {
        std::string k = cur().text;
        advance();
        advance();
        kwargs.emplace_back(k, parse_expression());
      } else {
        if (!kwargs.empty()) fail(cur().offset, "positional argument after keyword argument");
        args.push_back(parse_expression());
      }
    }
    advance();
  }

  ExprPtr parse_call(ExprPtr callee) {
    auto call = node(Expr::Kind::Call, cur().offset);
    call->a = std::move(callee);
    parse_call_args(call->items, call->kwargs);
    return call;
  }

  ExprPtr parse_filter_expr(ExprPtr n) {
    while (true) {
      if (is_op("|")) {
        advance();
        auto f = node(Expr::Kind::Filter, cur().offset);
        f->name = expect_name();
        if (!is_known_filter(f->name)) fail(f->offset, "no filter named '" + f->name + "'");
        if (is_op("(")) parse_call_args(f->items, f->kwargs);
        f->a = std::move(n);
        n = std::move(f);
      } else if (is_name("is")) {
        advance();
        auto t = node(Expr::Kind::Test, cur().offset);
        if (is_name("not")) {
          t->negated = true;
          advance();
        }
        t->name = expect_name();
        if (!is_known_test(t->name)) fail(t->offset, "no test named '" + t->name + "'");
        if (is_op("(")) {
          parse_call_args(t->items, t->kwargs);
        } else if ((cur().type == TokenType::Name || cur().type == TokenType::String || cur().type == TokenType::Int ||
                    cur().type == TokenType::Float || is_op("[") || is_op("{")) &&
                   !is_name("else") && !is_name("or") && !is_name("and")) {
          if (is_name("is")) fail(cur().offset, "tests cannot be chained with 'is'");
          ExprPtr arg = parse_primary();
          t->items.push_back(parse_postfix(std::move(arg)));
        }
        t->a = std::move(n);
        n = std::move(t);
      } else if (is_op("(")) {
        n = parse_call(std::move(n));
      } else {
        return n;
      }
    }
  }
};

}  // namespace

Body parse_template_tokens(std::string_view source, const std::vector<Token>& tokens) {
  return Parser(source, tokens).parse_all();
}

}  // namespace ridge::chat
