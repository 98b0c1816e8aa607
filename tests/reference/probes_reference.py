"""The ridge and kNN probes (core/eval/classic_probes.h) and the spatial folds
(core/eval/splits.h) against scikit-learn.

    probes_reference.py make FILE   writes FILE: features x [N, D] (float64), a regression target
                                    (float64) and class labels (int64), lat/lon, the spatial folds
                                    of 3 seeds computed here from the spec in splits.h, and for each
                                    fold, task and probe what sklearn's GridSearchCV(Ridge |
                                    RidgeClassifier | KNeighbors*, cv=KFold(5)) chose and predicted,
                                    with sklearn's metrics; and the benchmark's MLP probe
                                    (core/eval/probe.h MlpOptions) in PyTorch on one fold
"""
import math
import pathlib
import sys

import torch
from sklearn.linear_model import Ridge, RidgeClassifier
from sklearn.metrics import accuracy_score, f1_score, mean_squared_error, r2_score
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

from probe_reference import MASK as M64, splitmix64  # the same hash as the MLP probe's split

ALPHAS = [1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1000.0]
NEIGHBOURS = [1, 3, 5, 10, 20, 50]


def spatial_folds(lat, lon, b, k, seed):
    cols, rows = math.ceil(360 / b), math.ceil(180 / b)
    block = [min(max(math.floor((la + 90) / b), 0), rows - 1) * cols + min(max(math.floor((lo + 180) / b), 0), cols - 1)
             for la, lo in zip(lat, lon)]
    order = sorted((splitmix64((seed * 0x9E3779B97F4A7C15 + bl) & M64), bl) for bl in set(block))
    fold_of = {bl: j % k for j, (_, bl) in enumerate(order)}
    return [([i for i in range(len(lat)) if fold_of[block[i]] != f], [i for i in range(len(lat)) if fold_of[block[i]] == f])
            for f in range(k)]


def epoch_order(m, seed, epoch):
    return sorted(range(m), key=lambda j: (splitmix64((seed * 0x9E3779B97F4A7C15 + epoch * m + j) & M64), j))


def mlp(x, y, train, test, classes, seed, epochs, batch, lr):
    """The benchmark's MLP probe: D -> 256 -> 64 -> out, mini-batches in epoch_order, Adam with a
    cosine-decayed learning rate; the test predictions (float64, or int64 labels)."""
    x = x.float()
    xt = x[train]
    yt = y[train].float().unsqueeze(1) if classes == 0 else y[train]
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 256), torch.nn.ReLU(), torch.nn.Linear(256, 64),
                              torch.nn.ReLU(), torch.nn.Linear(64, max(classes, 1)))
    opt = torch.optim.Adam(net.parameters(), lr=lr, foreach=False)
    m = len(train)
    total = epochs * ((m + batch - 1) // batch)
    step = 0
    for e in range(epochs):
        order = torch.tensor(epoch_order(m, seed, e))
        for b in range(0, m, batch):
            rows = order[b:b + batch]
            for group in opt.param_groups:
                group["lr"] = lr * (1 + math.cos(math.pi * step / total)) / 2
            opt.zero_grad()
            out = net(xt[rows])
            loss = torch.nn.functional.mse_loss(out, yt[rows]) if classes == 0 else torch.nn.functional.cross_entropy(out, yt[rows])
            loss.backward()
            opt.step()
            step += 1
    with torch.no_grad():
        out = net(x[test])
    return out.squeeze(1).double() if classes == 0 else out.argmax(1)


def make(path):
    g = torch.Generator().manual_seed(3)
    n, d = 300, 6
    lat = (torch.rand(n, generator=g, dtype=torch.float64) * 160 - 80).tolist()
    lon = (torch.rand(n, generator=g, dtype=torch.float64) * 360 - 180).tolist()
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y_reg = x[:, 0] * 2 - x[:, 1] ** 2 + 0.3 * torch.randn(n, generator=g, dtype=torch.float64)
    y_cls = torch.bucketize(x[:, 0] + 0.5 * x[:, 2], torch.tensor([-0.8, 0.0, 0.8], dtype=torch.float64))
    out = {"x": x, "y_reg": y_reg, "y_cls": y_cls, "lat": torch.tensor(lat, dtype=torch.float64), "lon": torch.tensor(lon, dtype=torch.float64)}
    for seed in range(3):
        for f, (train, test) in enumerate(spatial_folds(lat, lon, 20.0, 4, seed)):
            key = f"s{seed}f{f}"
            out[key + "_train"], out[key + "_test"] = torch.tensor(train), torch.tensor(test)
            xt, xs = x[train].numpy(), x[test].numpy()
            for task, y, models in (("reg", y_reg, (Ridge(), KNeighborsRegressor())),
                                    ("cls", y_cls, (RidgeClassifier(), KNeighborsClassifier()))):
                yt, ys = y[train].numpy(), y[test].numpy()
                for name, model, grid in (("ridge", models[0], {"alpha": ALPHAS}),
                                          ("knn", models[1], {"n_neighbors": [k for k in NEIGHBOURS if k <= len(train) - math.ceil(len(train) / 5)]})):
                    score = "neg_mean_squared_error" if task == "reg" else "accuracy"
                    search = GridSearchCV(model, grid, cv=KFold(5), scoring=score).fit(xt, yt)
                    pred = search.predict(xs)
                    p = f"{key}_{task}_{name}"
                    out[p + "_chosen"] = torch.tensor(float(list(search.best_params_.values())[0]), dtype=torch.float64)
                    out[p + "_pred"] = torch.tensor(pred)
                    if task == "reg":
                        out[p + "_mse"] = torch.tensor(mean_squared_error(ys, pred), dtype=torch.float64)
                        out[p + "_r2"] = torch.tensor(r2_score(ys, pred), dtype=torch.float64)
                    else:
                        out[p + "_acc"] = torch.tensor(accuracy_score(ys, pred), dtype=torch.float64)
                        out[p + "_f1"] = torch.tensor(f1_score(ys, pred, average="macro"), dtype=torch.float64)
    train, test = out["s0f0_train"].tolist(), out["s0f0_test"].tolist()
    out["mlp_reg_pred"] = mlp(x, y_reg, train, test, 0, 5, epochs=4, batch=64, lr=3e-3)
    out["mlp_cls_pred"] = mlp(x, y_cls, train, test, 4, 5, epochs=4, batch=64, lr=3e-3)
    out["epoch_order_10_s3_e2"] = torch.tensor(epoch_order(10, 3, 2))
    torch.save(out, path)
    print(f"{path}: {len(out)} entries")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "make":
        sys.exit(__doc__)
    make(pathlib.Path(sys.argv[2]))
