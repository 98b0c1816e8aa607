"""Checks of satclip-eval's outputs.

    check_report.py probe REPORT REFERENCE_JSON TOL
        each seed's test MSE of the embedding and of the raw coordinates within TOL (relative) of
        the PyTorch reference (tests/reference/probe_reference.py, the same splits and seeds)
    check_report.py bands MAP.PNG        every pixel row is one colour (graticule lines aside), and
                                         the rows are not all alike: horizontal bands only
    check_report.py not-bands MAP.PNG    some pixel row holds several colours (the control)
    check_report.py coastline MAP.PNG [BBOX]
                                         black outlines near the capes inside BBOX
                                         (lon0,lat0,lon1,lat1; default the globe), none in
                                         mid-ocean, under a title band
    check_report.py predictions PNG PANELS
                                         PANELS titled panels, one below the other; each shows
                                         hundreds of coloured station dots over grey
    check_report.py results REPORT ENCODERS TASKS PROBES SPLITS SEEDS
                                         report.json's "results": one row per encoder, task, probe,
                                         split and metric of the task's kind (mse and r2, or
                                         accuracy and macro_f1), mean and std of SEEDS values each;
                                         the lists are comma-separated
"""
import json
import sys

import numpy as np
from matplotlib import image as mpimg

GREY = np.array([128, 128, 128])
BLACK = np.array([0, 0, 0])  # coastlines and borders


def read(path):
    return np.rint(mpimg.imread(path)[..., :3] * 255).astype(int)  # PNG -> floats in [0, 1]


def title_bands(img):
    """(start, end) rows of each title band: rows of white and black (text) pixels only."""
    plain = ((img == 255).all(axis=2) | (img == 0).all(axis=2)).all(axis=1)
    bands, start = [], None
    for y, p in enumerate(list(plain) + [False]):
        if p and start is None:
            start = y
        elif not p and start is not None:
            if y - start >= 8:
                bands.append((start, y))
            start = None
    return bands


def without_title(img):
    bands = title_bands(img)
    assert bands and bands[0][0] == 0, "the map has no title band"
    return img[bands[0][1]:]


def rows_of(path):
    img = without_title(read(path))
    rows = []
    for row in img:
        colours = {tuple(p) for p in row if not (p == GREY).all() and not (p == BLACK).all()}
        if colours:
            rows.append(colours)
    return img, rows


def check_coastline(path, bbox=(-180, -90, 180, 90)):
    """Black outlines where Natural Earth has coasts: near the capes in view, not in mid-ocean."""
    img = without_title(read(path))
    h, w = img.shape[:2]
    lon0, lat0, lon1, lat1 = bbox
    black = (img == 0).all(axis=2)
    def near(lat, lon, r):
        y, x = int((lat1 - lat) / (lat1 - lat0) * h), int((lon - lon0) / (lon1 - lon0) * w)
        return black[max(0, y - r):y + r + 1, max(0, x - r):x + r + 1].any()
    inside = lambda lat, lon: lon0 <= lon <= lon1 and lat0 <= lat <= lat1
    capes = [c for c in (("Cape of Good Hope", -34.36, 18.47), ("Cape Horn", -55.98, -67.27),
                         ("Cape Farewell", 59.78, -43.92), ("Cabo da Roca", 38.78, -9.50),
                         ("North Cape", 71.17, 25.78)) if inside(*c[1:])]
    assert capes, "no known cape inside the box"
    for name, lat, lon in capes:
        assert near(lat, lon, max(2, w // 360)), f"no outline near {name}"
    for lat, lon in ((0, -30), (-40, 90), (30, -150), (46, -20)):
        assert not inside(lat, lon) or not near(lat, lon, 2), f"an outline in the open sea at {lat}, {lon}"
    share = black.mean()
    assert 0.002 < share < 0.2, f"{share:.4f} of the pixels are outlines"
    print(f"{path}: outlines on {100 * share:.2f} % of the pixels, at the capes, not at sea")


def check_predictions(path, panels):
    img = read(path)
    bands = title_bands(img)
    assert len(bands) == panels, f"{len(bands)} title bands, expected {panels}"
    for k, (_, top) in enumerate(bands):
        bottom = bands[k + 1][0] if k + 1 < len(bands) else img.shape[0]
        panel = img[top:bottom]
        grey = (panel[..., 0] == panel[..., 1]) & (panel[..., 1] == panel[..., 2])
        dots = (~grey).sum() // 9
        assert dots >= 300, f"panel {k}: {dots} coloured dots"
        assert (panel == 150).all(axis=2).any(), f"panel {k}: no outlines"
    print(f"{path}: {panels} panels with station dots and outlines")


def check_results(report, encoders, tasks, probes, splits, seeds):
    rows = json.load(open(report))["results"]
    metrics = {"air_temperature": ["mse", "r2"], "precipitation": ["mse", "r2"], "countries": ["accuracy", "macro_f1"],
               "land_sea": ["accuracy", "macro_f1"]}
    want = {(e, t, p, s, m) for e in encoders for t in tasks for p in probes for s in splits
            for m in metrics.get(t, ["accuracy", "macro_f1", "mse", "r2"])}
    got = {(r["encoder"], r["task"], r["probe"], r["split"], r["metric"]) for r in rows}
    assert want <= got | {w for w in want if w[1] not in metrics}, f"missing rows: {sorted(want - got)[:5]}"
    for r in rows:
        v = r["values"]
        assert len(v) == seeds, r
        mean = sum(v) / len(v)
        assert abs(r["mean"] - mean) <= 1e-6 * max(1.0, abs(mean)), r
        if r["metric"] in ("accuracy", "macro_f1"):
            assert all(0 <= x <= 1 for x in v), r
    print(f"{report}: {len(rows)} result rows, each with {seeds} values")


def main():
    mode = sys.argv[1]
    if mode == "coastline":
        check_coastline(sys.argv[2], *([tuple(map(float, sys.argv[3].split(",")))] if len(sys.argv) > 3 else []))
        return
    if mode == "predictions":
        check_predictions(sys.argv[2], int(sys.argv[3]))
        return
    if mode == "results":
        split = lambda s: s.split(",")
        check_results(sys.argv[2], *map(split, sys.argv[3:7]), int(sys.argv[7]))
        return
    if mode == "probe":
        got = json.load(open(sys.argv[2]))["probe"]
        ref = json.load(open(sys.argv[3]))
        tol = float(sys.argv[4])
        for key, ref_key in (("embedding", "geoclip"), ("raw_coordinates", "raw")):
            mine, theirs = got[key]["test_mse"], ref[ref_key][: len(got[key]["test_mse"])]
            for seed, (a, b) in enumerate(zip(mine, theirs)):
                rel = abs(a - b) / b
                print(f"{key} seed {seed}: C++ {a:.6f}, PyTorch {b:.6f} (relative {rel:.1e}, limit {tol})")
                assert rel <= tol, f"{key} seed {seed} differs by {rel:.3f}"
            print(f"{key}: {got[key]['mean']:.4f} +- {got[key]['std']:.4f}")
    elif mode in ("bands", "not-bands"):
        img, rows = rows_of(sys.argv[2])
        mixed = sum(len(r) > 1 for r in rows)
        distinct = len({min(r) for r in rows})
        print(f"{img.shape[1]} x {img.shape[0]} px: {mixed} of {len(rows)} rows hold several colours, "
              f"{distinct} distinct row colours")
        if mode == "bands":
            assert mixed == 0 and distinct >= 10
        else:
            assert mixed > len(rows) // 2
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
