// Template text to syntax tree, following @huggingface/jinja's lexer.ts and parser.ts step by step
// (their quirks decide which templates parse, e.g. `f(a b)` is a two-argument call there).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <unordered_set>

#include "chat/jinja.h"
#include "chat/jinja_internal.h"
#include "util/error.h"

namespace weblm::jinja::detail {
namespace {

// ---- Preprocessing: the regex rewrites @huggingface/jinja applies before lexing ----

// Template text plus, for every byte, its offset in the original source (for error positions).
struct Text {
  std::string text;
  std::vector<uint32_t> origin;  // origin.size() == text.size() + 1

  void push(const Text& from, size_t i, size_t n) {
    text.append(from.text, i, n);
    origin.insert(origin.end(), from.origin.begin() + i, from.origin.begin() + i + n);
  }
  void truncate(size_t size) {
    text.resize(size);
    origin.resize(size);
  }
  void finish(const Text& from) { origin.push_back(from.origin.back()); }
};

// Whether c is one of `set` (never true for NUL, which strchr would find).
bool is_one_of(char c, const char* set) { return c != '\0' && std::strchr(set, c) != nullptr; }

bool starts_with_at(std::string_view s, size_t i, std::string_view prefix) {
  return s.size() >= i && s.substr(i, prefix.size()) == prefix;
}

// lstrip_blocks: /^[ \t]*({[#%-])/gm -> "$1": blanks before a block tag at a line start go.
Text lstrip_blocks(const Text& in) {
  Text out;
  const std::string& s = in.text;
  bool line_start = true;
  for (size_t i = 0; i < s.size();) {
    if (line_start) {
      size_t j = i;
      while (j < s.size() && (s[j] == ' ' || s[j] == '\t')) ++j;
      if (j + 1 < s.size() && s[j] == '{' && is_one_of(s[j + 1], "#%-")) i = j;
    }
    size_t n;
    line_start = is_js_line_terminator(decode_utf8(s, i, &n));
    out.push(in, i, n);
    i += n;
  }
  out.finish(in);
  return out;
}

// trim_blocks: /([#%-]})\n/g -> "$1": the newline right after a block tag goes.
Text trim_blocks(const Text& in) {
  Text out;
  const std::string& s = in.text;
  for (size_t i = 0; i < s.size();) {
    if (i + 2 < s.size() && is_one_of(s[i], "#%-") && s[i + 1] == '}' && s[i + 2] == '\n') {
      out.push(in, i, 2);
      i += 3;
    } else {
      out.push(in, i, 1);
      ++i;
    }
  }
  out.finish(in);
  return out;
}

// Length of a transformers `{% generation %}` / `{% endgeneration %}` tag at s[i] (0 if none) and
// whether it strips on either side: /{%(-?)\s*(?:end)?generation\s*(-?)%}/.
size_t generation_tag(std::string_view s, size_t i, bool* strip_before, bool* strip_after) {
  if (!starts_with_at(s, i, "{%")) return 0;
  size_t j = i + 2;
  *strip_before = j < s.size() && s[j] == '-';
  if (*strip_before) ++j;
  while (size_t n = js_space_at(s, j)) j += n;
  if (starts_with_at(s, j, "end")) j += 3;
  if (!starts_with_at(s, j, "generation")) return 0;
  j += 10;
  while (size_t n = js_space_at(s, j)) j += n;
  *strip_after = j < s.size() && s[j] == '-';
  if (*strip_after) ++j;
  if (!starts_with_at(s, j, "%}")) return 0;
  return j + 2 - i;
}

// /(\s*){%(-?)\s*(?:end)?generation\s*(-?)%}(\s*)/gs: the tags disappear, and so does the
// whitespace around them on a side marked with '-'.
Text drop_generation_tags(const Text& in) {
  Text out;
  const std::string& s = in.text;
  size_t last_end = 0;  // whitespace before a tag is only taken back to the previous match
  for (size_t i = 0; i < s.size();) {
    bool strip_before, strip_after;
    if (const size_t tag = generation_tag(s, i, &strip_before, &strip_after)) {
      if (strip_before) out.truncate(out.text.size() - js_space_before(s, i, last_end));
      size_t j = i + tag, after = j;
      while (size_t n = js_space_at(s, j)) j += n;
      if (!strip_after) out.push(in, after, j - after);
      i = last_end = j;
    } else {
      out.push(in, i, 1);
      ++i;
    }
  }
  out.finish(in);
  return out;
}

Text preprocess(std::string_view source) {
  Text text{std::string(source), {}};
  text.origin.resize(source.size() + 1);
  for (size_t i = 0; i <= source.size(); ++i) text.origin[i] = static_cast<uint32_t>(i);
  if (!text.text.empty() && text.text.back() == '\n') {
    text.text.pop_back();
    text.origin.erase(text.origin.end() - 2);
  }
  return drop_generation_tags(trim_blocks(lstrip_blocks(text)));
}

// ---- Lexer ----

enum class Tok : uint8_t {
  Text,
  Number,
  String,
  Identifier,
  Equals,
  OpenParen,
  CloseParen,
  OpenStatement,
  CloseStatement,
  OpenExpression,
  CloseExpression,
  OpenSquare,
  CloseSquare,
  OpenCurly,
  CloseCurly,
  Comma,
  Dot,
  Colon,
  Pipe,
  Additive,
  Multiplicative,
  Power,
  Comparison,
  UnaryOperator,
  Comment,
};


struct Token {
  Tok type;
  std::string value;
  uint32_t pos;  // offset in the preprocessed text
};

// A token as error messages name it.
std::string describe(const Token& t) {
  switch (t.type) {
    case Tok::Text: return "text";
    case Tok::Comment: return "a comment";
    case Tok::String: return "a string";
    case Tok::Number: return str_cat("the number ", t.value);
    default: return str_cat("'", t.value, "'");
  }
}

struct Symbol {
  const char* text;
  Tok type;
};
// Order matters: longer symbols before their prefixes, as in the library's table.
constexpr Symbol kSymbols[] = {
    {"{%", Tok::OpenStatement},  {"%}", Tok::CloseStatement},
    {"{{", Tok::OpenExpression}, {"}}", Tok::CloseExpression},
    {"(", Tok::OpenParen},       {")", Tok::CloseParen},
    {"{", Tok::OpenCurly},       {"}", Tok::CloseCurly},
    {"[", Tok::OpenSquare},      {"]", Tok::CloseSquare},
    {",", Tok::Comma},           {".", Tok::Dot},
    {":", Tok::Colon},           {"|", Tok::Pipe},
    {"<=", Tok::Comparison},     {">=", Tok::Comparison},
    {"==", Tok::Comparison},     {"!=", Tok::Comparison},
    {"<", Tok::Comparison},      {">", Tok::Comparison},
    {"+", Tok::Additive},        {"-", Tok::Additive},
    {"~", Tok::Additive},        {"**", Tok::Power},
    {"*", Tok::Multiplicative},  {"//", Tok::Multiplicative},
    {"/", Tok::Multiplicative},  {"%", Tok::Multiplicative},
    {"=", Tok::Equals},
};

bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
bool is_digit_char(char c) { return c >= '0' && c <= '9'; }

struct SyntaxError {
  size_t pos;  // offset in the preprocessed text
  std::string message;
};

class Lexer {
 public:
  explicit Lexer(const std::string& src) : src_(src) {}

