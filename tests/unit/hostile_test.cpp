// Hostile and broken inputs, as a user would feed them to the qbench executable: every case
// crafts its input, runs `qbench` in a child process under a memory cap (RLIMIT_AS) and a time
// limit, and requires exit status 2 with exactly one line on stderr that names what was wrong:
// no crash, no hang, no runaway memory. With QBENCH_ROBUSTNESS_DOC=FILE set, the run writes the
// table of cases and the messages qbench printed (docs/robustness.md is made that way).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "test_util.h"

namespace fs = std::filesystem;

// AddressSanitizer reserves terabytes of address space: under it the cap is --max-memory alone.
#if defined(__SANITIZE_ADDRESS__)
#define QBENCH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define QBENCH_ASAN 1
#endif
#endif

namespace {

struct Outcome {
  int status = -1;  // exit status, or 128 + signal
  bool timed_out = false;
  std::string out, err;
};

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// Runs qbench with `args`, its address space capped at `mem` bytes, killed after `seconds`.
Outcome run_qbench(const std::vector<std::string>& args, int seconds = 60,
                   int64_t mem = int64_t(6) << 30) {
  // Per process: CTest runs the cases of this file as parallel processes.
  const fs::path dir =
      fs::temp_directory_path() / ("qbench_hostile_io_" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string out = (dir / "out.txt").string(), err = (dir / "err.txt").string();
  const pid_t pid = fork();
  if (pid == 0) {
#ifndef QBENCH_ASAN
    rlimit r{static_cast<rlim_t>(mem), static_cast<rlim_t>(mem)};
    setrlimit(RLIMIT_AS, &r);
#else
    (void)mem;
#endif
    const int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(o, 1);
    dup2(e, 2);
    std::vector<char*> argv{const_cast<char*>(QBENCH_EXE)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(QBENCH_EXE, argv.data());
    _exit(127);
  }
  Outcome r;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      r.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_all(out);
  r.err = read_all(err);
  return r;
}

struct Documented {
  std::string klass, input, message;
};
std::vector<Documented>& documented() {
  static std::vector<Documented> d;
  return d;
}

// The scratch directory of one case.
fs::path case_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / "qbench_hostile" / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// qbench must fail cleanly: exit 2, one line "qbench: error: ..." holding `fragment`.
void expect_clean_error(const std::string& klass, const std::string& input,
                        const std::vector<std::string>& args, const std::string& fragment,
                        int seconds = 60) {
  SCOPED_TRACE(klass + ": " + input);
  const Outcome r = run_qbench(args, seconds);
  EXPECT_FALSE(r.timed_out) << "qbench did not finish within " << seconds << " s";
  EXPECT_EQ(r.status, 2) << r.err;
  std::string line = r.err;
  if (!line.empty() && line.back() == '\n') line.pop_back();
  EXPECT_EQ(line.find('\n'), std::string::npos) << "not one line: " << r.err;
  EXPECT_EQ(line.rfind("qbench: error: ", 0), 0u) << r.err;
  EXPECT_NE(line.find(fragment), std::string::npos)
      << "'" << line << "' lacks '" << fragment << "'";
  std::string shown = line.substr(std::min(line.size(), size_t(15)));
  const std::string tmp = (fs::temp_directory_path() / "qbench_hostile").string();
  for (size_t p; (p = shown.find(tmp)) != std::string::npos;) shown.replace(p, tmp.size(), "…");
  documented().push_back({klass, input, shown});
}

// ---- crafted models ---------------------------------------------------------------------

onnx::ModelProto model_skeleton(int64_t opset = 13, int64_t ir = 8) {
  onnx::ModelProto m;
  m.set_ir_version(ir);
  m.add_opset_import()->set_version(opset);
  m.mutable_graph()->set_name("hostile");
  return m;
}

void add_io(onnx::ValueInfoProto* v, const std::string& name, std::vector<int64_t> dims,
            int type = onnx::TensorProto::FLOAT) {
  v->set_name(name);
  auto* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(type);
  for (int64_t d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
}

onnx::NodeProto* add_node(onnx::ModelProto& m, const std::string& op, std::vector<std::string> in,
                          std::vector<std::string> out, const std::string& name = "") {
  auto* n = m.mutable_graph()->add_node();
  n->set_op_type(op);
  n->set_name(name.empty() ? op + "_" + out[0] : name);
  for (auto& i : in) n->add_input(i);
  for (auto& o : out) n->add_output(o);
  return n;
}

onnx::TensorProto* add_init(onnx::ModelProto& m, const std::string& name, std::vector<int64_t> dims,
                            int type = onnx::TensorProto::FLOAT) {
  auto* t = m.mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(type);
  for (int64_t d : dims) t->add_dims(d);
  return t;
}

void add_ints_attr(onnx::NodeProto* n, const std::string& name, std::vector<int64_t> v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

std::string save(const onnx::ModelProto& m, const fs::path& path) {
  std::ofstream f(path, std::ios::binary);
  m.SerializeToOstream(&f);
  return path.string();
}

// x [1, 4] -> Relu -> y: a valid base the cases break one way each.
onnx::ModelProto relu_model(int64_t opset = 13, int64_t ir = 8) {
  onnx::ModelProto m = model_skeleton(opset, ir);
  add_io(m.mutable_graph()->add_input(), "x", {1, 4});
  add_io(m.mutable_graph()->add_output(), "y", {1, 4});
  add_node(m, "Relu", {"x"}, {"y"});
  return m;
}

void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream f(p, std::ios::binary);
  f << bytes;
}

std::string be32(uint32_t v) {
  return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
}

// A .npy file with this header dict and `data` bytes after it.
std::string npy(const std::string& dict, const std::string& data = "") {
  std::string h = dict;
  while ((10 + h.size() + 1) % 64) h += ' ';
  h += '\n';
  std::string b = "\x93NUMPY";
  b += char(1);
  b += char(0);
  b += char(h.size() & 0xff);
  b += char(h.size() >> 8);
  return b + h + data;
}

}  // namespace

// ---- sizes from untrusted data ------------------------------------------------------------

TEST(Hostile, SizesThatWrapAround) {
  {
    const fs::path d = case_dir("wrapping_initializer");
    onnx::ModelProto m = relu_model();
    add_init(m, "w", {int64_t(1) << 62, 4});  // holds no data; 2^62 x 4 wraps to 0
    expect_clean_error("sizes", "an initializer declared [2^62, 4] with no data",
                       {"inspect", "--model", save(m, d / "m.onnx")}, "too many elements");
  }
  {
    const fs::path d = case_dir("wrapping_reshape");
    onnx::ModelProto m = model_skeleton();
    add_io(m.mutable_graph()->add_input(), "x", {1, 4});
    add_io(m.mutable_graph()->add_output(), "y", {});
    auto* s = add_init(m, "shape", {2}, onnx::TensorProto::INT64);
    s->add_int64_data(int64_t(1) << 40);
    s->add_int64_data(int64_t(1) << 40);
    add_node(m, "Reshape", {"x", "shape"}, {"r"});
    add_node(m, "Relu", {"r"}, {"y"});
    expect_clean_error("sizes", "a Reshape to [2^40, 2^40] of a 4-element tensor",
                       {"inspect", "--model", save(m, d / "m.onnx")}, "Reshape node");
  }
  {
    const fs::path d = case_dir("constant_of_shape");
    onnx::ModelProto m = model_skeleton();
    add_io(m.mutable_graph()->add_output(), "y", {});
    auto* s = add_init(m, "shape", {2}, onnx::TensorProto::INT64);
    s->add_int64_data(int64_t(1) << 31);
    s->add_int64_data(int64_t(1) << 31);
    add_node(m, "ConstantOfShape", {"shape"}, {"c"});
    add_node(m, "Relu", {"c"}, {"y"});
    expect_clean_error("sizes", "ConstantOfShape of [2^31, 2^31]",
                       {"inspect", "--model", save(m, d / "m.onnx")}, "too many elements");
    s->set_int64_data(0, int64_t(1) << 20);
    s->set_int64_data(1, int64_t(1) << 20);
    expect_clean_error("memory", "ConstantOfShape of [2^20, 2^20] floats (4 TB), --max-memory 8G",
                       {"--max-memory", "8G", "inspect", "--model", save(m, d / "m2.onnx")},
                       "memory limit");
  }
  {
    const fs::path d = case_dir("npy_header");
    write_file(d / "x.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': "
                                "(4611686018427387904, 1, 28, 28), }"));
    expect_clean_error(".npy", "a header declaring (2^62, 1, 28, 28)",
                       {"run", "--model", qbench::test::models_dir() + "/lenet.onnx", "--input",
                        "input=" + (d / "x.npy").string(), "--out", (d / "out").string()},
                       "x.npy");
  }
  {
    const fs::path d = case_dir("npy_shape_text");
    write_file(d / "x.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, abc), }"));
    expect_clean_error(".npy", "a non-numeric shape entry",
                       {"run", "--model", qbench::test::models_dir() + "/lenet.onnx", "--input",
                        "input=" + (d / "x.npy").string(), "--out", (d / "out").string()},
                       "not a non-negative integer");
  }
  {
    const fs::path d = case_dir("idx_header");
    write_file(d / "t10k-images-idx3-ubyte",
               be32(0x803) + be32(10) + be32(0x80000000u) + be32(0x80000000u) + "x");
    write_file(d / "t10k-labels-idx1-ubyte", be32(0x801) + be32(10) + std::string(10, '\0'));
    expect_clean_error("IDX", "a header declaring 10 images of 2^31 x 2^31",
                       {"eval", "--model", qbench::test::models_dir() + "/lenet.onnx", "--data",
                        "mnist:" + d.string()},
                       "too large");
  }
  expect_clean_error(
      "sizes", "inspect --shape x=1,3,2147483648,2147483648 --profile 1 (symbolic H/W)",
      {"inspect", "--model",
       qbench::test::test_data_dir() + "/../models/paddleocr_det_v4/ch_PP-OCRv4_det_infer.onnx",
       "--shape", "x=1,3,2147483648,2147483648", "--profile", "1"},
      "node '");
  expect_clean_error("options", "--threads 65535",
                     {"eval", "--model", qbench::test::models_dir() + "/lenet.onnx", "--data",
                      "fashion-mnist", "--threads", "65535"},
                     "--threads");
  expect_clean_error(
      "options", "inspect --batch -1",
      {"inspect", "--model", qbench::test::models_dir() + "/lenet.onnx", "--batch", "-1"},
      "--batch");
  expect_clean_error(
      "options", "inspect --batch 2147483648",
      {"inspect", "--model", qbench::test::models_dir() + "/lenet.onnx", "--batch", "2147483648"},
      "--batch");
  {
    const fs::path d = case_dir("huge_pads");
    onnx::ModelProto m = model_skeleton();
    add_io(m.mutable_graph()->add_input(), "x", {1, 1, 4, 4});
    add_io(m.mutable_graph()->add_output(), "y", {});
    auto* w = add_init(m, "w", {1, 1, 1, 1});
    w->add_float_data(1);
    auto* n = add_node(m, "Conv", {"x", "w"}, {"y"});
    add_ints_attr(n, "pads",
                  {int64_t(1) << 61, int64_t(1) << 61, int64_t(1) << 61, int64_t(1) << 61});
    expect_clean_error("sizes", "a Conv with pads of 2^61",
                       {"inspect", "--model", save(m, d / "m.onnx")}, "Conv node");
  }
  {
    // A fourth Conv input is not ONNX; the engine's own Conv form reads one as a residual to add.
    const fs::path d = case_dir("conv_extra_input");
    onnx::ModelProto m = model_skeleton();
    add_io(m.mutable_graph()->add_input(), "x", {1, 1, 4, 4});
    add_io(m.mutable_graph()->add_output(), "y", {});
    auto* w = add_init(m, "w", {1, 1, 1, 1});
    w->add_float_data(1);
    add_node(m, "Conv", {"x", "w", "", "x"}, {"y"});
    expect_clean_error("arity", "a Conv with four inputs",
                       {"inspect", "--model", save(m, d / "m.onnx")}, "takes at most 3");
  }
}

// ---- files the user never named --------------------------------------------------------------

TEST(Hostile, ExternalDataStaysInTheModelsDirectory) {
  auto external_model = [](const fs::path& d, const std::string& location,
                           const std::string& offset = "", const std::string& length = "") {
    onnx::ModelProto m = relu_model();
    auto* t = add_init(m, "w", {4});
    t->set_data_location(onnx::TensorProto::EXTERNAL);
    auto* kv = t->add_external_data();
    kv->set_key("location");
    kv->set_value(location);
    if (!offset.empty()) {
      kv = t->add_external_data();
      kv->set_key("offset");
      kv->set_value(offset);
    }
    if (!length.empty()) {
      kv = t->add_external_data();
      kv->set_key("length");
      kv->set_value(length);
    }
    return save(m, d / "m.onnx");
  };
  const fs::path d = case_dir("external");
  expect_clean_error("external data", "an absolute location (/etc/passwd)",
                     {"inspect", "--model", external_model(d, "/etc/passwd")}, "absolute path");
  expect_clean_error("external data", "a location with '..'",
                     {"inspect", "--model", external_model(d, "../../etc/passwd")},
                     "leaves the model's directory");
  fs::create_symlink("/dev/zero", d / "zero.bin");
  expect_clean_error("external data", "a symlink to /dev/zero in the model's directory",
                     {"inspect", "--model", external_model(d, "zero.bin")},
                     "outside the model's directory");
  mkfifo((d / "fifo.bin").c_str(), 0644);
  expect_clean_error("external data", "a FIFO",
                     {"inspect", "--model", external_model(d, "fifo.bin")}, "not a regular file");
  write_file(d / "w.bin", std::string(16, '\0'));
  expect_clean_error(
      "external data", "offset + length past the end (overflowing int64)",
      {"inspect", "--model", external_model(d, "w.bin", "9223372036854775807", "16")}, "too large");
  expect_clean_error("external data", "a non-numeric offset",
                     {"inspect", "--model", external_model(d, "w.bin", "abc")},
                     "not a non-negative integer");
}

// ---- errors that used to abort ---------------------------------------------------------------

TEST(Hostile, FailuresAreOneLine) {
  expect_clean_error("files", "bench --model /nonexistent.onnx",
                     {"bench", "--model", "/nonexistent.onnx"}, "/nonexistent.onnx");
  const fs::path d = case_dir("outputs");
  write_file(d / "a_file", "x");
  expect_clean_error("outputs", "compare --out naming a file",
                     {"compare", "--model", qbench::test::models_dir() + "/lenet.onnx", "--data",
                      "fashion-mnist", "--out", (d / "a_file").string()},
                     "not a directory");
  expect_clean_error("outputs", "compare --out under a file (cannot be created)",
                     {"compare", "--model", qbench::test::models_dir() + "/lenet.onnx", "--data",
                      "fashion-mnist", "--out", (d / "a_file" / "sub").string()},
                     "a_file");
  fs::create_directories(d / "a_dir");
  expect_clean_error("outputs", "quantize --out naming a directory",
                     {"quantize", "--model", qbench::test::models_dir() + "/lenet.onnx", "--recipe",
                      "fp16", "--out", (d / "a_dir").string()},
                     "is a directory");
  EXPECT_FALSE(fs::exists(d / "a_dir.tmp")) << "a temporary file was left behind";
  fs::copy_file(qbench::test::models_dir() + "/lenet.onnx", d / "lenet.onnx");
  const std::string before = read_all((d / "lenet.onnx").string());
  expect_clean_error("outputs", "quantize --out equal to --model",
                     {"quantize", "--model", (d / "lenet.onnx").string(), "--recipe", "fp16",
                      "--out", (d / "lenet.onnx").string()},
                     "is the input model");
  EXPECT_EQ(read_all((d / "lenet.onnx").string()), before) << "the input model was changed";
}

// ---- unbounded memory ------------------------------------------------------------------------

TEST(Hostile, MemoryStaysBounded) {
  {
    const fs::path d = case_dir("gzip_bomb");
    // ~200 KB of gzip that inflates to 200 MB, read with a 64 MB limit.
    gzFile f = gzopen((d / "t10k-images-idx3-ubyte.gz").c_str(), "wb9");
    const std::string head = be32(0x803) + be32(255000) + be32(28) + be32(28);
    gzwrite(f, head.data(), unsigned(head.size()));
    const std::string zeros(1 << 20, '\0');
    for (int i = 0; i < 200; ++i) gzwrite(f, zeros.data(), unsigned(zeros.size()));
    gzclose(f);
    write_file(d / "t10k-labels-idx1-ubyte", be32(0x801) + be32(1) + std::string(1, '\0'));
    expect_clean_error(
        "memory", "a gzip IDX file inflating 200 KB to 200 MB (--max-memory 64M)",
        {"--max-memory", "64M", "eval", "--model", qbench::test::models_dir() + "/lenet.onnx",
         "--data", "mnist:" + d.string()},
        "inflates to more than the memory limit");
  }
  {
    // A PNG header declaring 100000 x 100000 pixels (30 GB decoded).
    const fs::path d = case_dir("png_bomb");
    fs::create_directories(d / "cls");
    auto chunk = [](const std::string& type, const std::string& data) {
      std::string c = be32(uint32_t(data.size())) + type + data;
      const uLong crc = crc32(crc32(0, nullptr, 0), reinterpret_cast<const Bytef*>(c.data() + 4),
                              uInt(c.size() - 4));
      return c + be32(uint32_t(crc));
    };
    const std::string ihdr = be32(100000) + be32(100000) + std::string{8, 2, 0, 0, 0};
    const std::string idat = std::string("\x78\x9c\x03\x00\x00\x00\x00\x01", 8);
    write_file(d / "cls" / "bomb.png", std::string("\x89PNG\r\n\x1a\n", 8) + chunk("IHDR", ihdr) +
                                           chunk("IDAT", idat) + chunk("IEND", ""));
    expect_clean_error(
        "memory", "a PNG declaring 100000x100000 pixels",
        {"eval", "--model", qbench::test::test_data_dir() + "/image_folder/tiny_rgb.onnx", "--data",
         "folder:" + d.string(), "--crop", "16", "--resize", "16"},
        "decompression-bomb limit");
    // Within PIL's limit, 10000 x 10000 pixels (300 MB as RGB) against --max-memory 64M.
    const fs::path m = case_dir("png_over_limit");
    fs::create_directories(m / "cls");
    const std::string ihdr10k = be32(10000) + be32(10000) + std::string{8, 2, 0, 0, 0};
    write_file(m / "cls" / "big.png", std::string("\x89PNG\r\n\x1a\n", 8) +
                                          chunk("IHDR", ihdr10k) + chunk("IDAT", idat) +
                                          chunk("IEND", ""));
    expect_clean_error(
        "memory", "a PNG of 10000x10000 pixels (--max-memory 64M)",
        {"--max-memory", "64M", "eval", "--model",
         qbench::test::test_data_dir() + "/image_folder/tiny_rgb.onnx", "--data",
         "folder:" + m.string(), "--crop", "16", "--resize", "16"},
        "more than the memory limit");
  }
  {
    // ImageNet's meta.mat as a zlib bomb: one compressed element of ~200 KB inflating to 200 MB.
    const fs::path d = case_dir("mat_bomb");
    fs::create_directories(d / "val");
    const std::string jpeg = "ILSVRC2012_val_00000001.JPEG";
    fs::copy_file(qbench::test::test_data_dir() + "/imagenet_val/devkit/val/" + jpeg,
                  d / "val" / jpeg);
    write_file(d / "ILSVRC2012_validation_ground_truth.txt", "1\n");
    std::string header = "MATLAB 5.0 MAT-file, written by hostile_test";
    header.resize(124, ' ');
    header += std::string("\x00\x01IM", 4);
    std::string deflated;
    z_stream z{};
    deflateInit(&z, 9);
    const std::string zeros(1 << 20, '\0');
    std::vector<unsigned char> out(1 << 16);
    for (int i = 0; i < 200; ++i) {
      z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(zeros.data()));
      z.avail_in = uInt(zeros.size());
      const int flush = i == 199 ? Z_FINISH : Z_NO_FLUSH;
      do {
        z.next_out = out.data();
        z.avail_out = uInt(out.size());
        deflate(&z, flush);
        deflated.append(reinterpret_cast<char*>(out.data()), out.size() - z.avail_out);
      } while (z.avail_out == 0);
    }
    deflateEnd(&z);
    auto le32 = [](uint32_t v) {
      return std::string{char(v), char(v >> 8), char(v >> 16), char(v >> 24)};
    };
    write_file(d / "meta.mat", header + le32(15) + le32(uint32_t(deflated.size())) + deflated);
    expect_clean_error(
        "memory",
        "an ImageNet meta.mat whose compressed element inflates 200 KB to 200 MB "
        "(--max-memory 64M)",
        {"--max-memory", "64M", "eval", "--model", qbench::test::models_dir() + "/lenet.onnx",
         "--data", "imagenet-val:" + (d / "val").string(), "--grayscale", "--resize", "28",
         "--crop", "28"},
        "inflates to more than the memory limit");
  }
}

