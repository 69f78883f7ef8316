// Causal attention of each (token, query head) over its sequence's keys in the paged KV cache,
// one workgroup each: keys in chunks of 64 (one per thread), softmax kept online (running max,
// rescaled sums), each thread accumulating 4 of the head's dimensions.
// Scores as ggml: s = q.k * scale, then softcap * tanh(s / softcap) when softcap > 0.
//!include batch.wgsl
//!include math.wgsl
//!include grid.wgsl

struct Params {
  n_tokens: u32,
  n_heads: u32,
  n_kv_heads: u32,
  head_dim: u32,      // <= 4 * THREADS
  q_at: u32,
  q_stride: u32,
  out_at: u32,
  out_stride: u32,
  k_at: u32,
  k_stride: u32,
  v_at: u32,
  v_stride: u32,
  window: u32,        // > 0: a query at p sees keys j with p - j < window
  scale: f32,
  softcap: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> mem: array<f32>;
@group(0) @binding(4) var<storage, read> k_cache: array<f32>;
@group(0) @binding(5) var<storage, read> v_cache: array<f32>;

const THREADS: u32 = 64u;
const NO_SCORE: f32 = -3.0e38;  // below every real score; exp(NO_SCORE - m) is 0

var<workgroup> q: array<f32, 256>;
var<workgroup> weight: array<f32, THREADS>;  // softmax numerators of the chunk's keys
var<workgroup> rows: array<u32, THREADS>;    // their KV rows
var<workgroup> reduce: array<f32, THREADS>;

fn reduce_max(lid: u32, v: f32) -> f32 {
  reduce[lid] = v;
  workgroupBarrier();
  for (var half = THREADS / 2u; half > 0u; half /= 2u) {
    if (lid < half) {
      reduce[lid] = max(reduce[lid], reduce[lid + half]);
    }
    workgroupBarrier();
  }
  let result = reduce[0];
  workgroupBarrier();
  return result;
}

fn reduce_sum(lid: u32, v: f32) -> f32 {
  reduce[lid] = v;
  workgroupBarrier();
  for (var half = THREADS / 2u; half > 0u; half /= 2u) {
    if (lid < half) {
      reduce[lid] += reduce[lid + half];
    }
    workgroupBarrier();
  }
  let result = reduce[0];
  workgroupBarrier();
  return result;
}

@compute @workgroup_size(THREADS)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let index = workgroup_index(group, groups);
  if (index >= p.n_tokens * p.n_heads) {
    return;
  }
  let t = index / p.n_heads;
  let head = index % p.n_heads;
  let kv_col = (head / (p.n_heads / p.n_kv_heads)) * p.head_dim;
  let pos = batch_position(t);
  let seq = batch_sequence(t);
  var first = 0u;
  if (p.window > 0u && pos + 1u > p.window) {
    first = pos + 1u - p.window;
  }
  for (var d = lid; d < p.head_dim; d += THREADS) {
    q[d] = mem[p.q_at + t * p.q_stride + head * p.head_dim + d];
  }
  workgroupBarrier();

  var running_max = NO_SCORE;
  var sum = 0.0;               // this thread's share of the softmax denominator
  var acc = vec4<f32>(0.0);    // dimensions lid, lid + 64, lid + 128, lid + 192
  for (var chunk = first; chunk <= pos; chunk += THREADS) {
    let j = chunk + lid;
    var score = NO_SCORE;
    if (j <= pos) {
      let row = batch_cache_row(seq, j);
      rows[lid] = row;
      let key = p.k_at + row * p.k_stride + kv_col;
      var dot = 0.0;
      for (var d = 0u; d < p.head_dim; d++) {
        dot += q[d] * k_cache[key + d];
      }
      score = dot * p.scale;
      if (p.softcap > 0.0) {
        score = soft_cap(score, p.softcap);
      }
    }
    let new_max = max(running_max, reduce_max(lid, score));
    let rescale = exp(running_max - new_max);
    let w = select(0.0, exp(score - new_max), j <= pos);
    weight[lid] = w;
    sum = sum * rescale + w;
    running_max = new_max;
    workgroupBarrier();
    let keys = min(THREADS, pos + 1u - chunk);
    for (var i = 0u; i < 4u; i++) {
      let d = lid + i * THREADS;
      if (d < p.head_dim) {
        var a = acc[i] * rescale;
        for (var jj = 0u; jj < keys; jj++) {
          a += weight[jj] * v_cache[p.v_at + rows[jj] * p.v_stride + kv_col + d];
        }
        acc[i] = a;
      }
    }
    workgroupBarrier();
  }
  let inv = 1.0 / reduce_sum(lid, sum);
  for (var i = 0u; i < 4u; i++) {
    let d = lid + i * THREADS;
    if (d < p.head_dim) {
      mem[p.out_at + t * p.out_stride + head * p.head_dim + d] = acc[i] * inv;
    }
  }
}
