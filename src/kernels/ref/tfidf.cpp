// TfIdfVectorizer over integer token ids: counts the pool's n-grams (with skips) in each row and
// writes TF, IDF or TF-IDF values at each n-gram's output index. String pools are not supported.
#include <algorithm>
#include <map>

#include "kernels/ref/dispatch.h"
#include "kernels/ref/ops.h"

namespace qbench::kernels::ref {

namespace {
struct TfIdfPlan {
  int64_t min_gram = 1, max_gram = 1, max_skip = 0, out_size = 0;
  std::string mode;
  std::map<std::vector<int64_t>, int64_t> ngrams;  // n-gram -> pool position
  std::vector<int64_t> out_index;                  // pool position -> output index
  std::vector<float> weights;                      // per pool position; empty means 1
};

TfIdfPlan tfidf_plan(const ir::Node& node) {
  TfIdfPlan p;
  p.min_gram = node.attr_int("min_gram_length", 0);
  p.max_gram = node.attr_int("max_gram_length", 0);
  p.max_skip = node.attr_int("max_skip_count", 0);
  p.mode = node.attr_string("mode", "");
  if (node.has_attr("pool_strings"))
    fail("{}: pool_strings is not supported (string tensors); only pool_int64s", node.describe());
  if (p.min_gram < 1 || p.max_gram < p.min_gram || p.max_skip < 0)
    fail(
        "{}: need 1 <= min_gram_length <= max_gram_length and max_skip_count >= 0, found {}, "
        "{}, {}",
        node.describe(), p.min_gram, p.max_gram, p.max_skip);
  if (p.mode != "TF" && p.mode != "IDF" && p.mode != "TFIDF")
    fail("{}: mode must be TF, IDF or TFIDF, found '{}'", node.describe(), p.mode);
  const std::vector<int64_t> pool = node.attr_ints("pool_int64s");
  const std::vector<int64_t> counts = node.attr_ints("ngram_counts");
  p.out_index = node.attr_ints("ngram_indexes");
  p.weights = node.attr_floats("weights");
  // ngram_counts[n - 1] is where the n-grams start in the pool; each n-gram is n tokens.
  int64_t pos = 0;
  for (size_t g = 0; g < counts.size(); ++g) {
    const int64_t n = static_cast<int64_t>(g) + 1;
    const int64_t begin = counts[g];
    const int64_t end = g + 1 < counts.size() ? counts[g + 1] : static_cast<int64_t>(pool.size());
    if (begin < 0 || end < begin || end > static_cast<int64_t>(pool.size()) || (end - begin) % n)
      fail("{}: ngram_counts {} do not split the pool of {} ids into whole {}-grams",
           node.describe(), fmt::join(counts, ","), pool.size(), n);
    for (int64_t i = begin; i < end; i += n, ++pos)
      p.ngrams.emplace(std::vector<int64_t>(pool.begin() + i, pool.begin() + i + n), pos);
  }
  if (static_cast<int64_t>(p.out_index.size()) != pos ||
      (!p.weights.empty() && static_cast<int64_t>(p.weights.size()) != pos))
    fail("{}: the pool has {} n-grams but ngram_indexes has {} and weights {}", node.describe(),
         pos, p.out_index.size(), p.weights.size());
  for (int64_t i : p.out_index) {
    if (i < 0) fail("{}: ngram_indexes must be >= 0, found {}", node.describe(), i);
    p.out_size = std::max(p.out_size, i + 1);
  }
  return p;
}
}  // namespace

void infer_tfidf(InferContext& ctx) {
  require_inputs(ctx, 1);
  const TensorType& x = ctx.inputs[0];
  if (x.dtype != DType::I32 && x.dtype != DType::I64) fail_dtype(ctx.node, x.dtype);
  if (x.shape.empty() || x.shape.size() > 2)
    fail("{}: input must be [C] or [N, C], found {}", ctx.node.describe(), shape_str(x.shape));
  const TfIdfPlan p = tfidf_plan(ctx.node);
  Shape out = x.shape;
  out.back() = p.out_size;
  ctx.outputs = {{DType::F32, out}};
}

void ref_tfidf(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
               std::span<Tensor* const> outputs) {
  const TfIdfPlan p = tfidf_plan(node);
  const Tensor& x = *inputs[0];
  const std::vector<int64_t> ids = x.to_int64();
  const int64_t cols = x.dim(-1), rows = x.rank() == 2 ? x.dim(0) : 1;
  float* y = outputs[0]->data<float>();
  std::vector<int64_t> count(static_cast<size_t>(p.out_size));
  std::vector<int64_t> gram;
  for (int64_t r = 0; r < rows; ++r) {
    std::fill(count.begin(), count.end(), 0);
    const int64_t* row = ids.data() + r * cols;
    // Tokens skip_distance apart form an n-gram; 1-grams have no skips, so they are counted only
    // at distance 1, as ONNX Runtime does.
    for (int64_t dist = 1; dist <= p.max_skip + 1; ++dist)
      for (int64_t start = 0; start < cols; ++start)
        for (int64_t n = std::max<int64_t>(p.min_gram, dist > 1 ? 2 : 1); n <= p.max_gram; ++n) {
          if (start + (n - 1) * dist >= cols) break;
          gram.clear();
          for (int64_t k = 0; k < n; ++k) gram.push_back(row[start + k * dist]);
          auto hit = p.ngrams.find(gram);
          if (hit != p.ngrams.end()) ++count[p.out_index[hit->second]];
        }
    std::vector<float> weight(static_cast<size_t>(p.out_size), 1.0f);
    if (!p.weights.empty())
      for (size_t i = 0; i < p.out_index.size(); ++i) weight[p.out_index[i]] = p.weights[i];
    for (int64_t j = 0; j < p.out_size; ++j) {
      const float tf = static_cast<float>(count[j]);
      y[r * p.out_size + j] =
          p.mode == "TF" ? tf
                         : (p.mode == "IDF" ? (count[j] > 0 ? weight[j] : 0.f) : tf * weight[j]);
    }
  }
}

}  // namespace qbench::kernels::ref