  std::vector<Token> run() {
    while (pos_ < src_.size()) step();
    return std::move(tokens_);
  }

 private:
  char at(size_t i) const { return i < src_.size() ? src_[i] : '\0'; }
  [[noreturn]] void fail(std::string message) const { throw SyntaxError{pos_, std::move(message)}; }
  bool last_is(std::initializer_list<Tok> types) const {
    return !tokens_.empty() && std::find(types.begin(), types.end(), tokens_.back().type) != types.end();
  }
  void push(Tok type, std::string value, size_t pos) {
    tokens_.push_back(Token{type, std::move(value), static_cast<uint32_t>(pos)});
  }

  // The library's consumeWhile: running into the end of the input is an error.
  template <class Pred>
  std::string consume_while(Pred pred) {
    std::string out;
    while (pos_ < src_.size() && pred(src_[pos_])) {
      size_t n;
      decode_utf8(src_, pos_, &n);
      out.append(src_, pos_, n);
      pos_ += n;
      if (pos_ >= src_.size()) fail("unexpected end of template");
    }
    return out;
  }
  void skip_spaces_inside() {
    while (size_t n = js_space_at(src_, pos_)) {
      pos_ += n;
      if (pos_ >= src_.size()) fail("unexpected end of template");
    }
  }
  void skip_spaces() {
    while (size_t n = js_space_at(src_, pos_)) pos_ += n;
  }
  void strip_trailing_whitespace() {
    if (!tokens_.empty() && tokens_.back().type == Tok::Text) {
      std::string& text = tokens_.back().value;
      text.resize(js_trim_end(text).size());
      if (text.empty()) tokens_.pop_back();
    }
  }

