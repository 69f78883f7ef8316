// out[r][i] = sum_k x[r][k] * w[i][k] for the weight rows of one weight buffer: `matvec` for a
// few activation rows (decode), `tiled` (64 x 64 outputs per workgroup) for prompts. Weights are
// dequantized to f32 as they are read; activations stay f32.
//!include weights.wgsl
//!include grid.wgsl
//!include matmul_io.wgsl

const MATVEC_THREADS: u32 = 64u;
const MATVEC_MAX_ROWS: u32 = 4u;  // activation rows per pass over a weight row

var<workgroup> partial: array<vec4<f32>, MATVEC_THREADS>;

// One weight row per workgroup; threads split k, lane r of the sums is activation row r.
@compute @workgroup_size(MATVEC_THREADS)
fn matvec(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
  let row = workgroup_index(group, groups);
  if (row >= p.w_rows) {
    return;
  }
  let w_row = p.w_at + row * p.w_stride;
  var sum = vec4<f32>(0.0);
  for (var k = lid * 4u; k < p.k; k += MATVEC_THREADS * 4u) {
    let w = weight4(w_row, k, p.k);
    for (var r = 0u; r < p.x_rows; r++) {
      sum[r] += dot(w, x4(r, k));
    }
  }
  partial[lid] = sum;
  workgroupBarrier();
  for (var half = MATVEC_THREADS / 2u; half > 0u; half /= 2u) {
    if (lid < half) {
      partial[lid] += partial[lid + half];
    }
    workgroupBarrier();
  }
  if (lid < p.x_rows) {
    mem[p.out_at + lid * p.out_stride + row] = partial[0][lid];
  }
}

const TILE: u32 = 64u;    // weight rows and activation rows per workgroup
const TILE_K: u32 = 16u;  // k per step: one 4-element group per thread for each tile

var<workgroup> w_tile: array<array<f32, TILE>, TILE_K>;  // [k][weight row]
var<workgroup> x_tile: array<array<f32, TILE>, TILE_K>;  // [k][activation row]

// 16 x 16 threads; thread (tx, ty) sums weight rows 4ty..4ty+3 x activation rows 4tx..4tx+3.
@compute @workgroup_size(16, 16)
fn tiled(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
  let w0 = group.x * TILE;
  let x0 = group.y * TILE;
  let load_row = lid / 4u;        // tile row this thread loads
  let load_k = (lid % 4u) * 4u;   // and its 4 elements of k
  let w_valid = w0 + load_row < p.w_rows;
  let x_valid = x0 + load_row < p.x_rows;
  var sum: array<vec4<f32>, 4>;   // sum[i][j]: weight row 4ty+i, activation row 4tx+j
  for (var k0 = 0u; k0 < p.k; k0 += TILE_K) {
    var w = vec4<f32>(0.0);
    if (w_valid) {
      w = weight4(p.w_at + (w0 + load_row) * p.w_stride, k0 + load_k, p.k);
    }
    var x = vec4<f32>(0.0);
    if (x_valid) {
      x = x4(x0 + load_row, k0 + load_k);
    }
    for (var i = 0u; i < 4u; i++) {
      w_tile[load_k + i][load_row] = w[i];
      x_tile[load_k + i][load_row] = x[i];
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TILE_K; kk++) {
      let a = vec4<f32>(w_tile[kk][4u * local.y], w_tile[kk][4u * local.y + 1u], w_tile[kk][4u * local.y + 2u],
                        w_tile[kk][4u * local.y + 3u]);
      let b = vec4<f32>(x_tile[kk][4u * local.x], x_tile[kk][4u * local.x + 1u], x_tile[kk][4u * local.x + 2u],
                        x_tile[kk][4u * local.x + 3u]);
      for (var i = 0u; i < 4u; i++) {
        sum[i] += a[i] * b;
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let wr = w0 + 4u * local.y + i;
    for (var j = 0u; j < 4u; j++) {
      let xr = x0 + 4u * local.x + j;
      if (wr < p.w_rows && xr < p.x_rows) {
        mem[p.out_at + xr * p.out_stride + wr] = sum[i][j];
      }
    }
  }
}
