#include "format/safetensors.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <string>

#include "util/error.h"

namespace weblm {
namespace {

// A safetensors file assembled by hand: u64 header length, the header text as given, then data.
std::vector<uint8_t> file_of(std::string_view header, std::vector<uint8_t> data) {
  const uint64_t n = header.size();
  std::vector<uint8_t> out(reinterpret_cast<const uint8_t*>(&n), reinterpret_cast<const uint8_t*>(&n + 1));
  out.reserve(8 + header.size() + data.size());
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

template <class T>
std::vector<uint8_t> bytes_of(std::initializer_list<T> values) {
  std::vector<uint8_t> out(values.size() * sizeof(T));
  std::memcpy(out.data(), values.begin(), out.size());
  return out;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Safetensors, RoundTripsThroughAFile) {
  // Halves and bfloats chosen exactly representable, with their bits written out by hand.
  const std::vector<uint8_t> f32 = bytes_of<float>({1.f, -2.f, 0.5f, 3.25f, 1e-30f, -0.f});
  const std::vector<uint8_t> f16 = bytes_of<uint16_t>({0x3E00, 0xC000, 0x3400, 0x7BFF});   // 1.5 -2 0.25 65504
  const std::vector<uint8_t> bf16 = bytes_of<uint16_t>({0x3FC0, 0xC000, 0x3E80, 0x4380});  // 1.5 -2 0.25 256
  const std::vector<uint8_t> i64 = bytes_of<int64_t>({-1, INT64_MAX});
  const std::vector<uint8_t> flag = {1};
  const std::vector<SafetensorsFile::Tensor> tensors = {
      {"model.w", "F32", {2, 3}, f32},   {"h", "F16", {4}, f16}, {"b", "BF16", {2, 2}, bf16},
      {"ids", "I64", {2}, i64},          {"empty", "U8", {0, 5}, {}},
      {"flag", "BOOL", {}, flag},
  };
  const std::string path = ::testing::TempDir() + "weblm_safetensors_test.safetensors";
  write_safetensors(path, tensors, {{"format", "pt"}, {"note", "\xC3\xA9"}});
  SafetensorsFile f = SafetensorsFile::open(path);
  EXPECT_EQ(f.name(), path);
  EXPECT_EQ(f.metadata(), (std::map<std::string, std::string>{{"format", "pt"}, {"note", "\xC3\xA9"}}));
  ASSERT_EQ(f.tensors().size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {  // file order is write order
    const SafetensorsFile::Tensor& got = f.tensors()[i];
    EXPECT_EQ(got.name, tensors[i].name);
    EXPECT_EQ(got.dtype, tensors[i].dtype);
    EXPECT_EQ(got.shape, tensors[i].shape);
    EXPECT_EQ(std::vector<uint8_t>(got.data.begin(), got.data.end()),
              std::vector<uint8_t>(tensors[i].data.begin(), tensors[i].data.end()));
  }
  EXPECT_EQ(SafetensorsFile::to_f32(*f.find("model.w")), (std::vector<float>{1.f, -2.f, 0.5f, 3.25f, 1e-30f, -0.f}));
  EXPECT_EQ(SafetensorsFile::to_f32(*f.find("h")), (std::vector<float>{1.5f, -2.f, 0.25f, 65504.f}));
  EXPECT_EQ(SafetensorsFile::to_f32(*f.find("b")), (std::vector<float>{1.5f, -2.f, 0.25f, 256.f}));
  EXPECT_EQ(f.find("nope"), nullptr);
  const std::string i64_error = error_of([&] { SafetensorsFile::to_f32(*f.find("ids")); });
  EXPECT_NE(i64_error.find("'ids'"), std::string::npos) << i64_error;
  EXPECT_NE(i64_error.find("I64"), std::string::npos) << i64_error;

  const SafetensorsFile moved = std::move(f);  // the mapping moves with the file
  EXPECT_EQ(SafetensorsFile::to_f32(moved.tensors()[0])[3], 3.25f);

  // As Hugging Face's writer does, the header is padded with spaces so the data is 8-aligned.
  uint64_t header_bytes = 0;
  std::FILE* in = std::fopen(path.c_str(), "rb");
  ASSERT_NE(in, nullptr);
  ASSERT_EQ(std::fread(&header_bytes, 8, 1, in), 1u);
  std::fclose(in);
  EXPECT_EQ(header_bytes % 8, 0u);
  std::remove(path.c_str());
  EXPECT_NE(error_of([&] { SafetensorsFile::open(path); }).find(path), std::string::npos);
}

TEST(Safetensors, ReadsAHandWrittenFile) {
  // Entries out of offset order, an unpadded header (so the data is misaligned), metadata first.
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"b":{"dtype":"BF16","shape":[1,2],"data_offsets":[8,12]},)"
      R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}, "z": {"dtype":"F16","shape":[],"data_offsets":[12,14]}})";
  std::vector<uint8_t> data = bytes_of<float>({0.75f, -8.f});
  for (uint8_t byte : bytes_of<uint16_t>({0x3F80, 0xBF00, 0x3C00})) data.push_back(byte);  // bf16 1, -0.5; f16 1
  const std::vector<uint8_t> bytes = file_of(header, data);
  const SafetensorsFile f = SafetensorsFile::parse(bytes, "hand.safetensors");
  ASSERT_EQ(f.tensors().size(), 3u);
  EXPECT_EQ(f.tensors()[0].name, "a");
  EXPECT_EQ(f.tensors()[1].name, "b");
  EXPECT_EQ(f.tensors()[1].shape, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(f.tensors()[2].shape, std::vector<int64_t>{});
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_EQ(f.tensors()[0].data.data(), bytes.data() + 8 + header.size());
  EXPECT_EQ(SafetensorsFile::to_f32(f.tensors()[0]), (std::vector<float>{0.75f, -8.f}));
  EXPECT_EQ(SafetensorsFile::to_f32(f.tensors()[1]), (std::vector<float>{1.f, -0.5f}));
  EXPECT_EQ(SafetensorsFile::to_f32(f.tensors()[2]), (std::vector<float>{1.f}));
}

TEST(Safetensors, WriterMatchesTheFormat) {
  const std::vector<uint8_t> w = bytes_of<float>({2.f});
  const std::vector<uint8_t> v = bytes_of<int8_t>({-1, 1});
  const std::vector<SafetensorsFile::Tensor> tensors = {{"w", "F32", {1}, w}, {"v", "I8", {2}, v}};
  const std::vector<uint8_t> bytes = safetensors_bytes(tensors);
  const std::string json = R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"v":{"dtype":"I8","shape":[2],"data_offsets":[4,6]}})";
  std::vector<uint8_t> expected = file_of(json + std::string((8 - json.size() % 8) % 8, ' '), w);
  expected.push_back(0xFF);
  expected.push_back(1);
  EXPECT_EQ(bytes, expected);
}