// ---- wrong data, silently ----------------------------------------------------------------------

TEST(Hostile, NothingWrongPassesSilently) {
  {
    const fs::path d = case_dir("empty_idx");
    write_file(d / "t10k-images-idx3-ubyte", be32(0x803) + be32(0) + be32(28) + be32(28));
    write_file(d / "t10k-labels-idx1-ubyte", be32(0x801) + be32(0));
    expect_clean_error("data", "an IDX set with 0 images",
                       {"eval", "--model", qbench::test::models_dir() + "/lenet.onnx", "--data",
                        "mnist:" + d.string()},
                       "holds no images");
  }
  const std::string lenet = qbench::test::models_dir() + "/lenet.onnx";
  expect_clean_error("options", "--limit -5",
                     {"eval", "--model", lenet, "--data", "fashion-mnist", "--limit", "-5"},
                     "--limit");
  expect_clean_error("options", "--std nan",
                     {"eval", "--model", lenet, "--data", "fashion-mnist", "--std", "nan"},
                     "--std");
  expect_clean_error("options", "--min-seconds nan",
                     {"bench", "--model", lenet, "--min-seconds", "nan"}, "--min-seconds");
  expect_clean_error("options", "--warmup-s 1e300",
                     {"bench", "--model", lenet, "--warmup-s", "1e300"}, "--warmup-s");
  expect_clean_error("options", "compare --batch 0 (found before any evaluation)",
                     {"compare", "--model", lenet, "--data", "fashion-mnist", "--batch", "0"},
                     "--batch", 10);
  const fs::path d = case_dir("graphs");
  expect_clean_error("models", "opset 99",
                     {"inspect", "--model", save(relu_model(99), d / "o.onnx")}, "opsets 1 to 18");
  expect_clean_error("models", "ir_version 99",
                     {"inspect", "--model", save(relu_model(13, 99), d / "i.onnx")},
                     "IR versions 1 to 10");
  {
    onnx::ModelProto m = relu_model();
    add_node(m, "Sigmoid", {"x"}, {"y"});
    expect_clean_error("models", "two nodes producing the same tensor",
                       {"inspect", "--model", save(m, d / "dup.onnx")}, "both produce 'y'");
  }
  {
    onnx::ModelProto m = relu_model();
    add_node(m, "Identity", {"y"}, {}, "sink");
    expect_clean_error("models", "a node that names no output (found by fuzz_onnx)",
                       {"inspect", "--model", save(m, d / "noout.onnx")}, "names no output");
  }
  {
    onnx::ModelProto m = model_skeleton();
    add_io(m.mutable_graph()->add_input(), "x", {1, 4});
    add_io(m.mutable_graph()->add_output(), "y", {1, 4});
    add_node(m, "Add", {"x", "b"}, {"a"}, "first");
    add_node(m, "Relu", {"a"}, {"b"}, "second");
    add_node(m, "Relu", {"a"}, {"y"}, "out");
    expect_clean_error("models", "a cycle between two nodes",
                       {"inspect", "--model", save(m, d / "cycle.onnx")}, "cycle");
  }
  {
    onnx::ModelProto m = model_skeleton();
    add_io(m.mutable_graph()->add_input(), "x", {1, 1, 4, 4});
    add_io(m.mutable_graph()->add_output(), "y", {});
    auto* w = add_init(m, "w", {1, 1, 1, 1});
    w->add_float_data(1);
    add_ints_attr(add_node(m, "Conv", {"x", "w"}, {"y"}), "pads", {-1, -1, 0, 0});
    expect_clean_error("models", "negative Conv pads",
                       {"inspect", "--model", save(m, d / "pads.onnx")}, "must not be negative");
  }
  for (const char* scale : {"0", "-1", "nan", "inf"}) {
    onnx::ModelProto m = model_skeleton();
    add_io(m.mutable_graph()->add_input(), "x", {1, 4});
    add_io(m.mutable_graph()->add_output(), "y", {1, 4});
    add_init(m, "s", {})->add_float_data(std::strtof(scale, nullptr));
    add_node(m, "QuantizeLinear", {"x", "s"}, {"q"});
    add_node(m, "DequantizeLinear", {"q", "s"}, {"y"});
    expect_clean_error("numbers", std::string("a QuantizeLinear scale of ") + scale,
                       {"inspect", "--model", save(m, d / (std::string("s") + scale + ".onnx"))},
                       "finite and positive");
  }
}

