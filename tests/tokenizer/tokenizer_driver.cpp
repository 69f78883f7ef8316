// weblm's tokenizer, driven from tests/tokenizer/parity.mjs:
//   tokenizer_driver gguf OUT.gguf synthetic spm|bpe N_VOCAB PRE [NAME]   vocab-only GGUF of a synthetic
//                                                                         vocabulary (general.name NAME)
//   tokenizer_driver gguf OUT.gguf hf DIR                                 vocab-only GGUF of a Hugging Face tokenizer
//   tokenizer_driver tokenize MODEL.gguf TEXTS.json OUT.json        ids and decodings of each text, and the
//                                                                   vocabulary's special ids, EOG set and pieces
// Texts are a JSON array of strings; the output's byte strings (decodings, pieces) are hex, since
// they need not be UTF-8.
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "format/gguf.h"
#include "tokenizer/hf_vocab.h"
#include "tokenizer/synthetic_vocab.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace {

using weblm::fail;
using json = nlohmann::json;

std::string hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot read ", path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

int write_gguf(int argc, char** argv) {
  if (argc < 5) fail("usage: gguf OUT synthetic KIND N PRE | gguf OUT hf DIR");
  const std::string source = argv[3];
  weblm::Vocab vocab;
  std::string name;
  if (source == "synthetic" && argc >= 7) {
    const std::string kind = argv[4];
    vocab = weblm::make_synthetic_vocab(kind == "bpe" ? weblm::Vocab::Kind::Bpe : weblm::Vocab::Kind::Spm,
                                        std::stoi(argv[5]), argv[6]);
    name = argc >= 8 ? argv[7] : "weblm synthetic " + kind;
  } else if (source == "hf") {
    vocab = weblm::vocab_from_hf(argv[4]);
    name = "weblm hf vocab";
  } else {
    fail("unknown vocabulary source ", source);
  }
  weblm::GgufWriter w;
  w.set("general.architecture", weblm::GgufValue::of_string("llama"));
  w.set("general.name", weblm::GgufValue::of_string(name));
  vocab.write_gguf(w);
  w.write(argv[2]);
  return 0;
}

int tokenize(int argc, char** argv) {
  if (argc < 5) fail("usage: tokenize MODEL.gguf TEXTS.json OUT.json");
  const weblm::GgufFile file = weblm::GgufFile::open(argv[2]);
  const weblm::Tokenizer t(weblm::Vocab::from_gguf(file));
  const json texts = json::parse(read_file(argv[3]));
  json results = json::array();
  for (const json& text : texts) {
    const std::string s = text.get<std::string>();
    const std::vector<int32_t> special = t.encode(s, false, true);
    results.push_back({
        {"plain", t.encode(s, false, false)},
        {"special", special},
        {"with_bos", t.encode(s, true, true)},
        {"decode", hex(t.decode(special, false))},
        {"decode_special", hex(t.decode(special, true))},
    });
  }
  json eog = json::array();
  json pieces = json::array();
  json pieces_special = json::array();
  json attributes = json::array();
  // Named as node-llama-cpp's TokenAttributes names them.
  const std::pair<uint32_t, const char*> kAttributes[] = {
      {weblm::kTokenAttrUnknown, "unknown"},         {weblm::kTokenAttrUnused, "unused"},
      {weblm::kTokenAttrNormal, "normal"},           {weblm::kTokenAttrControl, "control"},
      {weblm::kTokenAttrUserDefined, "userDefined"}, {weblm::kTokenAttrByte, "byte"},
      {weblm::kTokenAttrLstrip, "lstrip"},           {weblm::kTokenAttrRstrip, "rstrip"},
  };
  for (int32_t id = 0; id < t.size(); ++id) {
    if (t.is_end_of_generation(id)) eog.push_back(id);
    std::string names;
    for (const auto& [bit, name] : kAttributes) {
      if (t.attributes(id) & bit) names += (names.empty() ? "" : ",") + std::string(name);
    }
    attributes.push_back(names);
    const int32_t one[] = {id};
    pieces.push_back(hex(t.decode(one, false)));
    pieces_special.push_back(hex(t.decode(one, true)));
  }
  const weblm::Vocab& v = t.vocab();
  const json out = {
      {"n_vocab", t.size()}, {"bos", v.bos},   {"eos", v.eos},       {"eot", t.eot()},
      {"add_bos", v.add_bos}, {"add_eos", v.add_eos}, {"eog", eog},  {"texts", results},
      {"pieces", pieces},     {"pieces_special", pieces_special}, {"attributes", attributes},
  };
  std::ofstream(argv[4]) << out.dump();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string command = argc > 1 ? argv[1] : "";
    if (command == "gguf") return write_gguf(argc, argv);
    if (command == "tokenize") return tokenize(argc, argv);
    fail("usage: tokenizer_driver gguf|tokenize ...");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tokenizer_driver: %s\n", e.what());
    return 1;
  }
}
