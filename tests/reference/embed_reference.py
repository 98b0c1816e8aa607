"""satclip-embed against the seed's Python model, and hostile weight files.

    embed_reference.py make DIR     writes DIR/seed.pt (torch.save of the seed SatCLIP's state dict,
                                    deterministic weights), DIR/coords.csv (columns in another order
                                    plus an extra one) and DIR/expected_{projection,encoder}.pt:
                                    the Python model's location embeddings at both stages
    embed_reference.py check DIR    compares DIR/out_{projection,encoder}.{csv,h5} with them
    embed_reference.py hostile DIR  writes malformed and hostile .pt files into DIR/hostile/
"""
import collections
import io
import os
import pathlib
import pickle
import sys
import zipfile

import torch

from seed_model import SatCLIP, fill_reference_weights


def make(folder):
    folder.mkdir(parents=True, exist_ok=True)
    model = SatCLIP(dim=256, dropout=0.1).eval()
    fill_reference_weights(model)
    torch.save(model.state_dict(), folder / "seed.pt")
    g = torch.Generator().manual_seed(11)
    lat = torch.rand(40, generator=g, dtype=torch.float64) * 170 - 85
    lon = torch.rand(40, generator=g, dtype=torch.float64) * 360 - 180
    with open(folder / "coords.csv", "w") as f:
        f.write("name,lon,lat\n")
        for i in range(40):
            f.write(f"p{i},{lon[i].item()!r},{lat[i].item()!r}\n")
    lat_lon = torch.stack([lat, lon], 1).float()
    with torch.no_grad():
        encoder = model.location_encoder(lat_lon)
        torch.save({"lat_lon": lat_lon, "embeddings": encoder}, folder / "expected_encoder.pt")
        torch.save({"lat_lon": lat_lon, "embeddings": model.loc_projection(encoder)},
                   folder / "expected_projection.pt")
    print(f"wrote {folder}/seed.pt, coords.csv and the expected embeddings")


def read_output(path):
    if path.suffix == ".csv":
        lines = path.read_text().splitlines()
        header = lines[0].split(",")
        assert header[:2] == ["lat", "lon"] and header[2] == "e0", header[:3]
        rows = torch.tensor([[float(x) for x in line.split(",")] for line in lines[1:]], dtype=torch.float64)
        return rows[:, :2], rows[:, 2:]
    import h5py

    with h5py.File(path, "r") as f:
        assert f["embeddings"].dtype.name == "float32"
        lat_lon = torch.stack([torch.from_numpy(f["lat"][:]), torch.from_numpy(f["lon"][:])], 1)
        return lat_lon, torch.from_numpy(f["embeddings"][:]).double()


def check(folder):
    for stage in ("projection", "encoder"):
        want = torch.load(folder / f"expected_{stage}.pt")
        for ext in ("csv", "h5"):
            lat_lon, emb = read_output(folder / f"out_{stage}.{ext}")
            assert emb.shape == want["embeddings"].shape, (stage, ext, emb.shape)
            assert torch.allclose(lat_lon, want["lat_lon"].double(), atol=1e-5), (stage, ext, "coordinates")
            ref = want["embeddings"].double()
            err = ((emb - ref).norm() / ref.norm()).item()
            # float32 forward through 4 Linear layers of width 1024 (and the head), in two
            # implementations: a few float32 ulps of the norm; 1e-5 leaves a wide margin.
            print(f"{stage} {ext}: relative error {err:.2e} over {emb.shape[0]} x {emb.shape[1]}")
            assert err < 1e-5, (stage, ext, err)
    print("satclip-embed matches the Python seed model at both stages, CSV and HDF5")


class Evil:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class EvalCall:
    def __init__(self, code):
        self.code = code

    def __reduce__(self):
        return (eval, (self.code,))


class StoragePid:
    def __init__(self, key, numel):
        self.key, self.numel = key, numel


class RawTensor:
    """Pickles as torch._utils._rebuild_tensor_v2 with whatever offset, size and stride."""

    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, size, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


class TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, StoragePid):
            return ("storage", torch.FloatStorage, obj.key, "cpu", obj.numel)
        return None


def torch_zip(path, pickle_bytes, records):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pickle_bytes)
        z.writestr("archive/byteorder", "little")
        for name, data in records.items():
            z.writestr(f"archive/data/{name}", data)
        z.writestr("archive/version", "3\n")


def pickled(obj):
    buf = io.BytesIO()
    TorchPickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


def hostile(folder):
    out = folder / "hostile"
    out.mkdir(parents=True, exist_ok=True)
    good = folder / "seed.pt"
    data = good.read_bytes()
    (out / "truncated.pt").write_bytes(data[: len(data) // 2])
    (out / "not_a_zip.pt").write_bytes(b"\x80\x02}q\x00.")
    marker = out / "PWNED"
    torch_zip(out / "os_system.pt", pickled({"w": Evil(f"touch {marker}")}), {})
    four = torch.arange(4, dtype=torch.float32).numpy().tobytes()
    torch_zip(out / "size_exceeds_storage.pt", pickled({"w": RawTensor(StoragePid("0", 4), 0, (100,), (1,))}), {"0": four})
    torch_zip(out / "stride_exceeds_storage.pt", pickled({"w": RawTensor(StoragePid("0", 4), 0, (2, 2), (1000, 1))}), {"0": four})
    torch_zip(out / "offset_exceeds_storage.pt", pickled({"w": RawTensor(StoragePid("0", 4), 1 << 40, (2,), (1,))}), {"0": four})
    torch_zip(out / "negative_size.pt", pickled({"w": RawTensor(StoragePid("0", 4), 0, (-3,), (1,))}), {"0": four})
    torch_zip(out / "numel_exceeds_record.pt", pickled({"w": RawTensor(StoragePid("0", 1 << 50), 0, (4,), (1,))}), {"0": four})
    torch_zip(out / "missing_record.pt", pickled({"w": RawTensor(StoragePid("7", 4), 0, (4,), (1,))}), {})
    torch_zip(out / "stack_underflow.pt", b"\x80\x02\x86.", {})
    torch_zip(out / "reduce_on_empty.pt", b"\x80\x02R.", {})
    torch_zip(out / "bad_memo.pt", b"\x80\x02h\x07.", {})
    torch_zip(out / "pop_mark_missing.pt", b"\x80\x02K\x01t.", {})
    torch_zip(out / "huge_long.pt", b"\x80\x02\x8a\xff" + b"\x01" * 255 + b".", {})
    torch_zip(out / "eval.pt", pickled({"w": EvalCall(f"open('{marker}', 'w')")}), {})
    # A million nested tuples: parsing and freeing must not recurse a million deep.
    torch_zip(out / "deep_nesting.pt", b"\x80\x02" + b"(" * 1_000_000 + b"t" * 1_000_000 + b".", {})
    print(f"wrote {len(list(out.glob('*.pt')))} hostile files into {out}")


if __name__ == "__main__":
    mode, folder = sys.argv[1], pathlib.Path(sys.argv[2])
    {"make": make, "check": check, "hostile": hostile}[mode](folder)
