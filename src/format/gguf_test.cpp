#include "format/gguf.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>

#include "util/error.h"

namespace weblm {
namespace {

// An independent little-endian GGUF assembler, so the reader is checked against the format itself
// rather than against our own writer.
struct Bytes {
  std::vector<uint8_t> b;
  template <class T>
  Bytes& put(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    b.insert(b.end(), p, p + sizeof v);
    return *this;
  }
  Bytes& u8(uint8_t v) { return put(v); }
  Bytes& u32(uint32_t v) { return put(v); }
  Bytes& u64(uint64_t v) { return put(v); }
  Bytes& i64(int64_t v) { return put(v); }
  Bytes& str(std::string_view s) {
    u64(s.size());
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Bytes& zeros(size_t n) {
    b.resize(b.size() + n, 0);
    return *this;
  }
  Bytes& pad_to(size_t alignment) {
    b.resize((b.size() + alignment - 1) / alignment * alignment, 0);
    return *this;
  }
  // One tensor info: name, dims (ne0 first), ggml type, data offset.
  Bytes& tensor(std::string_view name, std::vector<int64_t> dims, uint32_t type, uint64_t offset) {
    str(name).u32(static_cast<uint32_t>(dims.size()));
    for (int64_t d : dims) i64(d);
    return u32(type).u64(offset);
  }
};

Bytes header(uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
  Bytes b;
  b.b = {'G', 'G', 'U', 'F'};
  return b.u32(version).u64(n_tensors).u64(n_kv);
}

constexpr uint32_t kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7, kString = 8, kArray = 9,
                   kU64 = 10, kI64 = 11, kF64 = 12;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// Whether `message` contains every one of `parts`.
bool has(const std::string& message, std::initializer_list<const char*> parts) {
  for (const char* p : parts)
    if (message.find(p) == std::string::npos) return false;
  return true;
}

GgufValue scalar(GgufType type, uint64_t u, int64_t i, double f) {
  GgufValue v;
  v.type = type;
  v.u = u;
  v.i = i;
  v.f = f;
  return v;
}

GgufValue array(GgufType element, std::vector<GgufValue> items) {
  GgufValue v;
  v.type = GgufType::Array;
  v.array_type = element;
  v.array = std::move(items);
  return v;
}

void expect_same(const GgufValue& a, const GgufValue& b, const std::string& key) {
  ASSERT_EQ(a.type, b.type) << key;
  switch (a.type) {
    case GgufType::Float32:
    case GgufType::Float64: EXPECT_EQ(a.f, b.f) << key; break;
    case GgufType::String: EXPECT_EQ(a.str, b.str) << key; break;
    case GgufType::Array:
      ASSERT_EQ(a.array_type, b.array_type) << key;
      ASSERT_EQ(a.array.size(), b.array.size()) << key;
      for (size_t i = 0; i < a.array.size(); ++i) expect_same(a.array[i], b.array[i], key + "[" + std::to_string(i) + "]");
      break;
    case GgufType::Int8:
    case GgufType::Int16:
    case GgufType::Int32:
    case GgufType::Int64: EXPECT_EQ(a.i, b.i) << key; break;
    default: EXPECT_EQ(a.u, b.u) << key;
  }
}

std::vector<std::pair<std::string, GgufValue>> every_type() {
  using T = GgufType;
  return {
      {"u8", scalar(T::UInt8, 255, 0, 0)},
      {"i8", scalar(T::Int8, 0, -128, 0)},
      {"u16", scalar(T::UInt16, 65535, 0, 0)},
      {"i16", scalar(T::Int16, 0, -32768, 0)},
      {"u32", GgufValue::of_u32(4000000000u)},
      {"i32", GgufValue::of_i32(-2000000000)},
      {"u64", GgufValue::of_u64(~uint64_t(0))},
      {"i64", scalar(T::Int64, 0, INT64_MIN, 0)},
      {"f32", GgufValue::of_f32(-1.25e-3f)},
      {"f64", scalar(T::Float64, 0, 0, 1.0 / 3.0)},
      {"bool", GgufValue::of_bool(true)},
      {"string", GgufValue::of_string(std::string("h\xC3\xA9llo\n\0x", 9))},
      {"empty string", GgufValue::of_string("")},
      {"u8s", array(T::UInt8, {scalar(T::UInt8, 1, 0, 0), scalar(T::UInt8, 200, 0, 0)})},
      {"i16s", array(T::Int16, {scalar(T::Int16, 0, -5, 0)})},
      {"u64s", array(T::UInt64, {GgufValue::of_u64(7), GgufValue::of_u64(1ull << 63)})},
      {"f64s", array(T::Float64, {scalar(T::Float64, 0, 0, -0.0), scalar(T::Float64, 0, 0, 1e300)})},
      {"bools", array(T::Bool, {GgufValue::of_bool(false), GgufValue::of_bool(true)})},
      {"strings", GgufValue::of_strings({"a", "", "\xE2\x96\x81the"})},
      {"f32s", GgufValue::of_f32s({1.f, -2.5f, INFINITY})},
      {"i32s", GgufValue::of_i32s({4, -5, INT32_MIN})},
      {"empty", array(T::Int32, {})},
      {"nested", array(T::Array, {GgufValue::of_strings({"x", "y"}), GgufValue::of_strings({}),
                                  array(T::Array, {GgufValue::of_i32s({1, 2})})})},
  };
}

TEST(Gguf, RoundTripsEveryMetadataTypeInInsertionOrder) {
  GgufWriter w;
  const auto kvs = every_type();
  for (const auto& [k, v] : kvs) w.set(k, v);
  w.set("u32", GgufValue::of_u32(5));  // replacing a value keeps its place
  const std::vector<uint8_t> bytes = w.to_bytes();
  const GgufFile f = GgufFile::parse(bytes, "mem.gguf");
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), 32u);
  ASSERT_EQ(f.metadata().size(), kvs.size());
  for (size_t i = 0; i < kvs.size(); ++i) {
    EXPECT_EQ(f.metadata()[i].first, kvs[i].first);
    expect_same(f.metadata()[i].second, kvs[i].first == "u32" ? GgufValue::of_u32(5) : kvs[i].second, kvs[i].first);
  }
  EXPECT_EQ(f.get_string("string"), std::string("h\xC3\xA9llo\n\0x", 9));
  EXPECT_EQ(f.get_int("i64"), INT64_MIN);
  EXPECT_EQ(f.get_int("u16"), 65535);
  EXPECT_FLOAT_EQ(f.get_float("f64"), 1.f / 3.f);
  EXPECT_FLOAT_EQ(f.get_float("i8"), -128.f);
  EXPECT_TRUE(f.get_bool("bool", false));
  EXPECT_EQ(f.get_strings("strings"), (std::vector<std::string>{"a", "", "\xE2\x96\x81the"}));
  EXPECT_EQ(f.get_floats("f32s"), (std::vector<float>{1.f, -2.5f, INFINITY}));
  EXPECT_EQ(f.get_floats("u8s"), (std::vector<float>{1.f, 200.f}));
  EXPECT_EQ(f.get_ints("i32s"), (std::vector<int32_t>{4, -5, INT32_MIN}));
  EXPECT_TRUE(f.get_ints("empty").empty());
  EXPECT_TRUE(f.get_strings("absent").empty());
  EXPECT_EQ(f.get_int("absent", 9), 9);
  EXPECT_EQ(f.get_string("absent", "x"), "x");
  EXPECT_FALSE(f.has("absent"));
  EXPECT_TRUE(f.tensors().empty());
}

TEST(Gguf, WriterProducesTheSpecifiedLayout) {
  std::vector<uint8_t> data(2 * 3 * 4);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i);
  GgufWriter w;
  w.set("general.architecture", GgufValue::of_string("llama"));
  w.set("ids", GgufValue::of_i32s({3, -1}));
  w.add_tensor("a", DType::F32, {3, 2}, data);
  w.add_tensor("b", DType::F16, {5}, std::vector<uint8_t>(10, 0xAB));

