// Renders a parsed template the way @huggingface/jinja's runtime.ts does: the same value types
// (IntegerValue/FloatValue over doubles, tuples and keyword-argument objects that refuse JSON),
// JavaScript `==` and printing, dynamic scoping of macros, and the same filters, tests and methods.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <optional>

#include "chat/jinja.h"
#include "chat/jinja_internal.h"
#include "util/error.h"

namespace weblm::jinja::detail {
namespace {

// A runtime error; `line` is filled in by the innermost node being evaluated.
struct RenderError {
  std::string message;
  uint32_t line = 0;
};
// {% break %} / {% continue %}: they unwind through macro calls up to the nearest loop, as in JS.
struct LoopSignal {
  bool is_break;
  uint32_t line;
};

[[noreturn]] void error(std::string message) { throw RenderError{std::move(message)}; }

// ---- Values ----

enum class Kind : uint8_t { Undefined, Null, Bool, Int, Float, String, List, Dict, Function };
enum class DictKind : uint8_t { Plain, Kwargs, Namespace };

struct Heap {
  virtual ~Heap() = default;
};
struct List;
struct Dict;
struct Function;

struct Value {
  Kind kind = Kind::Undefined;
  double number = 0;  // Bool (0 or 1), Int and Float: every number is a JS double
  std::shared_ptr<Heap> heap;

  static Value of(Kind k, double x) { return Value{k, x, nullptr}; }
  static Value null() { return of(Kind::Null, 0); }
  static Value boolean(bool b) { return of(Kind::Bool, b ? 1.0 : 0.0); }
  static Value integer(double x) { return of(Kind::Int, x); }
  static Value floating(double x) { return of(Kind::Float, x); }
  // A JS number converted back to a runtime value: integral numbers become IntegerValue.
  static Value number_of(double x) { return std::isfinite(x) && x == std::floor(x) ? integer(x) : floating(x); }

  bool is(Kind k) const { return kind == k; }
  bool is_number() const { return kind == Kind::Int || kind == Kind::Float; }
  bool is_numeric_like() const { return is_number() || kind == Kind::Bool; }
  bool truth() const { return number != 0; }  // Bool payload
  const std::string& str() const;
  List& list() const;
  Dict& dict() const;
  const Function& fn() const;
  bool is_tuple() const;
  bool is_array() const { return kind == Kind::List; }  // ArrayValue, tuples included
  bool is_plain_array() const { return is_array() && !is_tuple(); }
  bool is_mapping() const;  // ObjectValue: dicts and keyword arguments, not namespaces
  bool is_namespace() const;
  bool is_kwargs() const;
};

struct StringBox : Heap {
  explicit StringBox(std::string v) : s(std::move(v)) {}
  std::string s;
};
struct List : Heap {
  std::vector<Value> items;
  bool tuple = false;
  int depth = 1;
};
struct Dict : Heap {
  DictKind kind = DictKind::Plain;
  std::vector<std::pair<std::string, Value>> entries;
  int depth = 1;

  const Value* find(std::string_view key) const {
    for (const auto& [k, v] : entries)
      if (k == key) return &v;
    return nullptr;
  }
  // Map.set: an existing key keeps its place.
  void set(std::string_view key, Value value) {
    for (auto& [k, v] : entries)
      if (k == key) {
        v = std::move(value);
        return;
      }
    entries.emplace_back(std::string(key), std::move(value));
  }
};

class Interp;
struct Env;
using EnvPtr = std::shared_ptr<Env>;
using Args = std::vector<Value>;
struct Function : Heap {
  std::string name;
  std::function<Value(Interp&, Args&, const EnvPtr&)> call;
};

const std::string& Value::str() const { return static_cast<const StringBox&>(*heap).s; }
List& Value::list() const { return static_cast<List&>(*heap); }
Dict& Value::dict() const { return static_cast<Dict&>(*heap); }
const Function& Value::fn() const { return static_cast<const Function&>(*heap); }
bool Value::is_tuple() const { return kind == Kind::List && list().tuple; }
bool Value::is_mapping() const { return kind == Kind::Dict && dict().kind != DictKind::Namespace; }
bool Value::is_namespace() const { return kind == Kind::Dict && dict().kind == DictKind::Namespace; }
bool Value::is_kwargs() const { return kind == Kind::Dict && dict().kind == DictKind::Kwargs; }

Value string_value(std::string s) { return Value{Kind::String, 0, std::make_shared<StringBox>(std::move(s))}; }

Value function_value(std::string name, std::function<Value(Interp&, Args&, const EnvPtr&)> call) {
  auto fn = std::make_shared<Function>();
  fn->name = std::move(name);
  fn->call = std::move(call);
  return Value{Kind::Function, 0, std::move(fn)};
}

// Nesting depth a container adds to; namespaces are mutable and count as leaves (their contents
// are released separately, see Interp::~Interp).
int value_depth(const Value& v) {
  if (v.is(Kind::List)) return v.list().depth;
  if (v.is(Kind::Dict) && !v.is_namespace()) return v.dict().depth;
  return v.is(Kind::Dict) ? 1 : 0;
}

// The kind of a value, for error messages: "an integer", "none", ...
const char* type_name(const Value& v) {
  switch (v.kind) {
    case Kind::Undefined: return "undefined";
    case Kind::Null: return "none";
    case Kind::Bool: return "a boolean";
    case Kind::Int: return "an integer";
    case Kind::Float: return "a float";
    case Kind::String: return "a string";
    case Kind::List: return v.is_tuple() ? "a tuple" : "a list";
    case Kind::Dict: return v.is_namespace() ? "a namespace" : v.is_kwargs() ? "keyword arguments" : "a dict";
    case Kind::Function: return "a function";
  }
  return "a value";
}

// Python-style truthiness (__bool__): empty lists and dicts are false; a namespace is always true.
bool truthy(const Value& v) {
  switch (v.kind) {
    case Kind::Undefined:
    case Kind::Null: return false;
    case Kind::Bool:
    case Kind::Int:
    case Kind::Float: return v.number != 0 && !std::isnan(v.number);
    case Kind::String: return !v.str().empty();
    case Kind::List: return !v.list().items.empty();
    case Kind::Dict: return v.is_namespace() || !v.dict().entries.empty();
    case Kind::Function: return true;
  }
  return false;
}

// Truthiness of the underlying JS value, which some filters test instead: any list or dict is true.
bool js_truthy(const Value& v) { return v.is(Kind::List) || v.is(Kind::Dict) ? true : truthy(v); }

// JS `===` on the underlying values (strings and numbers by value, containers by identity).
bool strict_equal(const Value& a, const Value& b, bool nan_equal = false) {
  if (a.is_number() && b.is_number())
    return a.number == b.number || (nan_equal && std::isnan(a.number) && std::isnan(b.number));
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Kind::Undefined:
    case Kind::Null: return true;
    case Kind::Bool: return a.number == b.number;
    case Kind::String: return a.str() == b.str();
    default: return a.heap == b.heap;
  }
}

// ---- Text forms ----

std::string to_fixed_1(double x) {
  if (std::fabs(x) >= 1e21) return js_number_to_string(x);
  char buf[64];  // |x| < 1e21: at most 22 digits
  std::snprintf(buf, sizeof buf, "%.1f", x);
  return buf;
}

// FloatValue.toString(): integral floats keep one decimal (2.0), -0 prints as -0.0.
std::string float_display(double x) {
  if (x == 0 && std::signbit(x)) return "-0.0";
  if (std::isfinite(x) && x == std::floor(x)) return to_fixed_1(x);
  return js_number_to_string(x);
}

struct JsonStyle {
  double indent = NAN;  // null when NaN; like the JS code, 0 also means "no indent"
  bool ensure_ascii = false;
  bool sort_keys = false;
  bool custom_separators = false;
  std::string item_separator, key_separator;
};

// String.prototype.localeCompare (ICU root collation) for sort_keys, exact for ASCII keys:
// punctuation in ICU's order, then digits, then letters case-insensitively, lower case first on
// ties. Other characters sort after ASCII by code point.
int locale_compare(std::string_view a, std::string_view b) {
  static constexpr std::string_view kOrder = " _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$0123456789abcdefghijklmnopqrstuvwxyz";
  const auto primary = [](char32_t c) -> uint32_t {
    if (c >= 'A' && c <= 'Z') c += 'a' - 'A';
    const size_t i = c < 0x80 ? kOrder.find(static_cast<char>(c)) : std::string_view::npos;
    return i != std::string_view::npos ? static_cast<uint32_t>(i) : 0x100 + c;
  };
  int tie = 0;
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    size_t n, m;
    const char32_t ca = decode_utf8(a, i, &n), cb = decode_utf8(b, j, &m);
    const uint32_t pa = primary(ca), pb = primary(cb);
    if (pa != pb) return pa < pb ? -1 : 1;
    if (tie == 0 && ca != cb) tie = (ca >= 'a' && ca <= 'z') ? -1 : 1;
    i += n, j += m;
  }
  if (i < a.size() || j < b.size()) return i < a.size() ? 1 : -1;
  return tie;
}

// ---- Environment ----

struct Env {
  EnvPtr parent;
  std::vector<std::pair<std::string, Value>> vars;

  void set(std::string_view name, Value value) {
    for (auto& [k, v] : vars)
      if (k == name) {
        v = std::move(value);
        return;
      }
    vars.emplace_back(std::string(name), std::move(value));
  }
  Value lookup(std::string_view name) const {
    for (const Env* e = this; e; e = e->parent.get())
      for (const auto& [k, v] : e->vars)
        if (k == name) return v;
    return Value{};
  }
};

EnvPtr child_env(const EnvPtr& parent) {
  auto env = std::make_shared<Env>();
  env->parent = parent;
  return env;
}

// Which of the special macro variables `kwargs` / `varargs` a macro body reads before defining
// them (the library's findAccessedSpecialMacroArguments, in Jinja's visiting order).
struct SpecialArgs {
  bool kwargs = false, varargs = false;
};

class SpecialArgScanner {
 public:
  SpecialArgs scan(const NodeList& params, const NodeList& body) {
    for (const NodePtr& p : params) declare(p->text);
    visit(body);
    return accessed_;
  }

