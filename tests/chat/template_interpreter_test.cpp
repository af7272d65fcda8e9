// Features of the Jinja-subset interpreter, one construct at a time. Every
// expected string is what Python's Jinja2 (as transformers configures it:
// trim_blocks, lstrip_blocks, loopcontrols, json.dumps-based tojson) renders.
#include <gtest/gtest.h>

#include "chat/template.h"

namespace {

using nlohmann::json;
using ridge::chat::ChatTemplate;
using ridge::chat::RenderOptions;
using ridge::chat::TemplateError;

std::string render(std::string_view src, json vars = json::object(), json messages = json::array()) {
  RenderOptions opts;
  opts.bos_token = "<s>";
  opts.eos_token = "</s>";
  opts.extra = std::move(vars);
  opts.fixed_time = 1700000000;  // 2023-11-14 22:13:20 UTC
  return ChatTemplate::parse(src).render(messages, opts);
}

struct Case {
  const char* source;
  const char* expected;
};

void expect_all(const std::vector<Case>& cases, const json& vars = json::object()) {
  for (const auto& c : cases) {
    try {
      EXPECT_EQ(render(c.source, vars), c.expected) << "template: " << c.source;
    } catch (const TemplateError& e) {
      ADD_FAILURE() << "template: " << c.source << " threw: " << e.what();
    }
  }
}

TEST(TemplateInterpreter, LiteralsPrintLikePython) {
  expect_all({
      {"{{ 1 }}|{{ 1.5 }}|{{ 1.0 }}|{{ 'a' }}|{{ none }}|{{ true }}|{{ False }}", "1|1.5|1.0|a|None|True|False"},
      {"{{ [1, 'a', none, 2.0] }}|{{ {'k': 'v', 'n': [true]} }}|{{ missing }}|", "[1, 'a', None, 2.0]|{'k': 'v', 'n': [True]}||"},
      {"{{ 1e20 }}|{{ 0.0001 }}|{{ 0.00001 }}|{{ 1/3 }}|{{ 1e16 }}|{{ 123456789012345.0 }}",
       "1e+20|0.0001|1e-05|0.3333333333333333|1e+16|123456789012345.0"},
      {"{{ \"it's\" }}|{{ ['it\\'s', \"q\\\"\"] }}|{{ 'a\\nb' }}", "it's|[\"it's\", 'q\"']|a\nb"},
      {"{{ 'tab\\there' }}|{{ '\\u00e9\\x41' }}|{{ 'a\\qb' }}|{{ 'a' 'b' }}", "tab\there|éA|a\\qb|ab"},
      {"{{ (1, 2) }}|{{ () }}|{{ (1,) }}|{{ 1_000 }}|{{ (1, 2) == [1, 2] }}", "(1, 2)|()|(1,)|1000|False"},
  });
}

TEST(TemplateInterpreter, ArithmeticFollowsPython) {
  expect_all({
      {"{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 7 / 2 }} {{ 4 / 2 }}", "3 -4 1 2 1024 3.5 2.0"},
      {"{{ 3 * 'ab' }} {{ 'ab' * 2 }} {{ [1] * 3 }} {{ 'a' ~ 1 ~ none ~ missing }} {{ 1 + 2.5 }} {{ true + 1 }}",
       "ababab abab [1, 1, 1] a1None 3.5 2"},
      {"{{ 'a' + 'b' }} {{ [1] + [2] }} {{ -(3) }} {{ 2 ** -1 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }}", "ab [1, 2] -3 0.5 3.0 0.5"},
      {"{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 2 ** 3 ** 2 }} {{ 'x' ~ (1 + 2) }}", "7 9 64 x3"},
  });
}

TEST(TemplateInterpreter, ComparisonsAndLogic) {
  expect_all({
      {"{{ 1 == 1.0 }} {{ 'a' < 'b' }} {{ 'b' in 'abc' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 3 not in [1] }}",
       "True True True True True True"},
      {"{{ 1 < 2 < 3 }} {{ 1 < 3 < 2 }} {{ [1, 2] < [1, 3] }} {{ {'a': 1} == {'a': 1} }} {{ none == none }} {{ 1 != 1 }}",
       "True False True True True False"},
      {"[{{ 0 or 'x' }}] [{{ '' and 'y' }}] [{{ [] or none }}] [{{ 'a' if 0 else 'b' }}] [{{ not [] }}] [{{ 'a' if 0 }}]",
       "[x] [] [None] [b] [True] []"},
      {"{{ not 1 == 2 }} {{ not 'a' in 'b' }} {{ x is defined and x.y }}", "True True False"},
  });
}

TEST(TemplateInterpreter, SubscriptsAndSlicesCountCodePoints) {
  expect_all({
      {"{{ 'héllo'[::-1] }} {{ [1, 2, 3, 4][1:3] }} {{ 'abc'[-1] }} {{ [1, 2, 3][::2] }} {{ 'héllo'[1] }} [{{ 'abc'[5:] }}]",
       "olléh [2, 3] c [1, 3] é []"},
      {"{{ [1, 2, 3][-2:] }} {{ [1, 2, 3][:-1] }} {{ 'abc'[10] is defined }} {{ [1][5] is undefined }} {{ {'a': 1}['a'] }}",
       "[2, 3] [1, 2] False True 1"},
      {"{{ x.a.b }} {{ x['a']['b'] }} {{ x.l.0 }} {{ x.l[-1] }} {{ x.missing is defined }} {{ none.attr is defined }}",
       "1 1 7 9 False False"},
  },
             {{"x", {{"a", {{"b", 1}}}, {"l", {7, 8, 9}}}}});
}

TEST(TemplateInterpreter, ForLoopVariables) {
  expect_all({
      {"{% for x in ['a', 'b', 'c'] %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}"
       "{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.previtem|default('-') }}{{ loop.nextitem|default('-') }}"
       "{{ loop.cycle('o', 'e') }};{% endfor %}",
       "10TrueFalse332-bo;21FalseFalse321ace;32FalseTrue310b-o;"},
      {"{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }},{% endfor %}", "a=1,b=2,"},
      {"{% for k, v in {'a': 1, 'b': 2}|items %}{{ k }}={{ v }},{% endfor %}", "a=1,b=2,"},
      {"{% for k in {'a': 1, 'b': 2} %}{{ k }}{% endfor %}|{% for c in 'hé' %}[{{ c }}]{% endfor %}", "ab|[h][é]"},
      {"{% for x in [1, 2, 3, 4] if x is even %}{{ x }}{{ loop.length }}{{ loop.index }}{% endfor %}", "221422"},
      {"{% for x in [] %}x{% else %}empty{% endfor %}|{% for x in missing %}x{% else %}none{% endfor %}", "empty|none"},
      {"{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}{% endif %}{{ x }}{% endfor %}",
       "013"},
      {"{% for a in [1, 2] %}{% for b in 'xy' %}{{ a }}{{ b }}{{ loop.index }}{% endfor %}{{ loop.index }} {% endfor %}",
       "1x11y21 2x12y22 "},
      {"{{ range(3)|list }} {{ range(1, 7, 2)|list }} {{ range(3, 0, -1)|list }}", "[0, 1, 2] [1, 3, 5] [3, 2, 1]"},
  });
}

TEST(TemplateInterpreter, ScopesAndNamespaces) {
  expect_all({
      {"{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{{ x }}{% endfor %}{{ x }}", "21"},
      {"{% set ns = namespace(x=1, s='') %}{% for i in [1, 2] %}{% set ns.x = ns.x + i %}{% set ns.s = ns.s ~ i %}"
       "{% endfor %}{{ ns.x }} {{ ns.s }}",
       "4 12"},
      {"{% set ns = namespace() %}{% set ns.v = 'set later' %}{{ ns.v }}", "set later"},
      {"{% if true %}{% set y = 5 %}{% endif %}{{ y }}", "5"},
      {"{% set a, b = 1, 2 %}{{ a }}{{ b }}|{% set t = 1, 2 %}{{ t }}", "12|(1, 2)"},
      {"{% set b %} Hi {{ 1 }} {% endset %}[{{ b }}]|{% set u | upper %}abc{% endset %}{{ u }}", "[ Hi 1 ]|ABC"},
      {"{% filter upper %}abc{{ 'd' }}{% endfilter %}", "ABCD"},
      {"{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}[{{ a }}]", "3[]"},
      {"{% set messages = messages + [1] %}{{ messages }}", "[1]"},
  });
}

TEST(TemplateInterpreter, MacrosAndCallBlocks) {
  expect_all({
      {"{% macro greet(name, punct='!') %}Hello {{ name }}{{ punct }}{% endmacro %}{{ greet('Bob') }} {{ greet('Al', punct='?') }}",
       "Hello Bob! Hello Al?"},
      {"{% macro count(n) %}{% if n > 0 %}{{ n }}{{ count(n - 1) }}{% endif %}{% endmacro %}{{ count(3) }}", "321"},
      {"{% macro m(a, b) %}[{{ a }}|{{ b }}|{{ b is defined }}]{% endmacro %}{{ m(1) }}", "[1||False]"},
      {"{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}inner{% endcall %}",
       "<b>inner</b>"},
      {"{% macro each(xs) %}{% for x in xs %}{{ caller(x) }}{% endfor %}{% endmacro %}"
       "{% call(item) each([1, 2]) %}({{ item }}){% endcall %}",
       "(1)(2)"},
      {"{% set top = 'T' %}{% macro show() %}{{ top }}{% endmacro %}{{ show() }}", "T"},
      {"{% macro t() %}x{% endmacro %}{{ t() ~ t() }}{{ (t() + 'y')|upper }}", "xxXY"},
  });
}

TEST(TemplateInterpreter, WhitespaceControlWithTrimAndLstripBlocks) {
  expect_all({
      {"  {% if true %}\n    yes\n  {% endif %}\nend", "    yes\nend"},
      {"a  {{- 'b' -}}  c|{%- if true -%}  x  {%- endif -%}  |", "abc|x|"},
      {"a\n  {%+ if true %}b{% endif %}\nc", "a\n  bc"},
      {"x {# comment #}\ny\n{# full line #}\nz", "x y\nz"},
      {"{% raw %}{{ not rendered }} {% if %}{% endraw %}", "{{ not rendered }} {% if %}"},
      {"{% for i in [1, 2] %}\n  - {{ i }}\n{% endfor %}\n", "  - 1\n  - 2\n"},
      {"line\r\nnext{% if true %}\r\n!{% endif %}", "line\nnext!"},
      {"{{ 'a' }}\n{{ 'b' }}\n", "a\nb"},
      {"{% generation %}kept{% endgeneration %}", "kept"},
  });
}

TEST(TemplateInterpreter, StringMethods) {
  expect_all({
      {"[{{ '  a b  '.strip() }}] {{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'a b c'.split(' ', 1) }}",
       "[a b] ['a', 'b', '', 'c'] ['a', 'b'] ['a', 'b c']"},
      {"{{ 'abc'.startswith('ab') }} {{ 'abc'.endswith(('x', 'c')) }} {{ 'Hello World'.lower() }} {{ 'hello wORLD'.title() }}",
       "True True hello world Hello World"},
      {"{{ 'x-y-z'.replace('-', '+') }} {{ 'x-y-z'.replace('-', '', 1) }} {{ '{} and {}'.format(1, 'b') }} "
       "{{ '{0}{name}'.format('a', name='n') }}",
       "x+y+z xy-z 1 and b an"},
      {"{{ 'xxaxx'.strip('x') }} {{ 'abc'.upper() }} {{ 'héllo'.find('l') }} {{ 'abc'.rstrip('c') }} {{ '\\n\\nx\\n'.lstrip('\\n') }}",
       "a ABC 2 ab x\n"},
      {"{{ 'a</think>b</think>c'.split('</think>')[-1] }} {{ ','.join(['a', 'b']) }} {{ 'aaa'.count('a') }} {{ 'ab'.capitalize() }}",
       "c a,b 3 Ab"},
      {"{{ '42'.isdigit() }} {{ 'ab'.isalpha() }} {{ 'a\\nb'.splitlines() }} {{ 'x.txt'.removesuffix('.txt') }}",
       "True True ['a', 'b'] x"},
  });
}

TEST(TemplateInterpreter, DictAndListMethods) {
  expect_all({
      {"{{ d.get('a') }} {{ d.get('zz') }} {{ d.get('zz', 'dflt') }} {{ d.keys()|list }} {{ d.values()|list }} {{ d.items()|list }}",
       "1 None dflt ['a', 'b'] [1, 2] [('a', 1), ('b', 2)]"},
      {"{{ [1, 2, 2].count(2) }} {{ ['a', 'b'].index('b') }} {{ d.items is defined }}", "2 1 True"},
  },
             {{"d", {{"a", 1}, {"b", 2}}}});
}

TEST(TemplateInterpreter, Filters) {
  expect_all({
      {"[{{ '  x  '|trim }}] {{ 'hello wORLD-x'|title }} {{ 'hELLO'|capitalize }} {{ [1, 2, 3]|length }} {{ 'héllo'|length }} {{ d|count }}",
       "[x] Hello World-X Hello 3 5 2"},
      {"{{ [3, 1, 2]|sort|join(',') }} {{ [1, 2]|first }}{{ [1, 2]|last }} {{ 'abc'|first }} {{ missing|default('d') }} "
       "{{ ''|default('e', true) }} {{ none|default('f') }}",
       "1,2,3 12 a d e None"},
      {"{{ '42'|int + 1 }} {{ '3.5'|float }} {{ 'x'|int }} {{ '3.9'|int }} {{ 2.7|int }} {{ 'x'|float(1.5) }} {{ ' 0x1A'|int(0, 16) }}",
       "43 3.5 0 3 2 1.5 26"},
      {"{{ ['a', 'A', 'b']|unique|list }} {{ 'a\\nb\\n\\nc'|indent(2) }} {{ 'a\\nb'|indent(2, true) }} {{ 'a\\n\\nb'|indent('>', blank=true) }}",
       "['a', 'b'] a\n  b\n\n  c   a\n  b a\n>\n>b"},
      {"{{ users|map(attribute='name')|list }} {{ users|selectattr('admin')|map(attribute='name')|join }} "
       "{{ users|rejectattr('admin')|list|length }} {{ users|selectattr('name', 'equalto', 'bo')|list|length }}",
       "['al', 'bo'] al 1 1"},
      {"{{ [1, 2, 3, 4]|select('odd')|list }} {{ [1, 2, 3]|reject('equalto', 2)|list }} {{ [0, 1, '']|select|list }} "
       "{{ ['x', 'y']|map('upper')|join }}",
       "[1, 3] [1, 3] [1] XY"},
      {"{{ {'b': 1, 'a': 2}|dictsort }} {{ {'a': 1}|items|list }} {{ 3.14159|round(2) }} {{ 2.5|round }} {{ 2.4|round(0, 'ceil') }}",
       "[('a', 2), ('b', 1)] [('a', 1)] 3.14 2.0 3.0"},
      {"{{ [1, 2, 3]|sum }} {{ -3|abs }} {{ '<a&\"b\\'>'|e }} {{ 'a b c'|wordcount }} {{ [1, 'a']|string }} {{ 'x'|safe }}",
       "6 3 &lt;a&amp;&#34;b&#39;&gt; 3 [1, 'a'] x"},
      {"{{ [3, 1, 2]|max }} {{ ['b', 'A']|min }} {{ [1, 2]|reverse|list }} {{ 'abc'|reverse }} {{ ['B', 'a']|sort }} "
       "{{ users|sort(attribute='name', reverse=true)|map(attribute='name')|join }}",
       "3 A [2, 1] cba ['a', 'B'] boal"},
      {"{{ x|attr('y') }} {{ 'ab'|center(6) }}| {{ 'abc'|upper|lower }} {{ none|string }} {{ missing|string }}|{{ missing|list }}",
       "   ab  | abc None |[]"},
  },
             {{"d", {{"a", 1}, {"b", 2}}},
              {"users", json::array({{{"name", "al"}, {"admin", true}}, {{"name", "bo"}, {"admin", false}}})},
              {"x", {{"y", 1}}}});
}

TEST(TemplateInterpreter, ToJsonMatchesPythonJsonDumps) {
  expect_all({
      {"{{ {'a': [1, 2.5, 'é', none, true]}|tojson }}", "{\"a\": [1, 2.5, \"é\", null, true]}"},
      {"{{ {'a': [1, {}], 'b': []}|tojson(indent=2) }}", "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": []\n}"},
      {"{{ 'é😀'|tojson(ensure_ascii=true) }} {{ {'b': 1, 'a': 2}|tojson(sort_keys=true) }}",
       "\"\\u00e9\\ud83d\\ude00\" {\"a\": 2, \"b\": 1}"},
      {"{{ \"a\\\"b\\\\c\\n\\u0001\\u007f</\"|tojson }} {{ 1.0|tojson }} {{ 1e100|tojson }} {{ [1, 2]|tojson(separators=(',', ':')) }}",
       "\"a\\\"b\\\\c\\n\\u0001\x7f</\" 1.0 1e+100 [1,2]"},
      {"{{ {'x': 1}|tojson(indent='\\t') }}", "{\n\t\"x\": 1\n}"},
  });
}

TEST(TemplateInterpreter, Tests) {
  expect_all({
      {"{{ x is defined }} {{ none is none }} {{ 'a' is string }} {{ 1 is number }} {{ {} is mapping }} {{ [] is iterable }} "
       "{{ 'a' is sequence }} {{ true is boolean }}",
       "False True True True True True True True"},
      {"{{ 1 is integer }} {{ 1.0 is float }} {{ true is integer }} {{ 3 is odd }} {{ 4 is divisibleby 2 }} {{ 'a' is in 'abc' }} "
       "{{ x is undefined }} {{ false is false }} {{ 1 is eq 1 }} {{ 'abc' is lower }} {{ 2 is not none }}",
       "True True False True True True True True True True True"},
      {"{{ 'a' is equalto('a') }} {{ 1 is sameas 1 }} {{ none is sameas none }} {{ raise_exception is callable }} {{ 5 is gt 3 }}",
       "True True True True True"},
  });
}

TEST(TemplateInterpreter, RaiseExceptionCarriesTheTemplatesText) {
  try {
    render("before {{ raise_exception('Roles must alternate: ' ~ 3) }}");
    FAIL() << "no exception";
  } catch (const TemplateError& e) {
    EXPECT_TRUE(e.is_raised());
    EXPECT_STREQ(e.what(), "Roles must alternate: 3");
  }
}

TEST(TemplateInterpreter, StrftimeNowUsesTheFixedTime) {
  EXPECT_EQ(render("{{ strftime_now('%d %b %Y %H:%M') }}|{{ strftime_now('%Y-%m-%d') }}|{{ strftime_now is defined }}"),
            "14 Nov 2023 22:13|2023-11-14|True");
}

TEST(TemplateInterpreter, RenderVariablesMatchTransformers) {
  RenderOptions opts;
  opts.add_generation_prompt = false;
  opts.bos_token = "<B>";
  opts.eos_token = "<E>";
  auto t = ChatTemplate::parse(
      "{{ bos_token }}{{ eos_token }}|{{ add_generation_prompt }}|{{ tools is none }}|{{ documents is none }}|"
      "{{ messages|length }}|{{ enable_thinking }}");
  EXPECT_EQ(t.render(json::array({{{"role", "user"}, {"content", "x"}}}), opts), "<B><E>|False|True|True|1|");
  opts.tools = json::array({{{"type", "function"}}});
  opts.extra = {{"enable_thinking", false}};
  EXPECT_EQ(t.render(json::array(), opts), "<B><E>|False|False|True|0|False");
}

TEST(TemplateInterpreter, RuntimeErrorsAreTemplateErrors) {
  struct Bad {
    const char* source;
    const char* message;  // substring of the error
  };
  for (const Bad& b : std::vector<Bad>{
           {"{{ x.y }}", "'x' is undefined"},
           {"{{ d.missing.deeper }}", "'dict object' has no attribute 'missing'"},
           {"{{ 1 + 'a' }}", "unsupported operand"},
           {"{{ 'a' + 1 }}", "can only concatenate str (not \"int\") to str"},
           {"{{ 'a' + none }}", "can only concatenate str"},
           {"{{ missing + 'a' }}", "'missing' is undefined"},
           {"{{ 1 / 0 }}", "division by zero"},
           {"{{ 1 < 'a' }}", "not supported between"},
           {"{% for x in 5 %}{% endfor %}", "not iterable"},
           {"{{ missing() }}", "'missing' is undefined"},
           {"{{ [1].append(2) }}", "unsafe"},
           {"{{ d.pop('a') }}", "unsafe"},
           {"{% set s = 'x' %}{% set s.attr = 1 %}", "non-namespace"},
           {"{{ 9223372036854775807 + 1 }}", "overflow"},
           {"{{ {'a': 1}|tojson(indent=1000) }}", "indent"},
           {"{{ missing|tojson }}", "not JSON serializable"},
       }) {
    try {
      render(b.source, {{"d", {{"a", 1}}}});
      ADD_FAILURE() << b.source << ": no error";
    } catch (const TemplateError& e) {
      EXPECT_FALSE(e.is_raised()) << b.source;
      EXPECT_NE(std::string(e.what()).find(b.message), std::string::npos) << b.source << ": " << e.what();
    }
  }
}

TEST(TemplateInterpreter, SyntaxErrorsNameLineAndColumn) {
  struct Bad {
    const char* source;
    const char* message;
  };
  for (const Bad& b : std::vector<Bad>{
           {"ok\n{% if %}", "line 2, column 7"},
           {"{% for x in y %}never closed", "unexpected end of template, expected 'else'"},
           {"{{ x | nofilter }}", "no filter named 'nofilter'"},
           {"{% if x is notatest %}{% endif %}", "no test named 'notatest'"},
           {"{% include 'other.jinja' %}", "cannot load other templates"},
           {"{% extends 'base' %}", "not supported"},
           {"{% break %}", "outside of a loop"},
           {"{% endif %}", "unknown tag 'endif'"},
           {"{{ 'unterminated }}", "unterminated string"},
           {"{{ 1 + }}", "unexpected '}}'"},
           {"{# no end", "missing end of comment"},
           {"{% frobnicate %}", "unknown tag 'frobnicate'"},
           {"{{ x ]] }}", "unexpected ']'"},
           {"{% for x in y recursive %}{% endfor %}", "recursive"},
       }) {
    try {
      ChatTemplate::parse(b.source);
      ADD_FAILURE() << b.source << ": parsed";
    } catch (const TemplateError& e) {
      EXPECT_NE(std::string(e.what()).find(b.message), std::string::npos) << b.source << ": " << e.what();
      EXPECT_NE(std::string(e.what()).find("line "), std::string::npos) << e.what();
    }
  }
}

TEST(TemplateInterpreter, InvalidUtf8PassesThroughUnchanged) {
  std::string bad = "a\xff\xfe" "b\xc3";
  json msgs = json::array({{{"role", "user"}, {"content", json::binary_t()}}});  // placeholder, replaced below
  RenderOptions opts;
  opts.extra = {{"s", "ok"}};
  auto t = ChatTemplate::parse("[" + bad + "]{{ s }}");
  EXPECT_EQ(t.render(json::array(), opts), "[" + bad + "]ok");
}

}  // namespace