  Bytes expected = header(3, 2, 2);
  expected.str("general.architecture").u32(kString).str("llama");
  expected.str("ids").u32(kArray).u32(kI32).u64(2).put<int32_t>(3).put<int32_t>(-1);
  expected.tensor("a", {3, 2}, 0, 0).tensor("b", {5}, 1, 32).pad_to(32);
  expected.b.insert(expected.b.end(), data.begin(), data.end());
  expected.pad_to(32);
  expected.b.insert(expected.b.end(), 10, 0xAB);
  expected.pad_to(32);
  EXPECT_EQ(w.to_bytes(), expected.b);

  GgufWriter metadata_only;
  metadata_only.set("k", GgufValue::of_u32(1));
  EXPECT_EQ(metadata_only.to_bytes(), header(3, 0, 1).str("k").u32(kU32).u32(1).b);  // no data section: no padding
}

TEST(Gguf, ReadsVersion2) {
  // v2 has v3's layout (64-bit counts); a hand-written file with a quantized tensor.
  Bytes b = header(2, 1, 2);
  b.str("general.name").u32(kString).str("v2 model");
  b.str("general.file_type").u32(kU32).u32(7);
  b.tensor("blk.0.w", {32, 2}, 8, 0).pad_to(32);  // q8_0: 2 rows of one 34-byte block
  const size_t data_start = b.b.size();
  for (int i = 0; i < 68; ++i) b.u8(static_cast<uint8_t>(i));
  const GgufFile f = GgufFile::parse(b.b, "v2.gguf");
  EXPECT_EQ(f.version(), 2u);
  EXPECT_EQ(f.get_string("general.name"), "v2 model");
  EXPECT_EQ(f.get_int("general.file_type"), 7);
  const GgufTensorInfo* t = f.find_tensor("blk.0.w");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->type, DType::Q8_0);
  EXPECT_EQ(t->cols(), 32);
  EXPECT_EQ(t->rows(), 2);
  EXPECT_EQ(t->size, 68u);
  EXPECT_EQ(f.tensor_data(*t).data(), b.b.data() + data_start);
  EXPECT_EQ(f.tensor_data(*t)[67], 67);
}

