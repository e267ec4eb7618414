#pragma once
// The ImageNet devkit's meta.mat: MATLAB level-5 MAT-files (as MATLAB's save -v6/-v7 and
// scipy.io.savemat write them, zlib-compressed or not, little-endian), read far enough to get the
// `synsets` struct array that maps ILSVRC2012 class ids to WordNet ids. Numeric fields may be
// stored in any of the format's integer or floating types (MATLAB shrinks doubles that fit),
// text as UTF-8, UTF-16 or 8/16-bit codes. Anything malformed is an Error naming the file.
#include <cstdint>
#include <string>
#include <vector>

namespace qbench::data {

struct Synset {
  int64_t ilsvrc_id = 0;     // ILSVRC2012_ID: 1..1000 for the classification classes
  std::string wnid;          // WNID: "n02119789"
  std::string words;         // words: "kit fox, Vulpes macrotis"
  int64_t num_children = 0;  // 0 for the leaves, which are the classes
};

// Every element of the variable `synsets` (fields ILSVRC2012_ID, WNID, num_children required,
// words optional), in the file's element order.
std::vector<Synset> parse_meta_mat(const std::vector<uint8_t>& bytes, const std::string& name);
std::vector<Synset> load_meta_mat(const std::string& path);

}  // namespace qbench::data
