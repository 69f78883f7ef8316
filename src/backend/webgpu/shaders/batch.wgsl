// The forward batch as u32 words (written by the host once per pass, webgpu_batch.cpp): a header
// of array offsets, then the arrays, then rope's cos/sin tables.
//   [0] tokens  [1] page size  [2] tokens at  [3] positions at  [4] sequence of each token at
//   [5] KV row of each token at  [6] output rows at  [7] page table offset of each sequence at

@group(0) @binding(2) var<storage, read> batch: array<u32>;

fn batch_token(t: u32) -> u32 {
  return batch[batch[2] + t];
}

fn batch_position(t: u32) -> u32 {
  return batch[batch[3] + t];
}

fn batch_sequence(t: u32) -> u32 {
  return batch[batch[4] + t];
}

fn batch_kv_row(t: u32) -> u32 {
  return batch[batch[5] + t];
}

fn batch_output_row(i: u32) -> u32 {
  return batch[batch[6] + i];
}

// The KV row holding position j of sequence s: its page table maps j / page size to a page.
fn batch_cache_row(s: u32, j: u32) -> u32 {
  let page_size = batch[1];
  let table = batch[batch[7] + s];
  return batch[table + j / page_size] * page_size + j % page_size;
}