TEST(Gguf, HonoursAlignmentOtherThan32) {
  for (uint32_t alignment : {1u, 8u, 64u, 4096u}) {
    GgufWriter w;
    w.set("general.alignment", GgufValue::of_u32(alignment));
    w.add_tensor("x", DType::F32, {3}, std::vector<uint8_t>(12, 1));
    w.add_tensor("y", DType::Q4_0, {32}, std::vector<uint8_t>(18, 2));
    const std::vector<uint8_t> bytes = w.to_bytes();
    const GgufFile f = GgufFile::parse(bytes, "aligned.gguf");
    EXPECT_EQ(f.alignment(), alignment);
    for (const GgufTensorInfo& t : f.tensors()) {
      const size_t at = static_cast<size_t>(f.tensor_data(t).data() - bytes.data());
      EXPECT_EQ(at % alignment, 0u) << t.name << " at alignment " << alignment;
      EXPECT_EQ(f.tensor_data(t)[0], t.name == "x" ? 1 : 2);
    }
    EXPECT_EQ(f.find_tensor("y")->offset, (12 + alignment - 1) / alignment * alignment);
  }
  // A hand-written file aligned to 16: its data section starts at the next multiple of 16.
  Bytes b = header(3, 1, 1);
  b.str("general.alignment").u32(kU32).u32(16);
  b.tensor("t123456789", {4}, 0, 0);
  const size_t infos_end = b.b.size();
  ASSERT_NE((infos_end + 15) / 16, (infos_end + 31) / 32 * 2);  // 16 and 32 disagree here
  const size_t data_start = b.pad_to(16).b.size();
  b.zeros(16);
  const GgufFile f = GgufFile::parse(b.b, "a16.gguf");
  EXPECT_EQ(f.tensor_data(f.tensors()[0]).data() - b.b.data(), static_cast<ptrdiff_t>(data_start));
}

// A small valid file whose last tensor ends exactly at the end, so that every shorter prefix is
// missing something the reader needs.
std::vector<uint8_t> small_file() {
  GgufWriter w;
  w.set("general.architecture", GgufValue::of_string("llama"));
  w.set("n", GgufValue::of_u32(7));
  w.set("f", GgufValue::of_f32(0.5f));
  w.set("b", GgufValue::of_bool(true));
  w.set("tokens", GgufValue::of_strings({"a", "bc"}));
  w.set("nested", array(GgufType::Array, {GgufValue::of_i32s({1})}));
  w.add_tensor("t0", DType::F32, {4, 2}, std::vector<uint8_t>(32, 1));
  w.add_tensor("t1", DType::F16, {16}, std::vector<uint8_t>(32, 2));
  return w.to_bytes();
}

