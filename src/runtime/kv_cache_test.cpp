#include "runtime/kv_cache.h"

#include <gtest/gtest.h>

#include "backend/cpu/cpu_backend.h"
#include "util/error.h"

namespace weblm {
namespace {

ModelConfig two_layer_config() {
  ModelConfig c;
  c.head_dim = 4;
  c.layers = {LayerConfig{2, 1}, LayerConfig{2, 1}};
  return c;
}

float* row(CpuBackend& b, const Tensor& t, int64_t r) {
  return reinterpret_cast<float*>(b.mutable_data(t) + r * t.row_stride);
}

TEST(KvCache, SequencesGetPagesAndGiveThemBack) {
  CpuBackend backend(1);
  KvCache kv(backend, two_layer_config(), {4, 8});
  const int32_t a = kv.create_sequence();
  kv.extend(a, 9);  // two pages
  EXPECT_EQ(kv.page_table(a).size(), 2u);
  EXPECT_EQ(kv.free_pages(), 2);
  EXPECT_EQ(kv.kv_row(a, 8), kv.page_table(a)[1] * 8);
  kv.truncate(a, 8);  // back to one page
  EXPECT_EQ(kv.free_pages(), 3);
  EXPECT_THROW(kv.kv_row(a, 8), Error);
  kv.release_sequence(a);
  EXPECT_EQ(kv.free_pages(), 4);
}

TEST(KvCache, FullPoolIsAClearErrorAndKeepsState) {
  CpuBackend backend(1);
  KvCache kv(backend, two_layer_config(), {2, 4});
  const int32_t a = kv.create_sequence();
  kv.extend(a, 5);
  try {
    kv.extend(a, 20);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("KV cache is full"), std::string::npos);
  }
  EXPECT_EQ(kv.length(a), 5);
  EXPECT_EQ(kv.free_pages(), 0);
}

TEST(KvCache, ForkSharesPagesAndCopiesOnWrite) {
  CpuBackend backend(1);
  KvCache kv(backend, two_layer_config(), {8, 4});
  const int32_t a = kv.create_sequence();
  kv.extend(a, 6);  // pages p0 (full), p1 (2 of 4 used)
  for (int pos = 0; pos < 6; ++pos) row(backend, kv.layers()[0].k, kv.kv_row(a, pos))[0] = 100.f + pos;
  const int32_t b = kv.fork(a, 5);  // shares p0 and p1
  EXPECT_EQ(kv.page_table(b), std::vector<int32_t>(kv.page_table(a).begin(), kv.page_table(a).end()));
  EXPECT_EQ(kv.free_pages(), 6);
  kv.extend(b, 6);  // writing position 5 of b must not touch a's position 5
  EXPECT_EQ(kv.page_table(b)[0], kv.page_table(a)[0]);
  EXPECT_NE(kv.page_table(b)[1], kv.page_table(a)[1]);
  EXPECT_EQ(row(backend, kv.layers()[0].k, kv.kv_row(b, 4))[0], 104.f);  // copied prefix
  row(backend, kv.layers()[0].k, kv.kv_row(b, 5))[0] = -1.f;
  EXPECT_EQ(row(backend, kv.layers()[0].k, kv.kv_row(a, 5))[0], 105.f);
  kv.release_sequence(a);
  kv.release_sequence(b);
  EXPECT_EQ(kv.free_pages(), 8);
}

}  // namespace
}  // namespace weblm
