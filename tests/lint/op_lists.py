#!/usr/bin/env python3
"""One op, one place (issue 12): outside src/kernels/ (where each op's descriptor, OpDef and its
OpTraits, is registered), no code may keep its own list of op types. Fails, naming file and line,
on
  - a statement that compares an op type with two or more op names ("Conv" || "Gemm" ...), and
  - a brace initializer holding two or more op names ({"Conv", "Gemm"}, {{"Relu", ...}, ...}).
Op names are the ones the registry tables register. Asking the descriptor instead:
kernels::traits_of(node).dense / .qdq / .integer_form ... (src/kernels/op_traits.h).
Usage: op_lists.py SOURCE_DIR"""
import pathlib
import re
import sys

src = pathlib.Path(sys.argv[1]) / "src"
ops = set()
for table in ("kernels/ref/registry_ref.cpp", "kernels/ref/qbench_ops.cpp"):
    ops |= set(re.findall(r'OpDef\{\s*"(\w+)"', (src / table).read_text()))
if len(ops) < 100:
    sys.exit(f"op_lists: found only {len(ops)} registered ops; has the registry moved?")

COMPARE = re.compile(r'(?:op_type|\bop)\s*[!=]=\s*$')


def scan(path):
    """Yields (line, what) for each list of op names in the file."""
    text = path.read_text()
    stack = []  # open brackets: [char, line, op names inside (braces)]
    compares = []  # (line) of op-name comparisons in the current statement
    i, line, n = 0, 1, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
        elif text.startswith("//", i):
            i = text.find("\n", i)
            if i < 0:
                break
            continue
        elif text.startswith("/*", i):
            j = text.find("*/", i)
            line += text.count("\n", i, j)
            i = j + 2
            continue
        elif c == "'":
            i = text.find("'", i + 1 + (text[i + 1] == "\\")) + 1
            continue
        elif c == '"':
            j = i + 1
            while text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            lit = text[i + 1:j]
            if lit in ops:
                before = text[max(0, i - 200):i]
                if COMPARE.search(before):
                    compares.append(line)
                    if len(compares) == 2:
                        yield line, f'compares an op type with several op names ("{lit}" ...)'
                elif stack and stack[-1][0] == "{" and re.search(r"[{,]\s*$", before):
                    stack[-1][2].append(lit)
            i = j + 1
            continue
        elif c in "({[":
            stack.append([c, line, []])
        elif c in ")}]":
            if stack:
                opened = stack.pop()
                if opened[0] == "{" and len(opened[2]) >= 2:
                    yield opened[1], "a list of op names {" + ", ".join(opened[2][:4]) + "...}"
                elif stack and stack[-1][0] == "{" and opened[0] == "{":
                    stack[-1][2].extend(opened[2])  # {{"A", 1}, {"B", 2}} is one list
            if c == "}":
                compares = []
        if c in ";{":
            compares = []
        i += 1


failures = []
for path in sorted(src.rglob("*")):
    if path.suffix not in (".cpp", ".h") or (src / "kernels") in path.parents:
        continue
    for line, what in scan(path):
        failures.append(f"{path.relative_to(src.parent)}:{line}: {what}")
for f in failures:
    print(f)
print(f"op_lists: {len(failures)} op-type lists outside the descriptors ({len(ops)} ops registered)")
sys.exit(1 if failures else 0)