TEST(Gguf, EveryTruncationIsAnError) {
  const std::vector<uint8_t> bytes = small_file();
  const GgufFile whole = GgufFile::parse(bytes, "whole");
  const std::span<const uint8_t> last = whole.tensor_data(*whole.find_tensor("t1"));
  ASSERT_EQ(last.data() + last.size(), bytes.data() + bytes.size());
  for (size_t n = 0; n < bytes.size(); ++n) {
    const std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(n));
    const std::string message = error_of([&] { GgufFile::parse(prefix, "cut.gguf"); });
    EXPECT_NE(message.find("cut.gguf at byte "), std::string::npos) << n << ": " << message;
  }
}

struct Corruption {
  const char* what;
  std::vector<uint8_t> bytes;
  std::vector<std::string> expected;  // substrings of the message
};

std::vector<Corruption> corruptions() {
  const auto kv_file = [](const std::function<void(Bytes&)>& body, uint64_t n_kv = 1) {
    Bytes b = header(3, 0, n_kv);
    body(b);
    return b.b;
  };
  const auto tensor_file = [](std::vector<int64_t> dims, uint32_t type, uint64_t offset, size_t data) {
    Bytes b = header(3, 1, 0);
    b.tensor("w", std::move(dims), type, offset).pad_to(32).zeros(data);
    return b.b;
  };
  Bytes deep = header(3, 0, 1);
  deep.str("deep").u32(kArray);
  for (int i = 0; i < 9; ++i) deep.u32(kArray).u64(1);
  deep.u32(kU8).u64(1).u8(0);

  std::vector<Corruption> c = {
      {"wrong magic", {'G', 'G', 'M', 'L', 3, 0, 0, 0}, {"at byte 0", "not a GGUF file", "GGML"}},
      {"version 1", header(1, 0, 0).b, {"at byte 4", "v1 is not supported"}},
      {"version 99", header(99, 0, 0).b, {"at byte 4", "unsupported GGUF version 99"}},
      {"big-endian", header(0x03000000, 0, 0).b, {"big-endian"}},
      {"huge tensor count", header(3, 1ull << 60, 0).b, {"at byte 8", "tensor count 1152921504606846976"}},
      {"huge metadata count", header(3, 0, 1ull << 60).b, {"at byte 16", "metadata count 1152921504606846976"}},
      {"huge key length", kv_file([](Bytes& b) { b.u64(1ull << 60).zeros(16); }), {"at byte 24", "key #0", "key of 1152921504606846976 bytes"}},
      {"string past the end", kv_file([](Bytes& b) { b.str("name").u32(kString).u64(100).zeros(20); }),
       {"at byte 40", "key 'name'", "string value of 100 bytes runs past the end"}},
      {"huge array", kv_file([](Bytes& b) { b.str("arr").u32(kArray).u32(kU32).u64(1ull << 60).zeros(16); }),
       {"at byte 43", "key 'arr'", "array of 1152921504606846976 u32 elements"}},
      {"string in an array past the end", kv_file([](Bytes& b) { b.str("arr").u32(kArray).u32(kString).u64(2).str("a").u64(100).u8('x'); }),
       {"at byte 60", "key 'arr'", "string value of 100 bytes runs past the end"}},
      {"unknown value type", kv_file([](Bytes& b) { b.str("k").u32(13).u32(0); }), {"at byte 33", "key 'k'", "unknown value type 13"}},
      {"unknown array type", kv_file([](Bytes& b) { b.str("k").u32(kArray).u32(77).u64(0); }), {"key 'k'", "unknown array element type 77"}},
      {"bool 2", kv_file([](Bytes& b) { b.str("k").u32(kBool).u8(2); }), {"at byte 37", "key 'k'", "bool value 2"}},
      {"empty key", kv_file([](Bytes& b) { b.str("").u32(kU8).u8(0); }), {"at byte 24", "empty key"}},
      {"duplicate key",
       kv_file([](Bytes& b) { b.str("k").u32(kU8).u8(0).str("k").u32(kU8).u8(1); }, 2), {"at byte 38", "key 'k'", "duplicate key"}},
      {"arrays nested too deep", deep.b, {"key 'deep'", "nested more than 8 deep"}},
      {"alignment not a power of two", kv_file([](Bytes& b) { b.str("general.alignment").u32(kU32).u32(48); }),
       {"at byte 24", "key 'general.alignment'", "power of two", "48"}},
      {"alignment of the wrong type", kv_file([](Bytes& b) { b.str("general.alignment").u32(kU64).u64(32); }),
       {"general.alignment", "u64"}},
      {"tensor data outside the file", tensor_file({8}, 0, 0, 16),
       {"at byte 24", "tensor 'w'", "data of 32 bytes at data offset 0 runs past the end of the file"}},
      {"tensor offset past the end", tensor_file({8}, 0, 1ull << 62, 32), {"tensor 'w'", "runs past the end of the file"}},
      {"misaligned offset", tensor_file({8}, 0, 8, 64), {"at byte 49", "tensor 'w'", "data offset 8 is not a multiple of the alignment 32"}},
      {"unknown tensor type", tensor_file({8}, 99, 0, 32), {"at byte 45", "tensor 'w'", "unknown tensor type 99"}},
      {"unsupported tensor type", tensor_file({256}, 10, 0, 84), {"tensor 'w'", "tensor type 10 (q2_K) is not supported"}},
      {"too many dims", tensor_file({1, 1, 1, 1, 1}, 0, 0, 4), {"at byte 33", "tensor 'w'", "5 dimensions (1 to 4 supported)"}},
      {"no dims", tensor_file({}, 0, 0, 4), {"tensor 'w'", "0 dimensions"}},
      {"zero dim", tensor_file({4, 0}, 0, 0, 4), {"at byte 45", "tensor 'w'", "dimension 1 is 0"}},
      {"negative dim", tensor_file({-4}, 0, 0, 4), {"tensor 'w'", "dimension 0 is -4"}},
      {"element count overflow", tensor_file({1ll << 40, 1ll << 40}, 0, 0, 4), {"tensor 'w'", "element count overflows"}},
      {"byte size overflow", tensor_file({1ll << 62}, 0, 0, 4), {"tensor 'w'", "byte size overflows"}},
      {"partial block", tensor_file({16}, 8, 0, 34), {"tensor 'w'", "rows of 16 elements are not whole q8_0 blocks of 32"}},
      {"huge tensor name", [] {
         Bytes b = header(3, 1, 0);
         b.u64(~uint64_t(0)).zeros(40);
         return b.b;
       }(), {"at byte 24", "tensor #0", "tensor name of 18446744073709551615 bytes"}},
  };
  Bytes dup = header(3, 2, 0);
  dup.tensor("w", {8}, 0, 0).tensor("w", {8}, 0, 32).pad_to(32).zeros(64);
  c.push_back({"duplicate tensor", dup.b, {"at byte 57", "tensor 'w'", "duplicate tensor name"}});
  return c;
}

