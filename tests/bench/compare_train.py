"""Reads the RESULT lines of bench_train (C++) and bench_train_pytorch.py from files, and prints
the markdown table of the performance page: img/s and ms/step per implementation, configuration
(image encoder, frozen or not) and precision, and per configuration the ratio of the best C++
figure to the best of each other kind: PyTorch eager, each torch.compile mode, and C++ with
train.deterministic (the better of fp32 and bf16 on each side). With --end-to-end FILE (RESULT lines
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


rows = [r for r in read(a.results) if r["impl"] in ("cpp", "pytorch")]  # not bench_train --encode
print(f"GPU: {a.gpu}" if a.gpu else "")
print("| config | implementation | precision | img/s | ms/step |")
print("| --- | --- | --- | ---: | ---: |")


def config_of(r):
    encoder = r.get("encoder", "resnet18")
    name = "ResNet18" if encoder == "resnet18" else "ViT-S/16" if encoder == "vit_s16" else encoder
    return (f"seed (frozen {name}), batch {r['batch']}" if r["frozen"]
            else f"full fine-tuning ({name}), batch {r['batch']}")


def kind_of(r):
    """cpp, cpp-deterministic, pytorch (eager) or pytorch-compile-<mode>: compared separately."""
    if r["impl"] == "cpp":
        return "cpp-deterministic" if r.get("deterministic") else "cpp"
    mode = r.get("compile", "none")
    return "pytorch" if mode == "none" else "pytorch-compile-" + mode


best = {}
for r in rows:
    config, kind = config_of(r), kind_of(r)
    if r["impl"] == "cpp":
        impl = "satclip-ddp (C++)" + (", CUDA graph" if r.get("cuda_graphs") else ", eager")
        impl += ", train.deterministic" if r.get("deterministic") else ""
    elif kind == "pytorch":
        impl = "PyTorch eager, AdamW " + r.get("optimizer", "")
    else:
        impl = f"PyTorch torch.compile {r['compile']} (compiled in {r.get('compile_s', 0):.0f} s), AdamW {r.get('optimizer', '')}"
    print(f"| {config} | {impl} | {r['precision']} | {r['img_per_s']:.0f} | {r['ms_per_step']:.2f} |")
    key = (config, kind)
    best[key] = max(best.get(key, 0.0), r["img_per_s"])
print()
for config in sorted({k[0] for k in best}):
    c = best.get((config, "cpp"))
    for kind in sorted(k for (cfg, k) in best if cfg == config and k != "cpp"):
        t = best[(config, kind)]
        if c:
            label = {"pytorch": "PyTorch eager", "cpp-deterministic": "C++ with train.deterministic"}.get(
                kind, kind.replace("pytorch-compile-", "torch.compile "))
            print(f"{config}: best C++ {c:.0f} img/s vs best {label} {t:.0f} img/s: {c / t:.2f}x")
if a.end_to_end:
    for r in read(a.end_to_end):
        model_only = [x["img_per_s"] for x in rows if kind_of(x) == "cpp" and x["frozen"] == r["frozen"]
                      and x.get("encoder", "resnet18") == "resnet18"
                      and x["batch"] == r["batch"] and x["precision"] == r["precision"]
                      and x.get("cuda_graphs") == r.get("cuda_graphs")]
        if model_only:
            print(f"end-to-end from HDF5 shards ({r['precision']}, batch {r['batch']}, workers {r.get('workers')}, prefetch {r.get('prefetch')}, host_sync {r.get('host_sync', 'step')}): "
                  f"{r['img_per_s']:.0f} img/s vs model-only {model_only[0]:.0f} img/s: "
                  f"{r['img_per_s'] / model_only[0]:.2f}x")
