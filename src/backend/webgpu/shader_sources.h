// The WGSL kernels of shaders/*.wgsl, includes expanded, embedded at build time.
#pragma once

#include <string_view>

namespace weblm::webgpu {

// The source of shaders/<kernel>.wgsl; empty if there is no such kernel.
std::string_view shader_source(std::string_view kernel);

}  // namespace weblm::webgpu
