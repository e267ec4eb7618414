#include <algorithm>
#include <map>
#include <numeric>
#include <random>

#include "core/error.h"
#include "data/dataset.h"

namespace qbench::data {

std::vector<int64_t> stratified_sample(const Dataset& ds, int64_t n, uint32_t seed) {
  if (n < 0) fail("a sample needs a size >= 0 (got {})", n);
  std::vector<int64_t> all(static_cast<size_t>(ds.count));
  std::iota(all.begin(), all.end(), int64_t(0));
  if (n >= ds.count) return all;
  // The images of each class, in index order.
  std::map<int32_t, std::vector<int64_t>> by_class;
  for (int64_t i = 0; i < ds.count; ++i) by_class[ds.labels.at(static_cast<size_t>(i))].push_back(i);
  // Each class's share n * size / count, rounded down, then the largest remainders (ties to the
  // lower class) get one more, so the shares add up to n.
  struct Share {
    int32_t label;
    int64_t take;
    int64_t remainder;  // of n * size / count, in units of 1/count
  };
  std::vector<Share> shares;
  int64_t given = 0;
  for (const auto& [label, idx] : by_class) {
    const int64_t size = int64_t(idx.size());
    shares.push_back({label, n * size / ds.count, n * size % ds.count});
    given += shares.back().take;
  }
  std::vector<size_t> order(shares.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return shares[a].remainder > shares[b].remainder; });
  for (size_t k = 0; given < n; k = (k + 1) % order.size()) {
    Share& s = shares[order[k]];
    if (s.take < int64_t(by_class[s.label].size())) {
      s.take++;
      given++;
    }
  }
  // While n allows, every class shows up: a class left with nothing takes one image from the
  // class that has the most.
  if (n >= int64_t(shares.size()))
    for (Share& s : shares) {
      if (s.take > 0) continue;
      auto donor = std::max_element(shares.begin(), shares.end(),
                                    [](const Share& a, const Share& b) { return a.take < b.take; });
      donor->take--;
      s.take++;
    }
  // Within each class, a seeded draw (the first `take` of a seeded shuffle).
  std::mt19937_64 rng(seed);
  std::vector<int64_t> out;
  for (const Share& s : shares) {
    std::vector<int64_t> idx = by_class[s.label];
    for (int64_t j = 0; j < s.take; ++j) {  // partial Fisher-Yates
      std::uniform_int_distribution<int64_t> pick(j, int64_t(idx.size()) - 1);
      std::swap(idx[size_t(j)], idx[size_t(pick(rng))]);
    }
    out.insert(out.end(), idx.begin(), idx.begin() + s.take);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Dataset limit_stratified(Dataset ds, int64_t n) {
  if (n <= 0 || n >= ds.count) return ds;  // moved, not copied
  constexpr uint32_t kSeed = 20240601;
  Dataset out = subset(ds, stratified_sample(ds, n, kSeed));
  out.name = fmt::format("{}, a class-stratified sample of {} of its {} images (seed {})", ds.name,
                         n, ds.count, kSeed);
  return out;
}

}  // namespace qbench::data
