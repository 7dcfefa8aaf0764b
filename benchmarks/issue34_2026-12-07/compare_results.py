"""Compare the result files of two runs value by value, timings and provenance aside.

    python benchmarks/issue34_2026-12-07/compare_results.py RESULTS_A RESULTS_B

Prints one line per result file (identical, or its differences) and exits 1 if any value differs.
Floats must be equal bit for bit: the claim checked is "the same numbers", not "close numbers".
"""

import json
import math
import sys
from pathlib import Path

# Keys that measure the machine or the run, not the model: how long, from where, whether reused.
VOLATILE = ("seconds", "wall_time", "provenance", "model_from_cache", "images_per_s", "reused", "cached")


def differences(a, b, path: str) -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            if any(v in key for v in VOLATILE) or key.endswith("_s"):
                continue
            if key not in a or key not in b:
                out.append(f"{path}.{key}: only in {'B' if key in b else 'A'}")
            else:
                out += differences(a[key], b[key], f"{path}.{key}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items against {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return []
    return [] if a == b else [f"{path}: {str(a)[:60]!r} against {str(b)[:60]!r}"]


def main(argv) -> int:
    first, second = map(Path, argv)
    differing = 0
    for f in sorted(first.glob("*.json")):
        if f.name == "pipeline.json":
            continue
        other = second / f.name
        found = differences(json.loads(f.read_text()), json.loads(other.read_text()), f.stem) if other.is_file() \
            else [f"{f.name}: missing in B"]
        differing += bool(found)
        print(f"{f.name}: {'identical' if not found else f'{len(found)} differences'}")
        for line in found[:10]:
            print("    " + line)
    print(f"{differing} file(s) differ")
    return 1 if differing else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
