// JavaScript string and number semantics over UTF-8 text. @huggingface/jinja runs on JS strings
// (UTF-16) and doubles, so lengths, trimming, case mapping, number printing and parsing follow the
// ECMAScript definitions here rather than Python's.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "chat/jinja_internal.h"

namespace weblm::jinja::detail {

char32_t decode_utf8(std::string_view s, size_t i, size_t* length) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  *length = 1;
  if (b0 < 0x80) return b0;
  size_t n = 0;
  char32_t cp = 0;
  char32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    n = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return 0xFFFD;
  }
  if (i + n > s.size()) return 0xFFFD;
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0xFFFD;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF) return 0xFFFD;
  *length = n;
  return cp;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool is_js_line_terminator(char32_t cp) { return cp == '\n' || cp == '\r' || cp == 0x2028 || cp == 0x2029; }

static bool is_js_space(char32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
         cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000 || cp == 0xFEFF;
}

size_t js_space_at(std::string_view s, size_t i) {
  if (i >= s.size()) return 0;
  size_t n;
  return is_js_space(decode_utf8(s, i, &n)) ? n : 0;
}

size_t js_space_before(std::string_view s, size_t end, size_t floor) {
  size_t start = end;
  for (;;) {
    size_t found = 0;
    for (size_t n = 1; n <= 3 && start >= floor + n; ++n) {
      size_t len;
      if (is_js_space(decode_utf8(s, start - n, &len)) && len == n) {
        found = n;
        break;
      }
    }
    if (found == 0) return end - start;
    start -= found;
  }
}

std::string_view js_trim_start(std::string_view s) {
  size_t i = 0;
  while (size_t n = js_space_at(s, i)) i += n;
  return s.substr(i);
}

std::string_view js_trim_end(std::string_view s) { return s.substr(0, s.size() - js_space_before(s, s.size(), 0)); }

size_t js_length(std::string_view s) {
  size_t units = 0;
  for (size_t i = 0, n; i < s.size(); i += n) units += decode_utf8(s, i, &n) >= 0x10000 ? 2 : 1;
  return units;
}

namespace {

// Walks a UTF-8 string as UTF-16 code units.
struct Utf16Reader {
  std::string_view s;
  size_t i = 0;
  char16_t pending = 0;  // low surrogate still to deliver

  bool next(char16_t* unit) {
    if (pending) {
      *unit = pending, pending = 0;
      return true;
    }
    if (i >= s.size()) return false;
    size_t n;
    char32_t cp = decode_utf8(s, i, &n);
    i += n;
    if (cp < 0x10000) {
      *unit = static_cast<char16_t>(cp);
    } else {
      cp -= 0x10000;
      *unit = static_cast<char16_t>(0xD800 + (cp >> 10));
      pending = static_cast<char16_t>(0xDC00 + (cp & 0x3FF));
    }
    return true;
  }
};

// Appends the case mapping of `c` under `table`.
void append_mapped(std::string& out, char32_t c, const CaseTable& table) {
  const CaseSpecial* special = std::lower_bound(table.specials, table.specials + table.special_count, c,
                                                [](const CaseSpecial& e, char32_t v) { return e.from < v; });
  if (special != table.specials + table.special_count && special->from == c) {
    for (char32_t to : special->to)
      if (to) append_utf8(out, to);
    return;
  }
  append_utf8(out, map_case(c, table));
}

}  // namespace

char32_t map_case(char32_t c, const CaseTable& table) {
  const CaseRun* end = table.runs + table.run_count;
  const CaseRun* run = std::upper_bound(table.runs, end, c, [](char32_t v, const CaseRun& r) { return v < r.first; });
  if (run == table.runs) return c;
  --run;
  if (c > run->last || (c - run->first) % run->stride != 0) return c;
  return static_cast<char32_t>(static_cast<int32_t>(c) + run->delta);
}

namespace {

// Characters with case, for the final-sigma rule.
bool is_cased(char32_t c) { return map_case(c, upper_case_table()) != c || map_case(c, lower_case_table()) != c; }

// Case-ignorable characters the final-sigma rule looks through (apostrophes, combining marks...).
bool is_case_ignorable(char32_t c) {
  return c == '\'' || c == '.' || c == ':' || c == 0xB7 || c == 0x2019 || (c >= 0x300 && c <= 0x36F);
}

}  // namespace

int js_compare(std::string_view a, std::string_view b) {
  Utf16Reader ra{a}, rb{b};
  for (;;) {
    char16_t ua, ub;
    const bool ha = ra.next(&ua), hb = rb.next(&ub);
    if (!ha || !hb) return ha ? 1 : hb ? -1 : 0;
    if (ua != ub) return ua < ub ? -1 : 1;
  }
}

std::string js_upper(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0, n; i < s.size(); i += n) {
    const char32_t c = decode_utf8(s, i, &n);
    if (c < 0x80) {
      out += static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
    } else if (c == 0xFFFD && n == 1) {
      out += s[i];  // keep malformed bytes as they are
    } else {
      append_mapped(out, c, upper_case_table());
    }
  }
  return out;
}

std::string js_lower(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0, n; i < s.size(); i += n) {
    const char32_t c = decode_utf8(s, i, &n);
    if (c < 0x80) {
      out += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    } else if (c == 0xFFFD && n == 1) {
      out += s[i];
    } else if (c == 0x3A3) {
      // Final sigma: a capital sigma that ends a word (a cased letter before it, none after it,
      // looking through case-ignorable characters) lowers to ς.
      bool before = false, after = false;
      for (size_t j = i; j > 0;) {
        size_t start = j - 1, m;
        while (start > 0 && j - start < 4 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
        const char32_t p = decode_utf8(s, start, &m);
        if (!is_case_ignorable(p)) {
          before = is_cased(p);
          break;
        }
        j = start;
      }
      for (size_t j = i + n, m; j < s.size(); j += m) {
        const char32_t q = decode_utf8(s, j, &m);
        if (!is_case_ignorable(q)) {
          after = is_cased(q);
          break;
        }
      }
      append_utf8(out, before && !after ? 0x3C2 : 0x3C3);
    } else {
      append_mapped(out, c, lower_case_table());
    }
  }
  return out;
}