 private:
  void declare(std::string_view name) {
    if (name == "kwargs") declared_.kwargs = true;
    if (name == "varargs") declared_.varargs = true;
  }
  void declare_target(const Node& target) {
    if (target.type == NodeType::Identifier) declare(target.text);
    if (target.type == NodeType::TupleLiteral)
      for (const NodePtr& item : target.args) declare_target(*item);
  }
  void visit_defaults(const NodeList& params) {
    for (const NodePtr& p : params)
      if (p->type == NodeType::KeywordArg) visit(*p->args[0]);
  }
  void visit_filter(const Node& filter) {
    if (filter.type == NodeType::Call)
      for (size_t i = 1; i < filter.args.size(); ++i) visit(*filter.args[i]);
  }
  void visit(const NodeList& list) {
    for (const NodePtr& n : list)
      if (n) visit(*n);
  }
  void visit(const Node& n) {
    switch (n.type) {
      case NodeType::For: {
        declare_target(*n.args[0]);
        const Node& iterable = *n.args[1];
        if (iterable.type == NodeType::Select) {
          visit(*iterable.args[0]);
          visit(n.body);
          visit(n.alt);
          visit(*iterable.args[1]);
        } else {
          visit(iterable);
          visit(n.body);
          visit(n.alt);
        }
        return;
      }
      case NodeType::Set:
        declare_target(*n.args[0]);
        if (n.args[1]) visit(*n.args[1]);
        visit(n.body);
        return;
      case NodeType::Macro:
        for (const NodePtr& p : n.params) declare(p->text);
        visit_defaults(n.params);
        visit(n.body);
        return;
      case NodeType::CallBlock:
        visit(*n.args[0]);
        for (const NodePtr& p : n.params) declare(p->text);
        visit_defaults(n.params);
        visit(n.body);
        return;
      case NodeType::FilterBlock:
        visit(n.body);
        visit_filter(*n.args[0]);
        return;
      case NodeType::Identifier:
        if (n.text == "kwargs" && !declared_.kwargs) accessed_.kwargs = true;
        if (n.text == "varargs" && !declared_.varargs) accessed_.varargs = true;
        return;
      case NodeType::Member:
        visit(*n.args[0]);
        if (n.flag) visit(*n.args[1]);
        return;
      case NodeType::Filter:
        visit(*n.args[0]);
        visit_filter(*n.args[1]);
        return;
      case NodeType::Test: visit(*n.args[0]); return;
      case NodeType::Select:
        visit(*n.args[1]);
        visit(*n.args[0]);
        return;
      case NodeType::KeywordArg: visit(*n.args[0]); return;
      default:
        visit(n.args);
        visit(n.body);
        visit(n.alt);
    }
  }

  SpecialArgs declared_, accessed_;
};

// ---- The interpreter ----

class Interp {
 public:
  ~Interp() {
    // Namespaces are the only mutable values, so only they can form reference cycles; emptying
    // them frees everything, and they are emptied one at a time so no release recurses deeply.
    for (const auto& ns : namespaces_) ns->entries.clear();
  }

  std::string render_block(const NodeList& body, const EnvPtr& env);
  Value eval(const Node& n, const EnvPtr& env);

  void charge(uint64_t units) {
    work_ += units;
    if (work_ > kMaxWork) error("the template needs too much work");
  }
  Value make_string(std::string s) {
    if (s.size() > kMaxStringBytes) error(str_cat("string longer than ", kMaxStringBytes, " bytes"));
    charge(s.size() / 16);
    return string_value(std::move(s));
  }
  Value make_list(std::vector<Value> items, bool tuple = false) {
    if (items.size() > kMaxListItems) error(str_cat("list longer than ", kMaxListItems, " items"));
    charge(items.size() / 4);
    auto list = std::make_shared<List>();
    for (const Value& item : items) list->depth = std::max(list->depth, value_depth(item) + 1);
    if (list->depth > kMaxValueDepth) error("lists nested too deeply");
    list->items = std::move(items);
    list->tuple = tuple;
    return Value{Kind::List, 0, std::move(list)};
  }
  Value make_dict(DictKind kind, std::vector<std::pair<std::string, Value>> entries) {
    if (entries.size() > kMaxListItems) error(str_cat("dict larger than ", kMaxListItems, " items"));
    charge(entries.size() / 4);
    auto dict = std::make_shared<Dict>();
    dict->kind = kind;
    for (const auto& [k, v] : entries) dict->depth = std::max(dict->depth, value_depth(v) + 1);
    if (dict->depth > kMaxValueDepth) error("dicts nested too deeply");
    dict->entries = std::move(entries);
    if (kind == DictKind::Namespace) namespaces_.push_back(dict);
    return Value{Kind::Dict, 0, std::move(dict)};
  }

  // Value conversions with JavaScript semantics.
  std::string display(const Value& v, int depth = 0);    // RuntimeValue.toString()
  std::string js_string(const Value& v, int depth = 0);  // String(value.value)
  void to_json(std::string& out, const Value& v, const JsonStyle& style, int depth, bool undefined_to_null);
  bool loose_equal(const Value& a, const Value& b);
  int compare(const Value& a, const Value& b, bool case_sensitive);
  Value from_json(const nlohmann::ordered_json& j, int depth);

  // Binds a macro's (or, with an empty name, a call block's caller's) parameters in `scope`.
  void bind_macro_args(std::string_view name, const NodeList& params, SpecialArgs special, Args args,
                       const EnvPtr& scope);

 private:
  struct DepthGuard {
    explicit DepthGuard(Interp& i) : interp(i) {
      if (++interp.depth_ > kMaxEvalDepth) error("template recursion too deep");
    }
    ~DepthGuard() { --interp.depth_; }
    Interp& interp;
  };

  void append(std::string& out, std::string_view s) {
    if (out.size() + s.size() > kMaxStringBytes) error(str_cat("output longer than ", kMaxStringBytes, " bytes"));
    out += s;
    charge(s.size() / 16);
  }

  Value eval_node(const Node& n, const EnvPtr& env);
  Value eval_binary(const Node& n, const EnvPtr& env);
  Value eval_unary(const Node& n, const EnvPtr& env);
  Value eval_member(const Node& n, const EnvPtr& env);
  Value eval_slice(const Value& object, const Node& slice, const EnvPtr& env);
  Value eval_call(const Node& n, const EnvPtr& env);
  Value eval_for(const Node& n, const EnvPtr& env);
  Value eval_set(const Node& n, const EnvPtr& env);
  Value eval_call_block(const Node& n, const EnvPtr& env);
  Value eval_test(const Node& n, const EnvPtr& env);
  std::pair<Args, std::vector<std::pair<std::string, Value>>> eval_arguments(const Node& call, size_t first,
                                                                             const EnvPtr& env);
  Value apply_filter(const Value& operand, const Node& filter, const EnvPtr& env);
  Value apply_plain_filter(const Value& operand, const std::string& name, const EnvPtr& env);
  Value apply_call_filter(const Value& operand, const Node& call, const EnvPtr& env);
  Value member(const Value& object, const Value& property);
  Value string_method(const Value& self, const std::string& name);
  Value dict_method(const Value& self, const std::string& name);
  Value kwargs_dict(std::vector<std::pair<std::string, Value>> entries) {
    return make_dict(DictKind::Kwargs, std::move(entries));
  }

  int depth_ = 0;
  uint64_t work_ = 0;
  std::vector<std::shared_ptr<Dict>> namespaces_;
};

// ---- Conversions ----

std::string Interp::display(const Value& v, int depth) {
  switch (v.kind) {
    case Kind::Undefined: return "undefined";
    case Kind::Null: return "null";
    case Kind::Bool: return v.truth() ? "true" : "false";
    case Kind::Int: return js_number_to_string(v.number);
    case Kind::Float: return float_display(v.number);
    case Kind::String: return v.str();
    case Kind::List:
    case Kind::Dict: {
      std::string out;
      to_json(out, v, JsonStyle{}, depth, false);
      return out;
    }
    case Kind::Function: error(str_cat("cannot print the function ", v.fn().name));
  }
  return "";
}

std::string Interp::js_string(const Value& v, int depth) {
  if (depth > kMaxValueDepth) error("value nested too deeply to print");
  switch (v.kind) {
    case Kind::Int:
    case Kind::Float: return js_number_to_string(v.number);
    case Kind::List: {
      // Array.prototype.toString: the items' own toString() joined by commas.
      std::string out;
      for (size_t i = 0; i < v.list().items.size(); ++i) {
        if (i) out += ',';
        out += display(v.list().items[i], depth + 1);
        if (out.size() > kMaxStringBytes) error("string too long");
      }
      return out;
    }
    case Kind::Dict: return "[object Map]";
    case Kind::Function: return "function";
    default: return display(v, depth);
  }
}

