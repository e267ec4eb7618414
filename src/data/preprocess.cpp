#include <algorithm>
#include <cmath>
#include <exception>
#include <sstream>

#include "core/error.h"
#include "data/dataset.h"

namespace qbench::data {

std::vector<float> parse_floats(const std::string& text, const std::string& what) {
  std::vector<float> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      out.push_back(std::stof(item, &used));
      while (used < item.size() && std::isspace(static_cast<unsigned char>(item[used]))) ++used;
      if (used != item.size() || !std::isfinite(out.back())) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      fail("{}: '{}' is not a comma-separated list of finite numbers", what, text);
    }
  }
  if (out.empty()) fail("{}: empty list", what);
  return out;
}

Tensor make_batch(const Dataset& ds, int64_t start, int64_t count, const Preprocess& pp,
                  Layout layout, const Shape& sample_shape) {
  if (ds.raw()) {  // preprocessed tensors: copied as they are
    if (shape_numel(sample_shape) != ds.channels)
      fail("{}: a sample has {} values but the model input takes {}", ds.name, ds.channels,
           shape_str(sample_shape));
    Shape shape{count};
    shape.insert(shape.end(), sample_shape.begin(), sample_shape.end());
    Tensor t(DType::F32, shape);
    std::copy_n(ds.values.begin() + start * ds.channels, count * ds.channels, t.data<float>());
    return t;
  }
  const int64_t c = ds.channels, hw = ds.height * ds.width, sz = ds.image_size();
  for (const auto* v : {&pp.mean, &pp.std})
    if (v->size() != 1 && static_cast<int64_t>(v->size()) != c)
      fail("preprocessing has {} mean/std values but the images of {} have {} channels", v->size(),
           ds.name, c);
  auto channel_value = [&](const std::vector<float>& v, int64_t ch) {
    return v.size() == 1 ? v[0] : v[static_cast<size_t>(ch)];
  };
  Shape shape{count};
  shape.insert(shape.end(), sample_shape.begin(), sample_shape.end());
  Tensor t(DType::F32, shape);
  float* out = t.data<float>();
  // Lazy datasets decode the batch's images first, in parallel (the engine's thread count).
  std::vector<uint8_t> decoded;
  if (ds.lazy()) {
    decoded.resize(static_cast<size_t>(count * sz));
    // Reports the batch's first bad image (lowest index), whichever thread meets it first.
    std::exception_ptr error;
    int64_t error_at = count;
#pragma omp parallel for schedule(dynamic)
    for (int64_t i = 0; i < count; ++i) {
      try {
        read_image(ds, start + i, decoded.data() + i * sz);
      } catch (...) {
#pragma omp critical
        if (i < error_at) error_at = i, error = std::current_exception();
      }
    }
    if (error) std::rethrow_exception(error);
  }
  for (int64_t i = 0; i < count; ++i) {
    const uint8_t* src = ds.lazy() ? decoded.data() + i * sz : ds.pixels.data() + (start + i) * sz;
    float* dst = out + i * sz;
    for (int64_t ch = 0; ch < c; ++ch) {
      const float mean = channel_value(pp.mean, ch), std = channel_value(pp.std, ch);
      for (int64_t p = 0; p < hw; ++p) {
        // Same float operations, in the same order, as ToTensor + Normalize.
        float x = static_cast<float>(src[ch * hw + p]) / 255.0f;
        x = (x - mean) / std;
        int64_t at = layout == Layout::NHWC ? p * c + ch : ch * hw + p;
        dst[at] = x;
      }
    }
  }
  return t;
}

}  // namespace qbench::data
