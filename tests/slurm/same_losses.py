"""Usage: same_losses.py REF_RUN RUN [REL]: every train loss of RUN equals REF_RUN's at the same step
(exactly, or within relative REL), and both runs logged the same steps. Exit 1 otherwise."""
import json
import sys


def losses(run):
    with open(run + "/metrics.jsonl") as f:
        return {j["step"]: j["loss"] for j in map(json.loads, f) if j.get("event") == "train"}


ref, run = losses(sys.argv[1]), losses(sys.argv[2])
rel = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
worst = max((abs(run[s] - v) / abs(v) for s, v in ref.items() if s in run and v), default=0.0)
same = sum(s in run and abs(run[s] - v) <= rel * abs(v) for s, v in ref.items())
print(f"{same} of {len(ref)} train losses equal the reference's (largest relative difference {worst:.2e}, limit {rel:g})")
sys.exit(0 if same == len(ref) == len(run) else 1)
