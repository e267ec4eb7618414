// Image-folder datasets (torchvision's ImageFolder layout), JPEG/PNG decoding, and the standard
// evaluation transform Resize + CenterCrop, reproducing PIL's arithmetic so that qbench feeds a
// model the same pixels a PyTorch evaluation script would.
#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>

// jpeglib.h uses FILE and size_t without including their headers.
#include <jerror.h>
#include <jpeglib.h>
#include <png.h>

#include "core/error.h"
#include "core/limits.h"
#include "data/dataset.h"

namespace qbench::data {
namespace fs = std::filesystem;
namespace {

std::string lower_extension(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return ext;
}


// The other extensions torchvision's ImageFolder accepts: such files are skipped and counted.
bool is_other_image_name(const fs::path& p) {
  const std::string ext = lower_extension(p);
  for (const char* e : {".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"})
    if (ext == e) return true;
  return false;
}

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<FILE, FileCloser>;

File open_image(const std::string& path) {
  File f(std::fopen(path.c_str(), "rb"));
  if (!f) fail("cannot open image '{}': {}", path, std::strerror(errno));
  return f;
}

// libjpeg reports errors through a callback that must not return: it jumps back to decode_jpeg
// with the message.
struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void jpeg_error_exit(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<JpegError*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

// A truncated file is an error, as it is for PIL; other warnings (e.g. extraneous bytes before a
// marker, found in some ImageNet files) are ignored, as PIL ignores them.
void jpeg_emit_message(j_common_ptr cinfo, int level) {
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) jpeg_error_exit(cinfo);
}

// PIL refuses larger images as decompression bombs (Image.MAX_IMAGE_PIXELS x 2): a few hundred
// kilobytes of PNG can declare gigabytes of pixels.
constexpr int64_t kMaxPixels = 2 * 89478485;

// Why an image of width x height cannot be decoded ("is too large: ..."), or empty: PIL's pixel
// limit, then the memory limit for the RGB pixels.
std::string size_problem(int64_t width, int64_t height) {
  const int64_t pixels = width * height;  // both below 2^32
  if (pixels > kMaxPixels)
    return fmt::format("is too large: {}x{} is {} pixels, more than {} (PIL's decompression-bomb "
                       "limit)",
                       width, height, pixels, kMaxPixels);
  if (pixels * 3 > max_memory())
    return fmt::format("is too large: {}x{} pixels take {} as RGB, more than the memory limit of "
                       "{} (--max-memory)",
                       width, height, memory_str(pixels * 3), memory_str(max_memory()));
  return {};
}

// PIL's CMYK -> RGB conversion (Convert.c, cmyk2rgb).
uint8_t cmyk_channel(int c, int nk) {
  int tmp = c * nk + 128;
  return static_cast<uint8_t>(std::clamp(nk - (((tmp >> 8) + tmp) >> 8), 0, 255));
}

// Decodes into `out` (which outlives the jump); returns what is wrong ("is corrupt: " and the
// libjpeg message, or "is too large: ...") on failure, empty on
// success. No object with a destructor lives between setjmp and the libjpeg calls.
std::string decode_jpeg_into(FILE* f, std::vector<uint8_t>& out, std::vector<uint8_t>& row,
                             int64_t& height, int64_t& width) {
  jpeg_decompress_struct cinfo;
  JpegError err;
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = jpeg_error_exit;
  err.mgr.emit_message = jpeg_emit_message;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return std::string("is corrupt: ") + (err.message[0] ? err.message : "decoding failed");
  }
  err.message[0] = 0;
  jpeg_create_decompress(&cinfo);
  jpeg_stdio_src(&cinfo, f);
  jpeg_read_header(&cinfo, TRUE);
  if (std::string why = size_problem(cinfo.image_width, cinfo.image_height); !why.empty()) {
    jpeg_destroy_decompress(&cinfo);
    return why;
  }
  // Same settings as PIL's decoder: libjpeg's defaults (ISLOW DCT, fancy upsampling).
  const bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  const bool gray = cinfo.jpeg_color_space == JCS_GRAYSCALE;
  cinfo.out_color_space = cmyk ? JCS_CMYK : gray ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&cinfo);
  height = cinfo.output_height;
  width = cinfo.output_width;
  const int comps = cinfo.output_components;
  out.resize(static_cast<size_t>(height * width * 3));
  row.resize(static_cast<size_t>(width * comps));
  // PIL reads Adobe CMYK JPEGs as inverted ("CMYK;I").
  const bool inverted = cmyk && cinfo.saw_Adobe_marker;
  while (cinfo.output_scanline < cinfo.output_height) {
    uint8_t* dst = out.data() + static_cast<size_t>(cinfo.output_scanline) * width * 3;
    JSAMPROW rows[1] = {row.data()};
    jpeg_read_scanlines(&cinfo, rows, 1);
    for (int64_t x = 0; x < width; ++x) {
      const uint8_t* s = row.data() + x * comps;
      uint8_t* d = dst + x * 3;
      if (comps == 1) {
        d[0] = d[1] = d[2] = s[0];
      } else if (comps == 3) {
        d[0] = s[0], d[1] = s[1], d[2] = s[2];
      } else {
        auto v = [&](int k) { return inverted ? 255 - s[k] : int(s[k]); };
        const int nk = 255 - v(3);
        for (int k = 0; k < 3; ++k) d[k] = cmyk_channel(v(k), nk);
      }
    }
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return {};
}

void png_error_fn(png_structp png, png_const_charp msg) {
  auto* message = static_cast<std::string*>(png_get_error_ptr(png));
  // libpng's stdio reader says only "Read Error" when the file ends early.
  *message = std::strcmp(msg, "Read Error") == 0 ? "the file ends early (truncated)" : msg;
  png_longjmp(png, 1);
}
void png_warning_fn(png_structp, png_const_charp) {}

std::string decode_png_into(FILE* f, std::string& message, std::vector<uint8_t>& out,
                            std::vector<png_bytep>& rows, int64_t& height, int64_t& width) {
  png_structp png =
      png_create_read_struct(PNG_LIBPNG_VER_STRING, &message, png_error_fn, png_warning_fn);
  if (!png) return "is corrupt: out of memory";
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    return "is corrupt: out of memory";
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    return "is corrupt: " + (message.empty() ? std::string("decoding failed") : message);
  }
  png_init_io(png, f);
  png_read_info(png, info);
  if (std::string why =
          size_problem(png_get_image_width(png, info), png_get_image_height(png, info));
      !why.empty()) {
    png_destroy_read_struct(&png, &info, nullptr);
    return why;
  }
  const int color = png_get_color_type(png, info);
  // The conversions PIL's Image.convert("RGB") makes: palette looked up, low bit depths scaled
  // to 0..255, 16-bit samples cut to their high byte, alpha dropped (not composited), gray
  // repeated; gamma and transparency chunks ignored.
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8)
    png_set_expand_gray_1_2_4_to_8(png);
  png_set_strip_16(png);
  png_set_strip_alpha(png);
  if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  height = png_get_image_height(png, info);
  width = png_get_image_width(png, info);
  if (png_get_rowbytes(png, info) != static_cast<size_t>(width * 3))
    png_error(png, "unexpected pixel format after conversion to RGB");
  out.resize(static_cast<size_t>(height * width * 3));
  rows.resize(static_cast<size_t>(height));
  for (int64_t y = 0; y < height; ++y) rows[y] = out.data() + y * width * 3;
  png_read_image(png, rows.data());
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  return {};
}