// A model whose activations are NaN during calibration (Log of negative inputs): the observer
// names the tensor instead of indexing its histogram with NaN.
TEST(Hostile, CalibrationRefusesNaN) {
  const fs::path d = case_dir("calib_nan");
  onnx::ModelProto m = model_skeleton();
  add_io(m.mutable_graph()->add_input(), "input", {1, 1, 28, 28});
  add_io(m.mutable_graph()->add_output(), "logits", {1, 10});
  add_node(m, "Log", {"input"}, {"log"});
  add_node(m, "Flatten", {"log"}, {"flat"});
  auto* w = add_init(m, "w", {784, 10});
  for (int i = 0; i < 7840; ++i) w->add_float_data(0.01f);
  add_node(m, "MatMul", {"flat", "w"}, {"logits"});
  auto* meta = m.add_metadata_props();
  meta->set_key("qbench.mean");
  meta->set_value("0.5");
  expect_clean_error(
      "numbers", "calibration activations that are NaN (Log of negative pixels)",
      {"quantize", "--model", save(m, d / "m.onnx"), "--recipe", "static-int8", "--calib-data",
       "fashion-mnist", "--calib-size", "64", "--out", (d / "q.onnx").string()},
      "non-finite value");
}

// SIGINT to compare while a variant is being timed: the timing child (its own process group)
// ends with it instead of running on, orphaned.
TEST(Hostile, InterruptEndsTheTimingChild) {
  const fs::path d = case_dir("interrupt");
  const pid_t pid = fork();
  if (pid == 0) {
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execl(QBENCH_EXE, QBENCH_EXE, "compare", "--model",
          (qbench::test::models_dir() + "/lenet.onnx").c_str(), "--data", "fashion-mnist",
          "--recipes", "fp32", "--limit", "100", "--min-seconds", "60", "--out", d.string().c_str(),
          nullptr);
    _exit(127);
  }
  // Wait for the child `qbench bench` that compare starts.
  auto child_of = [](pid_t parent) -> pid_t {
    for (const auto& e : fs::directory_iterator("/proc")) {
      std::ifstream stat(e.path() / "stat");
      std::string line;
      if (!std::getline(stat, line)) continue;
      const size_t close = line.rfind(')');
      if (close == std::string::npos) continue;
      std::istringstream rest(line.substr(close + 2));
      char state;
      pid_t ppid = 0;
      rest >> state >> ppid;
      if (ppid == parent) return static_cast<pid_t>(std::stol(e.path().filename().string()));
    }
    return 0;
  };
  pid_t child = 0;
  for (int i = 0; i < 600 && !child; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    child = child_of(pid);
  }
  ASSERT_GT(child, 0) << "compare never started its timing child";
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT) << "status " << status;
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    gone = kill(child, 0) != 0;
  }
  EXPECT_TRUE(gone) << "the timing child " << child << " outlived compare";
  if (!gone) kill(child, SIGKILL);
  documented().push_back({"interrupts", "SIGINT to compare while it times a variant",
                          "(compare ends by the signal; its timing child, in its own process "
                          "group, ends with it)"});
}