TEST(Safetensors, EveryTruncationIsAnError) {
  const std::vector<uint8_t> f32 = bytes_of<float>({1.f, 2.f});
  const std::vector<SafetensorsFile::Tensor> tensors = {{"a", "F32", {2}, f32}, {"b", "U8", {8}, f32}};
  const std::vector<uint8_t> bytes = safetensors_bytes(tensors, {{"k", "v"}});
  ASSERT_NO_THROW(SafetensorsFile::parse(bytes, "whole"));
  for (size_t n = 0; n < bytes.size(); ++n) {
    const std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(n));
    const std::string message = error_of([&] { SafetensorsFile::parse(prefix, "cut.safetensors"); });
    EXPECT_EQ(message.rfind("cut.safetensors: ", 0), 0u) << n << ": " << message;
  }
}

struct Corruption {
  const char* what;
  std::vector<uint8_t> bytes;
  std::vector<std::string> expected;  // substrings of the message
};

std::vector<Corruption> corruptions() {
  const auto with_length = [](uint64_t n, size_t total) {
    std::vector<uint8_t> b(total, ' ');
    std::memcpy(b.data(), &n, 8);
    return b;
  };
  const auto tensor = [](std::string_view name, std::string_view dtype, std::string_view shape, std::string_view offsets) {
    return str_cat('"', name, R"(":{"dtype":")", dtype, R"(","shape":)", shape, R"(,"data_offsets":)", offsets, "}");
  };
  const auto one = [&](std::string_view dtype, std::string_view shape, std::string_view offsets, size_t data) {
    return file_of(str_cat("{", tensor("w", dtype, shape, offsets), "}"), std::vector<uint8_t>(data));
  };
  return {
      {"shorter than the length", {1, 0, 0}, {"truncated", "3 bytes"}},
      {"huge header length", with_length(1ull << 60, 64), {"header length 1152921504606846976 exceeds the limit"}},
      {"header past the end", with_length(200, 40), {"header of 200 bytes runs past the end of the file (40 bytes"}},
      {"malformed JSON", file_of(R"({"w":)", {}), {"JSON header (bytes 8 to 13) is malformed"}},
      {"invalid UTF-8", file_of("{\"\xFF\":1}", {}), {"malformed"}},
      {"not an object", file_of("[1,2]", {}), {"header is array, expected an object"}},
      {"deep nesting", file_of(std::string(100000, '['), {}), {"malformed"}},
      {"deep valid nesting", file_of(std::string(100000, '[') + std::string(100000, ']'), {}), {"header is array"}},
      {"entry not an object", file_of(R"({"w":5})", {}), {"tensor 'w'", "entry is number"}},
      {"missing dtype", file_of(R"({"w":{"shape":[],"data_offsets":[0,4]}})", std::vector<uint8_t>(4)), {"tensor 'w'", "'dtype'"}},
      {"missing shape", file_of(R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", std::vector<uint8_t>(4)), {"tensor 'w'", "'shape'"}},
      {"unknown dtype", one("Q4", "[1]", "[0,1]", 1), {"tensor 'w'", "unsupported dtype 'Q4'"}},
      {"sub-byte dtype", one("F4", "[2]", "[0,1]", 1), {"tensor 'w'", "unsupported dtype 'F4'"}},
      {"negative dim", one("U8", "[-1]", "[0,1]", 1), {"tensor 'w'", "shape entry -1"}},
      {"fractional dim", one("U8", "[1.5]", "[0,1]", 1), {"tensor 'w'", "shape entry 1.5"}},
      {"dim past int64", one("U8", "[9223372036854775808]", "[0,1]", 1), {"tensor 'w'", "shape entry 9223372036854775808"}},
      {"one offset", one("U8", "[1]", "[0]", 1), {"tensor 'w'", "'data_offsets' must be [begin, end]"}},
      {"reversed offsets", one("U8", "[0]", "[4,0]", 4), {"tensor 'w'", "[4,0] are not integers 0 <= begin <= end"}},
      {"size mismatch", one("F32", "[3]", "[0,8]", 8), {"tensor 'w'", "hold 8 bytes, but shape [3] of F32 needs 12"}},
      {"shape overflow", one("F32", "[4294967296,4294967296]", "[0,8]", 8), {"tensor 'w'", "overflows 64 bits"}},
      {"data past the end", one("F32", "[4]", "[0,16]", 8), {"tensor 'w'", "run past the end of the 8-byte data buffer"}},
      {"gap", file_of(str_cat("{", tensor("a", "U8", "[4]", "[0,4]"), ",", tensor("b", "U8", "[4]", "[8,12]"), "}"),
                      std::vector<uint8_t>(12)),
       {"tensor 'b'", "starts at buffer offset 8 but the previous tensor ends at 4 (gap)"}},
      {"overlap", file_of(str_cat("{", tensor("a", "U8", "[8]", "[0,8]"), ",", tensor("b", "U8", "[8]", "[4,12]"), "}"),
                          std::vector<uint8_t>(12)),
       {"tensor 'b'", "(overlap)"}},
      {"first tensor not at 0", one("U8", "[4]", "[4,8]", 8), {"tensor 'w'", "(gap)"}},
      {"trailing bytes", one("U8", "[4]", "[0,4]", 8), {"cover 4 bytes of the 8-byte data buffer"}},
      {"duplicate name", file_of(str_cat("{", tensor("a", "U8", "[4]", "[0,4]"), ",", tensor("a", "U8", "[4]", "[4,8]"), "}"),
                                 std::vector<uint8_t>(8)),
       {"names 'a' twice"}},
      {"metadata not an object", file_of(R"({"__metadata__":[1]})", {}), {"'__metadata__' is array"}},
      {"metadata not strings", file_of(R"({"__metadata__":{"k":1}})", {}), {"'__metadata__' key 'k' is number"}},
  };
}

TEST(Safetensors, CorruptionsAreErrorsNamingTheProblem) {
  for (const Corruption& c : corruptions()) {
    const std::string message = error_of([&] { SafetensorsFile::parse(c.bytes, "corrupt.safetensors"); });
    EXPECT_EQ(message.rfind("corrupt.safetensors: ", 0), 0u) << c.what << ": " << message;
    for (const std::string& part : c.expected)
      EXPECT_NE(message.find(part), std::string::npos) << c.what << ": '" << part << "' not in: " << message;
  }
}

TEST(Safetensors, WriterRefusesInconsistentTensors) {
  const std::vector<uint8_t> four(4);
  const auto message = [&](std::vector<SafetensorsFile::Tensor> t) { return error_of([&] { safetensors_bytes(t); }); };
  EXPECT_NE(message({{"w", "F32", {2}, four}}).find("'w' has 4 bytes, which do not match shape [2] of F32"), std::string::npos);
  EXPECT_NE(message({{"w", "F32", {-1}, four}}).find("'w'"), std::string::npos);
  EXPECT_NE(message({{"w", "Q4", {4}, four}}).find("unsupported dtype 'Q4'"), std::string::npos);
  EXPECT_NE(message({{"w", "U8", {4}, four}, {"w", "U8", {4}, four}}).find("duplicate or reserved tensor name 'w'"),
            std::string::npos);
  EXPECT_NE(message({{"__metadata__", "U8", {4}, four}}).find("reserved"), std::string::npos);
  EXPECT_NE(message({{"\xFF", "U8", {4}, four}}).find("safetensors writer"), std::string::npos);
  EXPECT_NE(error_of([&] { write_safetensors("/nonexistent-dir/x.safetensors", {}); }).find("/nonexistent-dir/x.safetensors"),
            std::string::npos);
}

}  // namespace
}  // namespace weblm
