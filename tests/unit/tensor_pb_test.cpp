// Serialized TensorProto files (ONNX's test data format) and the output comparison used by the
// conformance runner and `qbench run --compare`.
#include "onnx/tensor_pb.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "eval/compare.h"

using namespace qbench;
namespace fs = std::filesystem;

namespace {

std::string write_proto(const std::string& name, const onnx::TensorProto& tp) {
  fs::path dir = fs::temp_directory_path() / "qbench_tensor_pb_test";
  fs::create_directories(dir);
  std::string path = (dir / name).string();
  std::ofstream f(path, std::ios::binary);
  f << tp.SerializeAsString();
  return path;
}

void expect_error(const std::string& path, const std::string& fragment) {
  try {
    onnxio::load_tensor_pb(path);
    FAIL() << "loading " << path << " should fail";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(TensorPb, TypedFieldsRawDataAndName) {
  onnx::TensorProto f;
  f.set_name("x");
  f.set_data_type(onnx::TensorProto::FLOAT);
  f.add_dims(2);
  f.add_dims(2);
  for (float v : {1.5f, -2.0f, 0.0f, 3.25f}) f.add_float_data(v);
  std::string name;
  Tensor t = onnxio::load_tensor_pb(write_proto("f.pb", f), &name);
  EXPECT_EQ(name, "x");
  ASSERT_EQ(t.dtype(), DType::F32);
  EXPECT_EQ(t.shape(), (Shape{2, 2}));
  EXPECT_EQ(t.to_float(), (std::vector<float>{1.5f, -2.0f, 0.0f, 3.25f}));

  onnx::TensorProto b;  // bools live in int32_data
  b.set_data_type(onnx::TensorProto::BOOL);
  b.add_dims(3);
  for (int v : {1, 0, 1}) b.add_int32_data(v);
  Tensor tb = onnxio::load_tensor_pb(write_proto("b.pb", b));
  EXPECT_EQ(tb.dtype(), DType::Bool);
  EXPECT_EQ(tb.to_int64(), (std::vector<int64_t>{1, 0, 1}));

  onnx::TensorProto s;  // a 0-d scalar in raw_data
  s.set_data_type(onnx::TensorProto::INT64);
  int64_t v = -7;
  s.set_raw_data(&v, sizeof v);
  Tensor ts = onnxio::load_tensor_pb(write_proto("s.pb", s));
  EXPECT_EQ(ts.rank(), 0);
  EXPECT_EQ(ts.to_int64(), (std::vector<int64_t>{-7}));
}

TEST(TensorPb, Errors) {
  expect_error((fs::temp_directory_path() / "qbench_no_such.pb").string(), "does not exist");
  onnx::TensorProto short_data;
  short_data.set_data_type(onnx::TensorProto::FLOAT);
  short_data.add_dims(3);
  short_data.add_float_data(1.0f);
  expect_error(write_proto("short.pb", short_data), "data holds 1 elements but dims [3] need 3");
  onnx::TensorProto str;
  str.set_data_type(onnx::TensorProto::STRING);
  str.add_string_data("a");
  expect_error(write_proto("str.pb", str), "unsupported data type 8");
  fs::path garbage = fs::temp_directory_path() / "qbench_tensor_pb_test" / "garbage.pb";
  std::ofstream(garbage) << "\xff\xff\xff not a protobuf";
  expect_error(garbage.string(), "not a serialized ONNX TensorProto");
}

TEST(TensorPb, OnnxBackendTestData) {
  const fs::path dir = "/usr/share/libonnx-testdata/data/node/test_abs/test_data_set_0";
  if (!fs::exists(dir)) GTEST_SKIP() << "libonnx-testdata is not installed";
  Tensor x = onnxio::load_tensor_pb((dir / "input_0.pb").string());
  Tensor y = onnxio::load_tensor_pb((dir / "output_0.pb").string());
  ASSERT_EQ(x.shape(), y.shape());
  std::vector<float> xv = x.to_float(), yv = y.to_float();
  for (size_t i = 0; i < xv.size(); ++i) EXPECT_EQ(std::fabs(xv[i]), yv[i]);
}

TEST(Compare, TolerancesIntegersNanAndShapes) {
  auto f32 = [](std::vector<float> v) {
    return Tensor::from_vector<float>({static_cast<int64_t>(v.size())}, v);
  };
  // atol + rtol * |want|: 1e-3 relative passes, 2e-3 fails.
  EXPECT_TRUE(eval::compare_tensors(f32({1000.0f}), f32({1000.999f})).ok);
  eval::Comparison c = eval::compare_tensors(f32({0.0f, 1002.5f}), f32({0.0f, 1000.0f}));
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.mismatches, 1);
  EXPECT_EQ(c.mismatch, "index 1: got 1002.5, want 1000");
  EXPECT_DOUBLE_EQ(c.max_abs_error, 2.5);
  // Near zero only atol counts: log(1) off by 1.4e-6 fails ONNX's default atol 1e-7.
  EXPECT_FALSE(eval::compare_tensors(f32({-1.4305115e-06f}), f32({0.0f})).ok);
  EXPECT_TRUE(eval::compare_tensors(f32({NAN, INFINITY}), f32({NAN, INFINITY})).ok);
  EXPECT_FALSE(eval::compare_tensors(f32({NAN}), f32({1.0f})).ok);
  EXPECT_FALSE(eval::compare_tensors(f32({-INFINITY}), f32({INFINITY})).ok);
  // Integers are exact whatever the tolerance.
  Tensor a = Tensor::from_vector<int32_t>({2}, {5, 1000000});
  Tensor b = Tensor::from_vector<int32_t>({2}, {5, 1000001});
  EXPECT_FALSE(eval::compare_tensors(a, b, {1.0, 1.0}).ok);
  EXPECT_EQ(eval::compare_tensors(a, b).mismatch, "index 1: got 1000000, want 1000001");
  EXPECT_EQ(eval::compare_tensors(f32({1, 2}), f32({1, 2, 3})).mismatch, "shape [2], expected [3]");
  EXPECT_EQ(eval::compare_tensors(a, f32({5, 1000000})).mismatch, "dtype i32, expected f32");
}
