#include "format/mapped_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "util/error.h"

#ifndef __EMSCRIPTEN__
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

namespace weblm {

#ifndef __EMSCRIPTEN__

MappedFile::MappedFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, ": cannot open (", std::strerror(errno), ")");
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(path, ": not a regular file");
  }
  const size_t size = static_cast<size_t>(st.st_size);
  if (size > 0) {  // mmap of length 0 is an error; an empty file is simply no bytes
    void* addr = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    const int map_errno = errno;
    ::close(fd);
    if (addr == MAP_FAILED) fail(path, ": cannot map ", size, " bytes (", std::strerror(map_errno), ")");
    mapped_ = addr;
    bytes_ = {static_cast<const uint8_t*>(addr), size};
  } else {
    ::close(fd);
  }
}

MappedFile::~MappedFile() {
  if (mapped_) munmap(mapped_, bytes_.size());
}

#else

MappedFile::MappedFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) fail(path, ": cannot open");
  const std::streamoff size = in.tellg();
  if (size < 0) fail(path, ": cannot determine the file size");
  owned_.resize(static_cast<size_t>(size));
  in.seekg(0);
  if (!in.read(reinterpret_cast<char*>(owned_.data()), size)) fail(path, ": read failed");
  bytes_ = owned_;
}

MappedFile::~MappedFile() = default;

#endif

}  // namespace weblm
