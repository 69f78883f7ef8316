// The bytes of a whole file, read-only: mapped on native builds (the OS pages weights in on
// demand and shares them between processes), read into memory under Emscripten (no mmap there).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace weblm {

class MappedFile {
 public:
  explicit MappedFile(const std::string& path);  // throws Error naming the path
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  // Stable for the object's lifetime.
  std::span<const uint8_t> bytes() const { return bytes_; }

 private:
#ifdef __EMSCRIPTEN__
  std::vector<uint8_t> owned_;
#else
  void* mapped_ = nullptr;
#endif
  std::span<const uint8_t> bytes_;
};

}  // namespace weblm
