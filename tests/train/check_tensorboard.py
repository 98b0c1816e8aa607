"""A run's TensorBoard events, read back by the tensorboard package's own reader, against its
metrics.jsonl.

    check_tensorboard.py RUN_DIR

Every metrics.jsonl field but epoch and step is one scalar "<event>/<key>" at the line's step:
each (tag, step) appears exactly once in the events, with the float32 of the JSON value (null: NaN),
and nothing else appears but the recipe's text at step 0, once. Exit status 1 with the differences.
"""
import json
import math
import pathlib
import struct
import sys

from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
from tensorboard.util import tensor_util


def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def main():
    run = pathlib.Path(sys.argv[1])
    files = sorted((run / "tensorboard").glob("*tfevents*"))
    assert len(files) == 1, f"{run}/tensorboard: {len(files)} event files, expected 1"
    scalars, texts, versions = {}, [], 0
    for event in EventFileLoader(str(files[0])).Load():
        if event.file_version:
            versions += 1
        for v in event.summary.value:
            if v.metadata.plugin_data.plugin_name == "text":
                texts.append((v.tag, event.step, tensor_util.make_ndarray(v.tensor).item().decode()))
            else:
                key = (v.tag, event.step)
                value = v.simple_value if v.HasField("simple_value") else tensor_util.make_ndarray(v.tensor).item()
                scalars.setdefault(key, []).append(value)
    want = {}
    for line in open(run / "metrics.jsonl"):
        j = json.loads(line)
        for k, v in j.items():
            if k not in ("event", "epoch", "step"):
                want[(f"{j['event']}/{k}", j["step"])] = math.nan if v is None else f32(v)
    problems = []
    for key, values in scalars.items():
        if len(values) != 1:
            problems.append(f"{key}: {len(values)} values {values[:3]}")
    for key in sorted(set(want) | set(scalars)):
        got = scalars.get(key, [None])[0]
        w = want.get(key)
        same = got is not None and w is not None and (got == w or (math.isnan(got) and math.isnan(w)))
        if not same:
            problems.append(f"{key}: events {got}, metrics.jsonl {w}")
    if versions != 1:
        problems.append(f"{versions} file_version records")
    if [(t, s) for t, s, _ in texts] != [("recipe", 0)] or "train:" not in texts[0][2]:
        problems.append(f"texts: {[(t, s) for t, s, _ in texts]}")
    for p in problems[:10]:
        print(p)
    steps = sorted({s for _, s in scalars})
    print(f"{run}: {len(scalars)} (tag, step) scalars over steps {steps[0] if steps else '-'}..{steps[-1] if steps else '-'}, "
          f"{len(problems)} problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
