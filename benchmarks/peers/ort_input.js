// The fixed random input ort_bench.js and ort_nodes.js feed a model: its first input at the
// model's declared shape with symbolic dims (the batch) set to `batch`, values in [-1, 1) from a
// seeded linear congruential generator (dev-time only).
const ort = require('onnxruntime-node');

// Feeds for session `s`, or throws where the input shape is unknown.
function randomFeeds(s, batch) {
  const meta = s.inputMetadata ? s.inputMetadata[0] : null;
  if (!meta || !meta.shape) throw new Error('cannot read the input shape');
  const dims = meta.shape.map((d) => (typeof d === 'number' && d > 0 ? d : batch));
  const n = dims.reduce((a, b) => a * b, 1);
  const x = new Float32Array(n);
  let seed = 12345;
  for (let i = 0; i < n; ++i) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    x[i] = (seed / 4294967296) * 2 - 1;
  }
  return {[s.inputNames[0]]: new ort.Tensor('float32', x, dims)};
}

module.exports = {randomFeeds};