  std::string string_literal(char quote) {
    std::string out;
    for (;;) {
      if (pos_ >= src_.size()) fail("unterminated string literal");
      const char c = src_[pos_];
      if (c == quote) break;
      if (c != '\\') {
        size_t n;
        decode_utf8(src_, pos_, &n);
        out.append(src_, pos_, n);
        pos_ += n;
        if (pos_ >= src_.size()) fail("unterminated string literal");
        continue;
      }
      if (++pos_ >= src_.size()) fail("unterminated string literal");
      const char e = src_[pos_++];
      if (e == 'x' || e == 'u') {
        const size_t len = e == 'x' ? 2 : 4;
        const std::string hex = src_.substr(pos_, len);
        if (hex.size() != len || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
          fail(str_cat("invalid escape \\", e, hex));
        char32_t unit = static_cast<char32_t>(std::strtoul(hex.c_str(), nullptr, 16));
        pos_ += len;
        // A \uD8xx\uDCxx pair is one character once the UTF-16 units are joined.
        if (unit >= 0xD800 && unit < 0xDC00 && at(pos_) == '\\' && at(pos_ + 1) == 'u') {
          const std::string low = src_.substr(pos_ + 2, 4);
          if (low.size() == 4 && low.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos) {
            const auto lo = static_cast<char32_t>(std::strtoul(low.c_str(), nullptr, 16));
            if (lo >= 0xDC00 && lo < 0xE000) {
              unit = 0x10000 + ((unit - 0xD800) << 10) + (lo - 0xDC00);
              pos_ += 6;
            }
          }
        }
        append_utf8(out, unit);
        continue;
      }
      static const char kFrom[] = "ntrbfv'\"\\";
      static const char kTo[] = "\n\t\r\b\f\v'\"\\";
      if (!is_one_of(e, kFrom)) fail(str_cat("unexpected escaped character '", e, "'"));
      out += kTo[std::strchr(kFrom, e) - kFrom];
    }
    ++pos_;  // closing quote
    return out;
  }

  void step() {
    if (tokens_.empty() || last_is({Tok::CloseStatement, Tok::CloseExpression, Tok::Comment})) {
      const size_t start = pos_;
      while (pos_ < src_.size() && !(src_[pos_] == '{' && is_one_of(at(pos_ + 1), "%{#"))) ++pos_;
      if (pos_ > start) {
        push(Tok::Text, src_.substr(start, pos_ - start), start);
        return;
      }
    }

    if (src_[pos_] == '{' && at(pos_ + 1) == '#') {
      const size_t start = pos_;
      pos_ += 2;
      const bool strip_before = at(pos_) == '-';
      if (strip_before) ++pos_;
      std::string comment;
      while (at(pos_) != '#' || at(pos_ + 1) != '}') {
        if (pos_ + 2 >= src_.size()) fail("missing end of comment tag");
        comment += src_[pos_++];
      }
      const bool strip_after = !comment.empty() && comment.back() == '-';
      if (strip_after) comment.pop_back();
      if (strip_before) strip_trailing_whitespace();
      push(Tok::Comment, std::move(comment), start);
      pos_ += 2;
      if (strip_after) skip_spaces();
      return;
    }
    if (starts_with_at(src_, pos_, "{%-") || starts_with_at(src_, pos_, "{{-")) {
      strip_trailing_whitespace();
      const bool statement = src_[pos_ + 1] == '%';
      push(statement ? Tok::OpenStatement : Tok::OpenExpression, statement ? "{%" : "{{", pos_);
      if (!statement) curly_depth_ = 0;
      pos_ += 3;
      return;
    }

    skip_spaces_inside();

    if (starts_with_at(src_, pos_, "-%}") || starts_with_at(src_, pos_, "-}}")) {
      const bool statement = src_[pos_ + 1] == '%';
      push(statement ? Tok::CloseStatement : Tok::CloseExpression, statement ? "%}" : "}}", pos_);
      pos_ += 3;
      skip_spaces();
      return;
    }

    const char c = src_[pos_];
    if ((c == '-' || c == '+')) {
      if (tokens_.empty() || last_is({Tok::Text})) fail(str_cat("unexpected character '", c, "'"));
      if (!last_is({Tok::Identifier, Tok::Number, Tok::String, Tok::CloseParen, Tok::CloseSquare})) {
        // A sign: part of a number literal when digits follow, else a unary operator.
        const size_t start = pos_++;
        std::string num = consume_while(is_digit_char);
        if (!num.empty() && at(pos_) == '.' && is_digit_char(at(pos_ + 1))) {
          ++pos_;
          num += "." + consume_while(is_digit_char);
        }
        push(num.empty() ? Tok::UnaryOperator : Tok::Number, std::string(1, c) + num, start);
        return;
      }
    }

    for (const Symbol& symbol : kSymbols) {
      if (symbol.type == Tok::CloseExpression && curly_depth_ > 0) continue;
      if (!starts_with_at(src_, pos_, symbol.text)) continue;
      push(symbol.type, symbol.text, pos_);
      if (symbol.type == Tok::OpenExpression) curly_depth_ = 0;
      if (symbol.type == Tok::OpenCurly) ++curly_depth_;
      if (symbol.type == Tok::CloseCurly) --curly_depth_;
      pos_ += std::strlen(symbol.text);
      return;
    }

    const size_t start = pos_;
    if (c == '\'' || c == '"') {
      ++pos_;
      push(Tok::String, string_literal(c), start);
    } else if (is_digit_char(c)) {
      std::string num = consume_while(is_digit_char);
      if (!last_is({Tok::Dot}) && at(pos_) == '.' && is_digit_char(at(pos_ + 1))) {
        ++pos_;
        num += "." + consume_while(is_digit_char);
      }
      push(Tok::Number, std::move(num), start);
    } else if (is_word_char(c)) {
      push(Tok::Identifier, consume_while(is_word_char), start);
    } else {
      size_t n;
      decode_utf8(src_, pos_, &n);
      fail(str_cat("unexpected character '", src_.substr(pos_, n), "'"));
    }
  }

  const std::string& src_;
  size_t pos_ = 0;
  int curly_depth_ = 0;
  std::vector<Token> tokens_;
};

// ---- Parser ----

class Parser {
 public:
  Parser(std::vector<Token> tokens, size_t end_pos, std::vector<uint32_t> line_of_pos)
      : tokens_(std::move(tokens)), end_pos_(end_pos), line_of_pos_(std::move(line_of_pos)) {}

