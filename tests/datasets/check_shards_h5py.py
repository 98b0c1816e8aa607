"""Reads satclip shards with h5py (an independent HDF5 reader; zstd through hdf5plugin's filter,
not ours) and checks them against the reference written by write_h5py_reference: pixels,
coordinates and names must be identical, and the schema and filters must be as documented."""
import json
import pathlib
import sys

import h5py
import hdf5plugin  # noqa: F401  (registers the zstd filter, 32015, with h5py's HDF5)
import numpy as np

FILTERS = {"gzip": ["gzip"], "zstd": ["shuffle", "32015"]}  # the pipeline each compression writes


def check(out, compression):
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == "satclip-s2-shards" and manifest["version"] == 2, manifest
    assert manifest["compression"].split(":")[0] == compression, manifest["compression"]
    images, lats, lons, fns = [], [], [], []
    for shard in manifest["shards"]:
        images_, lats_, lons_, fns_ = read_shard(out / shard["file"], shard["count"], compression)
        images.append(images_)
        lats.append(lats_)
        lons.append(lons_)
        fns += fns_
    images = np.concatenate(images)
    expected = np.fromfile(root / "expected.u16", dtype="<u2").reshape(images.shape)
    assert np.array_equal(images, expected), f"{out.name}: pixels differ from GDAL's"
    meta = [line.split(",") for line in (root / "expected.csv").read_text().splitlines()]
    assert fns == [m[0] for m in meta], "file names differ"
    assert np.array_equal(np.concatenate(lats), [float(m[1]) for m in meta])
    assert np.array_equal(np.concatenate(lons), [float(m[2]) for m in meta])
    print(f"h5py: {out.name}: {images.shape[0]} tiles of shape {images.shape[1:]} match GDAL exactly")


def read_shard(path, count, compression):
    with h5py.File(path, "r") as f:
        text = lambda v: v.decode() if isinstance(v, bytes) else str(v)  # fixed-length: bytes
        assert text(f.attrs["format"]) == "satclip-s2-shards"
        assert int(f.attrs["version"]) == 2
        assert f["fn"].dtype.kind == "S", f["fn"].dtype  # format 2: no variable-length strings
        assert text(f.attrs["bands"]).split(",")[:3] == ["B01", "B02", "B03"]
        d = f["images"]
        assert d.dtype == np.uint16 and d.chunks == (1,) + d.shape[1:], (d.dtype, d.chunks)
        assert d.shape[0] == count
        assert list(d._filters) == FILTERS[compression], (path, dict(d._filters))
        names = [x.decode() if isinstance(x, bytes) else x for x in f["fn"][...]]
        return d[...], f["lat"][...], f["lon"][...], names


root = pathlib.Path(sys.argv[1])
for compression in FILTERS:
    check(root / f"out-{compression}", compression)
