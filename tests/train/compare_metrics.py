"""Compares the metrics.jsonl of satclip-ddp runs.

    compare_metrics.py same-loss A B REL   train losses of A and B equal at every step (relative <= REL)
    compare_metrics.py identical A B       every train and val figure equal (timings excluded)
    compare_metrics.py same-val A B REL    the same validations: loss relative <= REL, each accuracy
                                           within one sample (1 / n: a float difference may flip a tie)
    compare_metrics.py top1 A FACTOR       A's last validation top-1 >= FACTOR x chance (1 / n)
    compare_metrics.py gallery A N         A validated N samples against an external gallery:
                                           top-k are misses (the gallery lacks the true
                                           locations), the km accuracies grow with the radius
"""
import json
import math
import sys

TIMINGS = {"img_per_s", "time_s"}


def events(run_dir, kind):
    with open(f"{run_dir}/metrics.jsonl") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [r for r in rows if r["event"] == kind]


def main():
    mode = sys.argv[1]
    if mode == "same-loss":
        a, b, rel = events(sys.argv[2], "train"), events(sys.argv[3], "train"), float(sys.argv[4])
        assert len(a) >= 20 and len(a) == len(b), f"{len(a)} vs {len(b)} train lines (need >= 20)"
        worst = 0.0
        for x, y in zip(a, b):
            assert x["step"] == y["step"], (x, y)
            err = abs(x["loss"] - y["loss"]) / max(abs(y["loss"]), 1e-12)
            worst = max(worst, err)
            print(f"step {x['step']:3d}: {x['loss']:.8f} vs {y['loss']:.8f} (relative {err:.2e})")
        print(f"worst relative difference {worst:.3e} (limit {rel:g})")
        assert worst <= rel
    elif mode == "same-val":
        a, b, rel = events(sys.argv[2], "val"), events(sys.argv[3], "val"), float(sys.argv[4])
        assert a and len(a) == len(b), f"{len(a)} vs {len(b)} validation lines"
        for x, y in zip(a, b):
            assert x["step"] == y["step"] and x["n"] == y["n"], (x, y)
            err = abs(x["loss"] - y["loss"]) / max(abs(y["loss"]), 1e-12)
            print(f"step {x['step']}: val loss {x['loss']:.8f} vs {y['loss']:.8f} (relative {err:.2e})")
            assert err <= rel, f"validation loss differs by {err:.3e} (limit {rel:g})"
            for k in ("top1", "top5", "acc_25km", "acc_200km", "acc_750km", "acc_2500km"):
                print(f"  {k}: {x[k]:.4f} vs {y[k]:.4f}")
                assert abs(x[k] - y[k]) <= 1.0 / x["n"] + 1e-12, f"{k} differs by more than one sample"
    elif mode == "identical":
        for kind in ("train", "val"):
            a, b = events(sys.argv[2], kind), events(sys.argv[3], kind)
            assert len(a) == len(b) and a, f"{kind}: {len(a)} vs {len(b)} lines"
            for x, y in zip(a, b):
                for k in x:
                    if k not in TIMINGS:
                        assert x[k] == y[k], f"{kind} step {x['step']}: {k} {x[k]} != {y[k]}"
        print("identical: every train and val figure matches")
    elif mode == "top1":
        val = events(sys.argv[2], "val")
        assert val, "no validation line"
        last, factor = val[-1], float(sys.argv[3])
        chance = 1.0 / last["n"]
        print(f"top-1 {last['top1']:.4f} vs chance {chance:.4f} over n = {last['n']} ({last['top1'] / chance:.1f}x)")
        assert last["n"] >= 200 and last["top1"] >= factor * chance
    elif mode == "gallery":
        val = events(sys.argv[2], "val")
        assert val, "no validation line"
        last, n = val[-1], int(sys.argv[3])
        acc = [last[f"acc_{km}km"] for km in (25, 200, 750, 2500)]
        print(f"n {last['n']}, top-1 {last['top1']}, top-5 {last['top5']}, within 25/200/750/2500 km {acc}, "
              f"median {last['median_km']} km")
        assert last["n"] == n and last["top1"] == 0 and last["top5"] == 0
        assert acc == sorted(acc) and 0 <= acc[0] and acc[-1] <= 1
        assert 0 < last["median_km"] < 20100  # at most half the Earth's circumference
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