  std::shared_ptr<const Program> run() {
    auto program = std::make_shared<Program>();
    while (current_ < tokens_.size()) program->body.push_back(parse_any());
    return program;
  }

 private:
  enum class ArgsMode { Call, Parameters };

  // Guards the recursive descent against unbounded nesting (a few levels per tree level).
  struct DepthGuard {
    explicit DepthGuard(Parser& p) : parser(p) {
      if (++parser.depth_ > 4 * kMaxSyntaxDepth) parser.fail("template nested too deeply");
    }
    ~DepthGuard() { --parser.depth_; }
    Parser& parser;
  };

  [[noreturn]] void fail(std::string message) const {
    throw SyntaxError{current_ < tokens_.size() ? tokens_[current_].pos : end_pos_, std::move(message)};
  }
  [[noreturn]] void fail_at_previous(std::string message) const {
    throw SyntaxError{current_ > 0 ? tokens_[current_ - 1].pos : 0, std::move(message)};
  }
  const Token& peek() const {
    if (current_ >= tokens_.size()) fail("unexpected end of template");
    return tokens_[current_];
  }
  const Token& next() {
    const Token& t = peek();
    ++current_;
    return t;
  }
  bool is(Tok type, size_t ahead = 0) const {
    return current_ + ahead < tokens_.size() && tokens_[current_ + ahead].type == type;
  }
  bool is_identifier(std::string_view name, size_t ahead = 0) const {
    return is(Tok::Identifier, ahead) && tokens_[current_ + ahead].value == name;
  }
  bool is_statement(std::initializer_list<std::string_view> names) const {
    if (!is(Tok::OpenStatement) || !is(Tok::Identifier, 1)) return false;
    const std::string& name = tokens_[current_ + 1].value;
    return std::find(names.begin(), names.end(), name) != names.end();
  }
  void expect(Tok type, std::string_view what) {
    const Token& t = peek();
    if (t.type != type) fail(str_cat("expected ", what, ", got ", describe(t)));
    ++current_;
  }
  void expect_identifier(std::string_view name) {
    if (!is_identifier(name)) fail(str_cat("expected '", name, "'"));
    ++current_;
  }

  NodePtr make(NodeType type, const Token& at) {
    auto node = std::make_unique<Node>();
    node->type = type;
    node->line = line_of_pos_[at.pos];
    return node;
  }
  // Records the subtree height once the children are in place; a tree too deep is refused so
  // that every later recursive walk (rendering, destruction) has bounded depth.
  NodePtr done(NodePtr node) {
    int depth = 0;
    for (const NodeList* list : {&node->args, &node->params, &node->body, &node->alt})
      for (const NodePtr& child : *list)
        if (child) depth = std::max(depth, child->depth);
    node->depth = depth + 1;
    if (node->depth > kMaxSyntaxDepth) fail_at_previous("template nested too deeply");
    return node;
  }
  NodePtr node1(NodeType type, const Token& at, NodePtr a) {
    NodePtr n = make(type, at);
    n->args.push_back(std::move(a));
    return done(std::move(n));
  }
  NodePtr node2(NodeType type, const Token& at, std::string text, NodePtr a, NodePtr b) {
    NodePtr n = make(type, at);
    n->text = std::move(text);
    n->args.push_back(std::move(a));
    n->args.push_back(std::move(b));
    return done(std::move(n));
  }

