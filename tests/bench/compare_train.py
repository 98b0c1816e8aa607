"""Reads the RESULT lines of bench_train (C++) and bench_train_pytorch.py from files, and prints
the markdown table of the README's performance section: img/s and ms/step per implementation,
configuration and precision, and the ratio of the best C++ figure to the best PyTorch figure per
configuration (the better of fp32 and bf16 on each side). With --end-to-end FILE (RESULT lines
with "impl": "e2e") it adds the end-to-end row against the model-only step of the same settings.

    python compare_train.py RESULTS.txt [--end-to-end E2E.txt] [--gpu "NVIDIA H100 80GB HBM3"]"""
import argparse
import json

p = argparse.ArgumentParser()
p.add_argument("results")
p.add_argument("--end-to-end")
p.add_argument("--gpu", default="")
a = p.parse_args()


def read(path):
    rows = []
    for line in open(path):
        if line.startswith("RESULT "):
            rows.append(json.loads(line[len("RESULT "):]))
    return rows


rows = read(a.results)
print(f"GPU: {a.gpu}" if a.gpu else "")
print("| config | implementation | precision | img/s | ms/step |")
print("| --- | --- | --- | ---: | ---: |")
best = {}
for r in rows:
    config = "seed (frozen ResNet18), batch %d" % r["batch"] if r["frozen"] else "full fine-tuning, batch %d" % r["batch"]
    if r["impl"] == "cpp":
        impl = "satclip-ddp (C++)" + (", CUDA graph" if r.get("cuda_graphs") else ", eager")
    else:
        impl = "PyTorch eager, AdamW " + r.get("optimizer", "")
    print(f"| {config} | {impl} | {r['precision']} | {r['img_per_s']:.0f} | {r['ms_per_step']:.2f} |")
    key = (config, r["impl"])
    best[key] = max(best.get(key, 0.0), r["img_per_s"])
print()
for config in sorted({k[0] for k in best}):
    c, t = best.get((config, "cpp")), best.get((config, "pytorch"))
    if c and t:
        print(f"{config}: best C++ {c:.0f} img/s vs best PyTorch {t:.0f} img/s: {c / t:.2f}x")
if a.end_to_end:
    for r in read(a.end_to_end):
        model_only = [x["img_per_s"] for x in rows if x["impl"] == "cpp" and x["frozen"] == r["frozen"]
                      and x["batch"] == r["batch"] and x["precision"] == r["precision"]
                      and x.get("cuda_graphs") == r.get("cuda_graphs")]
        if model_only:
            print(f"end-to-end from HDF5 shards ({r['precision']}, batch {r['batch']}, workers {r.get('workers')}, prefetch {r.get('prefetch')}, host_sync {r.get('host_sync', 'step')}): "
                  f"{r['img_per_s']:.0f} img/s vs model-only {model_only[0]:.0f} img/s: "
                  f"{r['img_per_s'] / model_only[0]:.2f}x")
