// ONNX Runtime's own per-node kernel times for one ONNX model (onnxruntime-node, CPU, its
// profiler): RUNS timed runs at batch 1 after WARMUP untimed ones, on ort_input.js's fixed random
// input; prints one line per node, "name<TAB>op<TAB>median us", in execution order.
// For benchmarks/peers/per_node.py (dev-time only).
// Usage: node ort_nodes.js MODEL.onnx THREADS [RUNS=30] [WARMUP=10]
const fs = require('fs');
const os = require('os');
const path = require('path');
const ort = require('onnxruntime-node');
const {randomFeeds} = require('./ort_input');

const [model, threadsArg, runsArg, warmupArg] = process.argv.slice(2);
if (!model || !threadsArg) {
  console.error('usage: node ort_nodes.js MODEL.onnx THREADS [RUNS] [WARMUP]');
  process.exit(2);
}
const threads = +threadsArg, runs = +(runsArg || 30), warmup = +(warmupArg || 10);

(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ort_nodes-'));
  const s = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    enableProfiling: true,
    profileFilePrefix: path.join(dir, 'profile'),
  });
  let feeds;
  try {
    feeds = randomFeeds(s, 1);
  } catch (e) {
    console.error('ort_nodes: ' + model + ': ' + e.message);
    process.exit(2);
  }
  for (let i = 0; i < warmup + runs; ++i) await s.run(feeds);
  await s.endProfiling();
  const file = fs.readdirSync(dir).map((f) => path.join(dir, f))[0];
  const events = JSON.parse(fs.readFileSync(file, 'utf8'));
  fs.rmSync(dir, {recursive: true, force: true});
  const times = new Map();  // node name -> [op, durations in us], in first-seen order
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const name = e.name.slice(0, -'_kernel_time'.length).replace(/_token_\d+$/, '');
    if (!times.has(name)) times.set(name, [e.args.op_name, []]);
    times.get(name)[1].push(e.dur);
  }
  for (const [name, [op, d]] of times) {
    const t = d.slice(warmup).sort((a, b) => a - b);
    if (t.length) console.log(`${name}\t${op}\t${t[Math.floor(t.length / 2)]}`);
  }
})().catch((e) => {
  console.error('ort_nodes: ' + e.message);
  process.exit(1);
});