  NodePtr parse_any() {
    DepthGuard guard(*this);
    const Token& t = peek();
    switch (t.type) {
      case Tok::Comment: {
        NodePtr n = make(NodeType::Comment, next());
        return done(std::move(n));
      }
      case Tok::Text: {
        NodePtr n = make(NodeType::Text, t);
        n->text = next().value;
        return done(std::move(n));
      }
      case Tok::OpenStatement: return parse_statement();
      case Tok::OpenExpression: {
        ++current_;
        NodePtr expr = parse_expression();
        expect(Tok::CloseExpression, "'}}'");
        return expr;
      }
      default: fail(str_cat("unexpected ", describe(t)));
    }
  }

  NodeList parse_block_until(std::initializer_list<std::string_view> ends) {
    NodeList body;
    while (!is_statement(ends)) body.push_back(parse_any());
    return body;
  }
  void expect_end(std::string_view name) {
    expect(Tok::OpenStatement, str_cat("'{% ", name, " %}'"));
    expect_identifier(name);
    expect(Tok::CloseStatement, "'%}'");
  }

  NodePtr parse_statement() {
    const Token& open = next();
    if (!is(Tok::Identifier)) fail("expected a statement name");
    const std::string name = next().value;
    if (name == "set") return parse_set(open);
    if (name == "if") {
      NodePtr n = parse_if(open);
      expect_end("endif");
      return n;
    }
    if (name == "macro") {
      NodePtr n = make(NodeType::Macro, open);
      NodePtr callee = parse_primary();
      if (callee->type != NodeType::Identifier) fail_at_previous("expected a macro name");
      n->text = callee->text;
      n->params = parse_args(ArgsMode::Parameters);
      expect(Tok::CloseStatement, "'%}'");
      n->body = parse_block_until({"endmacro"});
      expect_end("endmacro");
      return done(std::move(n));
    }
    if (name == "for") {
      NodePtr n = parse_for(open);
      expect_end("endfor");
      return n;
    }
    if (name == "call") {
      NodePtr n = make(NodeType::CallBlock, open);
      if (is(Tok::OpenParen)) n->params = parse_args(ArgsMode::Parameters);
      const Token& at = peek();
      NodePtr callee = parse_primary();
      if (callee->type != NodeType::Identifier) fail_at_previous("expected a macro name after 'call'");
      NodePtr call = make(NodeType::Call, at);
      call->args.push_back(std::move(callee));
      for (NodePtr& arg : parse_args(ArgsMode::Call)) call->args.push_back(std::move(arg));
      n->args.push_back(done(std::move(call)));
      expect(Tok::CloseStatement, "'%}'");
      n->body = parse_block_until({"endcall"});
      expect_end("endcall");
      return done(std::move(n));
    }
    if (name == "break" || name == "continue") {
      NodePtr n = make(name == "break" ? NodeType::Break : NodeType::Continue, open);
      expect(Tok::CloseStatement, "'%}'");
      return done(std::move(n));
    }
    if (name == "filter") {
      NodePtr n = make(NodeType::FilterBlock, open);
      NodePtr filter = parse_primary();
      if (filter->type == NodeType::Identifier && is(Tok::OpenParen)) filter = parse_call(std::move(filter));
      n->args.push_back(std::move(filter));
      expect(Tok::CloseStatement, "'%}'");
      n->body = parse_block_until({"endfilter"});
      expect_end("endfilter");
      return done(std::move(n));
    }
    fail_at_previous(str_cat("unknown statement '", name, "'"));
  }

  NodePtr parse_set(const Token& open) {
    NodePtr n = make(NodeType::Set, open);
    n->args.push_back(parse_sequence(false));
    if (is(Tok::Equals)) {
      ++current_;
      n->args.push_back(parse_sequence(false));
    } else {
      n->args.push_back(nullptr);
      expect(Tok::CloseStatement, "'%}' or '='");
      n->body = parse_block_until({"endset"});
      expect(Tok::OpenStatement, "'{%'");
      expect_identifier("endset");
    }
    expect(Tok::CloseStatement, "'%}'");
    return done(std::move(n));
  }

  NodePtr parse_if(const Token& open) {
    DepthGuard guard(*this);
    NodePtr n = make(NodeType::If, open);
    n->args.push_back(parse_expression());
    expect(Tok::CloseStatement, "'%}'");
    n->body = parse_block_until({"elif", "else", "endif"});
    if (is_statement({"elif"})) {
      const Token& elif = next();
      ++current_;
      n->alt.push_back(parse_if(elif));
    } else if (is_statement({"else"})) {
      current_ += 2;
      expect(Tok::CloseStatement, "'%}'");
      n->alt = parse_block_until({"endif"});
    }
    return done(std::move(n));
  }