TEST(Gguf, CorruptionsAreErrorsNamingTheProblem) {
  for (const Corruption& c : corruptions()) {
    const std::string message = error_of([&] { GgufFile::parse(c.bytes, "corrupt.gguf"); });
    EXPECT_EQ(message.rfind("corrupt.gguf", 0), 0u) << c.what << ": " << message;
    for (const std::string& part : c.expected)
      EXPECT_NE(message.find(part), std::string::npos) << c.what << ": '" << part << "' not in: " << message;
  }
}

TEST(Gguf, GettersNameTheKeyAndBothTypes) {
  GgufWriter w;
  w.set("s", GgufValue::of_string("x"));
  w.set("big", GgufValue::of_u64(~uint64_t(0)));
  w.set("i64s", array(GgufType::Int64, {scalar(GgufType::Int64, 0, int64_t(1) << 40, 0)}));
  w.set("heads", GgufValue::of_i32s({4, 8}));
  w.set("n", GgufValue::of_u32(2));
  const std::vector<uint8_t> bytes = w.to_bytes();
  const GgufFile f = GgufFile::parse(bytes, "g.gguf");
  EXPECT_TRUE(has(error_of([&] { f.get_int("s"); }), {"g.gguf", "'s'", "string", "integer"}));
  EXPECT_TRUE(has(error_of([&] { f.get_string("n"); }), {"'n'", "u32", "string"}));
  EXPECT_TRUE(has(error_of([&] { f.get_string("nope"); }), {"missing", "'nope'"}));
  EXPECT_TRUE(has(error_of([&] { f.get_int("big"); }), {"'big'", "out of range"}));
  EXPECT_TRUE(has(error_of([&] { f.get_ints("i64s"); }), {"'i64s'", "32-bit"}));
  EXPECT_TRUE(has(error_of([&] { f.get_strings("heads"); }), {"'heads'", "strings"}));
  EXPECT_TRUE(has(error_of([&] { f.get_bool("n", false); }), {"'n'", "bool"}));
  EXPECT_EQ(f.get_int_per_layer("heads", 2), (std::vector<int64_t>{4, 8}));
  EXPECT_EQ(f.get_int_per_layer("n", 3), (std::vector<int64_t>{2, 2, 2}));
  EXPECT_TRUE(has(error_of([&] { f.get_int_per_layer("heads", 3); }), {"'heads'", "2 entries for 3 layers"}));
}

