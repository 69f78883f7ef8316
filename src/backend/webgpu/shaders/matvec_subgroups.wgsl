// Mat-vec for a few activation rows with one weight row per subgroup: lanes split the row and
// subgroupAdd sums it, with no workgroup barriers (on CPU drivers such as SwiftShader, barriers
// cost most of a workgroup's time). For devices with the `subgroups` feature; matmul.wgsl's
// matvec otherwise. Any subgroup size works: a workgroup always covers ROWS weight rows.
enable subgroups;
//!include weights.wgsl
//!include grid.wgsl
//!include matmul_io.wgsl

const THREADS: u32 = 64u;
const ROWS: u32 = 16u;  // weight rows per workgroup
override X_ROWS: u32 = 1u;  // activation rows (1..4), fixed per pipeline so the loops unroll

@compute @workgroup_size(THREADS)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) lane: u32,
        @builtin(subgroup_size) width: u32) {
  let subgroups = max(1u, THREADS / width);
  let first = workgroup_index(group, groups) * ROWS;
  // The trip count depends on the subgroup size only, so every lane reaches subgroupAdd.
  for (var i = 0u; i < ROWS; i += subgroups) {
    let row = first + i + lid / width;
    let valid = i + lid / width < ROWS && row < p.w_rows;
    var sum = vec4<f32>(0.0);  // lane r: activation row r
    if (valid) {
      let w_row = p.w_at + row * p.w_stride;
      for (var k = lane * 4u; k < p.k; k += width * 4u) {
        let w = weight4(w_row, k, p.k);
        for (var r = 0u; r < X_ROWS; r++) {
          sum[r] += dot(w, x4(r, k));
        }
      }
    }
    let total = subgroupAdd(sum);
    if (valid && lane < X_ROWS) {
      mem[p.out_at + lane * p.out_stride + row] = total[lane];
    }
  }
}
