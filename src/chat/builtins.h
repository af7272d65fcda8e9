#pragma once
// Jinja's built-in filters, tests and object methods (str, dict, list) as
// Python's Jinja2 defines them, over template values.
#include <string>
#include <string_view>

#include "chat/value.h"

namespace ridge::chat {

class Interpreter;

bool is_known_filter(std::string_view name);
bool is_known_test(std::string_view name);

// `value | name(args)`. Throws TemplateError for bad arguments.
Value apply_filter(Interpreter& in, std::string_view name, const Value& value, CallArgs& args);
// `value is name(args)`.
bool apply_test(Interpreter& in, std::string_view name, const Value& value, CallArgs& args);
// `obj.name` for strings, dicts and lists when `name` is one of their methods:
// a bound method, or an undefined value when there is no such method.
Value bound_method(Interpreter& in, const Value& obj, const std::string& name);

// Argument helpers shared by filters, methods and globals.
const Value* find_arg(CallArgs& args, size_t position, std::string_view keyword);

}  // namespace ridge::chat