// PIL's resampling coefficients (Resample.c, precompute_coeffs + normalize_coeffs_8bpc) for the
// bilinear filter: a triangle widened by the scale when shrinking, so every input pixel counts
// (antialiasing), as 22-bit fixed point.
constexpr int kPrecisionBits = 32 - 8 - 2;

struct Coeffs {
  int ksize = 0;
  std::vector<int> bounds;  // per output pixel: first input pixel, number of input pixels
  std::vector<int32_t> k;   // per output pixel: ksize weights
};

Coeffs precompute_coeffs(int64_t in_size, int64_t out_size) {
  const double scale = static_cast<double>(in_size) / static_cast<double>(out_size);
  const double filterscale = std::max(scale, 1.0);
  const double support = 1.0 * filterscale;
  Coeffs c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.bounds.resize(static_cast<size_t>(out_size * 2));
  c.k.assign(static_cast<size_t>(out_size * c.ksize), 0);
  std::vector<double> w(static_cast<size_t>(c.ksize));
  for (int64_t xx = 0; xx < out_size; ++xx) {
    const double center = (static_cast<double>(xx) + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = static_cast<int>(in_size);
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      const double t = std::abs((x + xmin - center + 0.5) * ss);
      w[x] = t < 1.0 ? 1.0 - t : 0.0;
      ww += w[x];
    }
    for (int x = 0; x < xmax; ++x) {
      const double v = ww != 0.0 ? w[x] / ww : w[x];
      c.k[xx * c.ksize + x] = static_cast<int32_t>(v < 0 ? -0.5 + v * (1 << kPrecisionBits)
                                                         : 0.5 + v * (1 << kPrecisionBits));
    }
    c.bounds[xx * 2] = xmin;
    c.bounds[xx * 2 + 1] = xmax;
  }
  return c;
}

