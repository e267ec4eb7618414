// Records ONNX Runtime's outputs for the pretrained models in tests/models/<name>/, the references
// that tests/e2e/pretrained.sh checks `qbench run` against. For each <name>/model.json it checks the
// model's sha256, writes the inputs the manifest describes (deterministic synthetic images, audio
// and states) as .npy files, runs the model in onnxruntime-node (CPU, one thread, all graph
// optimizations off so nothing is fused or approximated) and writes every output as
// expected/<file>.npy.
// Usage (in tests/models): ONNXRUNTIME_NODE_INSTALL=skip npm ci && node record_ort.js [NAME...]
const ort = require('onnxruntime-node');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

// --- .npy (version 1.0, little-endian, C order) -------------------------------------------------

const NPY_DESCR = {float32: '<f4', int64: '<i8', int32: '<i4', bool: '|b1', uint8: '|u1'};

function saveNpy(file, dtype, shape, data) {
  const descr = NPY_DESCR[dtype];
  if (!descr) throw new Error(`${file}: cannot write dtype ${dtype}`);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const pad = (64 - ((10 + header.length + 1) % 64)) % 64;
  header += ' '.repeat(pad) + '\n';
  const pre = Buffer.alloc(10);
  Buffer.from([0x93]).copy(pre, 0);
  pre.write('NUMPY', 1, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  let body;
  if (dtype === 'bool') body = Buffer.from(Uint8Array.from(data, (v) => (v ? 1 : 0)));
  else body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), body]));
}

// --- deterministic inputs -----------------------------------------------------------------------

// mulberry32: a small seeded PRNG, so the inputs do not depend on Math.random or the Node version.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function numel(shape) {
  return shape.reduce((a, b) => a * b, 1);
}

