// The decoder forward pass, shared by every architecture. Shapes use n = tokens in the batch,
// n_out = tokens whose logits are wanted.
#include <algorithm>

#include "model/model.h"
#include "util/error.h"

namespace weblm {

void Model::enqueue_forward(const ForwardBatch& batch, std::span<const KvLayer> kv, float* logits) const {
  const ModelConfig& c = config_;
  Backend& b = *backend_;
  if (static_cast<int>(kv.size()) != c.n_layers()) fail("forward: ", kv.size(), " KV layers for ", c.n_layers());
  b.begin_forward(batch);
  const int64_t n = batch.size();
  const int64_t n_out = static_cast<int64_t>(batch.output_rows.size());
  auto scratch = [&](int64_t cols, int64_t rows) { return b.alloc(DType::F32, cols, rows, Lifetime::Forward); };

  Tensor x = scratch(c.dim, n);  // [n, dim] the residual stream
  b.embed(x, weights_.tok_embd, c.embed_scale);

  // Scratch for one layer, reused by every layer (views narrow it where a layer is smaller), so
  // activation memory does not grow with depth.
  int64_t max_q = 0, max_kv = 0;
  for (int l = 0; l < c.n_layers(); ++l) {
    max_q = std::max<int64_t>(max_q, static_cast<int64_t>(c.layers[l].n_heads) * c.head_dim);
    max_kv = std::max(max_kv, c.kv_width(l));
  }
  auto cols = [](Tensor t, int64_t width) {  // the first `width` columns, as a contiguous tensor
    t.cols = width;
    t.row_stride = row_bytes(t.type, width);
    return t;
  };
  // Buffers whose lives do not overlap share storage: the normed input is dead once q, k, v are
  // computed, so attention writes there; the attention projection is added into the residual
  // before the FFN's down projection writes its buffer. That keeps a 512-token prompt chunk's
  // activations small next to the weights.
  const Tensor h_buf = scratch(std::max<int64_t>(c.dim, max_q), n);
  const Tensor h = cols(h_buf, c.dim);       // [n, dim]
  const Tensor q_buf = scratch(max_q, n);    // [n, n_heads*head_dim]
  const Tensor k_buf = scratch(max_kv, n);   // [n, n_kv_heads*head_dim]
  const Tensor v_buf = scratch(max_kv, n);
  Tensor o = scratch(c.dim, n);              // [n, dim] attention, then FFN, output
  Tensor gate = scratch(c.n_ff, n);          // [n, n_ff]
  Tensor up = scratch(c.n_ff, n);

  for (int l = 0; l < c.n_layers(); ++l) {
    const LayerWeights& w = weights_.layers[l];
    const LayerConfig& lc = c.layers[l];
    const int64_t q_width = static_cast<int64_t>(lc.n_heads) * c.head_dim;
    const int64_t kv_width = c.kv_width(l);
    const bool last = l + 1 == c.n_layers();

    b.rms_norm(h, x, w.attn_norm, c.norm_eps);
    const Tensor q = cols(q_buf, q_width);
    const Tensor k = cols(k_buf, kv_width);
    const Tensor v = cols(v_buf, kv_width);
    b.matmul(q, w.wq, h);
    b.matmul(k, w.wk, h);
    b.matmul(v, w.wv, h);
    if (w.bq) b.add(q, q, *w.bq);
    if (w.bk) b.add(k, k, *w.bk);
    if (w.bv) b.add(v, v, *w.bv);
    if (w.q_norm) {
      const Tensor q_heads = q.reshape(c.head_dim);  // [n*n_heads, head_dim]
      b.rms_norm(q_heads, q_heads, *w.q_norm, c.norm_eps);
      const Tensor k_heads = k.reshape(c.head_dim);
      b.rms_norm(k_heads, k_heads, *w.k_norm, c.norm_eps);
    }
    RopeSpec rope{lc.n_heads, c.head_dim, c.n_rot, lc.rope_base, lc.rope_scale, c.rope_layout,
                  weights_.rope_freqs ? &*weights_.rope_freqs : nullptr};
    b.rope(q, rope);
    rope.n_heads = lc.n_kv_heads;
    b.rope(k, rope);
    b.store_kv(kv[l].k, kv[l].v, k, v);
    // A pass that only fills the cache (a prompt chunk with no logits) ends here.
    if (last && n_out == 0) break;

    const Tensor attn = cols(h_buf, q_width);  // [n, n_heads*head_dim]
    b.attention(attn, q, kv[l].k, kv[l].v,
                AttentionSpec{lc.n_heads, lc.n_kv_heads, c.head_dim, c.attn_scale, c.attn_softcap, lc.window});
    b.matmul(o, w.wo, attn);

    int64_t rows = n;
    if (last && n_out < n) {  // only the rows whose logits are wanted go on
      Tensor o_out = scratch(c.dim, n_out);
      Tensor x_out = scratch(c.dim, n_out);
      b.select_rows(o_out, o);
      b.select_rows(x_out, x);
      o = o_out;
      x = x_out;
      gate = gate.row_range(0, n_out);
      up = up.row_range(0, n_out);
      rows = n_out;
    }
    if (w.attn_post_norm) b.rms_norm(o, o, *w.attn_post_norm, c.norm_eps);
    b.add(x, x, o);

    const Tensor f = h.row_range(0, rows);  // [rows, dim]
    b.rms_norm(f, x, w.ffn_norm, c.norm_eps);
    b.matmul(gate, w.gate, f);
    b.matmul(up, w.up, f);
    b.glu(gate, gate, up, c.activation);
    b.matmul(o, w.down, gate);
    if (w.ffn_post_norm) b.rms_norm(o, o, *w.ffn_post_norm, c.norm_eps);
    b.add(x, x, o);
  }

  Tensor out = scratch(c.n_vocab, n_out);  // [n_out, n_vocab]
  if (n_out > 0) {
    Tensor normed = scratch(c.dim, n_out);
    b.rms_norm(normed, x, weights_.output_norm, c.norm_eps);
    b.matmul(out, weights_.output, normed);
    if (c.final_softcap > 0) b.softcap(out, c.final_softcap);
  }
  b.end_forward(out, logits);
}

}  // namespace weblm
