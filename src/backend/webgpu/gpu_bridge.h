// The JS functions of wasm/webgpu_bridge.js (an Emscripten --js-library) that the WebGPU backend
// calls; see that file for the command stream format. `ctx` is a context on the GPUDevice the
// host handed over; buffers and pipelines are small integer handles (0 = none / failed).
#pragma once

#include <cstdint>

extern "C" {
// 0 when the host handed no device over; else fills limits[5] (see the bridge).
uint32_t weblm_gpu_open(double* limits);
void weblm_gpu_close(uint32_t ctx);
void weblm_gpu_adapter_name(uint32_t ctx, char* out, uint32_t capacity);
uint32_t weblm_gpu_create_buffer(uint32_t ctx, uint32_t size, uint32_t usage, const void* init, uint32_t init_bytes);
void weblm_gpu_destroy_buffer(uint32_t buffer);
uint32_t weblm_gpu_create_pipeline(uint32_t ctx, const char* source, const char* entry, const char* layout,
                                   const char* constants, const char* label);
void weblm_gpu_write_buffer(uint32_t ctx, uint32_t buffer, uint32_t offset, const void* data, uint32_t bytes);
void weblm_gpu_submit(uint32_t ctx, const uint32_t* commands, uint32_t words, uint32_t readback, void* dst,
                      uint32_t readback_bytes);
uint32_t weblm_gpu_status(uint32_t ctx);
void weblm_gpu_error(uint32_t ctx, char* out, uint32_t capacity);
}
