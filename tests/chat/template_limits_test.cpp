// Chat templates are untrusted code (BAD-INPUTS.md class 12): output size,
// loop iterations, recursion and nesting are bounded, nothing reaches the file
// system, and every failure is a clean TemplateError.
#include <gtest/gtest.h>

#include "chat/template.h"

namespace {

using nlohmann::json;
using ridge::chat::ChatTemplate;
using ridge::chat::RenderOptions;
using ridge::chat::TemplateError;
using ridge::chat::TemplateLimits;

// Parses and renders; returns the TemplateError message, or "" if it rendered.
std::string error_of(const std::string& src, TemplateLimits limits = {}, json messages = json::array()) {
  try {
    ChatTemplate::parse(src, limits).render(messages, RenderOptions{});
    return "";
  } catch (const TemplateError& e) {
    EXPECT_FALSE(e.is_raised()) << src;
    return e.what();
  }
}

void expect_error(const std::string& src, const std::string& needle, TemplateLimits limits = {}) {
  std::string msg = error_of(src, limits);
  EXPECT_NE(msg.find(needle), std::string::npos) << "template: " << src.substr(0, 120) << "\nerror: " << msg;
}

TEST(TemplateLimits, OutputSizeIsBounded) {
  TemplateLimits limits;
  limits.max_output_bytes = 10000;
  expect_error("{% for i in range(100) %}{{ 'x' * 1000 }}{% endfor %}", "output exceeds 10000 bytes", limits);
  expect_error("{{ 'x' * 20000 }}", "would exceed the output limit", limits);
  expect_error("{{ 'ab' * 9223372036854775807 }}", "would exceed the output limit", limits);
  expect_error("{{ 'x' * 5000 ~ 'y' * 5001 }}", "would exceed the output limit", limits);
  expect_error("{{ ('x' * 5000).replace('x', 'yyy') }}", "would exceed the output limit", limits);
  // Below the bound it renders.
  EXPECT_EQ(error_of("{{ 'x' * 9000 }}", limits), "");
}

TEST(TemplateLimits, DoublingStringsHitsTheBudget) {
  TemplateLimits limits;
  limits.max_output_bytes = 1 << 20;
  expect_error("{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
               "output limit", limits);
  // Many strings below the output bound still add up to the work budget.
  expect_error("{% set ns = namespace(l=[]) %}{% for i in range(100000) %}{% set ns.l = ns.l + [i] %}{% endfor %}",
               "intermediate data", limits);
}

TEST(TemplateLimits, LoopIterationsAreBounded) {
  TemplateLimits limits;
  limits.max_loop_iterations = 1000;
  expect_error("{% for i in range(100) %}{% for j in range(100) %}{% endfor %}{% endfor %}", "more than 1000 loop iterations",
               limits);
  expect_error("{% for x in range(5000)|select('odd') %}{% endfor %}", "loop iterations", limits);
  expect_error("{{ range(100000000) }}", "Range too big");
  EXPECT_EQ(error_of("{% for i in range(10) %}{% for j in range(10) %}{% endfor %}{% endfor %}", limits), "");
}

TEST(TemplateLimits, MacroRecursionIsBounded) {
  TemplateLimits limits;
  limits.max_recursion_depth = 20;
  expect_error("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "macro recursion deeper than 20", limits);
  expect_error("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "recursion");
  // A bounded recursion within the limit renders.
  EXPECT_EQ(error_of("{% macro f(n) %}{% if n %}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(15) }}", limits), "");
}

TEST(TemplateLimits, ParserNestingIsBounded) {
  expect_error("{{ " + std::string(100000, '(') + "1" + std::string(100000, ')') + " }}", "nests deeper");
  expect_error("{{ " + std::string(100000, '[') + std::string(100000, ']') + " }}", "nests deeper");
  std::string nots;
  for (int k = 0; k < 50000; ++k) nots += "not ";
  expect_error("{{ " + nots + "1 }}", "nests deeper");
  std::string ifs, ends;
  for (int k = 0; k < 5000; ++k) {
    ifs += "{% if true %}";
    ends += "{% endif %}";
  }
  expect_error(ifs + ends, "nests deeper");
  std::string minus(100000, '-');
  expect_error("{{ " + minus + "1 }}", "nests deeper");
}

TEST(TemplateLimits, EvaluationDepthIsBoundedAcrossMacros) {
  // Each macro level nests expressions; the evaluator's own bound stops it
  // even with a generous recursion limit.
  TemplateLimits limits;
  limits.max_recursion_depth = 100000;
  std::string deep = "{% macro f(n) %}{{ (((((((((((f(n + 1)))))))))))) }}{% endmacro %}{{ f(0) }}";
  expect_error(deep, "nests deeper", limits);
}

TEST(TemplateLimits, CyclesAndDeepDataEndCleanly) {
  expect_error("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns|tojson }}", "not JSON serializable");
  expect_error("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns }}", "nesting deeper");
  expect_error("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns == ns.me }}", "");
  json deep = json::parse(std::string(5000, '[') + "\"leaf\"" + std::string(5000, ']'));
  std::string msg = error_of("{{ messages|tojson }}", {}, json::array({deep}));
  EXPECT_NE(msg.find("nesting deeper"), std::string::npos) << msg;
}

TEST(TemplateLimits, UnknownFiltersTestsAndLoadingAreRefused) {
  expect_error("{{ 'x'|shell }}", "no filter named 'shell'");
  expect_error("{{ x is evil }}", "no test named 'evil'");
  expect_error("{% include '/etc/passwd' %}", "cannot load other templates");
  expect_error("{% import 'x' as y %}", "cannot load other templates");
  expect_error("{% from 'x' import y %}", "cannot load other templates");
  expect_error("{{ [1, 2]|map('shell')|list }}", "no filter named 'shell'");
  expect_error("{{ [1, 2]|select('evil')|list }}", "no test named 'evil'");
  // Python object internals are not reachable.
  EXPECT_EQ(error_of("{{ ''.__class__ }}{{ messages.__len__ }}{{ raise_exception.__globals__ }}"), "");
  expect_error("{{ ''.__class__.__mro__ }}", "has no attribute '__class__'");
}

TEST(TemplateLimits, RaiseExceptionIsMarkedRaised) {
  try {
    ChatTemplate::parse("{{ raise_exception('no system role') }}").render(json::array(), RenderOptions{});
    FAIL();
  } catch (const TemplateError& e) {
    EXPECT_TRUE(e.is_raised());
    EXPECT_STREQ(e.what(), "no system role");
  }
}

}  // namespace
