"""Reads satclip shards with h5py (an independent HDF5 reader) and checks them against the
reference written by the C++ test `test_pack --write-reference`: pixels, coordinates and names
must be identical, and the schema must be as documented."""
import json
import pathlib
import sys

import h5py
import numpy as np

root = pathlib.Path(sys.argv[1])
manifest = json.loads((root / "out" / "manifest.json").read_text())
assert manifest["format"] == "satclip-s2-shards" and manifest["version"] == 2, manifest
images, lats, lons, fns = [], [], [], []
for shard in manifest["shards"]:
    with h5py.File(root / "out" / shard["file"], "r") as f:
        text = lambda v: v.decode() if isinstance(v, bytes) else str(v)  # fixed-length: bytes
        assert text(f.attrs["format"]) == "satclip-s2-shards"
        assert int(f.attrs["version"]) == 2
        assert f["fn"].dtype.kind == "S", f["fn"].dtype  # format 2: no variable-length strings
        assert text(f.attrs["bands"]).split(",")[:3] == ["B01", "B02", "B03"]
        d = f["images"]
        assert d.dtype == np.uint16 and d.chunks == (1,) + d.shape[1:], (d.dtype, d.chunks)
        assert d.shape[0] == shard["count"]
        images.append(d[...])
        lats.append(f["lat"][...])
        lons.append(f["lon"][...])
        fns += [x.decode() if isinstance(x, bytes) else x for x in f["fn"][...]]
images = np.concatenate(images)
expected = np.fromfile(root / "expected.u16", dtype="<u2").reshape(images.shape)
assert np.array_equal(images, expected), "pixels differ from GDAL's"
meta = [line.split(",") for line in (root / "expected.csv").read_text().splitlines()]
assert fns == [m[0] for m in meta], "file names differ"
assert np.array_equal(np.concatenate(lats), [float(m[1]) for m in meta])
assert np.array_equal(np.concatenate(lons), [float(m[2]) for m in meta])
print(f"h5py: {images.shape[0]} tiles of shape {images.shape[1:]} match GDAL exactly")