void Interp::to_json(std::string& out, const Value& v, const JsonStyle& style, int depth, bool undefined_to_null) {
  if (depth > kMaxValueDepth) error("value nested too deeply for JSON");
  if (out.size() > kMaxStringBytes) error(str_cat("JSON longer than ", kMaxStringBytes, " bytes"));
  const bool indented = style.indent != 0 && !std::isnan(style.indent);
  switch (v.kind) {
    case Kind::Null: out += "null"; return;
    case Kind::Undefined: out += undefined_to_null ? "null" : "undefined"; return;
    case Kind::Int:
    case Kind::Float: out += std::isfinite(v.number) ? js_number_to_string(v.number) : "null"; return;
    case Kind::Bool: out += v.truth() ? "true" : "false"; return;
    case Kind::String: js_quote(out, v.str(), style.ensure_ascii); return;
    case Kind::List:
    case Kind::Dict: {
      if (v.is_tuple() || v.is_kwargs()) error(str_cat("cannot convert ", type_name(v), " to JSON"));
      if (indented && (style.indent < 0 || style.indent > 1e4)) error("invalid JSON indent");
      const size_t unit = indented ? static_cast<size_t>(style.indent) : 0;
      // A newline and the indentation of `level`, written straight into `out`.
      const auto pad = [&](int level) { out.append(1, '\n').append(unit * static_cast<size_t>(level), ' '); };
      const std::string item_sep = style.custom_separators ? style.item_separator : indented ? "," : ", ";
      const std::string key_sep = style.custom_separators ? style.key_separator : ": ";
      charge(1);
      if (v.is(Kind::List)) {
        const auto& items = v.list().items;
        out += '[';
        for (size_t i = 0; i < items.size(); ++i) {
          if (i) out += item_sep;
          if (indented) pad(depth + 1);
          to_json(out, items[i], style, depth + 1, undefined_to_null);
        }
        if (indented && !items.empty()) pad(depth);
        out += ']';
        return;
      }
      std::vector<const std::pair<std::string, Value>*> entries;
      for (const auto& e : v.dict().entries) entries.push_back(&e);
      if (style.sort_keys)
        std::stable_sort(entries.begin(), entries.end(),
                         [](auto* a, auto* b) { return locale_compare(a->first, b->first) < 0; });
      out += '{';
      for (size_t i = 0; i < entries.size(); ++i) {
        if (i) out += item_sep;
        if (indented) pad(depth + 1);
        js_quote(out, entries[i]->first, style.ensure_ascii);
        out += key_sep;
        to_json(out, entries[i]->second, style, depth + 1, undefined_to_null);
      }
      if (indented && !entries.empty()) pad(depth);
      out += '}';
      return;
    }
    case Kind::Function: error("cannot convert a function to JSON");
  }
}

// JS `==` on the underlying values (IsLooselyEqual): "1" == 1, none == undefined, [1] == "1".
bool Interp::loose_equal(const Value& a, const Value& b) {
  const auto js_type = [](const Value& v) {
    switch (v.kind) {
      case Kind::Int:
      case Kind::Float: return 'n';
      case Kind::String: return 's';
      case Kind::Bool: return 'b';
      case Kind::Undefined: return 'u';
      case Kind::Null: return 'z';
      default: return 'o';
    }
  };
  const char ta = js_type(a), tb = js_type(b);
  if (ta == tb) return strict_equal(a, b);
  if ((ta == 'u' || ta == 'z') && (tb == 'u' || tb == 'z')) return true;
  if (ta == 'u' || ta == 'z' || tb == 'u' || tb == 'z') return false;
  if (ta == 'b') return loose_equal(Value::integer(a.number), b);
  if (tb == 'b') return loose_equal(a, Value::integer(b.number));
  if (ta == 'o') return loose_equal(string_value(js_string(a)), b);
  if (tb == 'o') return loose_equal(a, string_value(js_string(b)));
  const double x = ta == 'n' ? a.number : js_string_to_number(a.str());
  const double y = tb == 'n' ? b.number : js_string_to_number(b.str());
  return x == y;
}

// compareRuntimeValues: numbers (booleans count as 0/1) and strings only, never mixed.
int Interp::compare(const Value& a, const Value& b, bool case_sensitive) {
  if (a.is(Kind::Null) && b.is(Kind::Null)) return 0;
  if (a.is(Kind::Undefined) && b.is(Kind::Undefined)) return 0;
  if (a.is_numeric_like() && b.is_numeric_like()) return a.number < b.number ? -1 : a.number > b.number ? 1 : 0;
  if (a.is(Kind::String) && b.is(Kind::String)) {
    if (case_sensitive) return js_compare(a.str(), b.str());
    return js_compare(js_lower(a.str()), js_lower(b.str()));
  }
  error(str_cat("cannot compare ", type_name(a), " with ", type_name(b)));
}

// Stable merge sort that stays in bounds whatever the comparator answers.
template <class Less>
void merge_sort(std::vector<Value>& items, Less less) {
  std::vector<Value> buffer(items.size());
  for (size_t width = 1; width < items.size(); width *= 2) {
    for (size_t lo = 0; lo < items.size(); lo += 2 * width) {
      const size_t mid = std::min(lo + width, items.size()), hi = std::min(lo + 2 * width, items.size());
      size_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi) buffer[k++] = less(items[j], items[i]) ? items[j++] : items[i++];
      while (i < mid) buffer[k++] = items[i++];
      while (j < hi) buffer[k++] = items[j++];
    }
    items.swap(buffer);
  }
}

// Object.entries order: keys that are array indices come first, ascending.
bool is_array_index(std::string_view key) {
  if (key.empty() || key.size() > 10 || (key.size() > 1 && key[0] == '0')) return false;
  for (char c : key)
    if (c < '0' || c > '9') return false;
  return std::strtoull(std::string(key).c_str(), nullptr, 10) < 4294967295ull;
}

std::vector<const nlohmann::ordered_json::object_t::value_type*> js_entries(const nlohmann::ordered_json& j) {
  std::vector<const nlohmann::ordered_json::object_t::value_type*> index_keys, other_keys;
  for (const auto& entry : j.get_ref<const nlohmann::ordered_json::object_t&>())
    (is_array_index(entry.first) ? index_keys : other_keys).push_back(&entry);
  std::stable_sort(index_keys.begin(), index_keys.end(), [](auto* a, auto* b) {
    return a->first.size() != b->first.size() ? a->first.size() < b->first.size() : a->first < b->first;
  });
  index_keys.insert(index_keys.end(), other_keys.begin(), other_keys.end());
  return index_keys;
}

