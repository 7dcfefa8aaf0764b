"""Per-step wall times of two full runs side by side, as a Markdown table.

    python benchmarks/issue23_2026-11-25/step_table.py BEFORE_pipeline.json AFTER_pipeline.json
"""
import json
import sys

before, after = (json.load(open(p)) for p in sys.argv[1:3])
steps = {s["name"]: s["wall_time_s"] for s in before["steps"]}, {s["name"]: s["wall_time_s"] for s in after["steps"]}
print("| step | before | after |\n| --- | --- | --- |")
for name in dict.fromkeys([*steps[0], *steps[1]]):
    cells = [f"{d[name]:.1f}" if d.get(name) is not None else "not in the job" for d in steps]
    print(f"| {name} | {cells[0]} | {cells[1]} |")
total = before["total_wall_time_s"], after["total_wall_time_s"]
print(f"| **runner total** | **{total[0]:.1f}** | **{total[1]:.1f}** ({total[1] / total[0]:.3f}x) |")
