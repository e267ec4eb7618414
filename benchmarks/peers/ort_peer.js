// ONNX Runtime as a peer of `qbench compare --peers ort` (src/compare/peers.cpp runs it): times
// MODEL at batch BATCH on THREADS threads (WARMUP untimed runs, then RUNS timed ones, on a fixed
// pseudo-random input) and, when INPUTS.npy is given (float32, batch axis first, as qbench
// preprocessed the test images), runs those in batches of EVAL_BATCH and writes the predicted
// label of each image to PREDICTIONS.txt, one per line. Prints one JSON object:
//   {"engine": "onnxruntime", "version": "1.30.0", "latency_ms": [..one per timed run..]}
// Usage: node ort_peer.js MODEL THREADS BATCH RUNS WARMUP [INPUTS.npy PREDICTIONS.txt EVAL_BATCH]
const ort = require('onnxruntime-node');
const fs = require('fs');

const [model, threadsArg, batchArg, runsArg, warmupArg, inputs, predictions, evalBatchArg] =
    process.argv.slice(2);
if (!model || !threadsArg || !batchArg || !runsArg || !warmupArg) {
  console.error('usage: node ort_peer.js MODEL THREADS BATCH RUNS WARMUP [INPUTS.npy PREDICTIONS.txt EVAL_BATCH]');
  process.exit(2);
}
const threads = +threadsArg, batch = +batchArg, runs = +runsArg, warmup = +warmupArg;

// A float32 little-endian C-order .npy: its shape and data.
function readNpy(path) {
  const buf = fs.readFileSync(path);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${path}: not a .npy file`);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + hlen;
  const header = buf.toString('latin1', major === 1 ? 10 : 12, start);
  if (!/'descr':\s*'<f4'/.test(header) || /'fortran_order':\s*True/.test(header))
    throw new Error(`${path}: expected little-endian float32 in C order`);
  const shape = header.match(/'shape':\s*\(([^)]*)\)/)[1].split(',').filter((s) => s.trim())
      .map((s) => +s);
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + buf.length));
  return {shape, data};
}

(async () => {
  const s = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const name = s.inputNames[0];
  const meta = s.inputMetadata ? s.inputMetadata[0] : null;
  let sample = null;
  let predicted = null;
  if (inputs) {
    const x = readNpy(inputs);
    sample = x.shape.slice(1);
    const per = sample.reduce((a, b) => a * b, 1);
    const n = x.shape[0], eb = +(evalBatchArg || 64);
    predicted = [];
    for (let b = 0; b < n; b += eb) {
      const count = Math.min(eb, n - b);
      const t = new ort.Tensor('float32', x.data.subarray(b * per, (b + count) * per), [count, ...sample]);
      const y = (await s.run({[name]: t}))[s.outputNames[0]].data;
      const classes = y.length / count;
      for (let i = 0; i < count; ++i) {
        let best = 0;
        for (let k = 1; k < classes; ++k) if (y[i * classes + k] > y[i * classes + best]) best = k;
        predicted.push(best);
      }
    }
    fs.writeFileSync(predictions, predicted.join('\n') + '\n');
  }
  if (!sample) {
    // The model's declared input shape, symbolic dims as 1.
    const dims = meta && meta.shape ? meta.shape : null;
    if (!dims) throw new Error('the input shape is unknown: pass INPUTS.npy');
    sample = dims.slice(1).map((d) => (typeof d === 'number' && d > 0 ? d : 1));
  }
  const shape = [batch, ...sample];
  const x = new Float32Array(shape.reduce((a, b) => a * b, 1));
  let seed = 12345;
  for (let i = 0; i < x.length; ++i) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    x[i] = seed / 0x7fffffff;
  }
  const feeds = {[name]: new ort.Tensor('float32', x, shape)};
  for (let i = 0; i < warmup; ++i) await s.run(feeds);
  const times = [];
  for (let i = 0; i < runs; ++i) {
    const t0 = process.hrtime.bigint();
    await s.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const version = require('onnxruntime-node/package.json').version;
  console.log(JSON.stringify({engine: 'onnxruntime', version, latency_ms: times}));
})().catch((e) => {
  console.error(`ort_peer: ${model}: ${e.message.split('\n')[0]}`);
  process.exit(1);
});