// An 8-bit picture as [h][w][c] (c = 3, or 4 with an opaque alpha channel): a light, slightly
// shaded page with lines of dark glyph-like strokes (OCR), or a face-like disc with eyes and mouth
// on a gradient (face detectors), or straight lines of several colours (line detectors).
function picture(kind, h, w, c, seed) {
  const r = rng(seed);
  const px = new Float64Array(h * w * c);
  const set = (y, x, rgb) => {
    if (y < 0 || x < 0 || y >= h || x >= w) return;
    for (let k = 0; k < 3; ++k) px[(y * w + x) * c + k] = rgb[k];
  };
  for (let y = 0; y < h; ++y)
    for (let x = 0; x < w; ++x) {
      const base = kind === 'face' ? 60 + (120 * x) / w : kind === 'lines' ? 200 - (80 * y) / h : 235 - (20 * y) / h;
      set(y, x, [base, base + 5 * Math.sin(x / 7), base - 10 + 8 * r()]);
      if (c === 4) px[(y * w + x) * c + 3] = 255;
    }
  if (kind === 'text') {
    // Lines of "glyphs": each glyph is a few horizontal, vertical and diagonal strokes.
    const lineH = Math.max(12, Math.round(h / (h >= 64 ? 4 : 1.6)));
    for (let top = Math.round(lineH * 0.2); top + lineH * 0.7 <= h; top += lineH) {
      const gh = Math.round(lineH * 0.6);
      let x0 = 4 + Math.floor(r() * 8);
      const end = w - 4 - Math.floor(r() * w * 0.3);
      while (x0 + gh < end) {
        const gw = Math.round(gh * (0.5 + 0.4 * r()));
        const ink = [20 + 30 * r(), 20 + 30 * r(), 30 + 40 * r()];
        const strokes = 2 + Math.floor(r() * 3);
        for (let s = 0; s < strokes; ++s) {
          const t = 1 + Math.floor(r() * 2), kindS = Math.floor(r() * 3);
          if (kindS === 0) {
            const y = top + Math.floor(r() * gh);
            for (let x = x0; x < x0 + gw; ++x) for (let d = 0; d < t; ++d) set(y + d, x, ink);
          } else if (kindS === 1) {
            const x = x0 + Math.floor(r() * gw);
            for (let y = top; y < top + gh; ++y) for (let d = 0; d < t; ++d) set(y, x + d, ink);
          } else {
            for (let i = 0; i < gh; ++i) for (let d = 0; d < t; ++d) set(top + i, x0 + Math.floor((i * gw) / gh) + d, ink);
          }
        }
        x0 += gw + 2 + Math.floor(r() * 4) + (r() < 0.15 ? gh : 0);
      }
    }
  } else if (kind === 'face') {
    const cy = h * (0.45 + 0.1 * r()), cx = w * (0.45 + 0.1 * r()), ry = h * 0.3, rx = w * 0.22;
    for (let y = 0; y < h; ++y)
      for (let x = 0; x < w; ++x) {
        const d = ((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2;
        if (d <= 1) set(y, x, [225 - 30 * d, 180 - 30 * d, 150 - 30 * d]);
        for (const ex of [-0.4, 0.4]) {
          const e = ((y - (cy - ry * 0.25)) / (ry * 0.12)) ** 2 + ((x - (cx + ex * rx)) / (rx * 0.18)) ** 2;
          if (e <= 1) set(y, x, [40, 30, 30]);
        }
        const m = ((y - (cy + ry * 0.45)) / (ry * 0.08)) ** 2 + ((x - cx) / (rx * 0.45)) ** 2;
        if (m <= 1) set(y, x, [150, 50, 60]);
      }
  } else if (kind === 'lines') {
    for (let n = 0; n < 12; ++n) {
      const x0 = r() * w, y0 = r() * h, x1 = r() * w, y1 = r() * h;
      const ink = [255 * r(), 255 * r(), 255 * r()];
      const steps = Math.ceil(Math.hypot(x1 - x0, y1 - y0));
      for (let i = 0; i <= steps; ++i)
        for (let d = -1; d <= 1; ++d) set(Math.round(y0 + ((y1 - y0) * i) / steps) + d, Math.round(x0 + ((x1 - x0) * i) / steps), ink);
    }
  } else {
    throw new Error(`unknown picture kind ${kind}`);
  }
  return px;
}

// An input tensor from its manifest entry; float32 arithmetic is done with Math.fround so every
// element is the float32 a C++ or NumPy preprocessing step would produce.
function generate(spec) {
  const g = spec.generate, shape = spec.shape, n = numel(shape);
  if (spec.dtype === 'int64') {
    if (g.kind !== 'value') throw new Error(`${spec.name}: int64 inputs take kind 'value'`);
    return BigInt64Array.from({length: n}, () => BigInt(g.value));
  }
  const out = new Float32Array(n);
  const f = Math.fround;
  if (g.kind === 'zeros') return out;
  if (g.kind === 'uniform') {
    const r = rng(g.seed);
    for (let i = 0; i < n; ++i) out[i] = f(g.low + (g.high - g.low) * r());
    return out;
  }
  if (g.kind === 'audio') {
    // A voiced sound: a 140 Hz fundamental with decaying harmonics, a slow tremolo and a little
    // noise, at the given sample rate and peak amplitude; one row per batch item.
    const r = rng(g.seed), len = shape[shape.length - 1];
    for (let i = 0; i < n; ++i) {
      const t = (i % len) / g.rate;
      let v = 0;
      for (let k = 1; k <= 6; ++k) v += Math.sin(2 * Math.PI * 140 * k * t + k) / k;
      v *= 0.6 + 0.4 * Math.sin(2 * Math.PI * 3 * t);
      out[i] = f(g.amplitude * (0.45 * v + 0.1 * (r() * 2 - 1)));
    }
    return out;
  }
  if (g.kind === 'spectrogram') {
    // Log-mel-like features [.., frames, bins, ..]: a rising harmonic track over a noise floor.
    const r = rng(g.seed), frames = shape[g.frame_axis], bins = shape[g.bin_axis];
    for (let i = 0; i < n; ++i) {
      let rest = i, idx = [];
      for (let d = shape.length - 1; d >= 0; --d) {
        idx[d] = rest % shape[d];
        rest = Math.floor(rest / shape[d]);
      }
      const t = idx[g.frame_axis] / frames, b = idx[g.bin_axis];
      const f0 = 3 + 10 * t;
      let v = g.floor + 0.3 * r();
      for (let k = 1; k <= 3; ++k) v += (g.peak / k) * Math.exp(-((b - f0 * k) ** 2) / 4);
      out[i] = f(v);
    }
    return out;
  }
  if (g.kind === 'picture') {
    // Layout NCHW or NHWC; pixel p (0..255) becomes (p * scale - mean[c]) / std[c].
    const nchw = g.layout === 'NCHW';
    const [N, C, H, W] = nchw ? shape : [shape[0], shape[3], shape[1], shape[2]];
    for (let b = 0; b < N; ++b) {
      const px = picture(g.picture, H, W, C, g.seed + b);
      for (let y = 0; y < H; ++y)
        for (let x = 0; x < W; ++x)
          for (let c = 0; c < C; ++c) {
            const p = f(Math.round(Math.min(255, Math.max(0, px[(y * W + x) * C + c]))));
            const v = f(f(f(p * f(g.scale)) - f(g.mean[c % g.mean.length])) / f(g.std[c % g.std.length]));
            out[nchw ? ((b * C + c) * H + y) * W + x : ((b * H + y) * W + x) * C + c] = v;
          }
    }
    return out;
  }
  throw new Error(`${spec.name}: unknown input kind ${g.kind}`);
}

// --- recording ----------------------------------------------------------------------------------

async function record(dir) {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const modelFile = path.join(dir, manifest.model);
  const sha = crypto.createHash('sha256').update(fs.readFileSync(modelFile)).digest('hex');
  if (sha !== manifest.source.sha256)
    throw new Error(`${modelFile}: sha256 ${sha} differs from model.json's ${manifest.source.sha256}`);
  const feeds = {};
  for (const spec of manifest.inputs) {
    const data = generate(spec);
    saveNpy(path.join(dir, spec.file), spec.dtype, spec.shape, data);
    feeds[spec.name] = new ort.Tensor(spec.dtype, data, spec.shape);
  }
  const opts = {intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'disabled', logSeverityLevel: 3};
  const session = await ort.InferenceSession.create(modelFile, opts);
  const listed = manifest.outputs.map((o) => o.name);
  if (JSON.stringify(listed) !== JSON.stringify(session.outputNames))
    throw new Error(`${dir}: model.json lists outputs ${listed} but the model has ${session.outputNames}`);
  const result = await session.run(feeds);
  fs.mkdirSync(path.join(dir, 'expected'), {recursive: true});
  for (const o of manifest.outputs) {
    const t = result[o.name];
    saveNpy(path.join(dir, o.file), t.type, t.dims, t.data);
    console.log(`${manifest.name}: ${o.name} ${t.type} [${t.dims}] -> ${o.file}`);
  }
}

(async () => {
  const root = __dirname;
  const only = process.argv.slice(2);
  const dirs = fs
    .readdirSync(root)
    .filter((d) => fs.existsSync(path.join(root, d, 'model.json')))
    .filter((d) => only.length === 0 || only.includes(d))
    .sort();
  for (const d of dirs) await record(path.join(root, d));
})().catch((e) => {
  console.error(`record_ort: ${e.message}`);
  process.exit(1);
});
