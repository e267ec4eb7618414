#!/usr/bin/env python3
"""qbench's and ONNX Runtime's time per node for one model, side by side (dev-time only).

Runs `qbench inspect --profile N --json` (mean us per node of qbench's plan) and ort_nodes.js
(median us per node from ONNX Runtime's own profiler), joins them by node name and prints one
line per qbench node with ONNX Runtime's time for the node of the same name (for a fused node,
named after its parts joined by '+', the parts' times together), then the ONNX Runtime nodes with
no qbench node of their name (the layout transposes each engine inserts) and the totals. --avx2 runs both as on an
AVX2-only CPU (benchmarks/cpu_mask/run-as-avx2.sh).

  benchmarks/peers/per_node.py build/qbench /tmp/resnet50-int8.onnx [--threads 1] [--avx2]
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('qbench')
    ap.add_argument('model')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--runs', type=int, default=30)
    ap.add_argument('--avx2', action='store_true')
    a = ap.parse_args()
    pre = [os.path.join(HERE, '..', 'cpu_mask', 'run-as-avx2.sh')] if a.avx2 else []
    q = json.loads(subprocess.run(
        pre + [a.qbench, 'inspect', '--model', a.model, '--profile', str(a.runs), '--threads',
               str(a.threads), '--json'], check=True, capture_output=True, text=True).stdout)
    ort = {}
    out = subprocess.run(pre + ['node', os.path.join(HERE, 'ort_nodes.js'), a.model,
                                str(a.threads), str(a.runs)],
                         check=True, capture_output=True, text=True).stdout
    order = []
    for line in out.splitlines():
        name, op, us = line.split('\t')
        ort[name] = (op, float(us))
        order.append(name)
    m = q['machine']
    print(f'# {a.model}, batch 1, {a.threads} thread(s){", as AVX2-only" if a.avx2 else ""}')
    print(f'# {m["cpu"]}; qbench {m["qbench_version"]} ({m["git_commit"]}), oneDNN '
          f'{m["onednn_version"]} at {m["onednn_isa"]}; int8: {m["int8_path"]}')
    print(f'# qbench: mean of {a.runs} profiled runs; ONNX Runtime: median of its profiler\'s')
    print(f'{"node":<44} {"op":<24} {"qbench us":>10} {"ORT us":>8} {"ratio":>6}  kernel')
    seen = set()
    q_total = matched_q = matched_o = 0.0
    for n in q['nodes']:
        us = n.get('mean_us', 0.0)
        q_total += us
        op = '+'.join([n['op_type']] + n['fused'])
        # A fused node is named after its parts joined by '+' (a convolution and its residual
        # QLinearAdd): ONNX Runtime's time for it is theirs together.
        parts = ([n['name']] if n['name'] in ort else
                 [k for k in n['name'].split('+') if k in ort])
        cell = ratio = ''
        if parts:
            t = sum(ort[k][1] for k in parts)
            seen.update(parts)
            matched_q += us
            matched_o += t
            cell, ratio = f'{t:.1f}', f'{us / t:.2f}' if t else ''
        print(f'{n["name"][-44:]:<44} {op[:24]:<24} {us:>10.1f} {cell:>8} {ratio:>6}  '
              f'{(n["impl"] or n["kernel"])[:48]}')
    rest = [k for k in order if k not in seen]
    if rest:
        print('\nONNX Runtime nodes with no qbench node of their name:')
        by_op = {}
        for k in rest:
            by_op.setdefault(ort[k][0], []).append(ort[k][1])
        for op, ts in sorted(by_op.items(), key=lambda kv: -sum(kv[1])):
            print(f'  {op:<28} {len(ts):>3} nodes {sum(ts):>9.1f} us')
    o_total = sum(t for _, t in ort.values())
    print(f'\ntotal: qbench {q_total:.0f} us, ONNX Runtime {o_total:.0f} us ({q_total / o_total:.2f}); '
          f'nodes matched: qbench {matched_q:.0f}, ONNX Runtime {matched_o:.0f} '
          f'({matched_q / matched_o if matched_o else 0:.2f})')


if __name__ == '__main__':
    sys.exit(main())