TEST(Gguf, WriterRefusesWhatTheReaderWouldReject) {
  GgufWriter w;
  EXPECT_NE(error_of([&] { w.set("a", array(GgufType::Int32, {GgufValue::of_u32(1)})); }).find("array of i32 holds a u32"),
            std::string::npos);
  EXPECT_NE(error_of([&] { w.set("general.alignment", GgufValue::of_u32(24)); }).find("power of two"), std::string::npos);
  EXPECT_NE(error_of([&] { w.set("", GgufValue::of_u32(1)); }).find("empty key"), std::string::npos);
  EXPECT_NE(error_of([&] { w.add_tensor("t", DType::F32, {4}, std::vector<uint8_t>(15)); }).find("'t' has 15 bytes"),
            std::string::npos);
  EXPECT_NE(error_of([&] { w.add_tensor("t", DType::Q4_0, {16}, std::vector<uint8_t>(9)); }).find("q4_0"), std::string::npos);
  EXPECT_NE(error_of([&] { w.add_tensor("t", DType::F32, {1, 1, 1, 1, 1}, std::vector<uint8_t>(4)); }).find("5 dimensions"),
            std::string::npos);
  EXPECT_NE(error_of([&] { w.add_tensor("t", DType::F32, {4, 0}, {}); }).find("dimension 1 is 0"), std::string::npos);
  w.add_tensor("t", DType::F32, {1}, std::vector<uint8_t>(4));
  EXPECT_NE(error_of([&] { w.add_tensor("t", DType::F32, {1}, std::vector<uint8_t>(4)); }).find("duplicate tensor 't'"),
            std::string::npos);
}

TEST(Gguf, WritesAndMapsAFile) {
  const std::string path = ::testing::TempDir() + "weblm_gguf_test.gguf";
  GgufWriter w;
  w.set("general.name", GgufValue::of_string("on disk"));
  std::vector<uint8_t> data(4 * 6);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(3 * i);
  w.add_tensor("w", DType::F32, {2, 3}, data);
  w.write(path);
  {
    GgufFile f = GgufFile::open(path);
    EXPECT_EQ(f.name(), path);
    EXPECT_EQ(f.get_string("general.name"), "on disk");
    const std::span<const uint8_t> got = f.tensor_data(f.tensors()[0]);
    EXPECT_EQ(std::vector<uint8_t>(got.begin(), got.end()), data);
    const GgufFile moved = std::move(f);
    EXPECT_EQ(moved.tensor_data(moved.tensors()[0])[1], 3);  // the mapping moves with the file
  }
  std::FILE* empty = std::fopen(path.c_str(), "wb");
  std::fclose(empty);
  EXPECT_NE(error_of([&] { GgufFile::open(path); }).find(path), std::string::npos);
  std::remove(path.c_str());
  const std::string missing = error_of([&] { GgufFile::open(path); });
  EXPECT_NE(missing.find(path), std::string::npos);
  EXPECT_NE(missing.find("cannot open"), std::string::npos);
  EXPECT_NE(error_of([&] { w.write("/nonexistent-dir/x.gguf"); }).find("/nonexistent-dir/x.gguf"), std::string::npos);
}


// Part `no` of `count` of a split model holding one F32 tensor per name, each filled with `fill`.
std::vector<uint8_t> split_part(uint16_t no, uint16_t count, int32_t total_tensors, const std::vector<std::string>& names,
                                float fill) {
  GgufWriter w;
  if (no == 0) w.set("general.architecture", GgufValue::of_string("llama"));
  w.set("split.no", GgufValue{GgufType::UInt16, no});
  w.set("split.count", GgufValue{GgufType::UInt16, count});
  w.set("split.tensors.count", GgufValue::of_i32(total_tensors));
  for (const std::string& name : names) {
    std::vector<uint8_t> data(8 * sizeof(float));
    for (size_t i = 0; i < 8; ++i) std::memcpy(data.data() + i * sizeof(float), &fill, sizeof fill);
    w.add_tensor(name, DType::F32, {8}, std::move(data));
  }
  return w.to_bytes();
}

