// Einsum: any equation with explicit or implicit output, ellipsis broadcasting and repeated
// labels (diagonals), evaluated by a plain loop over every label combination in double.
#include <algorithm>
#include <cctype>
#include <map>

#include "kernels/ref/dispatch.h"
#include "kernels/ref/ops.h"

namespace qbench::kernels::ref {

namespace {
// Labels are numbered: letters by their character, ellipsis dims as kEll + j (j counted from the
// left of the broadcast ellipsis).
constexpr int kEll = 256;

struct EinsumPlan {
  std::vector<std::vector<int>> in_labels;  // per input, one label per dim
  std::vector<int> out_labels;
  std::map<int, int64_t> size;  // label -> extent
};

// Splits one term into labels; "..." expands to `ell` ellipsis labels ending at kEll + ell_max.
std::vector<int> parse_term(const ir::Node& node, const std::string& term, int64_t rank,
                            int64_t* ell_rank, int64_t ell_max) {
  std::vector<int> labels;
  size_t dots = term.find("...");
  int64_t letters = 0;
  for (char ch : term)
    if (std::isalpha(static_cast<unsigned char>(ch)))
      ++letters;
    else if (ch != '.')
      fail("{}: invalid character '{}' in equation term '{}'", node.describe(), ch, term);
  if (dots == std::string::npos && term.find('.') != std::string::npos)
    fail("{}: '.' must appear as '...' in term '{}'", node.describe(), term);
  const int64_t ell = dots == std::string::npos ? 0 : (rank >= 0 ? rank - letters : ell_max);
  if (ell < 0 || (rank >= 0 && dots == std::string::npos && letters != rank))
    fail("{}: term '{}' does not match an input of rank {}", node.describe(), term, rank);
  if (ell_rank) *ell_rank = ell;
  for (size_t i = 0; i < term.size(); ++i) {
    if (i == dots) {
      for (int64_t j = 0; j < ell; ++j)
        labels.push_back(kEll + static_cast<int>(ell_max - ell + j));
      i += 2;
    } else {
      labels.push_back(static_cast<unsigned char>(term[i]));
    }
  }
  return labels;
}

EinsumPlan einsum_plan(const ir::Node& node, const std::vector<Shape>& shapes) {
  std::string eq;
  for (char ch : node.attr_string("equation", ""))
    if (ch != ' ') eq += ch;
  const size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  std::vector<std::string> terms;
  for (size_t start = 0;;) {
    size_t comma = lhs.find(',', start);
    terms.push_back(lhs.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (terms.size() != shapes.size())
    fail("{}: equation '{}' has {} input terms for {} inputs", node.describe(), eq, terms.size(),
         shapes.size());
  // First pass: the widest ellipsis, so every input's ellipsis dims align to the right.
  int64_t ell_max = 0;
  for (size_t i = 0; i < terms.size(); ++i) {
    int64_t ell = 0;
    parse_term(node, terms[i], static_cast<int64_t>(shapes[i].size()), &ell, 0);
    ell_max = std::max(ell_max, ell);
  }
  EinsumPlan p;
  std::map<int, int> count;
  for (size_t i = 0; i < terms.size(); ++i) {
    p.in_labels.push_back(
        parse_term(node, terms[i], static_cast<int64_t>(shapes[i].size()), nullptr, ell_max));
    for (size_t d = 0; d < shapes[i].size(); ++d) {
      const int l = p.in_labels[i][d];
      const int64_t n = shapes[i][d];
      ++count[l];
      auto [it, fresh] = p.size.emplace(l, n);
      if (fresh || it->second == n) continue;
      // Ellipsis dims broadcast; letters must agree.
      if (l >= kEll && (n == 1 || it->second == 1)) {
        it->second = std::max(it->second, n);
        continue;
      }
      fail("{}: label '{}' has size {} in one place and {} in another", node.describe(),
           l >= kEll ? std::string("...") : std::string(1, static_cast<char>(l)), it->second, n);
    }
  }
  if (arrow != std::string::npos) {
    p.out_labels = parse_term(node, eq.substr(arrow + 2), -1, nullptr, ell_max);
    for (int l : p.out_labels)
      if (!p.size.count(l))
        fail("{}: output label '{}' appears in no input", node.describe(), static_cast<char>(l));
  } else {
    // Implicit output: the ellipsis dims, then the letters used once, alphabetically.
    for (int64_t j = 0; j < ell_max; ++j) p.out_labels.push_back(kEll + static_cast<int>(j));
    for (auto& [l, c] : count)
      if (l < kEll && c == 1) p.out_labels.push_back(l);
  }
  for (int l = kEll; l < kEll + ell_max; ++l) p.size.emplace(l, 1);
  return p;
}

std::vector<Shape> input_shapes(const InferContext& ctx) {
  std::vector<Shape> shapes;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) shapes.push_back(ctx.inputs[i].shape);
  return shapes;
}
}  // namespace

void infer_einsum(InferContext& ctx) {
  if (ctx.num_inputs() == 0) fail("{}: expected at least one input", ctx.node.describe());
  require_inputs(ctx, ctx.num_inputs());
  const DType t = ctx.inputs[0].dtype;
  if (!is_numeric(t)) fail_dtype(ctx.node, t);
  for (size_t i = 1; i < ctx.num_inputs(); ++i)
    if (ctx.inputs[i].dtype != t)
      fail("{}: input {} has dtype {} but input 0 has {}", ctx.node.describe(), i,
           dtype_name(ctx.inputs[i].dtype), dtype_name(t));
  const EinsumPlan p = einsum_plan(ctx.node, input_shapes(ctx));
  Shape out;
  for (int l : p.out_labels) out.push_back(p.size.at(l));
  ctx.outputs = {{t, out}};
}

void ref_einsum(const ir::Node& node, int64_t, std::span<const Tensor* const> inputs,
                std::span<Tensor* const> outputs) {
  std::vector<Shape> shapes;
  for (const Tensor* t : inputs) shapes.push_back(t->shape());
  const EinsumPlan p = einsum_plan(node, shapes);
  // Every label, output ones first; each input's offset is a sum of per-label strides (a
  // repeated label adds its strides, which walks the diagonal).
  std::vector<int> labels = p.out_labels;
  for (auto& [l, n] : p.size)
    if (std::find(labels.begin(), labels.end(), l) == labels.end()) labels.push_back(l);
  const size_t nl = labels.size(), no = p.out_labels.size();
  std::vector<int64_t> extent(nl);
  for (size_t j = 0; j < nl; ++j) extent[j] = p.size.at(labels[j]);
  std::vector<std::vector<int64_t>> stride(inputs.size(), std::vector<int64_t>(nl, 0));
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::vector<int64_t> st = strides_of(shapes[i]);
    for (size_t d = 0; d < shapes[i].size(); ++d) {
      if (shapes[i][d] == 1) continue;  // broadcast ellipsis dim (or a size-1 letter)
      const size_t j = std::find(labels.begin(), labels.end(), p.in_labels[i][d]) - labels.begin();
      stride[i][j] += st[d];
    }
  }
  Tensor& y = *outputs[0];
  std::vector<double> acc(static_cast<size_t>(y.numel()), 0.0);
  int64_t total = 1;
  for (int64_t e : extent) total *= e;
  std::vector<int64_t> idx(nl, 0);
  for (int64_t it = 0; it < total; ++it) {
    int64_t out = 0;
    for (size_t j = 0; j < no; ++j) out = out * extent[j] + idx[j];
    double prod = 1;
    for (size_t i = 0; i < inputs.size(); ++i) {
      int64_t off = 0;
      for (size_t j = 0; j < nl; ++j) off += idx[j] * stride[i][j];
      prod *= element_as_double(*inputs[i], off);
    }
    acc[out] += prod;
    for (size_t j = nl; j-- > 0;) {
      if (++idx[j] < extent[j]) break;
      idx[j] = 0;
    }
  }
  for (int64_t i = 0; i < y.numel(); ++i) store_double(y, i, acc[i]);
}

}  // namespace qbench::kernels::ref