Value Interp::from_json(const nlohmann::ordered_json& j, int depth) {
  if (depth > kMaxValueDepth) error("context nested too deeply");
  switch (j.type()) {
    case nlohmann::json::value_t::null: return Value::null();
    case nlohmann::json::value_t::boolean: return Value::boolean(j.get<bool>());
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float: return Value::number_of(j.get<double>());
    case nlohmann::json::value_t::string: return string_value(j.get<std::string>());
    case nlohmann::json::value_t::array: {
      std::vector<Value> items;
      for (const auto& item : j) items.push_back(from_json(item, depth + 1));
      return make_list(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      std::vector<std::pair<std::string, Value>> entries;
      for (const auto* entry : js_entries(j)) entries.emplace_back(entry->first, from_json(entry->second, depth + 1));
      return make_dict(DictKind::Plain, std::move(entries));
    }
    default: error("context holds a value JSON cannot express");
  }
}

// ---- Tests (`x is name`) ----

bool is_test(std::string_view name) {
  static const char* const kTests[] = {"boolean", "callable", "odd",       "even",     "false",   "true",     "none",
                                       "string",  "number",   "integer",   "iterable", "mapping", "sequence", "lower",
                                       "upper",   "defined",  "undefined", "equalto",  "eq"};
  return std::find(std::begin(kTests), std::end(kTests), name) != std::end(kTests);
}

// `other` is the second argument selectattr passes (null when absent, where JS reads undefined).
bool run_test(std::string_view name, const Value& v, const Value* other) {
  if (name == "boolean") return v.is(Kind::Bool);
  if (name == "callable") return v.is(Kind::Function);
  if (name == "odd" || name == "even") {
    if (!v.is(Kind::Int)) error(str_cat("cannot test ", name, " on ", type_name(v)));
    return (std::fmod(v.number, 2) != 0) == (name == "odd");
  }
  if (name == "false") return v.is(Kind::Bool) && !v.truth();
  if (name == "true") return v.is(Kind::Bool) && v.truth();
  if (name == "none") return v.is(Kind::Null);
  if (name == "string") return v.is(Kind::String);
  if (name == "number") return v.is_number();
  if (name == "integer") return v.is(Kind::Int);
  if (name == "iterable") return v.is_plain_array() || v.is(Kind::String);
  if (name == "mapping") return v.is_mapping();
  if (name == "sequence") return v.is_array() || v.is_mapping() || v.is(Kind::String);
  if (name == "lower") return v.is(Kind::String) && v.str() == js_lower(v.str());
  if (name == "upper") return v.is(Kind::String) && v.str() == js_upper(v.str());
  if (name == "defined") return !v.is(Kind::Undefined);
  if (name == "undefined") return v.is(Kind::Undefined);
  if (name == "equalto" || name == "eq") {
    if (!other) error(str_cat("the '", name, "' test needs a value to compare with"));
    return strict_equal(v, *other);
  }
  error(str_cat("unknown test '", name, "'"));
}

// ---- Evaluation ----

std::string Interp::render_block(const NodeList& body, const EnvPtr& env) {
  std::string out;
  for (const NodePtr& statement : body) {
    if (statement->type == NodeType::Text) {
      charge(1);
      append(out, statement->text);
      continue;
    }
    const Value v = eval(*statement, env);
    if (v.is(Kind::Undefined) || v.is(Kind::Null)) continue;
    try {
      append(out, v.is(Kind::String) ? v.str() : display(v));
    } catch (RenderError& e) {
      if (e.line == 0) e.line = statement->line;
      throw;
    }
  }
  return out;
}

Value Interp::eval(const Node& n, const EnvPtr& env) {
  DepthGuard guard(*this);
  charge(1);
  try {
    return eval_node(n, env);
  } catch (RenderError& e) {
    if (e.line == 0) e.line = n.line;
    throw;
  }
}

Value Interp::eval_node(const Node& n, const EnvPtr& env) {
  switch (n.type) {
    case NodeType::Text:
    case NodeType::String: return string_value(n.text);
    case NodeType::Integer: return Value::integer(n.number);
    case NodeType::Float: return Value::floating(n.number);
    case NodeType::Identifier: return env->lookup(n.text);
    case NodeType::ArrayLiteral:
    case NodeType::TupleLiteral: {
      std::vector<Value> items;
      for (const NodePtr& item : n.args) items.push_back(eval(*item, env));
      return make_list(std::move(items), n.type == NodeType::TupleLiteral);
    }
    case NodeType::ObjectLiteral: {
      Dict entries;
      for (size_t i = 0; i < n.args.size(); i += 2) {
        const Value key = eval(*n.args[i], env);
        if (!key.is(Kind::String)) error(str_cat("dict keys must be strings, not ", type_name(key)));
        entries.set(key.str(), eval(*n.args[i + 1], env));
      }
      return make_dict(DictKind::Plain, std::move(entries.entries));
    }
    case NodeType::Member: return eval_member(n, env);
    case NodeType::Call: return eval_call(n, env);
    case NodeType::Binary: return eval_binary(n, env);
    case NodeType::Unary: return eval_unary(n, env);
    case NodeType::Filter: return apply_filter(eval(*n.args[0], env), *n.args[1], env);
    case NodeType::FilterBlock: return apply_filter(make_string(render_block(n.body, env)), *n.args[0], env);
    case NodeType::Test: return eval_test(n, env);
    case NodeType::Select: {
      if (!truthy(eval(*n.args[1], env))) return Value{};
      return eval(*n.args[0], env);
    }
    case NodeType::Ternary: return eval(*n.args[truthy(eval(*n.args[0], env)) ? 1 : 2], env);
    case NodeType::If: return make_string(render_block(truthy(eval(*n.args[0], env)) ? n.body : n.alt, env));
    case NodeType::For: return eval_for(n, env);
    case NodeType::Set: return eval_set(n, env);
    case NodeType::Macro: {
      const SpecialArgs special = SpecialArgScanner().scan(n.params, n.body);
      const Node* macro = &n;
      env->set(n.text, function_value(n.text, [macro, special](Interp& in, Args& args, const EnvPtr& scope) {
                 EnvPtr macro_scope = child_env(scope);
                 in.bind_macro_args(macro->text, macro->params, special, args, macro_scope);
                 return in.make_string(in.render_block(macro->body, macro_scope));
               }));
      return Value::null();
    }
    case NodeType::CallBlock: return eval_call_block(n, env);
    case NodeType::Break:
    case NodeType::Continue: throw LoopSignal{n.type == NodeType::Break, n.line};
    case NodeType::Comment: return Value::null();
    case NodeType::Slice:
    case NodeType::KeywordArg:
    case NodeType::Spread:
    case NodeType::KeywordSpread: error("unexpected expression here");
  }
  error("unknown node");
}

Value Interp::eval_unary(const Node& n, const EnvPtr& env) {
  const Value v = eval(*n.args[0], env);
  if (n.text == "not") return Value::boolean(!truthy(v));
  if (!v.is_numeric_like()) error(str_cat("unary '", n.text, "' needs a number, not ", type_name(v)));
  const double result = (n.text == "-" ? -1.0 : 1.0) * v.number;
  return v.is(Kind::Float) ? Value::floating(result) : Value::integer(result);
}

Value Interp::eval_binary(const Node& n, const EnvPtr& env) {
  const std::string& op = n.text;
  const Value left = eval(*n.args[0], env);
  if (op == "and") return truthy(left) ? eval(*n.args[1], env) : left;
  if (op == "or") return truthy(left) ? left : eval(*n.args[1], env);
  const Value right = eval(*n.args[1], env);
  if (op == "==") return Value::boolean(loose_equal(left, right));
  if (op == "!=") return Value::boolean(!loose_equal(left, right));
  const bool membership = op == "in" || op == "not in";

  if (left.is(Kind::Undefined) || right.is(Kind::Undefined)) {
    // `x in undefined` is false, `x not in undefined` true; anything else on undefined fails.
    if (right.is(Kind::Undefined) && membership) return Value::boolean(op == "not in");
    error(str_cat("cannot apply '", op, "' to an undefined value"));
  }
  if (left.is(Kind::Null) || right.is(Kind::Null)) error(str_cat("cannot apply '", op, "' to none"));
  if (op == "~") return make_string(js_string(left) + js_string(right));
  if (op == "**" && left.is_numeric_like() && right.is_numeric_like()) {
    const double a = left.number, b = right.number;
    if (a == 0 && b < 0) error("0.0 cannot be raised to a negative power");
    const double result = (std::fabs(a) == 1 && std::isinf(b)) ? NAN : std::pow(a, b);
    if (!std::isfinite(result)) error("exponentiation result is not a finite real number");
    const bool is_float = left.is(Kind::Float) || right.is(Kind::Float) || b < 0;
    return is_float ? Value::floating(result) : Value::integer(result);
  }
  if (left.is_number() && right.is_number()) {
    const double a = left.number, b = right.number;
    const bool is_float = left.is(Kind::Float) || right.is(Kind::Float);
    const auto number = [&](double x) { return is_float ? Value::floating(x) : Value::integer(x); };
    if (op == "+") return number(a + b);
    if (op == "-") return number(a - b);
    if (op == "*") return number(a * b);
    if (op == "/") return Value::floating(a / b);
    if (op == "//") return number(std::floor(a / b));
    if (op == "%") return number(std::fmod(a, b));
    if (op == "<") return Value::boolean(a < b);
    if (op == ">") return Value::boolean(a > b);
    if (op == ">=") return Value::boolean(a >= b);
    if (op == "<=") return Value::boolean(a <= b);
  } else if (left.is_array() && right.is_array()) {
    if (op == "+") {
      std::vector<Value> items = left.list().items;
      items.insert(items.end(), right.list().items.begin(), right.list().items.end());
      return make_list(std::move(items));
    }
  } else if (right.is_array() && membership) {
    bool found = false;
    for (const Value& item : right.list().items) found = found || strict_equal(item, left);
    return Value::boolean(found == (op == "in"));
  }
  if ((left.is(Kind::String) || right.is(Kind::String)) && op == "+")
    return make_string(js_string(left) + js_string(right));
  if (left.is(Kind::String) && right.is(Kind::String) && membership)
    return Value::boolean((right.str().find(left.str()) != std::string::npos) == (op == "in"));
  if (left.is(Kind::String) && right.is_mapping() && membership)
    return Value::boolean((right.dict().find(left.str()) != nullptr) == (op == "in"));
  error(str_cat("unsupported operator '", op, "' between ", type_name(left), " and ", type_name(right)));
}

// Array.prototype.at / String.prototype.at: negative indices count from the end.
std::optional<size_t> at_index(double index, size_t size) {
  if (std::isnan(index)) index = 0;
  index = std::trunc(index);
  if (index < 0) index += static_cast<double>(size);
  if (index < 0 || index >= static_cast<double>(size)) return std::nullopt;
  return static_cast<size_t>(index);
}

Value Interp::member(const Value& object, const Value& property) {
  if (object.is(Kind::Dict)) {
    if (!property.is(Kind::String)) error(str_cat("dict keys must be strings, not ", type_name(property)));
    if (const Value* found = object.dict().find(property.str())) return *found;
    return object.is_namespace() ? Value{} : dict_method(object, property.str());
  }
  if (object.is(Kind::List) || object.is(Kind::String)) {
    if (property.is(Kind::Int)) {
      if (object.is(Kind::List)) {
        const auto& items = object.list().items;
        const auto i = at_index(property.number, items.size());
        return i ? items[*i] : Value{};
      }
      // Strings index by UTF-16 code unit.
      const std::string& s = object.str();
      const auto i = at_index(property.number, js_length(s));
      if (!i) return Value{};
      size_t unit = 0;
      for (size_t pos = 0, n; pos < s.size(); pos += n) {
        const char32_t cp = decode_utf8(s, pos, &n);
        const size_t units = cp >= 0x10000 ? 2 : 1;
        if (*i < unit + units) {
          if (units == 1) return string_value(s.substr(pos, n));
          std::string half;  // one half of a surrogate pair, as WTF-8
          append_utf8(half, *i == unit ? 0xD800 + ((cp - 0x10000) >> 10) : 0xDC00 + ((cp - 0x10000) & 0x3FF));
          return string_value(half);
        }
        unit += units;
      }
      return Value{};
    }
    if (property.is(Kind::String)) {
      if (property.str() == "length")
        return Value::integer(
            static_cast<double>(object.is(Kind::List) ? object.list().items.size() : js_length(object.str())));
      return object.is(Kind::String) ? string_method(object, property.str()) : Value{};
    }
    error(str_cat("cannot index ", type_name(object), " with ", type_name(property)));
  }
  if (!property.is(Kind::String)) error(str_cat("cannot index ", type_name(object), " with ", type_name(property)));
  return Value{};
}

Value Interp::eval_member(const Node& n, const EnvPtr& env) {
  const Value object = eval(*n.args[0], env);
  const Node& prop = *n.args[1];
  if (n.flag && prop.type == NodeType::Slice) return eval_slice(object, prop, env);
  Value property;
  if (n.flag) {
    property = eval(prop, env);
  } else if (prop.type == NodeType::Integer) {
    property = Value::integer(prop.number);
  } else {
    property = string_value(prop.text);
  }
  return member(object, property);
}

Value Interp::eval_slice(const Value& object, const Node& slice, const EnvPtr& env) {
  if (!object.is(Kind::List) && !object.is(Kind::String)) error("only lists and strings can be sliced");
  double bounds[3];
  bool given[3];
  static const char* const kNames[] = {"start", "stop", "step"};
  for (int i = 0; i < 3; ++i) {
    const Value v = slice.args[i] ? eval(*slice.args[i], env) : Value{};
    if (!v.is(Kind::Int) && !v.is(Kind::Undefined)) error(str_cat("slice ", kNames[i], " must be an integer"));
    given[i] = v.is(Kind::Int);
    bounds[i] = v.number;
  }
  // Code points of a string (Array.from), or the list's items.
  std::vector<std::string_view> chars;
  const bool is_string = object.is(Kind::String);
  if (is_string)
    for (size_t pos = 0, n; pos < object.str().size(); pos += n) {
      decode_utf8(object.str(), pos, &n);
      chars.push_back(std::string_view(object.str()).substr(pos, n));
    }
  const double len = static_cast<double>(is_string ? chars.size() : object.list().items.size());
  // utils.ts slice(), over doubles as in JS.
  const double step = given[2] ? bounds[2] : 1;
  const double direction = std::isnan(step) ? NAN : (step > 0) - (step < 0);
  double start, stop;
  if (direction >= 0) {
    start = given[0] ? bounds[0] : 0;
    start = start < 0 ? std::max(len + start, 0.0) : std::min(start, len);
    stop = given[1] ? bounds[1] : len;
    stop = stop < 0 ? std::max(len + stop, 0.0) : std::min(stop, len);
  } else {
    start = given[0] ? bounds[0] : len - 1;
    start = start < 0 ? std::max(len + start, -1.0) : std::min(start, len - 1);
    stop = given[1] ? bounds[1] : -1;
    stop = stop < -1 ? std::max(len + stop, -1.0) : std::min(stop, len - 1);
  }
  std::string text;
  std::vector<Value> items;
  for (double i = start; direction * i < direction * stop; i += step) {
    charge(1);
    const auto index = static_cast<size_t>(i);
    if (is_string) {
      text += chars[index];
    } else {
      items.push_back(object.list().items[index]);
    }
  }
  return is_string ? make_string(std::move(text)) : make_list(std::move(items));
}

std::pair<Args, std::vector<std::pair<std::string, Value>>> Interp::eval_arguments(const Node& call, size_t first,
                                                                                   const EnvPtr& env) {
  Args positional;
  Dict keywords;
  const auto add_keyword = [&](const std::string& key, Value value) {
    if (keywords.find(key)) error(str_cat("got multiple values for keyword argument '", key, "'"));
    keywords.set(key, std::move(value));
  };
  // As in Python, every positional argument is evaluated before any keyword argument.
  for (size_t i = first; i < call.args.size(); ++i) {
    const Node& arg = *call.args[i];
    if (arg.type == NodeType::Spread) {
      const Value v = eval(*arg.args[0], env);
      if (!v.is_array()) error(str_cat("cannot unpack ", type_name(v), " with '*'"));
      positional.insert(positional.end(), v.list().items.begin(), v.list().items.end());
    } else if (arg.type != NodeType::KeywordArg && arg.type != NodeType::KeywordSpread) {
      positional.push_back(eval(arg, env));
    }
  }
  for (size_t i = first; i < call.args.size(); ++i) {
    const Node& arg = *call.args[i];
    if (arg.type == NodeType::KeywordArg) {
      add_keyword(arg.text, eval(*arg.args[0], env));
    } else if (arg.type == NodeType::KeywordSpread) {
      const Value v = eval(*arg.args[0], env);
      if (!v.is_mapping()) error(str_cat("the argument after '**' must be a dict, not ", type_name(v)));
      for (const auto& [k, val] : v.dict().entries) add_keyword(k, val);
    }
  }
  return {std::move(positional), std::move(keywords.entries)};
}

Value Interp::eval_call(const Node& n, const EnvPtr& env) {
  auto [args, keywords] = eval_arguments(n, 1, env);
  if (!keywords.empty()) args.push_back(kwargs_dict(std::move(keywords)));
  const Value fn = eval(*n.args[0], env);
  if (!fn.is(Kind::Function)) error(str_cat("cannot call ", type_name(fn)));
  return fn.fn().call(*this, args, env);
}

void Interp::bind_macro_args(std::string_view name, const NodeList& params, SpecialArgs special, Args args,
                             const EnvPtr& scope) {
  charge(8);
  const auto display_name = [&] { return name.empty() ? std::string("None") : str_cat("'", name, "'"); };
  Dict keywords;
  if (!args.empty() && args.back().is_kwargs()) {
    keywords.entries = args.back().dict().entries;
    args.pop_back();
  }
  std::vector<const Node*> pending_defaults;
  for (size_t i = 0; i < params.size(); ++i) {
    const Node& param = *params[i];
    std::optional<Value> value;
    if (i < args.size()) value = args[i];
    if (!value) {
      auto it = std::find_if(keywords.entries.begin(), keywords.entries.end(),
                             [&](const auto& e) { return e.first == param.text; });
      if (it != keywords.entries.end()) {
        value = std::move(it->second);
        keywords.entries.erase(it);
      }
    }
    if (!value && param.type == NodeType::KeywordArg) pending_defaults.push_back(&param);
    scope->set(param.text, value ? *value : Value{});
  }
  if (special.kwargs) {
    scope->set("kwargs", make_dict(DictKind::Plain, std::move(keywords.entries)));
  } else if (!keywords.entries.empty()) {
    error(str_cat("macro ", display_name(), " takes no keyword argument '", keywords.entries[0].first, "'"));
  }
  if (special.varargs) {
    std::vector<Value> rest;
    if (args.size() > params.size()) rest.assign(args.begin() + static_cast<ptrdiff_t>(params.size()), args.end());
    scope->set("varargs", make_list(std::move(rest)));
  } else if (args.size() > params.size()) {
    error(str_cat("macro ", display_name(), " takes not more than ", params.size(), " argument(s)"));
  }
  for (const Node* param : pending_defaults) scope->set(param->text, eval(*param->args[0], scope));
}

Value Interp::eval_call_block(const Node& n, const EnvPtr& env) {
  const SpecialArgs special = SpecialArgScanner().scan(n.params, n.body);
  const Node* block = &n;
  std::weak_ptr<Env> weak_env = env;  // weak: a stored `caller` must not keep its scope alive
  Value caller = function_value("caller", [block, special, weak_env](Interp& in, Args& args, const EnvPtr&) {
    EnvPtr outer = weak_env.lock();
    if (!outer) error("caller() used after its call block ended");
    EnvPtr scope = child_env(outer);
    in.bind_macro_args("", block->params, special, args, scope);
    return in.make_string(in.render_block(block->body, scope));
  });
  const Node& call = *n.args[0];
  auto [args, keywords] = eval_arguments(call, 1, env);
  args.push_back(kwargs_dict(std::move(keywords)));
  const Value fn = eval(*call.args[0], env);
  if (!fn.is(Kind::Function)) error(str_cat("cannot call ", type_name(fn)));
  EnvPtr scope = child_env(env);
  scope->set("caller", std::move(caller));
  return fn.fn().call(*this, args, scope);
}

// Binds a loop or set target (a name or a tuple of names) to a value.
void bind_target(const Node& target, const Value& value, Env& scope) {
  if (target.type == NodeType::Identifier) {
    scope.set(target.text, value);
    return;
  }
  for (size_t j = 0; j < target.args.size(); ++j) {
    if (target.args[j]->type != NodeType::Identifier) error("can only unpack into names");
    scope.set(target.args[j]->text, value.list().items[j]);
  }
}

Value Interp::eval_for(const Node& n, const EnvPtr& env) {
  EnvPtr scope = child_env(env);
  const Node& target = *n.args[0];
  const Node* iterable_node = n.args[1].get();
  const Node* condition = nullptr;
  if (iterable_node->type == NodeType::Select) {  // for x in xs if condition
    condition = iterable_node->args[1].get();
    iterable_node = iterable_node->args[0].get();
  }
  const Value iterable = eval(*iterable_node, scope);
  std::vector<Value> source;
  if (iterable.is_array()) {
    source = iterable.list().items;
  } else if (iterable.is_mapping()) {
    for (const auto& entry : iterable.dict().entries) source.push_back(string_value(entry.first));
  } else {
    error(str_cat("cannot loop over ", type_name(iterable)));
  }

  // First pass, as the library does: check unpacking and apply the loop condition to every item.
  std::vector<Value> items;
  for (const Value& current : source) {
    charge(1);
    if (target.type == NodeType::TupleLiteral) {
      if (!current.is_plain_array()) error(str_cat("cannot unpack ", type_name(current)));
      const size_t have = current.list().items.size(), want = target.args.size();
      if (have != want) error(str_cat("too ", want > have ? "few" : "many", " items to unpack"));
    }
    if (condition) {
      EnvPtr test_scope = child_env(scope);
      bind_target(target, current, *test_scope);
      if (!truthy(eval(*condition, test_scope))) continue;
    }
    items.push_back(current);
  }

  std::string result;
  bool no_iteration = true;
  const double count = static_cast<double>(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    charge(8);  // the loop variable's dict and bindings
    const double index = static_cast<double>(i);
    scope->set("loop", make_dict(DictKind::Plain, {
                                                      {"index", Value::integer(index + 1)},
                                                      {"index0", Value::integer(index)},
                                                      {"revindex", Value::integer(count - index)},
                                                      {"revindex0", Value::integer(count - index - 1)},
                                                      {"first", Value::boolean(i == 0)},
                                                      {"last", Value::boolean(i + 1 == items.size())},
                                                      {"length", Value::integer(count)},
                                                      {"previtem", i > 0 ? items[i - 1] : Value{}},
                                                      {"nextitem", i + 1 < items.size() ? items[i + 1] : Value{}},
                                                  }));
    bind_target(target, items[i], *scope);
    try {
      // An iteration's output counts only once its body completes: `continue` drops it.
      append(result, render_block(n.body, scope));
    } catch (const LoopSignal& signal) {
      if (signal.is_break) break;
      continue;
    }
    no_iteration = false;
  }
  if (no_iteration) append(result, render_block(n.alt, scope));
  return make_string(std::move(result));
}

Value Interp::eval_set(const Node& n, const EnvPtr& env) {
  const Node& target = *n.args[0];
  const Value value = n.args[1] ? eval(*n.args[1], env) : make_string(render_block(n.body, env));
  if (target.type == NodeType::Identifier) {
    env->set(target.text, value);
  } else if (target.type == NodeType::TupleLiteral) {
    if (!value.is_array()) error(str_cat("cannot unpack ", type_name(value), " in set"));
    const size_t have = value.list().items.size(), want = target.args.size();
    if (have != want) error(str_cat("too ", want > have ? "few" : "many", " items to unpack in set"));
    bind_target(target, value, *env);
  } else if (target.type == NodeType::Member) {
    const Value object = eval(*target.args[0], env);
    if (!object.is_namespace()) error("can only assign attributes of a namespace");
    if (target.args[1]->type != NodeType::Identifier) error("can only assign a namespace attribute by name");
    object.dict().set(target.args[1]->text, value);
  } else {
    error("invalid assignment target");
  }
  return Value::null();
}

Value Interp::eval_test(const Node& n, const EnvPtr& env) {
  const Value operand = eval(*n.args[0], env);
  if (!is_test(n.text)) error(str_cat("unknown test '", n.text, "'"));
  return Value::boolean(run_test(n.text, operand, nullptr) != n.flag);
}

// ---- Methods ----

// Python str.split over JS strings: no separator splits on whitespace runs.
std::vector<std::string> split(std::string_view s, const Value& sep, double maxsplit) {
  std::vector<std::string> parts;
  if (sep.is(Kind::Null)) {
    const std::string_view text = js_trim_start(s);
    size_t i = 0;
    while (i < text.size()) {
      size_t start = i;
      while (start < text.size() && js_space_at(text, start)) start += js_space_at(text, start);
      if (start >= text.size()) break;
      size_t end = start;
      while (end < text.size() && !js_space_at(text, end)) {
        size_t n;
        decode_utf8(text, end, &n);
        end += n;
      }
      if (maxsplit != -1 && static_cast<double>(parts.size()) >= maxsplit) {
        parts.emplace_back(text.substr(start));
        break;
      }
      parts.emplace_back(text.substr(start, end - start));
      i = end;
    }
    return parts;
  }
  const std::string& separator = sep.str();
  if (separator.empty()) error("empty separator");
  for (size_t start = 0;;) {
    const size_t hit = s.find(separator, start);
    if (hit == std::string_view::npos) {
      parts.emplace_back(s.substr(start));
      break;
    }
    parts.emplace_back(s.substr(start, hit - start));
    start = hit + separator.size();
  }
  if (maxsplit != -1 && static_cast<double>(parts.size()) > maxsplit) {
    // result.push(result.splice(maxsplit).join(sep))
    const double len = static_cast<double>(parts.size());
    const double from = maxsplit < 0 ? std::max(len + maxsplit, 0.0) : std::min(maxsplit, len);
    std::string rest;
    for (size_t i = static_cast<size_t>(from); i < parts.size(); ++i) rest += (i > from ? separator : "") + parts[i];
    parts.resize(static_cast<size_t>(from));
    parts.push_back(std::move(rest));
  }
  return parts;
}

// utils.ts replace(): at most `count` replacements; an empty pattern matches between characters.
std::string replace(std::string_view s, std::string_view old_value, std::string_view new_value, double count) {
  if (count == 0) return std::string(s);
  double remaining = (std::isnan(count) || count < 0) ? INFINITY : count;
  std::string out;
  if (old_value.empty()) {
    for (size_t pos = 0, n;; pos += n) {
      if (remaining > 0) out += new_value, --remaining;
      if (pos >= s.size()) break;
      decode_utf8(s, pos, &n);
      out.append(s.substr(pos, n));
    }
    return out;
  }
  size_t pos = 0;
  while (remaining > 0) {
    const size_t hit = s.find(old_value, pos);
    if (hit == std::string_view::npos) break;
    out.append(s.substr(pos, hit - pos));
    out += new_value;
    pos = hit + old_value.size();
    --remaining;
  }
  out.append(s.substr(pos));
  return out;
}

// Python's str.title() as the library writes it: /\b\w/g to upper case, ASCII word characters only.
std::string title_case(std::string_view s) {
  std::string out(s);
  const auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  for (size_t i = 0; i < out.size(); ++i)
    if (static_cast<unsigned char>(out[i]) < 0x80 && word(out[i]) && (i == 0 || !word(out[i - 1])) && out[i] >= 'a' &&
        out[i] <= 'z')
      out[i] = static_cast<char>(out[i] - 32);
  return out;
}

// charAt(0).toUpperCase() + slice(1): only the first UTF-16 unit changes.
std::string capitalize(std::string_view s) {
  if (s.empty()) return "";
  size_t n;
  const char32_t first = decode_utf8(s, 0, &n);
  if (first >= 0x10000) return std::string(s);
  return js_upper(s.substr(0, n)) + std::string(s.substr(n));
}

Value Interp::string_method(const Value& self, const std::string& name) {
  // Methods that transform the string; like the library, they ignore any arguments (so
  // strip('x') strips whitespace).
  using Transform = std::string (*)(std::string_view);
  Transform transform = nullptr;
  if (name == "upper") transform = js_upper;
  if (name == "lower") transform = js_lower;
  if (name == "title") transform = title_case;
  if (name == "capitalize") transform = capitalize;
  if (name == "strip") transform = [](std::string_view s) { return std::string(js_trim_end(js_trim_start(s))); };
  if (name == "lstrip") transform = [](std::string_view s) { return std::string(js_trim_start(s)); };
  if (name == "rstrip") transform = [](std::string_view s) { return std::string(js_trim_end(s)); };
  if (transform)
    return function_value(
        name, [self, transform](Interp& in, Args&, const EnvPtr&) { return in.make_string(transform(self.str())); });

  using Method = std::function<Value(Interp&, Args&, const EnvPtr&)>;
  Method method;
  if (name == "startswith" || name == "endswith") {
    const bool starts = name == "startswith";
    method = [self, starts, name](Interp&, Args& args, const EnvPtr&) {
      const std::string& s = self.str();
      if (args.empty()) error(str_cat(name, "() needs an argument"));
      const auto matches = [&](const std::string& p) {
        return s.size() >= p.size() &&
               (starts ? s.compare(0, p.size(), p) == 0 : s.compare(s.size() - p.size(), p.size(), p) == 0);
      };
      if (args[0].is(Kind::String)) return Value::boolean(matches(args[0].str()));
      if (!args[0].is_array()) error(str_cat(name, "() needs a string or a tuple of strings"));
      for (const Value& item : args[0].list().items) {
        if (!item.is(Kind::String)) error(str_cat(name, "() tuple items must be strings"));
        if (matches(item.str())) return Value::boolean(true);
      }
      return Value::boolean(false);
    };
  } else if (name == "split") {
    method = [self](Interp& in, Args& args, const EnvPtr&) {
      const std::string& s = self.str();
      const Value sep = args.size() > 0 ? args[0] : Value::null();
      if (!sep.is(Kind::String) && !sep.is(Kind::Null)) error("split() separator must be a string or none");
      const Value maxsplit = args.size() > 1 ? args[1] : Value::integer(-1);
      if (!maxsplit.is(Kind::Int)) error("split() maxsplit must be an integer");
      std::vector<Value> parts;
      for (std::string& part : split(s, sep, maxsplit.number)) {
        if (parts.size() >= kMaxListItems) error("split() makes too many parts");
        parts.push_back(in.make_string(std::move(part)));
      }
      return in.make_list(std::move(parts));
    };
  } else if (name == "replace") {
    method = [self](Interp& in, Args& args, const EnvPtr&) {
      const std::string& s = self.str();
      if (args.size() < 2) error("replace() needs two arguments");
      if (!args[0].is(Kind::String) || !args[1].is(Kind::String)) error("replace() arguments must be strings");
      Value count = Value::null();
      if (args.size() > 2) {
        if (args[2].is_kwargs()) {
          const Value* c = args[2].dict().find("count");
          count = c ? *c : Value::null();
        } else {
          count = args[2];
        }
      }
      if (!count.is(Kind::Int) && !count.is(Kind::Null)) error("replace() count must be an integer or none");
      const double n = count.is(Kind::Int) ? count.number : -1;
      // A rough upper bound on the result, checked before building it.
      const size_t pieces = args[0].str().empty() ? s.size() + 1 : s.size() / args[0].str().size();
      if (static_cast<double>(pieces) * static_cast<double>(args[1].str().size()) >
          static_cast<double>(kMaxStringBytes))
        error("replace() result too long");
      return in.make_string(replace(s, args[0].str(), args[1].str(), n));
    };
  } else {
    return Value{};
  }
  return function_value(name, std::move(method));
}

Value Interp::dict_method(const Value& self, const std::string& name) {
  using Method = std::function<Value(Interp&, Args&, const EnvPtr&)>;
  Method method;
  if (name == "get") {
    method = [self](Interp&, Args& args, const EnvPtr&) {
      if (args.empty() || !args[0].is(Kind::String)) error("dict.get() key must be a string");
      if (const Value* found = self.dict().find(args[0].str())) return *found;
      return args.size() > 1 ? args[1] : Value::null();
    };
  } else if (name == "items" || name == "keys" || name == "values") {
    method = [self, name](Interp& in, Args&, const EnvPtr&) {
      std::vector<Value> out;
      for (const auto& [k, v] : self.dict().entries) {
        if (name == "items") {
          out.push_back(in.make_list({string_value(k), v}));
        } else {
          out.push_back(name == "keys" ? string_value(k) : v);
        }
      }
      return in.make_list(std::move(out));
    };
  } else if (name == "dictsort") {
    method = [self](Interp& in, Args& args, const EnvPtr&) {
      const Dict* keywords = nullptr;
      Args positional;
      for (const Value& a : args) {
        if (a.is_kwargs()) {
          keywords = &a.dict();
        } else {
          positional.push_back(a);
        }
      }
      const auto option = [&](size_t i, const char* key, Value fallback) {
        if (i < positional.size()) return positional[i];
        const Value* v = keywords ? keywords->find(key) : nullptr;
        return v ? *v : fallback;
      };
      const Value case_sensitive = option(0, "case_sensitive", Value::boolean(false));
      if (!case_sensitive.is(Kind::Bool)) error("dictsort case_sensitive must be a boolean");
      const Value by = option(1, "by", string_value("key"));
      if (!by.is(Kind::String) || (by.str() != "key" && by.str() != "value"))
        error("dictsort by must be 'key' or 'value'");
      const Value reverse = option(2, "reverse", Value::boolean(false));
      if (!reverse.is(Kind::Bool)) error("dictsort reverse must be a boolean");
      std::vector<Value> items;
      for (const auto& [k, v] : self.dict().entries) items.push_back(in.make_list({string_value(k), v}));
      const size_t index = by.str() == "key" ? 0 : 1;
      merge_sort(items, [&](const Value& a, const Value& b) {
        const int c = in.compare(a.list().items[index], b.list().items[index], case_sensitive.truth());
        return (reverse.truth() ? -c : c) < 0;
      });
      return in.make_list(std::move(items));
    };
  } else {
    return Value{};
  }
  return function_value(name, std::move(method));
}

// ---- Filters ----

// getAttributeValue: a dotted path through dicts, namespaces and list indices.
Value attribute_path(const Value& item, std::string_view path) {
  Value value = item;
  for (size_t start = 0;;) {
    const size_t dot = path.find('.', start);
    const std::string_view part =
        path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (value.is(Kind::Dict)) {
      const Value* found = value.dict().find(part);
      value = found ? *found : Value{};
    } else if (value.is_array()) {
      const double index = js_parse_int(part);
      if (std::isnan(index) || index < 0 || index >= static_cast<double>(value.list().items.size())) return Value{};
      value = value.list().items[static_cast<size_t>(index)];
    } else {
      return Value{};
    }
    if (dot == std::string_view::npos) return value;
    start = dot + 1;
  }
}

// A list item as Array.prototype.join prints the underlying value.
std::string join_item(Interp& in, const Value& v) {
  return v.is(Kind::Undefined) || v.is(Kind::Null) ? "" : in.js_string(v);
}

std::string indent_lines(std::string_view s, std::string_view pad, bool first, bool blank) {
  std::string out;
  size_t line = 0;
  for (size_t start = 0;; ++line) {
    const size_t nl = s.find('\n', start);
    const std::string_view text = s.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    if (line > 0) out += '\n';
    if (!((!first && line == 0) || (!blank && text.empty()))) out += pad;
    out += text;
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return out;
}

Value Interp::apply_filter(const Value& operand, const Node& filter, const EnvPtr& env) {
  if (filter.type == NodeType::Identifier) return apply_plain_filter(operand, filter.text, env);
  if (filter.type == NodeType::Call) return apply_call_filter(operand, filter, env);
  error("invalid filter");
}

Value Interp::apply_plain_filter(const Value& v, const std::string& name, const EnvPtr& env) {
  if (name == "safe") return v;
  if (name == "tojson") {
    std::string out;
    to_json(out, v, JsonStyle{}, 0, true);
    return make_string(std::move(out));
  }
  if (v.is_array()) {
    const auto& items = v.list().items;
    if (name == "list") return v;
    if (name == "first") return items.empty() ? Value{} : items.front();
    if (name == "last") return items.empty() ? Value{} : items.back();
    if (name == "length") return Value::integer(static_cast<double>(items.size()));
    if (name == "reverse") return make_list(std::vector<Value>(items.rbegin(), items.rend()));
    if (name == "sort") {
      std::vector<Value> sorted = items;
      merge_sort(sorted, [&](const Value& a, const Value& b) { return compare(a, b, false) < 0; });
      return make_list(std::move(sorted));
    }
    if (name == "join") {
      std::string out;
      for (const Value& item : items) append(out, join_item(*this, item));
      return make_string(std::move(out));
    }
    if (name == "string") {
      std::string out;
      to_json(out, v, JsonStyle{}, 0, false);
      return make_string(std::move(out));
    }
    if (name == "unique") {
      std::vector<Value> out;
      for (const Value& item : items) {
        charge(out.size() / 8);
        if (std::none_of(out.begin(), out.end(), [&](const Value& seen) { return strict_equal(seen, item, true); }))
          out.push_back(item);
      }
      return make_list(std::move(out));
    }
    error(str_cat("unknown list filter '", name, "'"));
  }
  if (v.is(Kind::String)) {
    const std::string& s = v.str();
    if (name == "length") return Value::integer(static_cast<double>(js_length(s)));
    if (name == "upper") return make_string(js_upper(s));
    if (name == "lower") return make_string(js_lower(s));
    if (name == "title") return make_string(title_case(s));
    if (name == "capitalize") return make_string(capitalize(s));
    if (name == "trim") return make_string(std::string(js_trim_end(js_trim_start(s))));
    if (name == "indent") return make_string(indent_lines(s, "    ", false, false));
    if (name == "join" || name == "string") return v;
    if (name == "int") {
      const double x = js_parse_int(s);
      return Value::integer(std::isnan(x) ? 0 : x);
    }
    if (name == "float") {
      const double x = js_parse_float(s);
      return Value::floating(std::isnan(x) ? 0 : x);
    }
    error(str_cat("unknown string filter '", name, "'"));
  }
  if (v.is_number()) {
    if (name == "abs") return Value::of(v.kind, std::fabs(v.number));
    if (name == "int") return Value::integer(std::floor(v.number));
    if (name == "float") return Value::floating(v.number);
    if (name == "string") return make_string(display(v));
    error(str_cat("unknown number filter '", name, "'"));
  }
  if (v.is_mapping()) {
    if (name == "length") return Value::integer(static_cast<double>(v.dict().entries.size()));
    const Value method = dict_method(v, name);
    if (!method.is(Kind::Function)) error(str_cat("unknown dict filter '", name, "'"));
    Args none;
    return method.fn().call(*this, none, env);
  }
  if (v.is(Kind::Bool)) {
    if (name == "bool") return v;
    if (name == "int") return Value::integer(v.number);
    if (name == "float") return Value::floating(v.number);
    if (name == "string") return make_string(v.truth() ? "true" : "false");
    error(str_cat("unknown boolean filter '", name, "'"));
  }
  error(str_cat("cannot apply filter '", name, "' to ", type_name(v)));
}

Value Interp::apply_call_filter(const Value& v, const Node& call, const EnvPtr& env) {
  if (call.args[0]->type != NodeType::Identifier) error("invalid filter");
  const std::string& name = call.args[0]->text;
  const auto keyword = [](const std::vector<std::pair<std::string, Value>>& kw, std::string_view key) -> const Value* {
    for (const auto& [k, val] : kw)
      if (k == key) return &val;
    return nullptr;
  };
  // args.at(i) ?? kwargs.get(key) ?? fallback
  const auto option = [&](const Args& args, const auto& kw, size_t i, std::string_view key, Value fallback) {
    if (i < args.size()) return args[i];
    const Value* found = keyword(kw, key);
    return found ? *found : fallback;
  };

  if (name == "tojson") {
    auto [args, kw] = eval_arguments(call, 1, env);
    JsonStyle style;
    const Value indent = option({}, kw, 0, "indent", Value::null());
    if (!indent.is(Kind::Int) && !indent.is(Kind::Null)) error("tojson indent must be an integer");
    if (indent.is(Kind::Int)) style.indent = indent.number;
    const Value ascii = option({}, kw, 0, "ensure_ascii", Value::boolean(false));
    if (!ascii.is(Kind::Bool)) error("tojson ensure_ascii must be a boolean");
    style.ensure_ascii = ascii.truth();
    const Value sort = option({}, kw, 0, "sort_keys", Value::boolean(false));
    if (!sort.is(Kind::Bool)) error("tojson sort_keys must be a boolean");
    style.sort_keys = sort.truth();
    const Value separators = option({}, kw, 0, "separators", Value::null());
    if (separators.is_array()) {
      const auto& parts = separators.list().items;
      if (parts.size() != 2 || !parts[0].is(Kind::String) || !parts[1].is(Kind::String))
        error("tojson separators must be two strings");
      style.custom_separators = true;
      style.item_separator = parts[0].str();
      style.key_separator = parts[1].str();
    } else if (!separators.is(Kind::Null)) {
      error("tojson separators must be two strings");
    }
    std::string out;
    to_json(out, v, style, 0, true);
    return make_string(std::move(out));
  }
  if (name == "join") {
    std::vector<std::string> parts;
    if (v.is(Kind::String)) {
      for (size_t pos = 0, n; pos < v.str().size(); pos += n) {
        decode_utf8(v.str(), pos, &n);
        parts.push_back(v.str().substr(pos, n));
      }
    } else if (v.is_array()) {
      for (const Value& item : v.list().items) parts.push_back(join_item(*this, item));
    } else {
      error(str_cat("cannot apply filter 'join' to ", type_name(v)));
    }
    auto [args, kw] = eval_arguments(call, 1, env);
    const Value sep = option(args, kw, 0, "separator", string_value(""));
    if (!sep.is(Kind::String)) error("join separator must be a string");
    std::string out;
    for (size_t i = 0; i < parts.size(); ++i) {
      if (i) append(out, sep.str());
      append(out, parts[i]);
    }
    return make_string(std::move(out));
  }
  if (name == "int" || name == "float") {
    auto [args, kw] = eval_arguments(call, 1, env);
    const bool to_int = name == "int";
    const Value fallback = option(args, kw, 0, "default", to_int ? Value::integer(0) : Value::floating(0));
    if (v.is(Kind::String)) {
      const double x = to_int ? js_parse_int(v.str()) : js_parse_float(v.str());
      return std::isnan(x) ? fallback : to_int ? Value::integer(x) : Value::floating(x);
    }
    if (v.is_number()) return v;
    if (v.is(Kind::Bool)) return to_int ? Value::integer(v.number) : Value::floating(v.number);
    error(str_cat("cannot apply filter '", name, "' to ", type_name(v)));
  }
  if (name == "default") {
    auto [args, kw] = eval_arguments(call, 1, env);
    const Value fallback = args.size() > 0 ? args[0] : string_value("");
    const Value boolean = option(args, kw, 1, "boolean", Value::boolean(false));
    if (!boolean.is(Kind::Bool)) error("the default filter's boolean flag must be a boolean");
    if (v.is(Kind::Undefined) || (boolean.truth() && !truthy(v))) return fallback;
    return v;
  }

  if (v.is_array()) {
    const auto& items = v.list().items;
    if (name == "sort") {
      auto [args, kw] = eval_arguments(call, 1, env);
      const Value reverse = option(args, kw, 0, "reverse", Value::boolean(false));
      if (!reverse.is(Kind::Bool)) error("sort reverse must be a boolean");
      const Value case_sensitive = option(args, kw, 1, "case_sensitive", Value::boolean(false));
      if (!case_sensitive.is(Kind::Bool)) error("sort case_sensitive must be a boolean");
      const Value attribute = option(args, kw, 2, "attribute", Value::null());
      if (!attribute.is(Kind::String) && !attribute.is(Kind::Int) && !attribute.is(Kind::Null))
        error("sort attribute must be a string, an integer or none");
      const auto key = [&](const Value& item) {
        if (attribute.is(Kind::Null)) return item;
        return attribute_path(item, attribute.is(Kind::Int) ? js_number_to_string(attribute.number) : attribute.str());
      };
      std::vector<Value> sorted = items;
      merge_sort(sorted, [&](const Value& a, const Value& b) {
        const int c = compare(key(a), key(b), case_sensitive.truth());
        return (reverse.truth() ? -c : c) < 0;
      });
      return make_list(std::move(sorted));
    }
    if (name == "selectattr" || name == "rejectattr") {
      const bool select = name == "selectattr";
      for (const Value& item : items)
        if (!item.is(Kind::Dict)) error(str_cat("'", name, "' needs a list of dicts"));
      for (size_t i = 1; i < call.args.size(); ++i)
        if (call.args[i]->type != NodeType::String) error(str_cat("the arguments of '", name, "' must be strings"));
      if (call.args.size() < 2) {
        if (!items.empty()) error(str_cat("'", name, "' needs an attribute name"));
        return make_list({});
      }
      const std::string& attr = call.args[1]->text;
      const bool has_test = call.args.size() > 2;
      if (has_test && !is_test(call.args[2]->text)) error(str_cat("unknown test '", call.args[2]->text, "'"));
      std::optional<Value> other;
      if (call.args.size() > 3) other = string_value(call.args[3]->text);
      std::vector<Value> out;
      for (const Value& item : items) {
        const Value* a = item.dict().find(attr);
        const bool result = a && (has_test ? run_test(call.args[2]->text, *a, other ? &*other : nullptr) : truthy(*a));
        if (result == select) out.push_back(item);
      }
      return make_list(std::move(out));
    }
    if (name == "map") {
      auto [args, kw] = eval_arguments(call, 1, env);
      const Value* attribute = keyword(kw, "attribute");
      if (!attribute) error("map without attribute= is not supported");
      if (!attribute->is(Kind::String)) error("map attribute must be a string");
      const Value* fallback = keyword(kw, "default");
      std::vector<Value> out;
      for (const Value& item : items) {
        if (!item.is(Kind::Dict)) error("map needs a list of dicts");
        const Value value = attribute_path(item, attribute->str());
        out.push_back(value.is(Kind::Undefined) && fallback ? *fallback : value);
      }
      return make_list(std::move(out));
    }
    error(str_cat("unknown list filter '", name, "'"));
  }
  if (v.is(Kind::String)) {
    if (name == "indent") {
      auto [args, kw] = eval_arguments(call, 1, env);
      const Value width = option(args, kw, 0, "width", Value::integer(4));
      if (!width.is(Kind::Int)) error("indent width must be an integer");
      if (width.number < 0 || width.number > 1e4) error("invalid indent width");
      const Value first = option(args, kw, 1, "first", Value::boolean(false));
      const Value blank = option(args, kw, 2, "blank", Value::boolean(false));
      const std::string pad(static_cast<size_t>(width.number), ' ');
      const size_t lines = static_cast<size_t>(std::count(v.str().begin(), v.str().end(), '\n')) + 1;
      if (v.str().size() + lines * pad.size() > kMaxStringBytes) error("indent result too long");
      return make_string(indent_lines(v.str(), pad, js_truthy(first), js_truthy(blank)));
    }
    if (name == "replace") {
      auto [args, kw] = eval_arguments(call, 1, env);
      args.push_back(kwargs_dict(std::move(kw)));
      return string_method(v, "replace").fn().call(*this, args, env);
    }
    error(str_cat("unknown string filter '", name, "'"));
  }
  if (v.is_mapping()) {
    const Value method = dict_method(v, name);
    if (!method.is(Kind::Function)) error(str_cat("unknown dict filter '", name, "'"));
    auto [args, kw] = eval_arguments(call, 1, env);
    if (!kw.empty()) args.push_back(kwargs_dict(std::move(kw)));
    return method.fn().call(*this, args, env);
  }
  error(str_cat("cannot apply filter '", name, "' to ", type_name(v)));
}

// ---- Globals ----

// The JS value a host function receives for a runtime value, as a number (range() arguments).
double js_to_number(Interp& in, const Value& v) {
  switch (v.kind) {
    case Kind::Undefined: return NAN;
    case Kind::Null: return 0;
    case Kind::Bool:
    case Kind::Int:
    case Kind::Float: return v.number;
    case Kind::String: return js_string_to_number(v.str());
    default: return js_string_to_number(in.js_string(v));
  }
}

std::string strftime_now(std::string_view format) {
  static const char* const kMonths[] = {"January", "February", "March",     "April",   "May",      "June",
                                        "July",    "August",   "September", "October", "November", "December"};
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  const auto pad2 = [](int n) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%02d", n);
    return std::string(buf);
  };
  std::string out;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%' || i + 1 >= format.size()) {
      out += format[i];
      continue;
    }
    const char c = format[i + 1];
    switch (c) {
      case 'Y': out += std::to_string(local.tm_year + 1900); break;
      case 'm': out += pad2(local.tm_mon + 1); break;
      case 'd': out += pad2(local.tm_mday); break;
      case 'b': out += std::string(kMonths[local.tm_mon]).substr(0, 3); break;
      case 'B': out += kMonths[local.tm_mon]; break;
      case 'H': out += pad2(local.tm_hour); break;
      case 'M': out += pad2(local.tm_min); break;
      case '%': out += '%'; break;
      default: out += '%'; continue;  // other directives stay as written
    }
    ++i;
  }
  return out;
}

