import json, sys, math
skipped = set()
from pathlib import Path
VOLATILE = ("seconds", "wall_time", "provenance", "model_from_cache", "images_per_s")
def walk(a, b, path, out):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if any(v in k for v in VOLATILE) or k.endswith("_s"):
                skipped.add(k)
                continue
            if k not in a or k not in b:
                out.append(f"{path}.{k}: only in {'new' if k in b else 'old'}"); continue
            walk(a[k], b[k], f"{path}.{k}", out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{path}: length {len(a)} vs {len(b)}"); return
        for i, (x, y) in enumerate(zip(a, b)):
            walk(x, y, f"{path}[{i}]", out)
    elif isinstance(a, float) and isinstance(b, float):
        if not (a == b or (math.isnan(a) and math.isnan(b))):
            out.append(f"{path}: {a!r} vs {b!r}")
    elif a != b:
        out.append(f"{path}: {str(a)[:80]!r} vs {str(b)[:80]!r}")
old, new = Path(sys.argv[1]), Path(sys.argv[2])
for f in sorted(old.glob("*.json")):
    if f.name == "pipeline.json": continue
    out = []
    walk(json.loads(f.read_text()), json.loads((new / f.name).read_text()), f.stem, out)
    print(f"{f.name}: {'identical' if not out else str(len(out)) + ' differences'}")
    for line in out[:8]: print("   ", line)

print('keys skipped:', sorted(skipped))
