#!/usr/bin/env python3
"""Renders a satclip-ddp run's metrics.jsonl to RUN_DIR/metrics.png: training loss, learning rate,
validation loss, and the retrieval accuracies (top-1/top-5, within 25/200/750/2500 km).

    python3 tools/plot_metrics.py RUN_DIR [--out FILE.png]
"""
import argparse
import json
import pathlib
import sys


def load(run_dir):
    path = pathlib.Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        sys.exit(f"plot_metrics: {path} does not exist (is {run_dir} a satclip-ddp run directory?)")
    rows = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as e:
            sys.exit(f"plot_metrics: {path}:{n}: not JSON ({e})")
    return [r for r in rows if r.get("event") == "train"], [r for r in rows if r.get("event") == "val"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir")
    ap.add_argument("--out", help="output PNG (default RUN_DIR/metrics.png)")
    args = ap.parse_args()
    train, val = load(args.run_dir)
    if not train:
        sys.exit("plot_metrics: no training lines in metrics.jsonl yet")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(2, 2, figsize=(11, 7))
    steps = [r["step"] for r in train]
    ax[0][0].plot(steps, [r["loss"] for r in train], label="train")
    if val:
        ax[0][0].plot([r["step"] for r in val], [r["loss"] for r in val], "o-", label="validation")
    ax[0][0].set(title="loss", xlabel="step")
    ax[0][0].legend()
    ax[0][1].plot(steps, [r["lr"] for r in train])
    ax[0][1].set(title="learning rate (projection group)", xlabel="step")
    if val:
        vs = [r["step"] for r in val]
        for key, label in [("top1", "top-1"), ("top5", "top-5")]:
            ax[1][0].plot(vs, [100 * (r[key] or 0) for r in val], "o-", label=label)
        ax[1][0].axhline(100 / val[-1]["n"], color="grey", ls="--", label=f"chance (n={val[-1]['n']})")
        ax[1][0].set(title="image -> location retrieval", xlabel="step", ylabel="%")
        ax[1][0].legend()
        for km in (25, 200, 750, 2500):
            ax[1][1].plot(vs, [100 * r[f"acc_{km}km"] for r in val], "o-", label=f"<= {km} km")
        ax[1][1].set(title="top-1 location within", xlabel="step", ylabel="%")
        ax[1][1].legend()
    fig.suptitle(str(pathlib.Path(args.run_dir).resolve()))
    fig.tight_layout()
    out = args.out or str(pathlib.Path(args.run_dir) / "metrics.png")
    fig.savefig(out, dpi=100)
    print(f"plot_metrics: wrote {out}")


if __name__ == "__main__":
    main()
