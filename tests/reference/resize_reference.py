"""data.crop: resize against torchvision's Resize on tensors (the seed's transforms.Resize).

    resize_reference.py make DIR   for each case (256 -> 224, 64 -> 56, an odd 37 -> 29, an
                                   upsizing 48 -> 64) writes DIR/resize_<from>_<to>.pt holding
                                   "tiles" (int16 [2, 12, H, H], the uint16 values of S2 tiles) and
                                   "expected": the tiles / 10000 (float32), zero B10 at 10, then
                                   torchvision.transforms.functional.resize(..., antialias=True)
"""
import pathlib
import sys

import torch
from torchvision.transforms.functional import resize

CASES = [(256, 224), (64, 56), (37, 29), (48, 64)]


def make(folder):
    folder.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(5)
    for src, dst in CASES:
        tiles = torch.randint(0, 10000, (2, 12, src, src), generator=g, dtype=torch.int16)
        x = tiles.float() / 10000
        x = torch.cat([x[:, :10], torch.zeros(2, 1, src, src), x[:, 10:]], 1)
        expected = resize(x, [dst, dst], antialias=True)
        torch.save({"tiles": tiles, "expected": expected}, folder / f"resize_{src}_{dst}.pt")
        print(f"resize_{src}_{dst}.pt: {tuple(x.shape)} -> {tuple(expected.shape)}")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "make":
        sys.exit(__doc__)
    make(pathlib.Path(sys.argv[2]))
