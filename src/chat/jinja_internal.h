// Internals shared by the Jinja parser (jinja_parse.cpp) and renderer (jinja_render.cpp): the syntax
// tree, resource limits, and the JavaScript string/number semantics (jinja_js.cpp) that
// @huggingface/jinja inherits from the language it is written in.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace weblm::jinja::detail {

// Bounds that keep a hostile template from exhausting the stack, memory or time. Real chat
// templates stay far below each of them.
inline constexpr int kMaxSyntaxDepth = 200;  // nesting of the syntax tree
inline constexpr int kMaxEvalDepth = 600;    // nested evaluations (tree depth x macro calls)
inline constexpr size_t kMaxStringBytes = size_t{1} << 25;
inline constexpr size_t kMaxListItems = size_t{1} << 20;
inline constexpr int kMaxValueDepth = 256;               // nesting of lists and dicts
inline constexpr uint64_t kMaxWork = uint64_t{1} << 27;  // units of ~100 ns: a node, 16 bytes made

enum class NodeType : uint8_t {
  // Statements.
  Text,         // text: the template text
  If,           // args: test; body; alt: else / elif branch
  For,          // args: loop target (Identifier or TupleLiteral), iterable; body; alt: else block
  Set,          // args: target, value (null for a block set); body: the block
  Macro,        // text: name; params; body
  CallBlock,    // args: the Call node; params: caller's parameters; body
  FilterBlock,  // args: filter (Identifier or Call); body
  Break,
  Continue,
  Comment,
  // Expressions.
  Integer,        // number
  Float,          // number
  String,         // text
  Identifier,     // text
  ArrayLiteral,   // args: items
  TupleLiteral,   // args: items
  ObjectLiteral,  // args: key0, value0, key1, value1, ...
  Member,         // args: object, property (a Slice node when sliced); flag: computed (obj[...])
  Slice,          // args: start, stop, step (each may be null)
  Call,           // args: callee, arguments...
  KeywordArg,     // text: name; args: value
  Spread,         // args: value (*value)
  KeywordSpread,  // args: value (**value)
  Binary,         // text: operator; args: left, right
  Unary,          // text: operator; args: operand
  Filter,         // args: operand, filter (Identifier or Call)
  Test,           // text: test name; args: operand; flag: negated (is not)
  Select,         // args: value, condition (`value if condition` without else)
  Ternary,        // args: condition, if-true, if-false
};

struct Node;
using NodePtr = std::unique_ptr<Node>;
using NodeList = std::vector<NodePtr>;

struct Node {
  NodeType type;
  uint32_t line = 0;  // 1-based line in the original template source
  int depth = 1;      // height of this subtree, bounded by kMaxSyntaxDepth
  bool flag = false;
  double number = 0;
  std::string text;
  NodeList args;
  NodeList params;
  NodeList body;
  NodeList alt;
};

struct Program {
  NodeList body;
};

// Parses preprocessed, tokenized template text into a tree (jinja_parse.cpp).
std::shared_ptr<const Program> parse_program(std::string_view source);

// ---- JavaScript semantics over UTF-8 text (jinja_js.cpp) ----

// Decodes the code point at s[i] and its byte length; malformed bytes decode as U+FFFD, length 1.
char32_t decode_utf8(std::string_view s, size_t i, size_t* length);
void append_utf8(std::string& out, char32_t cp);
// Byte length of the JavaScript whitespace character (regex \s, String.prototype.trim) at s[i], or 0.
size_t js_space_at(std::string_view s, size_t i);
// Byte length of the whitespace run ending at s[end], not reaching before `floor`.
size_t js_space_before(std::string_view s, size_t end, size_t floor);
bool is_js_line_terminator(char32_t cp);

std::string_view js_trim_start(std::string_view s);
std::string_view js_trim_end(std::string_view s);
size_t js_length(std::string_view s);                    // UTF-16 code units
int js_compare(std::string_view a, std::string_view b);  // UTF-16 code unit order
std::string js_upper(std::string_view s);                // String.prototype.toUpperCase
std::string js_lower(std::string_view s);                // String.prototype.toLowerCase

// Per-character case mappings (jinja_case_table.cpp, generated): runs of code points `stride` apart
// that map to code point + delta, and characters that map to several.
struct CaseRun {
  char32_t first, last;
  uint8_t stride;
  int32_t delta;
};
struct CaseSpecial {
  char32_t from;
  char32_t to[3];  // zero-padded
};
struct CaseTable {
  const CaseRun* runs;
  size_t run_count;
  const CaseSpecial* specials;
  size_t special_count;
};
const CaseTable& upper_case_table();
const CaseTable& lower_case_table();
char32_t map_case(char32_t c, const CaseTable& table);  // the one-character part of a mapping

std::string js_number_to_string(double x);       // String(x)
double js_string_to_number(std::string_view s);  // Number(s), NaN when not numeric
double js_parse_int(std::string_view s);         // parseInt(s, 10)
double js_parse_float(std::string_view s);       // parseFloat(s)
// JSON.stringify of a string; with ensure_ascii every UTF-16 unit >= 0x7f becomes \uXXXX.
void js_quote(std::string& out, std::string_view s, bool ensure_ascii);

}  // namespace weblm::jinja::detail
