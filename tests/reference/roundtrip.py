"""State-dict round trip Python -> C++ -> Python for the seed model.

    roundtrip.py save DIR    writes DIR/satclip.pt: the seed SatCLIP (timm + geoclip) state dict,
                             saved as PyTorch does (an OrderedDict), with random weights
    roundtrip.py check DIR   loads DIR/exported.pt (written by the C++ side) into a fresh seed
                             SatCLIP with load_state_dict(strict=True) and checks that every
                             tensor equals DIR/satclip.pt exactly
"""
import pathlib
import sys

import torch

from seed_model import SatCLIP

mode, folder = sys.argv[1], pathlib.Path(sys.argv[2])
if mode == "save":
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(5)
    model = SatCLIP()
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if t.is_floating_point():
                t.copy_(torch.randn_like(t))
    torch.save(model.state_dict(), folder / "satclip.pt")
    print(f"saved {len(model.state_dict())} tensors")
else:
    original = torch.load(folder / "satclip.pt", weights_only=True)
    exported = torch.load(folder / "exported.pt", weights_only=True)
    model = SatCLIP()
    model.load_state_dict(exported, strict=True)
    reloaded = model.state_dict()
    assert list(reloaded) == list(original), "names differ"
    for name, t in original.items():
        assert reloaded[name].dtype == t.dtype, (name, reloaded[name].dtype, t.dtype)
        assert torch.equal(reloaded[name], t), f"{name} differs"
    print(f"round trip: {len(original)} tensors identical after Python -> C++ -> Python")