// A namespace() entry: a two-item list or a two-character string.
std::pair<std::string, Value> namespace_entry(const Value& pair) {
  std::vector<Value> parts;
  if (pair.is_array()) {
    parts = pair.list().items;
  } else if (pair.is(Kind::String)) {
    for (size_t pos = 0, n; pos < pair.str().size(); pos += n) {
      decode_utf8(pair.str(), pos, &n);
      parts.push_back(string_value(pair.str().substr(pos, n)));
    }
  }
  if (parts.size() != 2) error("namespace() expects a dict or a list of [key, value] pairs");
  if (!parts[0].is(Kind::String)) error("namespace() keys must be strings");
  return {parts[0].str(), parts[1]};
}

void install_globals(Env& env) {
  env.set("namespace", function_value("namespace", [](Interp& in, Args& args, const EnvPtr&) {
            Args positional = args;
            std::vector<std::pair<std::string, Value>> keywords;
            if (!positional.empty() && positional.back().is_kwargs()) {
              keywords = positional.back().dict().entries;
              positional.pop_back();
            }
            if (positional.size() > 1) error(str_cat("namespace() takes at most 1 argument, got ", positional.size()));
            Dict entries;
            if (positional.size() == 1) {
              const Value& source = positional[0];
              if (source.is_mapping()) {
                for (const auto& [k, v] : source.dict().entries) entries.set(k, v);
              } else if (source.is_array()) {
                for (const Value& pair : source.list().items) {
                  auto [k, v] = namespace_entry(pair);
                  entries.set(k, std::move(v));
                }
              } else {
                error(str_cat("namespace() cannot read ", type_name(source)));
              }
            }
            for (auto& [k, v] : keywords) entries.set(k, std::move(v));
            return in.make_dict(DictKind::Namespace, std::move(entries.entries));
          }));
  env.set("false", Value::boolean(false));
  env.set("true", Value::boolean(true));
  env.set("none", Value::null());
  env.set("raise_exception", function_value("raise_exception", [](Interp& in, Args& args, const EnvPtr&) -> Value {
            const std::string message = args.empty() || args[0].is(Kind::Undefined) ? "" : in.js_string(args[0]);
            error(str_cat("raise_exception: ", message));
          }));
  env.set("range", function_value("range", [](Interp& in, Args& args, const EnvPtr&) {
            // The JS range(start, stop?, step = 1) receives the raw values; undefined means absent.
            const auto arg = [&](size_t i) -> std::optional<double> {
              if (i >= args.size() || args[i].is(Kind::Undefined)) return std::nullopt;
              return js_to_number(in, args[i]);
            };
            double start = arg(0).value_or(NAN);
            std::optional<double> stop = arg(1);
            const double step = arg(2).value_or(1);
            if (!stop) stop = start, start = 0;
            if (step == 0) error("range() step must not be zero");
            std::vector<Value> out;
            for (double i = start; step > 0 ? i < *stop : i > *stop; i += step) {
              if (out.size() >= kMaxListItems) error(str_cat("range() longer than ", kMaxListItems, " items"));
              in.charge(1);
              out.push_back(Value::number_of(i));
            }
            return in.make_list(std::move(out));
          }));
  env.set("strftime_now", function_value("strftime_now", [](Interp& in, Args& args, const EnvPtr&) {
            if (args.empty() || !args[0].is(Kind::String)) error("strftime_now() needs a format string");
            return in.make_string(strftime_now(args[0].str()));
          }));
  env.set("True", Value::boolean(true));
  env.set("False", Value::boolean(false));
  env.set("None", Value::null());
}

}  // namespace
}  // namespace weblm::jinja::detail

namespace weblm::jinja {

std::string Template::render(const nlohmann::ordered_json& context) const {
  using namespace detail;
  if (!context.is_object() && !context.is_null()) fail("chat template context must be a JSON object");
  Interp interp;
  auto globals = std::make_shared<Env>();
  try {
    install_globals(*globals);
    const size_t builtins = globals->vars.size();
    if (context.is_object()) {
      for (const auto* entry : js_entries(context)) {
        for (size_t i = 0; i < builtins; ++i)
          if (globals->vars[i].first == entry->first)
            fail("chat template context variable '", entry->first, "' clashes with a built-in");
        globals->vars.emplace_back(entry->first, interp.from_json(entry->second, 0));
      }
    }
    return interp.render_block(program_->body, globals);
  } catch (const RenderError& e) {
    if (e.line == 0) fail("chat template: ", e.message);
    fail("chat template line ", e.line, ": ", e.message);
  } catch (const LoopSignal& s) {
    fail("chat template line ", s.line, ": '", s.is_break ? "break" : "continue", "' outside a loop");
  }
}

}  // namespace weblm::jinja
