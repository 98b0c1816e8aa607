"""The seed's SatCLIP model (ToySatCLIP), assembled from independent libraries: timm's resnet18
with 13 input bands and GeoCLIP's LocationEncoder, plus the seed's small Project head and its
soft-target loss written from the formulas in shared/reference/MODEL_AND_DATA.md.

Used only to produce reference values for satclip-ddp's C++ tests."""
import math

import geoclip
import timm
import torch
from torch import nn


class Resnet(nn.Module):
    def __init__(self, in_chans=13):
        super().__init__()
        self.visual = timm.create_model("resnet18", in_chans=in_chans, num_classes=0, pretrained=False)

    def forward(self, x):
        return self.visual(x)


class LE(nn.Module):
    def __init__(self, pretrained=False):
        super().__init__()
        self.encoder = geoclip.LocationEncoder(from_pretrained=pretrained)

    def forward(self, lat_lon):
        return self.encoder(lat_lon)


class Project(nn.Module):
    def __init__(self, in_dim, dim, dropout):
        super().__init__()
        self.projection_layer = nn.Linear(in_dim, dim)
        self.fc_layer = nn.Linear(dim, dim)
        self.layer_norm = nn.LayerNorm(dim)
        self.gelu_activation = nn.GELU()
        self.dropout_layer = nn.Dropout(dropout)

    def forward(self, x):
        p = self.projection_layer(x)
        h = self.dropout_layer(self.fc_layer(self.gelu_activation(p)))
        return self.layer_norm(h + p)


class SatCLIP(nn.Module):
    def __init__(self, dim=1024, dropout=0.1):
        super().__init__()
        self.image_encoder = Resnet()
        self.location_encoder = LE()
        self.image_projection = Project(512, dim, dropout)
        self.loc_projection = Project(512, dim, dropout)

    def forward(self, images, lat_lon):
        return (self.image_projection(self.image_encoder(images)),
                self.loc_projection(self.location_encoder(lat_lon)))


def seed_step_loss(model, images, lat_lon, frozen):
    """The seed's training objective: both embeddings, then the soft-target loss at temperature 1.
    With `frozen`, the image encoder runs without building a graph (as under requires_grad_(False))."""
    if frozen:
        with torch.no_grad():
            f = model.image_encoder(images)
        img = model.image_projection(f)
    else:
        img = model.image_projection(model.image_encoder(images))
    loc = model.loc_projection(model.location_encoder(lat_lon))
    return soft_clip_loss(img, loc, 1.0)


def soft_clip_loss(img, loc, temperature):
    logits = loc @ img.T / temperature
    targets = torch.softmax((img @ img.T + loc @ loc.T) / 2 * temperature, dim=-1)
    loc_loss = (-targets * torch.log_softmax(logits, dim=-1)).sum(1)
    img_loss = (-targets.T * torch.log_softmax(logits.T, dim=-1)).sum(1)
    return ((img_loss + loc_loss) / 2.0).mean()


def info_nce_loss(img, loc, logit_scale):
    img = torch.nn.functional.normalize(img, dim=1)
    loc = torch.nn.functional.normalize(loc, dim=1)
    logits = logit_scale.exp() * img @ loc.T
    labels = torch.arange(img.shape[0])
    return (torch.nn.functional.cross_entropy(logits, labels) +
            torch.nn.functional.cross_entropy(logits.T, labels)) / 2


def name_hash(name):
    return sum((i + 1) * ord(c) for i, c in enumerate(name)) % 997


def hash_uniform(n, h):
    """n pseudo-random values in [-1, 1) from integer hashing of (index, h): exact on any machine."""
    k = torch.arange(n, dtype=torch.int64)
    x = (k * 1103515245 + h * 12345 + 12345) % 2**32
    x = torch.bitwise_xor(x, x // 65536)
    x = (x * 73244475) % 2**32
    x = torch.bitwise_xor(x, x // 65536)
    return x.to(torch.float64) / 2**31 - 1


@torch.no_grad()
def fill_reference_weights(model):
    """Deterministic weights from each tensor's name (the C++ test computes the same): base =
    hash_uniform(numel, h(name)); >= 2-D: base * sqrt(3 / fan_in); 1-D: weight 1 + 0.1 base,
    bias 0.05 base, running_mean 0.1 base, running_var 1 + 0.5 |base|. LayerNorm weights and
    biases are scaled by 0.03 so that embedding dot products stay O(1): the losses' softmaxes are
    then not saturated and their gradients are well conditioned in float32."""
    for name, t in list(model.state_dict().items()):
        if name.endswith("num_batches_tracked"):
            continue
        base = hash_uniform(t.numel(), name_hash(name)).reshape(t.shape)
        if t.dim() >= 2:
            value = base * math.sqrt(3 / (t.numel() / t.shape[0]))
        elif name.endswith("running_var"):
            value = 1 + 0.5 * base.abs()
        elif name.endswith("running_mean"):
            value = 0.1 * base
        elif name.endswith("bias"):
            value = 0.05 * base
        else:
            value = 1 + 0.1 * base
        if "layer_norm." in name:
            value = 0.03 * value
        t.copy_(value.to(t.dtype))
