// Runs an ONNX classifier in ONNX Runtime (onnxruntime-node) on the Fashion-MNIST test images and
// writes its predicted label per image, one per line (the format of `qbench eval --predictions`).
// Usage: node ort_predict.js MODEL.onnx OUT.txt [MEAN] [STD]
const ort = require('onnxruntime-node');
const fs = require('fs');
const zlib = require('zlib');

const [model, out, meanArg, stdArg] = process.argv.slice(2);
if (!model || !out) {
  console.error('usage: node ort_predict.js MODEL.onnx OUT.txt [MEAN] [STD]');
  process.exit(2);
}
const MEAN = Math.fround(+(meanArg || 0));
const STD = Math.fround(+(stdArg || 1));
const dir = process.env.FASHION_MNIST_DIR || '/usr/share/datasets/fashion-mnist';
const img = zlib.gunzipSync(fs.readFileSync(`${dir}/t10k-images-idx3-ubyte.gz`));
const n = img.readUInt32BE(4), h = img.readUInt32BE(8), w = img.readUInt32BE(12);
const BATCH = 100;

(async () => {
  const opts = {intraOpNumThreads: 1, interOpNumThreads: 1};
  const s = await ort.InferenceSession.create(model, opts);
  const preds = [];
  for (let b = 0; b < n; b += BATCH) {
    const count = Math.min(BATCH, n - b);
    const x = new Float32Array(count * h * w);
    for (let i = 0; i < x.length; ++i) {
      // The same float32 operations as torchvision's ToTensor + Normalize.
      const v = Math.fround(img[16 + b * h * w + i] / 255);
      x[i] = Math.fround(Math.fround(v - MEAN) / STD);
    }
    const r = await s.run({[s.inputNames[0]]: new ort.Tensor('float32', x, [count, 1, h, w])});
    const y = r[s.outputNames[0]].data;
    const classes = y.length / count;
    for (let i = 0; i < count; ++i) {
      let best = 0;
      for (let k = 1; k < classes; ++k) if (y[i * classes + k] > y[i * classes + best]) best = k;
      preds.push(best);
    }
  }
  fs.writeFileSync(out, preds.join('\n') + '\n');
})().catch((e) => {
  console.error(`ort_predict: ${model}: ${e.message.split('\n')[0]}`);
  process.exit(1);
});