struct Joined {
  std::vector<uint8_t> bytes;
  std::vector<uint64_t> sizes;
};
Joined join(const std::vector<std::vector<uint8_t>>& parts) {
  Joined j;
  for (const auto& p : parts) {
    j.bytes.insert(j.bytes.end(), p.begin(), p.end());
    j.sizes.push_back(p.size());
  }
  return j;
}

TEST(GgufSplit, PartsJoinIntoOneModelWhoseTensorsReadFromTheirOwnPart) {
  const Joined j = join({split_part(0, 3, 4, {"a", "b"}, 1.f), split_part(1, 3, 4, {"c"}, 2.f), split_part(2, 3, 4, {"d"}, 3.f)});
  const GgufFile f = GgufFile::parse_parts(j.bytes, j.sizes, "m");
  EXPECT_EQ(f.split_count(), 3);
  EXPECT_EQ(f.get_string("general.architecture"), "llama");
  ASSERT_EQ(f.tensors().size(), 4u);
  for (const auto& [name, value] : std::vector<std::pair<std::string, float>>{{"a", 1.f}, {"b", 1.f}, {"c", 2.f}, {"d", 3.f}}) {
    const GgufTensorInfo* t = f.find_tensor(name);
    ASSERT_NE(t, nullptr) << name;
    float x;
    std::memcpy(&x, f.tensor_data(*t).data() + 7 * sizeof(float), sizeof x);
    EXPECT_EQ(x, value) << name;
  }
}

TEST(GgufSplit, PiecesOfOneFileAreThatFile) {
  const std::vector<uint8_t> whole = split_part(0, 1, 2, {"a", "b"}, 5.f);
  const std::vector<uint64_t> sizes = {10, whole.size() - 10};
  const GgufFile f = GgufFile::parse_parts(whole, sizes, "m");
  EXPECT_EQ(f.tensors().size(), 2u);
}

TEST(GgufSplit, InconsistentSetsAreErrorsNamingThePart) {
  const auto error = [](const std::vector<std::vector<uint8_t>>& parts) {
    const Joined j = join(parts);
    return error_of([&] { GgufFile::parse_parts(j.bytes, j.sizes, "m"); });
  };
  EXPECT_TRUE(has(error({split_part(0, 3, 3, {"a"}, 1.f), split_part(1, 3, 3, {"b"}, 1.f)}), {"2 files were given", "announces 3"}));
  EXPECT_TRUE(has(error({split_part(0, 2, 2, {"a"}, 1.f), split_part(0, 2, 2, {"b"}, 1.f)}), {"m part 2", "expected part 2 of 2"}));
  EXPECT_TRUE(has(error({split_part(0, 2, 2, {"a"}, 1.f), split_part(1, 2, 2, {"a"}, 1.f)}), {"'a'", "also in an earlier part"}));
  EXPECT_TRUE(has(error({split_part(0, 2, 5, {"a"}, 1.f), split_part(1, 2, 5, {"b"}, 1.f)}), {"hold 2 tensors", "says 5"}));
  EXPECT_TRUE(has(error_of([] { GgufFile::parse(split_part(1, 2, 2, {"b"}, 1.f), "p2").split_count(); }),
                  {"p2 is part 2 of a model split in 2 files", "open the first part"}));
  const std::vector<uint8_t> one = split_part(0, 1, 1, {"a"}, 1.f);
  const std::vector<uint64_t> wrong = {one.size() + 1};
  EXPECT_TRUE(has(error_of([&] { GgufFile::parse_parts(one, wrong, "m"); }), {"add up to", "bytes were given"}));
}

TEST(GgufSplit, CopiedMetadataLeavesTheSplitKeysBehind) {
  const GgufFile f = GgufFile::parse(split_part(0, 1, 1, {"a"}, 1.f), "m");
  GgufWriter w;
  w.copy_metadata(f);
  const std::vector<uint8_t> bytes = w.to_bytes();
  const GgufFile copy = GgufFile::parse(bytes, "copy");
  EXPECT_FALSE(copy.has("split.count"));
  EXPECT_TRUE(copy.has("general.architecture"));
}

}  // namespace
}  // namespace weblm
