"""Seed-format state dicts for the satclip-eval tests (torch.save of the seed SatCLIP's state dict,
deterministic weights from seed_model.fill_reference_weights), written into DIR:

    eval_models.py DIR
      geoclip_seed.pt    the location encoder is GeoCLIP's pretrained one (the geoclip pip package)
      lat_only_seed.pt   the same, with the column of every capsule's random Fourier matrix that
                         multiplies the Equal Earth x coordinate set to zero: the location embedding
                         then depends on latitude alone (its map must show horizontal bands only)
      constant_image.pt  the image head ends in a LayerNorm with weight 0 and bias c, so every image
                         embeds to c: geolocalisation then retrieves, for every tile, the gallery
                         location whose embedding has the largest dot product with c

    eval_models.py expect-geoloc DIR SHARDS REPORT
      checks satclip-eval's geolocalisation of constant_image.pt on SHARDS (gallery: the tiles' own
      locations) against the answer computed here with the seed's Python model
"""
import json
import math
import pathlib
import sys

import h5py
import torch

from seed_model import SatCLIP, fill_reference_weights


def base_model():
    model = SatCLIP(dim=64, dropout=0.0).eval()
    fill_reference_weights(model)
    from geoclip import LocationEncoder
    model.location_encoder.encoder.load_state_dict(LocationEncoder(from_pretrained=True).state_dict())
    return model


def constant_image_model():
    model = base_model()
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():
        model.image_projection.layer_norm.weight.zero_()
        model.image_projection.layer_norm.bias.copy_(torch.randn(64, generator=g))
    return model


def make(folder):
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(base_model().state_dict(), folder / "geoclip_seed.pt")
    model = base_model()
    zeroed = 0
    with torch.no_grad():
        for name, p in model.location_encoder.named_parameters():
            if p.dim() == 2 and p.shape[1] == 2:  # a capsule's Fourier matrix b [features, (x, y)]
                p[:, 0] = 0
                zeroed += 1
    assert zeroed == 3, f"{zeroed} Fourier matrices found, expected GeoCLIP's 3"
    torch.save(model.state_dict(), folder / "lat_only_seed.pt")
    torch.save(constant_image_model().state_dict(), folder / "constant_image.pt")


def haversine(a, b):
    (la1, lo1), (la2, lo2) = [(math.radians(x), math.radians(y)) for x, y in (a, b)]
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(h)))


def expect_geoloc(folder, shards, report):
    lat, lon = [], []
    manifest = json.load(open(pathlib.Path(shards) / "manifest.json"))
    for s in manifest["shards"]:
        with h5py.File(pathlib.Path(shards) / s["file"]) as f:
            lat += f["lat"][...].tolist()
            lon += f["lon"][...].tolist()
    model = constant_image_model()
    with torch.no_grad():
        c = model.image_projection.layer_norm.bias
        gallery = model.loc_projection(model.location_encoder(torch.tensor(list(zip(lat, lon)), dtype=torch.float32)))
        best = int((gallery @ c).argmax())
    errors = sorted(haversine((lat[i], lon[i]), (lat[best], lon[best])) for i in range(len(lat)))
    n = len(lat)
    median = (errors[(n - 1) // 2] + errors[n // 2]) / 2
    want = {"top1": 1 / n, "median_km": median,
            "within": [sum(e <= r for e in errors) / n for r in (1, 25, 200, 750, 2500)]}
    got = json.load(open(report))["geolocalisation"]
    print(f"expected (the seed model): top-1 {want['top1']:.4f}, median {median:.1f} km, within {want['within']}")
    print(f"satclip-eval:              top-1 {got['top1']:.4f}, median {got['median_km']:.1f} km, within {got['within']}")
    assert got["queries"] == n
    assert abs(got["top1"] - want["top1"]) < 1e-9
    assert abs(got["median_km"] - median) <= 1e-3 * max(1.0, median)
    assert all(abs(a - b) < 1e-9 for a, b in zip(got["within"], want["within"]))


if __name__ == "__main__":
    if sys.argv[1] == "expect-geoloc":
        expect_geoloc(pathlib.Path(sys.argv[2]), sys.argv[3], sys.argv[4])
    else:
        make(pathlib.Path(sys.argv[1]))