  NodePtr parse_for(const Token& open) {
    NodePtr n = make(NodeType::For, open);
    NodePtr target = parse_sequence(true);
    if (target->type != NodeType::Identifier && target->type != NodeType::TupleLiteral)
      fail_at_previous("expected a name or a tuple of names as the loop variable");
    n->args.push_back(std::move(target));
    if (!is_identifier("in")) fail("expected 'in' after the loop variable");
    ++current_;
    n->args.push_back(parse_expression());
    expect(Tok::CloseStatement, "'%}'");
    n->body = parse_block_until({"endfor", "else"});
    if (is_statement({"else"})) {
      current_ += 2;
      expect(Tok::CloseStatement, "'%}'");
      n->alt = parse_block_until({"endfor"});
    }
    return done(std::move(n));
  }

  // `a, b, c` becomes a tuple; a single item stays itself.
  NodePtr parse_sequence(bool primary) {
    const Token& at = peek();
    NodePtr first = primary ? parse_primary() : parse_expression();
    if (!is(Tok::Comma)) return first;
    NodePtr tuple = make(NodeType::TupleLiteral, at);
    tuple->args.push_back(std::move(first));
    while (is(Tok::Comma)) {
      ++current_;
      tuple->args.push_back(primary ? parse_primary() : parse_expression());
    }
    return done(std::move(tuple));
  }

  NodePtr parse_expression() { return parse_if_expression(); }

  NodePtr parse_if_expression() {
    DepthGuard guard(*this);
    NodePtr a = parse_or();
    if (!is_identifier("if")) return a;
    const Token& at = next();
    NodePtr test = parse_or();
    if (is_identifier("else")) {
      ++current_;
      NodePtr n = make(NodeType::Ternary, at);
      n->args.push_back(std::move(test));
      n->args.push_back(std::move(a));
      n->args.push_back(parse_if_expression());
      return done(std::move(n));
    }
    return node2(NodeType::Select, at, "", std::move(a), std::move(test));
  }

  NodePtr parse_or() {
    NodePtr left = parse_and();
    while (is_identifier("or")) {
      const Token& op = next();
      left = node2(NodeType::Binary, op, "or", std::move(left), parse_and());
    }
    return left;
  }

  NodePtr parse_and() {
    NodePtr left = parse_not();
    while (is_identifier("and")) {
      const Token& op = next();
      left = node2(NodeType::Binary, op, "and", std::move(left), parse_not());
    }
    return left;
  }

  // As in the library, a later `not` replaces what came before it: `not a not b` is `not b`.
  NodePtr parse_not() {
    DepthGuard guard(*this);
    NodePtr result;
    while (is_identifier("not")) {
      const Token& op = next();
      NodePtr n = make(NodeType::Unary, op);
      n->text = "not";
      n->args.push_back(parse_not());
      result = done(std::move(n));
    }
    return result ? std::move(result) : parse_comparison();
  }

  NodePtr parse_comparison() {
    NodePtr left = parse_additive();
    for (;;) {
      std::string op;
      const size_t at = current_;
      if (is_identifier("not") && is_identifier("in", 1)) {
        op = "not in";
        current_ += 2;
      } else if (is_identifier("in") || is(Tok::Comparison)) {
        op = next().value;
      } else {
        return left;
      }
      left = node2(NodeType::Binary, tokens_[at], std::move(op), std::move(left), parse_additive());
    }
  }

  NodePtr parse_additive() {
    NodePtr left = parse_multiplicative();
    while (is(Tok::Additive)) {
      const Token& op = next();
      left = node2(NodeType::Binary, op, op.value, std::move(left), parse_multiplicative());
    }
    return left;
  }

  NodePtr parse_multiplicative() {
    NodePtr left = parse_power();
    while (is(Tok::Multiplicative)) {
      const Token& op = next();
      left = node2(NodeType::Binary, op, op.value, std::move(left), parse_power());
    }
    return left;
  }

  // Left-associative, as in Jinja: 2 ** 3 ** 2 == (2 ** 3) ** 2.
  NodePtr parse_power() {
    NodePtr left = parse_test();
    while (is(Tok::Power)) {
      const Token& op = next();
      left = node2(NodeType::Binary, op, "**", std::move(left), parse_test());
    }
    return left;
  }

