"""Regenerates tests/reference/fixtures/*.pt from independent implementations:
timm + geoclip (the seed model, see seed_model.py), GeoCLIP's pretrained location encoder, and
scipy's spherical harmonics. Run with the project venv after `pip install -r requirements.txt`:

    .venv/bin/python tests/reference/make_fixtures.py
"""
import math
import pathlib

import geoclip
import numpy as np
import scipy.special
import torch

from seed_model import SatCLIP, fill_reference_weights, info_nce_loss, soft_clip_loss

OUT = pathlib.Path(__file__).parent / "fixtures"
GRAD_PARAMS = [
    "image_encoder.visual.conv1.weight",
    "image_encoder.visual.layer4.1.bn2.weight",
    "image_projection.fc_layer.bias",
    "image_projection.layer_norm.weight",
    "loc_projection.projection_layer.bias",
    "location_encoder.encoder.LocEnc0.capsule.0.b",
    "location_encoder.encoder.LocEnc2.head.0.bias",
]


def save(name, tensors):
    OUT.mkdir(exist_ok=True)
    torch.save({k: v.detach().contiguous() for k, v in tensors.items()}, OUT / name)


def model_fixture():
    torch.manual_seed(0)
    model = SatCLIP(dim=1024, dropout=0.1).eval()  # eval: dropout off, BatchNorm on running stats
    fill_reference_weights(model)
    for p in model.parameters():
        p.requires_grad_(True)  # the RFF matrices too, as the seed trains them
    g = torch.Generator().manual_seed(1)
    images = torch.rand(6, 13, 32, 32, generator=g) * 2 - 0.5
    lat_lon = torch.stack([torch.rand(6, generator=g) * 170 - 85, torch.rand(6, generator=g) * 360 - 180], 1)
    img, loc = model(images, lat_lon)
    out = {"images": images, "lat_lon": lat_lon, "image_embeddings": img, "location_embeddings": loc}
    logit_scale = torch.tensor(math.log(1 / 0.07))
    for tag, loss in [("soft_clip_t1", soft_clip_loss(img, loc, 1.0)),
                      ("soft_clip_t05", soft_clip_loss(img, loc, 0.5)),
                      ("info_nce", info_nce_loss(img, loc, logit_scale))]:
        model.zero_grad()
        loss.backward(retain_graph=True)
        out["loss_" + tag] = loss.reshape(1)
        params = dict(model.named_parameters())
        for name in GRAD_PARAMS:
            out[f"grad_{tag}.{name}"] = params[name].grad.clone()
    save("seed_model.pt", out)


def geoclip_fixture():
    encoder = geoclip.LocationEncoder(from_pretrained=True).eval()
    g = torch.Generator().manual_seed(2)
    lat_lon = torch.stack([torch.rand(100, generator=g) * 180 - 90, torch.rand(100, generator=g) * 360 - 180], 1)
    lat_lon[:4] = torch.tensor([[0.0, 0.0], [90.0, 180.0], [-90.0, -180.0], [47.37, 8.54]])
    with torch.no_grad():
        save("geoclip_pretrained.pt", {"lat_lon": lat_lon, "embeddings": encoder(lat_lon)})


def real_sh(l, m, theta, phi):
    """SatCLIP's real spherical harmonics from scipy's complex ones (Condon-Shortley phase
    included in both): m > 0: sqrt(2) Re Y_l^m, m < 0: sqrt(2) Im Y_l^|m|, m = 0: Y_l^0."""
    if hasattr(scipy.special, "sph_harm_y"):
        y = scipy.special.sph_harm_y(l, abs(m), theta, phi)
    else:
        y = scipy.special.sph_harm(abs(m), l, phi, theta)
    if m > 0:
        return math.sqrt(2) * y.real
    if m < 0:
        return math.sqrt(2) * y.imag
    return y.real


def sh_fixture(L=40):
    rng = np.random.default_rng(3)
    lat = np.concatenate([[89.999, -89.999, 0.0, 45.0], rng.uniform(-90, 90, 46)])
    lon = np.concatenate([[0.0, 179.9, -180.0, 7.5], rng.uniform(-180, 180, 46)])
    phi = np.deg2rad(lon + 180)
    theta = np.deg2rad(lat + 90)
    values = np.stack([real_sh(l, m, theta, phi) for l in range(L) for m in range(-l, l + 1)], 1)
    save("spherical_harmonics.pt", {"lat_lon": torch.tensor(np.stack([lat, lon], 1)),
                                    "values": torch.tensor(values)})


def resnet50_names():
    import timm
    model = timm.create_model("resnet50", in_chans=13, num_classes=0, pretrained=False)
    text = "\n".join(f"{k} {list(v.shape)}" for k, v in model.state_dict().items()) + "\n"
    (OUT / "timm_resnet50_13band_names.txt").write_text(text)


if __name__ == "__main__":
    torch.use_deterministic_algorithms(True)
    model_fixture()
    geoclip_fixture()
    sh_fixture()
    resnet50_names()
    for f in sorted(OUT.iterdir()):
        print(f"{f.name}: {f.stat().st_size} bytes")
