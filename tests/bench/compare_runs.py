"""Compares training runs step by step: two runs of the same recipe from the start, and a run
resumed from a checkpoint of the first. Reads each run directory's metrics.jsonl ("train" events:
loss, and grad_norm where logged) and, where both have it, the newest checkpoint's model.pt.

    python compare_runs.py RUN_A RUN_B [RUN_RESUMED]

Prints one line per comparison: how many common steps have bitwise equal losses, the first step
that differs and the largest relative difference; then how many weight tensors of the last common
checkpoint are bitwise equal. Exit status 0 either way (the caller reads the lines)."""
import json
import sys
from pathlib import Path


def losses(run):
    out = {}
    for line in open(Path(run) / "metrics.jsonl"):
        j = json.loads(line)
        if j.get("event") == "train":
            out[j["step"]] = j["loss"]
    return out


def compare(name, a, b):
    steps = sorted(set(a) & set(b))
    if not steps:
        return f"{name}: no common steps"
    same = [s for s in steps if a[s] == b[s]]
    differ = [s for s in steps if a[s] != b[s]]
    rel = max(abs(a[s] - b[s]) / max(abs(a[s]), 1e-30) for s in steps)
    text = f"{name}: steps {steps[0]}-{steps[-1]}, {len(same)}/{len(steps)} losses bitwise equal"
    if differ:
        text += f", first difference at step {differ[0]}, largest relative difference {rel:.2e}"
    return text


def weights(name, run_a, run_b):
    try:
        import torch
    except ImportError:
        return f"{name}: weights not compared (no torch)"
    def newest(run):
        found = sorted((Path(run) / "checkpoints").glob("step-*/model.pt"))
        return found[-1] if found else None
    pa, pb = newest(run_a), newest(run_b)
    if not pa or not pb or pa.parent.name != pb.parent.name:
        return f"{name}: no common checkpoint to compare"
    try:
        wa = torch.load(pa, map_location="cpu", weights_only=True)
        wb = torch.load(pb, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - reported, not fatal
        return f"{name}: weights not compared ({type(e).__name__}: {e})"
    keys = sorted(set(wa) & set(wb))
    equal = sum(torch.equal(wa[k], wb[k]) for k in keys)
    worst = max((((wa[k].double() - wb[k].double()).abs().max() /
                  wa[k].double().abs().max().clamp_min(1e-30)).item() for k in keys
                 if wa[k].is_floating_point()), default=0.0)
    return (f"{name}: {pa.parent.name} weights {equal}/{len(keys)} tensors bitwise equal"
            + (f", largest relative difference {worst:.2e}" if equal < len(keys) else ""))


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    a, b = losses(sys.argv[1]), losses(sys.argv[2])
    print(compare("two runs", a, b))
    print(weights("two runs", sys.argv[1], sys.argv[2]))
    if len(sys.argv) == 4:
        r = losses(sys.argv[3])
        print(compare("resumed vs uninterrupted", a, r))
        print(weights("resumed vs uninterrupted", sys.argv[1], sys.argv[3]))


if __name__ == "__main__":
    main()