  NodePtr parse_test() {
    NodePtr operand = parse_filter();
    while (is_identifier("is")) {
      const Token& at = next();
      const bool negate = is_identifier("not");
      if (negate) ++current_;
      NodePtr test = parse_primary();
      if (test->type != NodeType::Identifier) fail_at_previous("expected a test name after 'is'");
      NodePtr n = make(NodeType::Test, at);
      n->text = test->text;
      n->flag = negate;
      n->args.push_back(std::move(operand));
      operand = done(std::move(n));
    }
    return operand;
  }

  NodePtr parse_filter() {
    NodePtr operand = parse_unary_sign();
    while (is(Tok::Pipe)) {
      const Token& at = next();
      NodePtr filter = parse_primary();
      if (filter->type != NodeType::Identifier) fail_at_previous("expected a filter name after '|'");
      if (is(Tok::OpenParen)) filter = parse_call(std::move(filter));
      NodePtr n = make(NodeType::Filter, at);
      n->args.push_back(std::move(operand));
      n->args.push_back(std::move(filter));
      operand = done(std::move(n));
    }
    return operand;
  }

  NodePtr parse_unary_sign() {
    DepthGuard guard(*this);
    if ((is(Tok::UnaryOperator) || is(Tok::Additive)) && (peek().value == "-" || peek().value == "+")) {
      const Token& op = next();
      NodePtr n = make(NodeType::Unary, op);
      n->text = op.value;
      n->args.push_back(parse_unary_sign());
      return done(std::move(n));
    }
    NodePtr member = parse_member(parse_primary());
    return is(Tok::OpenParen) ? parse_call(std::move(member)) : std::move(member);
  }

  NodePtr parse_call(NodePtr callee) {
    DepthGuard guard(*this);
    NodePtr call = make(NodeType::Call, peek());
    call->args.push_back(std::move(callee));
    for (NodePtr& arg : parse_args(ArgsMode::Call)) call->args.push_back(std::move(arg));
    NodePtr expr = parse_member(done(std::move(call)));
    return is(Tok::OpenParen) ? parse_call(std::move(expr)) : std::move(expr);
  }

  NodeList parse_args(ArgsMode mode) {
    expect(Tok::OpenParen, "'('");
    NodeList args;
    std::unordered_set<std::string> names;
    bool saw_keyword = false, saw_spread = false;
    while (!is(Tok::CloseParen)) {
      const Token& at = peek();
      const bool keyword_spread = is(Tok::Power);
      const bool positional_spread = is(Tok::Multiplicative) && at.value == "*";
      if (mode == ArgsMode::Parameters && (keyword_spread || positional_spread))
        fail("argument unpacking is not allowed in parameter declarations");
      if (keyword_spread) {
        ++current_;
        args.push_back(node1(NodeType::KeywordSpread, at, parse_expression()));
        if (is(Tok::Comma)) ++current_;
        if (!is(Tok::CloseParen)) fail("'**' must be applied to the final argument");
        break;
      }
      NodePtr arg;
      if (positional_spread) {
        if (saw_spread) fail("only one '*' argument unpacking is allowed");
        saw_spread = true;
        ++current_;
        arg = node1(NodeType::Spread, at, parse_expression());
      } else {
        arg = parse_expression();
        if (is(Tok::Equals)) {
          ++current_;
          if (arg->type != NodeType::Identifier)
            fail_at_previous(mode == ArgsMode::Parameters ? "expected a parameter name before '='"
                                                          : "expected a keyword name before '='");
          NodePtr kw = make(NodeType::KeywordArg, at);
          kw->text = arg->text;
          kw->args.push_back(parse_expression());
          arg = done(std::move(kw));
        }
        if (mode == ArgsMode::Parameters) {
          if (arg->type != NodeType::Identifier && arg->type != NodeType::KeywordArg)
            fail_at_previous("expected a parameter name");
          if (!names.insert(arg->text).second) fail_at_previous(str_cat("duplicate parameter '", arg->text, "'"));
        }
        if (arg->type == NodeType::KeywordArg) {
          saw_keyword = true;
        } else if (saw_keyword) {
          fail_at_previous(mode == ArgsMode::Call ? "positional argument after keyword argument"
                                                  : "parameter without default after one with a default");
        } else if (saw_spread) {
          fail_at_previous("positional argument after '*' unpacking");
        }
      }
      args.push_back(std::move(arg));
      if (is(Tok::Comma)) ++current_;
    }
    expect(Tok::CloseParen, "')'");
    return args;
  }

