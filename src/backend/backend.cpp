#include "backend/backend.h"

#include "util/error.h"

namespace weblm {

bool Tensor::contiguous() const { return rows <= 1 || row_stride == row_bytes(type, cols); }

size_t Tensor::bytes() const {
  if (rows == 0) return 0;
  return static_cast<size_t>(rows - 1) * row_stride + row_bytes(type, cols);
}

Tensor Tensor::row_range(int64_t first, int64_t count) const {
  if (first < 0 || count < 0 || first + count > rows)
    fail("row range [", first, ", ", first + count, ") outside a tensor of ", rows, " rows");
  Tensor view = *this;
  view.rows = count;
  view.offset = offset + static_cast<size_t>(first) * row_stride;
  return view;
}

Tensor Tensor::reshape(int64_t new_cols) const {
  if (!contiguous()) fail("reshape of a non-contiguous tensor");
  const int64_t n = cols * rows;
  if (new_cols <= 0 || n % new_cols != 0) fail("cannot reshape ", rows, "x", cols, " to rows of ", new_cols);
  Tensor view = *this;
  view.cols = new_cols;
  view.rows = n / new_cols;
  view.row_stride = row_bytes(type, new_cols);
  return view;
}

void ForwardBatch::validate() const {
  const size_t n = tokens.size();
  if (positions.size() != n || seq_index.size() != n || kv_rows.size() != n)
    fail("forward batch: tokens, positions, seq_index and kv_rows differ in length");
  if (page_size <= 0) fail("forward batch: page size must be positive");
  for (size_t i = 0; i < output_rows.size(); ++i) {
    if (output_rows[i] < 0 || static_cast<size_t>(output_rows[i]) >= n ||
        (i > 0 && output_rows[i] <= output_rows[i - 1]))
      fail("forward batch: output rows must be ascending token indices");
  }
  for (size_t t = 0; t < n; ++t) {
    const int32_t s = seq_index[t];
    if (s < 0 || static_cast<size_t>(s) >= page_tables.size())
      fail("forward batch: token ", t, " names sequence ", s, " without a page table");
    if (positions[t] < 0 ||
        static_cast<size_t>(positions[t] / page_size) >= page_tables[s].size())
      fail("forward batch: position ", positions[t], " of token ", t, " has no KV page");
  }
}

}  // namespace weblm
