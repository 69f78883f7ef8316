// Copies rows of a tensor to other, non-overlapping rows of the same buffer (KV copy-on-write;
// WebGPU cannot copyBufferToBuffer within one buffer).
//!include grid.wgsl

struct Params {
  words: u32,   // per row
  rows: u32,
  src_at: u32,
  dst_at: u32,
  stride: u32,  // words between rows
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> buf: array<u32>;

@compute @workgroup_size(ELEMENT_THREADS)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = element_index(group, groups, lid);
  if (i >= p.words * p.rows) {
    return;
  }
  let r = i / p.words;
  let c = i % p.words;
  buf[p.dst_at + r * p.stride + c] = buf[p.src_at + r * p.stride + c];
}