uint8_t clip8(int32_t v) {
  if (v >= (1 << kPrecisionBits << 8)) return 255;
  if (v <= 0) return 0;
  return static_cast<uint8_t>(v >> kPrecisionBits);
}

}  // namespace

std::vector<uint8_t> decode_image(const std::string& path, int64_t& height, int64_t& width) {
  File f = open_image(path);
  return decode_image_file(f.get(), path, height, width);
}

std::vector<uint8_t> decode_image_file(FILE* f, const std::string& path, int64_t& height,
                                       int64_t& width) {
  uint8_t magic[8] = {};
  const size_t got = std::fread(magic, 1, sizeof magic, f);
  std::rewind(f);
  std::vector<uint8_t> out;
  std::string error;
  height = width = 0;
  if (got >= 3 && magic[0] == 0xff && magic[1] == 0xd8 && magic[2] == 0xff) {
    std::vector<uint8_t> row;
    error = decode_jpeg_into(f, out, row, height, width);
  } else if (got == 8 && png_sig_cmp(magic, 0, 8) == 0) {
    std::string message;
    std::vector<png_bytep> rows;
    error = decode_png_into(f, message, out, rows, height, width);
  } else {
    fail("image '{}' is neither JPEG nor PNG (its first bytes are not a JPEG or PNG signature)",
         path);
  }
  if (!error.empty()) fail("image '{}' {}", path, error);
  if (height < 1 || width < 1) fail("image '{}' is empty ({}x{})", path, width, height);
  return out;
}

void resize_center_crop(const uint8_t* pixels, int64_t height, int64_t width, int channels,
                        const ImageOptions& opt, uint8_t* out) {
  // torchvision's Resize(int): the shorter side becomes `resize`, the longer one
  // int(resize * long / short) (truncated, as Python's int() does).
  const bool portrait = width <= height;
  const int64_t short_side = portrait ? width : height, long_side = portrait ? height : width;
  const int64_t new_long = static_cast<int64_t>(static_cast<double>(opt.resize * long_side) /
                                                static_cast<double>(short_side));
  const int64_t new_w = portrait ? opt.resize : new_long, new_h = portrait ? new_long : opt.resize;
  // torchvision's CenterCrop: offsets int(round((size - crop) / 2)), Python's round (half to
  // even), which std::nearbyint gives in the default rounding mode.
  const int64_t crop = opt.crop;
  const int64_t top = static_cast<int64_t>(std::nearbyint(static_cast<double>(new_h - crop) / 2.0));
  const int64_t left =
      static_cast<int64_t>(std::nearbyint(static_cast<double>(new_w - crop) / 2.0));
  const int64_t hw = crop * crop;
  if (new_w == width && new_h == height) {
    for (int64_t y = 0; y < crop; ++y)
      for (int64_t x = 0; x < crop; ++x)
        for (int c = 0; c < channels; ++c)
          out[c * hw + y * crop + x] = pixels[((top + y) * width + left + x) * channels + c];
    return;
  }
  // PIL resizes horizontally first, rounding to uint8, then vertically. Only the pixels inside
  // the crop are computed: each output pixel depends on its own coefficients alone, so the
  // result equals cropping the full resize.
  const Coeffs cx = precompute_coeffs(width, new_w), cy = precompute_coeffs(height, new_h);
  const bool horizontal = new_w != width, vertical = new_h != height;
  const int64_t row0 = vertical ? cy.bounds[top * 2] : top;
  const int64_t row1 =
      vertical ? cy.bounds[(top + crop - 1) * 2] + cy.bounds[(top + crop - 1) * 2 + 1] : top + crop;
  // Rows row0..row1 of the horizontally resized image, columns left..left+crop.
  std::vector<uint8_t> tmp(static_cast<size_t>((row1 - row0) * crop * channels));
  for (int64_t y = row0; y < row1; ++y) {
    const uint8_t* src = pixels + y * width * channels;
    uint8_t* dst = tmp.data() + (y - row0) * crop * channels;
    for (int64_t xx = 0; xx < crop; ++xx) {
      if (!horizontal) {
        std::memcpy(dst + xx * channels, src + (left + xx) * channels, channels);
        continue;
      }
      const int xmin = cx.bounds[(left + xx) * 2], n = cx.bounds[(left + xx) * 2 + 1];
      const int32_t* k = cx.k.data() + (left + xx) * cx.ksize;
      for (int c = 0; c < channels; ++c) {
        int32_t ss = 1 << (kPrecisionBits - 1);
        for (int x = 0; x < n; ++x) ss += src[(xmin + x) * channels + c] * k[x];
        dst[xx * channels + c] = clip8(ss);
      }
    }
  }
  for (int64_t yy = 0; yy < crop; ++yy) {
    for (int64_t xx = 0; xx < crop; ++xx) {
      for (int c = 0; c < channels; ++c) {
        uint8_t v;
        if (!vertical) {
          v = tmp[((top + yy - row0) * crop + xx) * channels + c];
        } else {
          const int ymin = cy.bounds[(top + yy) * 2], n = cy.bounds[(top + yy) * 2 + 1];
          const int32_t* k = cy.k.data() + (top + yy) * cy.ksize;
          int32_t ss = 1 << (kPrecisionBits - 1);
          for (int y = 0; y < n; ++y)
            ss += tmp[((ymin + y - row0) * crop + xx) * channels + c] * k[y];
          v = clip8(ss);
        }
        out[c * hw + yy * crop + xx] = v;
      }
    }
  }
}

