#include "format/dtype.h"

#include <array>
#include <cctype>
#include <string>

#include "util/error.h"

namespace weblm {

namespace {

struct Entry {
  DType type;
  DTypeTraits traits;
};

constexpr std::array kTypes = {
    Entry{DType::F32, {"f32", 1, 4, false}},
    Entry{DType::F16, {"f16", 1, 2, false}},
    Entry{DType::BF16, {"bf16", 1, 2, false}},
    Entry{DType::Q4_0, {"q4_0", QK4_0, sizeof(BlockQ4_0), true}},
    Entry{DType::Q4_1, {"q4_1", QK4_1, sizeof(BlockQ4_1), true}},
    Entry{DType::Q5_0, {"q5_0", QK5_0, sizeof(BlockQ5_0), true}},
    Entry{DType::Q5_1, {"q5_1", QK5_1, sizeof(BlockQ5_1), true}},
    Entry{DType::Q8_0, {"q8_0", QK8_0, sizeof(BlockQ8_0), true}},
    Entry{DType::Q8_1, {"q8_1", QK8_1, sizeof(BlockQ8_1), true}},
    Entry{DType::Q4_K, {"q4_K", QK_K, sizeof(BlockQ4_K), true}},
    Entry{DType::Q5_K, {"q5_K", QK_K, sizeof(BlockQ5_K), true}},
    Entry{DType::Q6_K, {"q6_K", QK_K, sizeof(BlockQ6_K), true}},
    Entry{DType::Q8_K, {"q8_K", QK_K, sizeof(BlockQ8_K), true}},
};

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

}  // namespace

const DTypeTraits* dtype_traits(uint32_t type) {
  for (const Entry& e : kTypes)
    if (static_cast<uint32_t>(e.type) == type) return &e.traits;
  return nullptr;
}

const DTypeTraits& traits(DType type) {
  const DTypeTraits* t = dtype_traits(static_cast<uint32_t>(type));
  if (!t) fail("unsupported tensor type ", static_cast<uint32_t>(type));
  return *t;
}

std::string_view dtype_name(DType type) { return traits(type).name; }

DType parse_dtype(std::string_view name) {
  std::string choices;
  for (const Entry& e : kTypes) {
    if (equal_ignoring_case(name, e.traits.name)) return e.type;
    if (!choices.empty()) choices += ", ";
    choices += e.traits.name;
  }
  fail("unknown tensor type '", name, "' (expected one of: ", choices, ")");
}

size_t row_bytes(DType type, int64_t n) {
  const DTypeTraits& t = traits(type);
  if (n < 0 || n % t.block_size != 0)
    fail("a row of ", n, " elements is not a whole number of ", t.name, " blocks of ", t.block_size);
  return static_cast<size_t>(n / t.block_size) * t.block_bytes;
}

bool is_weight_type(DType type) {
  switch (type) {
    case DType::F32: case DType::F16: case DType::BF16: case DType::Q4_0: case DType::Q4_1:
    case DType::Q5_0: case DType::Q5_1: case DType::Q8_0: case DType::Q4_K: case DType::Q5_K:
    case DType::Q6_K:
      return true;
    default:
      return false;
  }
}

}  // namespace weblm
