"""satclip-export's state dict loads strictly into the seed's Python SatCLIP.

    export_check.py MODEL.pt DIM   torch.load(MODEL.pt, weights_only=True), then
                                   SatCLIP(dim=DIM).load_state_dict(..., strict=True); every tensor
                                   must be finite and the model must run on a batch
"""
import sys

import torch

from seed_model import SatCLIP

path, dim = sys.argv[1], int(sys.argv[2])
state = torch.load(path, weights_only=True)
model = SatCLIP(dim=dim).eval()
model.load_state_dict(state, strict=True)
bad = [k for k, t in state.items() if t.is_floating_point() and not torch.isfinite(t).all()]
assert not bad, f"non-finite tensors: {bad[:5]}"
with torch.no_grad():
    img, loc = model(torch.rand(2, 13, 32, 32), torch.tensor([[10.0, 20.0], [-30.0, 40.0]]))
assert img.shape == (2, dim) and loc.shape == (2, dim)
print(f"{path}: {len(state)} tensors loaded strictly into the seed SatCLIP(dim={dim})")
