"""PyTorch networks for betadarts' safetensors exports (`betadarts export RUN -o model.safetensors`).

The file holds a state dict under the module names of the reference PyTorch networks, DARTS'
`NetworkCIFAR` / `NetworkImageNet` (quark0/darts `cnn/model.py`, `operations.py`) and
NAS-Bench-201's `TinyNetwork` (AutoDL-Projects), and in its metadata the genotype (or NB201 arch
string) and the constructor's arguments. This module builds that network and loads the weights:

    import betadarts_torch
    net, meta = betadarts_torch.load("model.safetensors")      # eval mode
    logits = net(images)        # [N, C, S, S], normalised with meta["mean"] / meta["std"]

    python python/betadarts_torch.py model.safetensors           # what it holds
    python python/betadarts_torch.py model.safetensors --input x.f32 --shape 4,3,32,32

The classes below follow the reference modules' names and structure (so the reference's own
classes load these files too). Two choices follow betadarts where the reference is silent or
fails: FactorizedReduce pads odd sides by one zero row and column (the reference only runs even
sides), and the auxiliary heads average their last map (the reference flattens it, which only
works when it is 1×1). Needs `torch` and `safetensors`. Written for betadarts, not copied.
"""

import argparse
import json
import sys

import torch
from torch import nn
import torch.nn.functional as F


# ---- DARTS operations (operations.py names) -------------------------------------------------

class ReLUConvBN(nn.Module):
    def __init__(self, c_in, c_out, k, stride, pad, dilation=1):
        super().__init__()
        self.op = nn.Sequential(nn.ReLU(inplace=False),
                                nn.Conv2d(c_in, c_out, k, stride, pad, dilation, bias=False),
                                nn.BatchNorm2d(c_out))

    def forward(self, x):
        return self.op(x)


def _dil_block(c_in, c_out, k, stride, pad, dilation):
    return [nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_in, k, stride, pad, dilation, groups=c_in, bias=False),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out)]


class DilConv(nn.Module):
    def __init__(self, c_in, c_out, k, stride, pad, dilation):
        super().__init__()
        self.op = nn.Sequential(*_dil_block(c_in, c_out, k, stride, pad, dilation))

    def forward(self, x):
        return self.op(x)


class SepConv(nn.Module):
    def __init__(self, c_in, c_out, k, stride, pad):
        super().__init__()
        self.op = nn.Sequential(*_dil_block(c_in, c_in, k, stride, pad, 1),
                                *_dil_block(c_in, c_out, k, 1, pad, 1))

    def forward(self, x):
        return self.op(x)


class FactorizedReduce(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, 2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, 2, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x):
        x = self.relu(x)
        shifted = x[:, :, 1:, 1:]
        if x.shape[2] % 2 or x.shape[3] % 2:
            shifted = F.pad(shifted, (0, x.shape[3] % 2, 0, x.shape[2] % 2))
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


class Zero(nn.Module):
    def __init__(self, stride):
        super().__init__()
        self.stride = stride

    def forward(self, x):
        return x[:, :, ::self.stride, ::self.stride].mul(0.0)


class Identity(nn.Module):
    def forward(self, x):
        return x


DARTS_OPS = {
    "none": lambda c, s: Zero(s),
    "avg_pool_3x3": lambda c, s: nn.AvgPool2d(3, s, 1, count_include_pad=False),
    "max_pool_3x3": lambda c, s: nn.MaxPool2d(3, s, 1),
    "skip_connect": lambda c, s: Identity() if s == 1 else FactorizedReduce(c, c),
    "sep_conv_3x3": lambda c, s: SepConv(c, c, 3, s, 1),
    "sep_conv_5x5": lambda c, s: SepConv(c, c, 5, s, 2),
    "dil_conv_3x3": lambda c, s: DilConv(c, c, 3, s, 2, 2),
    "dil_conv_5x5": lambda c, s: DilConv(c, c, 5, s, 4, 2),
}