std::string js_number_to_string(double x) {
  if (std::isnan(x)) return "NaN";
  if (x == 0) return "0";
  if (std::isinf(x)) return x < 0 ? "-Infinity" : "Infinity";
  std::string sign = x < 0 ? "-" : "";
  x = std::fabs(x);
  // Shortest digit string that reads back as x (ECMAScript Number::toString, step 5).
  char buf[40];
  int precision = 1;
  for (; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*e", precision - 1, x);
    if (std::strtod(buf, nullptr) == x) break;
  }
  std::string digits;
  const char* p = buf;
  for (; *p != 'e'; ++p)
    if (*p != '.') digits += *p;
  const int k = static_cast<int>(digits.size());
  const int n = std::atoi(p + 1) + 1;  // x = 0.digits * 10^n
  std::string out = sign;
  if (k <= n && n <= 21) {
    out.append(digits).append(static_cast<size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out.append(digits, 0, n).append(1, '.').append(digits, n);
  } else if (-6 < n && n <= 0) {
    out.append("0.").append(static_cast<size_t>(-n), '0').append(digits);
  } else {
    const int e = n - 1;
    out.append(digits, 0, 1);
    if (k > 1) out.append(1, '.').append(digits, 1);
    out.append(e < 0 ? "e-" : "e+").append(std::to_string(e < 0 ? -e : e));
  }
  return out;
}

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Length of the longest prefix of s that is a decimal literal: digits [. digits] [e [sign] digits]
// with at least one digit in the mantissa.
size_t decimal_prefix(std::string_view s) {
  size_t i = 0, mantissa_digits = 0;
  while (i < s.size() && is_digit(s[i])) ++i, ++mantissa_digits;
  if (i < s.size() && s[i] == '.') {
    size_t j = i + 1;
    while (j < s.size() && is_digit(s[j])) ++j, ++mantissa_digits;
    if (mantissa_digits == 0) return 0;
    i = j;
  }
  if (mantissa_digits == 0) return 0;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    size_t j = i + 1;
    if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
    if (j < s.size() && is_digit(s[j])) {
      while (j < s.size() && is_digit(s[j])) ++j;
      i = j;
    }
  }
  return i;
}

double read_decimal(std::string_view digits) { return std::strtod(std::string(digits).c_str(), nullptr); }

}  // namespace

double js_string_to_number(std::string_view s) {
  s = js_trim_end(js_trim_start(s));
  if (s.empty()) return 0;
  if (s.size() > 2 && s[0] == '0' && s[1] != '\0' && std::strchr("xXoObB", s[1])) {
    const int base = (s[1] == 'x' || s[1] == 'X') ? 16 : (s[1] == 'o' || s[1] == 'O') ? 8 : 2;
    double value = 0;
    for (char c : s.substr(2)) {
      int d = is_digit(c)              ? c - '0'
              : (c >= 'a' && c <= 'f') ? c - 'a' + 10
              : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                       : 99;
      if (d >= base) return NAN;
      value = value * base + d;
    }
    return value;
  }
  double sign = 1;
  if (s[0] == '+' || s[0] == '-') {
    sign = s[0] == '-' ? -1 : 1;
    s.remove_prefix(1);
  }
  if (s == "Infinity") return sign * INFINITY;
  if (s.empty() || decimal_prefix(s) != s.size()) return NAN;
  return sign * read_decimal(s);
}

double js_parse_int(std::string_view s) {
  s = js_trim_start(s);
  double sign = 1;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    sign = s[0] == '-' ? -1 : 1;
    s.remove_prefix(1);
  }
  size_t n = 0;
  while (n < s.size() && is_digit(s[n])) ++n;
  if (n == 0) return NAN;
  return sign * read_decimal(s.substr(0, n));
}

double js_parse_float(std::string_view s) {
  s = js_trim_start(s);
  double sign = 1;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    sign = s[0] == '-' ? -1 : 1;
    s.remove_prefix(1);
  }
  if (s.substr(0, 8) == "Infinity") return sign * INFINITY;
  const size_t n = decimal_prefix(s);
  if (n == 0) return NAN;
  return sign * read_decimal(s.substr(0, n));
}

void js_quote(std::string& out, std::string_view s, bool ensure_ascii) {
  static const char* const kHex = "0123456789abcdef";
  const auto escape_unit = [&](unsigned unit) {
    out += "\\u";
    for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(unit >> shift) & 0xF];
  };
  out += '"';
  for (size_t i = 0, n; i < s.size(); i += n) {
    const char32_t c = decode_utf8(s, i, &n);
    switch (c) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      default: break;
    }
    if (c < 0x20 || (c >= 0xD800 && c <= 0xDFFF) || (ensure_ascii && c >= 0x7F)) {
      if (c >= 0x10000) {
        escape_unit(0xD800 + ((c - 0x10000) >> 10));
        escape_unit(0xDC00 + ((c - 0x10000) & 0x3FF));
      } else {
        escape_unit(c);
      }
    } else {
      out.append(s.substr(i, n));
    }
  }
  out += '"';
}

}  // namespace weblm::jinja::detail
