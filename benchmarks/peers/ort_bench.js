// Times one ONNX model in ONNX Runtime (onnxruntime-node, CPU): RUNS timed runs at batch BATCH
// after WARMUP untimed ones, on a fixed random input, and prints the median latency in ms.
// Peer figure for benchmarks/peers/side_by_side.sh (dev-time only).
// Usage: node ort_bench.js MODEL.onnx THREADS BATCH [RUNS=20] [WARMUP=5]
const ort = require('onnxruntime-node');
const {randomFeeds} = require('./ort_input');

const [model, threadsArg, batchArg, runsArg, warmupArg] = process.argv.slice(2);
if (!model || !threadsArg || !batchArg) {
  console.error('usage: node ort_bench.js MODEL.onnx THREADS BATCH [RUNS] [WARMUP]');
  process.exit(2);
}
const threads = +threadsArg, batch = +batchArg, runs = +(runsArg || 20), warmup = +(warmupArg || 5);

(async () => {
  const s = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  let feeds;
  try {
    feeds = randomFeeds(s, batch);
  } catch (e) {
    console.error('ort_bench: ' + model + ': ' + e.message);
    process.exit(2);
  }
  for (let i = 0; i < warmup; ++i) await s.run(feeds);
  const t = [];
  for (let i = 0; i < runs; ++i) {
    const t0 = process.hrtime.bigint();
    await s.run(feeds);
    t.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  t.sort((a, b) => a - b);
  console.log(t[Math.floor(t.length / 2)].toFixed(3));
})().catch((e) => {
  console.error('ort_bench: ' + e.message);
  process.exit(1);
});