class Cell(nn.Module):
    def __init__(self, genotype, c_pp, c_p, c, reduction, reduction_prev):
        super().__init__()
        self.preprocess0 = FactorizedReduce(c_pp, c) if reduction_prev else ReLUConvBN(c_pp, c, 1, 1, 0)
        self.preprocess1 = ReLUConvBN(c_p, c, 1, 1, 0)
        pairs = genotype["reduce" if reduction else "normal"]
        self._concat = genotype["reduce_concat" if reduction else "normal_concat"]
        self._indices = [i for _, i in pairs]
        self._ops = nn.ModuleList(DARTS_OPS[name](c, 2 if reduction and i < 2 else 1)
                                  for name, i in pairs)
        self.multiplier = len(self._concat)

    def forward(self, s0, s1):
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for n in range(len(self._ops) // 2):
            a, b = 2 * n, 2 * n + 1
            states.append(self._ops[a](states[self._indices[a]]) + self._ops[b](states[self._indices[b]]))
        return torch.cat([states[i] for i in self._concat], dim=1)


class AuxiliaryHead(nn.Module):
    """AuxiliaryHeadCIFAR (pool stride 3, BN after the 2×2 conv) or AuxiliaryHeadImageNet."""

    def __init__(self, c, classes, cifar):
        super().__init__()
        layers = [nn.ReLU(inplace=True), nn.AvgPool2d(5, 3 if cifar else 2, 0, count_include_pad=False),
                  nn.Conv2d(c, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(inplace=True),
                  nn.Conv2d(128, 768, 2, bias=False)]
        layers += [nn.BatchNorm2d(768), nn.ReLU(inplace=True)] if cifar else [nn.ReLU(inplace=True)]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(768, classes)

    def forward(self, x):
        return self.classifier(self.features(x).mean((2, 3)))


class Network(nn.Module):
    """NetworkCIFAR (`imagenet=False`) or NetworkImageNet; forward returns (logits, aux logits)."""

    def __init__(self, c, classes, layers, auxiliary, genotype, imagenet=False, in_channels=3):
        super().__init__()
        if imagenet:
            self.stem0 = nn.Sequential(nn.Conv2d(in_channels, c // 2, 3, 2, 1, bias=False), nn.BatchNorm2d(c // 2),
                                       nn.ReLU(inplace=True), nn.Conv2d(c // 2, c, 3, 2, 1, bias=False),
                                       nn.BatchNorm2d(c))
            self.stem1 = nn.Sequential(nn.ReLU(inplace=True), nn.Conv2d(c, c, 3, 2, 1, bias=False),
                                       nn.BatchNorm2d(c))
            c_pp, c_p, c_cur, reduction_prev = c, c, c, True
        else:
            self.stem = nn.Sequential(nn.Conv2d(in_channels, 3 * c, 3, padding=1, bias=False),
                                      nn.BatchNorm2d(3 * c))
            c_pp, c_p, c_cur, reduction_prev = 3 * c, 3 * c, c, False
        self.imagenet = imagenet
        self.aux_at = 2 * layers // 3
        self.cells = nn.ModuleList()
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                c_cur *= 2
            cell = Cell(genotype, c_pp, c_p, c_cur, reduction, reduction_prev)
            self.cells.append(cell)
            reduction_prev = reduction
            c_pp, c_p = c_p, cell.multiplier * c_cur
            if i == self.aux_at:
                c_aux = c_p
        if auxiliary:
            self.auxiliary_head = AuxiliaryHead(c_aux, classes, cifar=not imagenet)
        self.classifier = nn.Linear(c_p, classes)

    def forward(self, x):
        if self.imagenet:
            s0 = self.stem0(x)
            s1 = self.stem1(s0)
        else:
            s0 = s1 = self.stem(x)
        aux = None
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1)
            if i == self.aux_at and self.training and hasattr(self, "auxiliary_head"):
                aux = self.auxiliary_head(s1)
        return self.classifier(s1.mean((2, 3))), aux


# ---- NAS-Bench-201 (AutoDL-Projects TinyNetwork names) --------------------------------------

NB201_OPS = {
    "none": lambda c: Zero(1),
    "skip_connect": lambda c: Identity(),
    "nor_conv_1x1": lambda c: ReLUConvBN(c, c, 1, 1, 0),
    "nor_conv_3x3": lambda c: ReLUConvBN(c, c, 3, 1, 1),
    "avg_pool_3x3": lambda c: nn.AvgPool2d(3, 1, 1, count_include_pad=False),
}


def parse_arch(arch):
    """`|op~0|+|op~0|op~1|+…` → per node, a list of (op, input node)."""
    nodes = []
    for node in arch.split("+"):
        edges = [e.split("~") for e in node.split("|") if e]
        nodes.append([(op, int(j)) for op, j in edges])
    return nodes


class InferCell(nn.Module):
    def __init__(self, nodes, c):
        super().__init__()
        self.layers = nn.ModuleList()
        self.node_in = []
        for node in nodes:
            self.node_in.append([(len(self.layers) + k, j) for k, (_, j) in enumerate(node)])
            self.layers.extend(NB201_OPS[op](c) for op, _ in node)

    def forward(self, x):
        states = [x]
        for inputs in self.node_in:
            states.append(sum(self.layers[layer](states[j]) for layer, j in inputs))
        return states[-1]


class ResNetBasicblock(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.downsample = nn.Sequential(nn.AvgPool2d(2, 2, 0), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x):
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class TinyNetwork(nn.Module):
    def __init__(self, c, n, arch, classes, in_channels=3):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        nodes = parse_arch(arch)
        self.cells = nn.ModuleList()
        c_prev = c
        for stage, width in enumerate((c, 2 * c, 4 * c)):
            if stage > 0:
                self.cells.append(ResNetBasicblock(c_prev, width))
            self.cells.extend(InferCell(nodes, width) for _ in range(n))
            c_prev = width
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=True))
        self.classifier = nn.Linear(c_prev, classes)

    def forward(self, x):
        x = self.stem(x)
        for cell in self.cells:
            x = cell(x)
        return self.classifier(self.lastact(x).mean((2, 3)))


# ---- loading --------------------------------------------------------------------------------

def build(meta):
    """The network a file's metadata describes (untrained)."""
    classes = len(json.loads(meta["class_names"]))
    c, layers, in_ch = int(meta["channels"]), int(meta["layers"]), int(meta["input_channels"])
    kind = meta["network"]
    if kind == "nb201":
        return TinyNetwork(c, layers, meta["arch"], classes, in_ch)
    if kind in ("cifar", "imagenet"):
        return Network(c, classes, layers, meta.get("auxiliary") == "true", json.loads(meta["genotype"]),
                       imagenet=kind == "imagenet", in_channels=in_ch)
    raise ValueError(f"unknown network {kind!r} in the file's metadata")


def load(path, device="cpu"):
    """(network in eval mode with the file's weights, the file's metadata)."""
    from safetensors import safe_open
    from safetensors.torch import load_file
    with safe_open(path, framework="pt") as f:
        meta = f.metadata() or {}
    if "network" not in meta:
        raise ValueError(f"{path}: no betadarts metadata (written by `betadarts export --format safetensors`?)")
    net = build(meta)
    net.load_state_dict(load_file(path, device=str(device)), strict=True)
    return net.to(device).eval(), meta


def main():
    p = argparse.ArgumentParser(description="Load a betadarts safetensors export into PyTorch.")
    p.add_argument("model")
    p.add_argument("--input", help="raw little-endian float32 inputs, already normalised")
    p.add_argument("--shape", help="their shape N,C,S,S")
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    net, meta = load(a.model, a.device)
    if a.input is None:
        params = sum(t.numel() for t in net.parameters())
        print(json.dumps({"network": meta["network"], "parameters": params,
                          "classes": len(json.loads(meta["class_names"]))}))
        return
    import numpy as np
    shape = [int(d) for d in a.shape.split(",")]
    x = torch.from_numpy(np.fromfile(a.input, dtype="<f4").reshape(shape)).to(a.device)
    with torch.no_grad():
        out = net(x)
    logits = out[0] if isinstance(out, tuple) else out
    json.dump({"logits": logits.cpu().double().tolist()}, sys.stdout)


if __name__ == "__main__":
    main()
