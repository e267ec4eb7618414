// Runs every case in tests/data/ref_cases/ through kernels::run_reference and compares with the
// expected outputs, which come from ONNX's backend test data and from PyTorch/numpy
// (tests/data/gen_ref_cases.py documents the file format and regenerates the files).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "kernels/kernel.h"

namespace qbench {
namespace {

namespace fs = std::filesystem;
using kernels::TensorType;

struct Case {
  ir::Node node;
  int64_t opset = 0;
  std::vector<Tensor> inputs;  // undefined Tensor for an omitted input
  std::vector<Tensor> outputs;
  double atol = 1e-5, rtol = 1e-4;
  bool expect_error = false;
};

DType parse_dtype(const std::string& s) {
  for (DType t : {DType::F32, DType::F64, DType::F16, DType::I64, DType::I32, DType::I8, DType::U8,
                  DType::Bool, DType::I16, DType::U16, DType::U32, DType::U64})
    if (s == dtype_name(t)) return t;
  throw std::runtime_error("unknown dtype " + s);
}

Shape parse_shape(std::istringstream& ls) {
  int rank = 0;
  ls >> rank;
  Shape s(rank);
  for (auto& d : s) ls >> d;
  return s;
}

Case load_case(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  Case c;
  c.node.name = path.stem().string();
  std::vector<std::pair<bool, TensorType>> ins;
  std::vector<TensorType> outs;
  std::string line;
  while (std::getline(f, line) && line != "data") {
    std::istringstream ls(line);
    std::string key;
    ls >> key;
    if (key == "op") {
      ls >> c.node.op_type;
    } else if (key == "opset") {
      ls >> c.opset;
    } else if (key == "expect") {
      c.expect_error = true;
    } else if (key == "tol") {
      ls >> c.atol >> c.rtol;
    } else if (key == "input" || key == "output") {
      std::string dt;
      ls >> dt;
      TensorType tt;
      if (dt != "none") tt = {parse_dtype(dt), parse_shape(ls)};
      if (key == "input")
        ins.push_back({dt != "none", tt});
      else
        outs.push_back(tt);
    } else if (key == "attr") {
      std::string name, kind;
      ls >> name >> kind;
      ir::Attribute a;
      if (kind == "int") {
        int64_t v;
        ls >> v;
        a = ir::Attribute::of_int(v);
      } else if (kind == "float") {
        float v;
        ls >> v;
        a = ir::Attribute::of_float(v);
      } else if (kind == "string") {
        std::string v;
        ls >> v;
        a = ir::Attribute::of_string(v);
      } else if (kind == "ints") {
        size_t n;
        ls >> n;
        std::vector<int64_t> v(n);
        for (auto& x : v) ls >> x;
        a = ir::Attribute::of_ints(v);
      } else if (kind == "floats") {
        size_t n;
        ls >> n;
        std::vector<float> v(n);
        for (auto& x : v) ls >> x;
        a = ir::Attribute::of_floats(v);
      } else if (kind == "strings") {
        size_t n;
        ls >> n;
        a.kind = ir::Attribute::Kind::Strings;
        a.strings.resize(n);
        for (auto& x : a.strings) ls >> x;
      } else if (kind == "tensor") {
        std::string dt;
        ls >> dt;
        Shape s = parse_shape(ls);
        Tensor t(parse_dtype(dt), s);
        for (int64_t i = 0; i < t.numel(); ++i) {
          double v;
          ls >> v;
          switch (t.dtype()) {
            case DType::F32:
              t.data<float>()[i] = static_cast<float>(v);
              break;
            case DType::I64:
              t.data<int64_t>()[i] = static_cast<int64_t>(v);
              break;
            case DType::I32:
              t.data<int32_t>()[i] = static_cast<int32_t>(v);
              break;
            case DType::F64:
              t.data<double>()[i] = v;
              break;
            case DType::Bool:
              t.data<bool>()[i] = v != 0;
              break;
            case DType::U8:
              t.data<uint8_t>()[i] = static_cast<uint8_t>(v);
              break;
            case DType::I8:
              t.data<int8_t>()[i] = static_cast<int8_t>(v);
              break;
            case DType::F16:
              static_cast<uint16_t*>(t.raw())[i] = float_to_half(static_cast<float>(v));
              break;
            default:
              break;
          }
        }
        a = ir::Attribute::of_tensor(t);
      }
      c.node.attrs[name] = a;
    }
  }
  auto read = [&](const TensorType& tt) {
    Tensor t(tt.dtype, tt.shape);
    f.read(static_cast<char*>(t.raw()), static_cast<std::streamsize>(t.nbytes()));
    return t;
  };
  for (size_t i = 0; i < ins.size(); ++i) {
    c.node.inputs.push_back(ins[i].first ? fmt::format("in{}", i) : "");
    c.inputs.push_back(ins[i].first ? read(ins[i].second) : Tensor());
  }
  for (size_t i = 0; i < outs.size(); ++i) {
    c.node.outputs.push_back(fmt::format("out{}", i));
    c.outputs.push_back(read(outs[i]));
  }
  if (!f) throw std::runtime_error("truncated case file " + path.string());
  return c;
}

std::vector<std::string> case_files() {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(fs::path(QBENCH_TEST_DATA) / "ref_cases"))
    if (e.path().extension() == ".case") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

class RefCase : public ::testing::TestWithParam<std::string> {};

TEST_P(RefCase, MatchesExpected) {
  Case c = load_case(GetParam());
  std::vector<const Tensor*> ins;
  for (const Tensor& t : c.inputs) ins.push_back(t.defined() ? &t : nullptr);
  if (c.expect_error) {
    try {
      kernels::run_reference(c.node, c.opset, ins);
      ADD_FAILURE() << "expected a qbench::Error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(c.node.describe()), std::string::npos) << e.what();
    }
    return;
  }
  std::vector<Tensor> got = kernels::run_reference(c.node, c.opset, ins);
  ASSERT_EQ(got.size(), c.outputs.size());
  for (size_t k = 0; k < got.size(); ++k) {
    const Tensor& want = c.outputs[k];
    ASSERT_EQ(got[k].dtype(), want.dtype()) << "output " << k;
    ASSERT_EQ(shape_str(got[k].shape()), shape_str(want.shape())) << "output " << k;
    if (dtype_is_float(want.dtype())) {
      std::vector<float> g = got[k].to_float(), w = want.to_float();
      int bad = 0;
      for (size_t i = 0; i < g.size() && bad < 5; ++i) {
        const bool both_nan = std::isnan(g[i]) && std::isnan(w[i]);
        const bool same_inf = std::isinf(w[i]) && g[i] == w[i];
        if (both_nan || same_inf) continue;
        if (!(std::fabs(g[i] - w[i]) <= c.atol + c.rtol * std::fabs(w[i]))) {
          ADD_FAILURE() << "output " << k << " element " << i << ": got " << g[i] << ", want "
                        << w[i];
          ++bad;
        }
      }
    } else {
      EXPECT_TRUE(got[k].same_as(want)) << "output " << k << " differs";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, RefCase, ::testing::ValuesIn(case_files()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string n = fs::path(info.param).stem().string();
                           for (char& ch : n)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

}  // namespace
}  // namespace qbench