// Symlink loops, dangling links and FIFOs among the images: counted and reported, never followed
// forever or read as images.
TEST(Hostile, ImageFolderLinksAndSpecialFiles) {
  const fs::path d = case_dir("folder_links");
  const fs::path src = fs::path(qbench::test::test_data_dir()) / "image_folder" / "train";
  fs::create_directories(d / "a");
  fs::create_directories(d / "b");
  int images = 0;
  for (const auto& e : fs::directory_iterator(src / "zebra"))
    if (images < 3) fs::copy_file(e.path(), d / "a" / e.path().filename()), images++;
  fs::copy_file(d / "a" / fs::directory_iterator(d / "a")->path().filename(), d / "b" / "x.png");
  fs::create_directory_symlink("..", d / "a" / "loop");  // a/loop -> d: a loop
  fs::create_symlink("missing.png", d / "b" / "dangling.png");
  mkfifo((d / "b" / "fifo.png").c_str(), 0644);
  const Outcome r =
      run_qbench({"eval", "--model", qbench::test::test_data_dir() + "/image_folder/tiny_rgb.onnx",
                  "--data", "folder:" + d.string(), "--resize", "16", "--crop", "16", "--json"},
                 60);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("\"n\": " + std::to_string(images + 1)), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("2 image names skipped that are no regular file"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("1 directory links skipped that lead out of their class folder"),
            std::string::npos)
      << r.out;
}

// A gtest listener writes the documentation table when asked to.
class WriteDoc : public ::testing::Environment {
 public:
  void TearDown() override {
    const char* path = std::getenv("QBENCH_ROBUSTNESS_DOC");
    if (!path) return;
    std::ofstream f(path);
    f << "| class | input | what qbench prints (exit status 2) |\n|---|---|---|\n";
    for (const auto& d : documented()) {
      std::string m = d.message;
      for (size_t p; (p = m.find('|')) != std::string::npos;) m.replace(p, 1, "\\|");
      f << "| " << d.klass << " | " << d.input << " | `" << m << "` |\n";
    }
  }
};
const auto* const kDoc = ::testing::AddGlobalTestEnvironment(new WriteDoc);