bool is_image_name(const std::string& file) {
  const std::string ext = lower_extension(file);
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

void check_image_options(const ImageOptions& image) {
  if (image.resize < 1) fail("--resize must be at least 1 (got {})", image.resize);
  if (image.crop < 1) fail("--crop must be at least 1 (got {})", image.crop);
  if (image.crop > image.resize)
    fail("--crop {} is larger than --resize {}: the center crop must fit in the resized image",
         image.crop, image.resize);
}

Dataset load_folder(const std::string& dir, Split split, const ImageOptions& image) {
  check_image_options(image);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail("image folder '{}' does not exist", dir);
  auto sub = [&](const char* name) {
    fs::path p = fs::path(dir) / name;
    return fs::is_directory(p, ec) ? p.string() : std::string();
  };
  const std::string train = sub("train"), test = !sub("val").empty() ? sub("val") : sub("test");
  std::string root = dir, note;
  const char* split_name = split == Split::Train ? "train" : "test";
  if (!train.empty() || !test.empty()) {
    if (test.empty()) fail("image folder '{}' has train/ but no val/ or test/ to evaluate on", dir);
    root = split == Split::Train && !train.empty() ? train : test;
    if (split == Split::Train && train.empty())
      note = ", no train/: calibrating on the test images";
  } else {
    note = ", no train/val/ subfolders: the same images serve both splits";
  }

  Dataset ds;
  int64_t skipped = 0;      // other image formats
  int64_t not_regular = 0;  // image names that are no regular file (dangling link, FIFO, device)
  int64_t loops = 0;        // directory links back to a folder already walked
  // ImageFolder's classes: every subfolder, sorted by name.
  for (const auto& e : fs::directory_iterator(root, ec))
    if (e.is_directory(ec)) ds.class_names.push_back(e.path().filename().string());
  if (ec) fail("cannot list image folder '{}': {}", root, ec.message());
  std::sort(ds.class_names.begin(), ds.class_names.end());
  if (ds.class_names.empty())
    fail("image folder '{}' has no class subfolders: expected {}/<class>/<image>.jpg", root, root);
  for (size_t c = 0; c < ds.class_names.size(); ++c) {
    const fs::path cdir = fs::path(root) / ds.class_names[c];
    // os.walk order sorted by (folder, file name), as ImageFolder lists files.
    std::vector<std::pair<std::string, std::string>> found;
    // Directory links are followed, as os.walk(followlinks=True) does for ImageFolder, but only
    // into directories inside this class folder, each once: a link back up would repeat images
    // forever, and one into another class would give its images this class's label.
    const fs::path class_root = fs::canonical(cdir, ec);
    std::set<fs::path> walked = {class_root};
    for (auto it = fs::recursive_directory_iterator(
             cdir, fs::directory_options::follow_directory_symlink, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      std::error_code e2;
      if (it->is_directory(e2)) {
        const fs::path real = fs::canonical(it->path(), e2);
        const auto [c, r] =
            std::mismatch(class_root.begin(), class_root.end(), real.begin(), real.end());
        if (c != class_root.end() || !walked.insert(real).second) {
          it.disable_recursion_pending();
          loops++;
        }
        continue;
      }
      if (!it->is_regular_file(e2)) {
        if (is_image_name(it->path().string()) || is_other_image_name(it->path())) not_regular++;
        continue;
      }
      if (is_image_name(it->path().string()))
        found.emplace_back(it->path().parent_path().string(), it->path().filename().string());
      else if (is_other_image_name(it->path()))
        skipped++;
    }
    if (ec) fail("cannot list class folder '{}': {}", cdir.string(), ec.message());
    if (found.empty()) fail("class folder '{}' has no .jpg, .jpeg or .png images", cdir.string());
    std::sort(found.begin(), found.end());
    for (const auto& [folder, file] : found) {
      ds.files.push_back((fs::path(folder) / file).string());
      ds.labels.push_back(static_cast<int32_t>(c));
    }
  }
  if (skipped > 0)
    note += fmt::format(", {} .bmp/.ppm/.pgm/.tif/.webp files skipped: only JPEG and PNG decode",
                        skipped);
  if (not_regular > 0)
    note += fmt::format(
        ", {} image names skipped that are no regular file (dangling links, FIFOs, devices)",
        not_regular);
  if (loops > 0)
    note += fmt::format(
        ", {} directory links skipped that lead out of their class folder or back into it", loops);
  ds.name = fmt::format("folder ({}, {}{})", split_name, root, note);
  ds.count = static_cast<int64_t>(ds.files.size());
  ds.channels = image.grayscale ? 1 : 3;
  ds.height = ds.width = image.crop;
  ds.num_classes = static_cast<int>(ds.class_names.size());
  ds.image = image;
  return ds;
}

void read_image(const Dataset& ds, int64_t i, uint8_t* out) {
  if (ds.raw()) fail("{} holds tensors, not images", ds.name);
  if (!ds.lazy()) {
    std::memcpy(out, ds.pixels.data() + i * ds.image_size(), static_cast<size_t>(ds.image_size()));
    return;
  }
  int64_t h = 0, w = 0;
  std::vector<uint8_t> rgb = decode_image(ds.files.at(static_cast<size_t>(i)), h, w);
  if (!ds.image.grayscale) {
    resize_center_crop(rgb.data(), h, w, 3, ds.image, out);
    return;
  }
  // PIL's convert("L") (ITU-R 601-2 luma in 16-bit fixed point), before resizing, as
  // Compose([Grayscale(), Resize(), CenterCrop()]) does.
  std::vector<uint8_t> gray(static_cast<size_t>(h * w));
  for (size_t p = 0; p < gray.size(); ++p) {
    const uint8_t* v = rgb.data() + p * 3;
    gray[p] = static_cast<uint8_t>((v[0] * 19595 + v[1] * 38470 + v[2] * 7471 + 0x8000) >> 16);
  }
  resize_center_crop(gray.data(), h, w, 1, ds.image, out);
}

Dataset subset(const Dataset& ds, const std::vector<int64_t>& indices) {
  Dataset out;
  out.name = ds.name;
  out.count = static_cast<int64_t>(indices.size());
  out.channels = ds.channels;
  out.height = ds.height;
  out.width = ds.width;
  out.num_classes = ds.num_classes;
  out.class_names = ds.class_names;
  out.image = ds.image;
  out.sample = ds.sample;
  if (ds.raw()) out.values.resize(static_cast<size_t>(out.count * ds.image_size()));
  if (!ds.lazy() && !ds.raw()) out.pixels.resize(static_cast<size_t>(out.count * ds.image_size()));
  for (size_t j = 0; j < indices.size(); ++j) {
    const int64_t i = indices[j];
    out.labels.push_back(ds.labels.at(static_cast<size_t>(i)));
    out.origin.push_back(ds.origin.empty() ? i : ds.origin.at(static_cast<size_t>(i)));
    if (ds.raw())
      std::copy_n(ds.values.begin() + i * ds.image_size(), ds.image_size(),
                  out.values.begin() + static_cast<int64_t>(j) * ds.image_size());
    else if (ds.lazy())
      out.files.push_back(ds.files[static_cast<size_t>(i)]);
    else
      std::copy_n(ds.pixels.begin() + i * ds.image_size(), ds.image_size(),
                  out.pixels.begin() + static_cast<int64_t>(j) * ds.image_size());
  }
  return out;
}

}  // namespace qbench::data
