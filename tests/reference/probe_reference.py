"""The air-temperature probe in PyTorch: the reference figures for satclip-eval's C++ probe.

    probe_reference.py STATIONS_CSV OUT_JSON [SEEDS]

The protocol (../shared/reference/data/README.md, SatCLIP's air-temperature example): y = meanT /
max(meanT); a 50/50 split per seed; an MLP D -> 256 -> 64 -> 1 (ReLU) built right after
torch.manual_seed(seed); Adam (lr 1e-3), 3,000 full-batch epochs on the MSE; the score is the
test MSE. The split is the one the C++ probe makes: stations ordered by splitmix64(seed * golden
+ i), the first half trains. Embeddings: the raw coordinates (lat / 90, lon / 180), and GeoCLIP's
pretrained location encoder (the weights in the geoclip pip package, 512-d).
"""
import csv
import json
import sys
import time

import torch

MASK = (1 << 64) - 1


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def split(n, seed):
    order = sorted(range(n), key=lambda i: splitmix64((seed * 0x9E3779B97F4A7C15 + i) & MASK))
    return order[: n // 2], order[n // 2:]


def read_stations(path):
    with open(path) as f:
        rows = [r for r in csv.DictReader(line for line in f if not line.startswith("#"))]
    lat = torch.tensor([float(r["Lat"]) for r in rows], dtype=torch.float64)
    lon = torch.tensor([float(r["Lon"]) for r in rows], dtype=torch.float64)
    t = torch.tensor([float(r["meanT"]) for r in rows], dtype=torch.float64)
    return lat, lon, (t / t.max()).float()


def probe(x, y, seed, epochs=3000):
    train, test = split(len(y), seed)
    torch.manual_seed(seed)
    mlp = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 256), torch.nn.ReLU(), torch.nn.Linear(256, 64),
                              torch.nn.ReLU(), torch.nn.Linear(64, 1))
    opt = torch.optim.Adam(mlp.parameters(), lr=1e-3)
    xt, yt = x[train], y[train].unsqueeze(1)
    for _ in range(epochs):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(mlp(xt), yt)
        loss.backward()
        opt.step()
    with torch.no_grad():
        return torch.nn.functional.mse_loss(mlp(x[test]), y[test].unsqueeze(1)).item()


def main():
    stations, out = sys.argv[1], sys.argv[2]
    seeds = list(range(int(sys.argv[3]) if len(sys.argv) > 3 else 3))
    torch.set_num_threads(max(1, torch.get_num_threads()))
    lat, lon, y = read_stations(stations)
    from geoclip import LocationEncoder
    encoder = LocationEncoder().eval()  # loads the package's pretrained weights
    with torch.no_grad():
        geoclip = encoder(torch.stack([lat, lon], 1).float()).float()
    raw = torch.stack([lat / 90, lon / 180], 1).float()
    result = {"protocol": __doc__.split("\n\n")[2].replace("\n", " "), "stations": len(y), "seeds": seeds}
    for name, x in (("raw", raw), ("geoclip", geoclip)):
        t0 = time.time()
        mse = [probe(x, y, s) for s in seeds]
        result[name] = mse
        print(f"{name}: test MSE {sum(mse) / len(mse):.5f} per seed {[round(m, 6) for m in mse]} ({time.time() - t0:.0f} s)")
    with open(out, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