  // The inside of obj[...]: an index, or a slice start:stop:step with any part left out.
  NodePtr parse_subscript(const Token& at) {
    NodeList parts;
    bool slice = false;
    while (!is(Tok::CloseSquare)) {
      if (is(Tok::Colon)) {
        parts.push_back(nullptr);
        ++current_;
        slice = true;
      } else {
        parts.push_back(parse_expression());
        if (is(Tok::Colon)) {
          ++current_;
          slice = true;
        }
      }
    }
    if (parts.empty()) fail("expected an index or slice inside '[]'");
    if (!slice) return std::move(parts[0]);
    if (parts.size() > 3) fail("a slice has at most 3 parts");
    NodePtr n = make(NodeType::Slice, at);
    n->args = std::move(parts);
    n->args.resize(3);
    return done(std::move(n));
  }

  NodePtr parse_member(NodePtr object) {
    while (is(Tok::Dot) || is(Tok::OpenSquare)) {
      const Token& op = next();
      NodePtr n = make(NodeType::Member, op);
      n->flag = op.type == Tok::OpenSquare;
      n->args.push_back(std::move(object));
      if (n->flag) {
        n->args.push_back(parse_subscript(op));
        expect(Tok::CloseSquare, "']'");
      } else {
        NodePtr property = parse_primary();
        if (property->type != NodeType::Identifier && property->type != NodeType::Integer)
          fail_at_previous("expected a name or an integer after '.'");
        n->args.push_back(std::move(property));
      }
      object = done(std::move(n));
    }
    return object;
  }

  NodePtr parse_primary() {
    DepthGuard guard(*this);
    const Token& t = next();
    switch (t.type) {
      case Tok::Number: {
        NodePtr n = make(t.value.find('.') != std::string::npos ? NodeType::Float : NodeType::Integer, t);
        n->number = std::strtod(t.value.c_str(), nullptr);
        return done(std::move(n));
      }
      case Tok::String: {
        NodePtr n = make(NodeType::String, t);
        n->text = t.value;
        while (is(Tok::String)) n->text += next().value;  // adjacent literals concatenate
        return done(std::move(n));
      }
      case Tok::Identifier: {
        NodePtr n = make(NodeType::Identifier, t);
        n->text = t.value;
        return done(std::move(n));
      }
      case Tok::OpenParen: {
        NodePtr expr = parse_sequence(false);
        expect(Tok::CloseParen, "')'");
        return expr;
      }
      case Tok::OpenSquare: {
        NodePtr n = make(NodeType::ArrayLiteral, t);
        while (!is(Tok::CloseSquare)) {
          n->args.push_back(parse_expression());
          if (is(Tok::Comma)) ++current_;
        }
        ++current_;
        return done(std::move(n));
      }
      case Tok::OpenCurly: {
        NodePtr n = make(NodeType::ObjectLiteral, t);
        while (!is(Tok::CloseCurly)) {
          n->args.push_back(parse_expression());
          expect(Tok::Colon, "':' between key and value");
          n->args.push_back(parse_expression());
          if (is(Tok::Comma)) ++current_;
        }
        ++current_;
        return done(std::move(n));
      }
      default: fail_at_previous(str_cat("unexpected ", describe(t)));
    }
  }

  std::vector<Token> tokens_;
  size_t current_ = 0;
  size_t end_pos_;
  std::vector<uint32_t> line_of_pos_;
  int depth_ = 0;
};

// 1-based line and column (in code points) of a byte offset in the source.
std::pair<size_t, size_t> line_and_column(std::string_view source, size_t offset) {
  size_t line = 1, line_start = 0;
  for (size_t i = 0; i < offset && i < source.size(); ++i)
    if (source[i] == '\n') ++line, line_start = i + 1;
  size_t column = 1;
  for (size_t i = line_start, n; i < offset && i < source.size(); i += n, ++column) decode_utf8(source, i, &n);
  return {line, column};
}

}  // namespace

std::shared_ptr<const Program> parse_program(std::string_view source) {
  const Text text = preprocess(source);
  std::vector<uint32_t> line_of_pos(text.origin.size());
  {
    uint32_t line = 1;
    size_t scanned = 0;
    for (size_t i = 0; i < text.origin.size(); ++i) {
      for (; scanned < text.origin[i] && scanned < source.size(); ++scanned)
        if (source[scanned] == '\n') ++line;
      line_of_pos[i] = line;
    }
  }
  try {
    std::vector<Token> tokens = Lexer(text.text).run();
    return Parser(std::move(tokens), text.text.size(), std::move(line_of_pos)).run();
  } catch (const SyntaxError& e) {
    const auto [line, column] = line_and_column(source, text.origin[std::min(e.pos, text.text.size())]);
    fail("chat template line ", line, ", column ", column, ": ", e.message);
  }
}

}  // namespace weblm::jinja::detail

namespace weblm::jinja {

Template Template::parse(std::string_view source) { return Template(detail::parse_program(source)); }

}  // namespace weblm::jinja
