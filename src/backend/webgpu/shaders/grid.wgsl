// Grids larger than maxComputeWorkgroupsPerDimension (65535) are dispatched as x * y workgroups;
// the host sets x and kernels count workgroups in this order.
fn workgroup_index(id: vec3<u32>, count: vec3<u32>) -> u32 {
  return id.x + id.y * count.x;
}

// Workgroup size of the kernels with one thread per element.
const ELEMENT_THREADS: u32 = 256u;

fn element_index(id: vec3<u32>, count: vec3<u32>, lid: u32) -> u32 {
  return workgroup_index(id, count) * ELEMENT_THREADS + lid;
}
