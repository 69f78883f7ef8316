// weblm split IN OUT_PREFIX --parts N: writes the model as N files in llama.cpp's gguf-split
// format (OUT_PREFIX-00001-of-0000N.gguf ...), tensors in file order, each part about the same
// number of bytes: for hosts and browsers with a limit on file size. The first part keeps every
// metadata key; each part has split.no, split.count and split.tensors.count. `weblm` and
// llama.cpp open the set from its first part.
#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"
#include "format/gguf.h"
#include "util/error.h"

namespace weblm::cli {

int split_command(const Argv& argv) {
  const Args a(argv, {{{"--parts"}, true, "number of files (at least 2)"}});
  if (a.positional().size() != 2) fail("usage: weblm split IN OUT_PREFIX --parts N");
  const std::string& in = a.positional()[0];
  const std::string& prefix = a.positional()[1];
  const int64_t parts = a.integer("--parts", 2);
  const GgufFile f = GgufFile::open(in);
  const int64_t n_tensors = static_cast<int64_t>(f.tensors().size());
  if (parts < 2 || parts > n_tensors) fail("--parts must be between 2 and the model's ", n_tensors, " tensors, got ", parts);

  size_t total = 0;
  for (const GgufTensorInfo& t : f.tensors()) total += t.size;
  size_t done = 0, next = 0;
  for (int64_t part = 0; part < parts; ++part) {
    GgufWriter w;
    if (part == 0) w.copy_metadata(f);
    w.set("split.no", GgufValue{GgufType::UInt16, static_cast<uint64_t>(part)});
    w.set("split.count", GgufValue{GgufType::UInt16, static_cast<uint64_t>(parts)});
    w.set("split.tensors.count", GgufValue::of_i32(static_cast<int32_t>(n_tensors)));
    // Tensors until this part has its share of the bytes, leaving one for each later part.
    const size_t share_end = total * static_cast<size_t>(part + 1) / static_cast<size_t>(parts);
    size_t bytes = 0;
    do {
      const GgufTensorInfo& t = f.tensors()[next++];
      const std::span<const uint8_t> data = f.tensor_data(t);
      w.add_tensor(t.name, t.type, t.dims, std::vector<uint8_t>(data.begin(), data.end()));
      bytes += data.size();
      done += data.size();
    } while (next < static_cast<size_t>(n_tensors) && n_tensors - static_cast<int64_t>(next) > parts - part - 1 &&
             (part == parts - 1 || done < share_end));
    const std::string path = gguf_split_path(prefix, static_cast<int>(part), static_cast<int>(parts));
    w.write(path);
    std::fprintf(stderr, "%s: %.2f MiB\n", path.c_str(), bytes / 1048576.0);
  }
  return 0;
}

}  // namespace weblm::cli
