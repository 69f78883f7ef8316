#include "format/gguf.h"

#include <gtest/gtest.h>

#include <cstring>

#include "util/error.h"

namespace weblm {
namespace {

std::vector<uint8_t> small_file() {
  GgufWriter w;
  w.set("general.architecture", GgufValue::of_string("llama"));
  w.set("u32", GgufValue::of_u32(7));
  w.set("i32", GgufValue::of_i32(-3));
  w.set("u64", GgufValue::of_u64(1ull << 40));
  w.set("f32", GgufValue::of_f32(0.5f));
  w.set("bool", GgufValue::of_bool(true));
  w.set("strings", GgufValue::of_strings({"a", "", "ünï"}));
  w.set("floats", GgufValue::of_f32s({1.f, 2.5f}));
  w.set("ints", GgufValue::of_i32s({4, -5}));
  std::vector<float> data(64);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>(i);
  std::vector<uint8_t> bytes(data.size() * 4);
  std::memcpy(bytes.data(), data.data(), bytes.size());
  w.add_tensor("t0", DType::F32, {16, 4}, bytes);
  w.add_tensor("t1", DType::F32, {3}, std::vector<uint8_t>(12, 0));
  return w.to_bytes();
}

TEST(Gguf, RoundTripsEveryValueType) {
  const std::vector<uint8_t> bytes = small_file();
  const GgufFile f = GgufFile::parse(bytes, "mem");
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.get_string("general.architecture"), "llama");
  EXPECT_EQ(f.get_int("u32"), 7);
  EXPECT_EQ(f.get_int("i32"), -3);
  EXPECT_EQ(f.get_int("u64"), int64_t(1) << 40);
  EXPECT_FLOAT_EQ(f.get_float("f32"), 0.5f);
  EXPECT_TRUE(f.get_bool("bool", false));
  EXPECT_EQ(f.get_strings("strings"), (std::vector<std::string>{"a", "", "ünï"}));
  EXPECT_EQ(f.get_floats("floats"), (std::vector<float>{1.f, 2.5f}));
  EXPECT_EQ(f.get_ints("ints"), (std::vector<int32_t>{4, -5}));
  EXPECT_EQ(f.get_int("missing", 9), 9);
  const GgufTensorInfo* t = f.find_tensor("t0");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->cols(), 16);
  EXPECT_EQ(t->rows(), 4);
  float v;
  std::memcpy(&v, f.tensor_data(*t).data() + 5 * 4, 4);
  EXPECT_EQ(v, 5.f);
  EXPECT_EQ(f.tensor_data(*f.find_tensor("t1")).size(), 12u);
}

TEST(Gguf, WrongTypesAndMissingKeysAreNamed) {
  const std::vector<uint8_t> bytes = small_file();
  const GgufFile f = GgufFile::parse(bytes, "mem");
  try {
    f.get_int("general.architecture");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("general.architecture"), std::string::npos);
  }
  EXPECT_THROW(f.get_string("nope"), Error);
}

TEST(Gguf, ReadsVersion2) {
  std::vector<uint8_t> bytes = small_file();
  bytes[4] = 2;
  EXPECT_EQ(GgufFile::parse(bytes, "v2").version(), 2u);
  bytes[4] = 1;
  EXPECT_THROW(GgufFile::parse(bytes, "v1"), Error);
}

TEST(Gguf, EveryTruncationIsAnError) {
  const std::vector<uint8_t> bytes = small_file();
  // Only the trailing alignment padding after the last tensor may go missing.
  const GgufFile whole = GgufFile::parse(bytes, "whole");
  const std::span<const uint8_t> last = whole.tensor_data(*whole.find_tensor("t1"));
  const size_t content_end = static_cast<size_t>(last.data() - bytes.data()) + last.size();
  ASSERT_LT(content_end, bytes.size());
  for (size_t n = 0; n < content_end; ++n) {
    std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + n);
    EXPECT_THROW(GgufFile::parse(prefix, "cut"), Error) << "prefix of " << n << " bytes";
  }
}

TEST(Gguf, HugeCountsAreRejectedBeforeAllocating) {
  std::vector<uint8_t> bytes = small_file();
  const uint64_t huge = uint64_t(1) << 60;
  std::memcpy(bytes.data() + 16, &huge, 8);  // metadata count
  try {
    GgufFile::parse(bytes, "huge");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("metadata count"), std::string::npos);
  }
}

}  // namespace
}  // namespace weblm
