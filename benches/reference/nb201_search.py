"""PyTorch reference of one NAS-Bench-201 β-DARTS search step (spec §2, §3): the α step (Adam on
CE + λ·L_beta over an arch batch) then the weight step (SGD over a weight batch with softmax(α)
as mixing weights, global grad-norm clip 5 with α's gradient included), written per edge as
the reference code is (a MixedOp per edge, `none` as x·0).

    python nb201_search.py [--device cuda:0] [--json]      time steps
    python nb201_search.py --check DIR                        parity with `betadarts bench dump`

Written for betadarts from its spec; module names mirror betadarts' own so that weights dumped
by `betadarts bench dump` load by name.
"""

import json
import math
import sys

import common
import darts_ops

EDGES = [(1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2)]  # α row e = "i<-j", sorted


def build(torch, C, N, classes, in_channels=3):
    nn, F = torch.nn, torch.nn.functional

    _, ReLUConvBN, _, _ = darts_ops.ops(torch)  # the same block as in the DARTS space

    class Edge(nn.Module):
        """MixedOp over [none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3]."""

        def __init__(self, c):
            super().__init__()
            self.conv1x1 = ReLUConvBN(c, c, 1, 1, 0, False)
            self.conv3x3 = ReLUConvBN(c, c, 3, 1, 1, False)
            self.pool = nn.AvgPool2d(3, 1, 1, count_include_pad=False)

        def forward(self, x, w):
            ops = (x.mul(0.0), x, self.conv1x1(x), self.conv3x3(x), self.pool(x))
            return sum(wk * y for wk, y in zip(w, ops))

    class Cell(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.edges = nn.ModuleList(Edge(c) for _ in EDGES)

        def forward(self, x, weights):
            nodes = [x]
            for i in range(1, 4):
                nodes.append(
                    sum(self.edges[EDGES.index((i, j))](nodes[j], weights[EDGES.index((i, j))])
                        for j in range(i))
                )
            return nodes[3]

    class ResBlock(nn.Module):
        def __init__(self, c_in, c_out):
            super().__init__()
            self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1, True)
            self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1, True)
            self.pool = nn.AvgPool2d(2, 2)
            self.shortcut = nn.Conv2d(c_in, c_out, 1, bias=False)

        def forward(self, x):
            return self.shortcut(self.pool(x)) + self.conv_b(self.conv_a(x))

    class Network(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem_conv = nn.Conv2d(in_channels, C, 3, padding=1, bias=False)
            self.stem_bn = nn.BatchNorm2d(C)
            widths = [C, 2 * C, 4 * C]
            self.cells = nn.ModuleList(Cell(c) for c in widths for _ in range(N))
            self.reductions = nn.ModuleList([ResBlock(C, 2 * C), ResBlock(2 * C, 4 * C)])
            self.head_bn = nn.BatchNorm2d(4 * C)
            self.classifier = nn.Linear(4 * C, classes)

        def forward(self, x, weights):
            x = self.stem_bn(self.stem_conv(x))
            for i, cell in enumerate(self.cells):
                if i > 0 and i % N == 0:
                    x = self.reductions[i // N - 1](x)
                x = cell(x, weights)
            x = F.relu(self.head_bn(x))
            return self.classifier(x.mean((2, 3)))

    return Network()


class Search:
    """Network, α and both optimizers, stepped as the reference `train_search.py`."""

    def __init__(self, torch, net, alphas, lean=False):
        self.torch, self.net, self.lean = torch, net, lean
        self.alphas = torch.nn.Parameter(alphas)
        self.opt_w = torch.optim.SGD(net.parameters(), lr=0.025, momentum=0.9, weight_decay=3e-4)
        self.opt_a = torch.optim.Adam([self.alphas], lr=3e-4, betas=(0.5, 0.999), weight_decay=1e-3)

    def arch_loss(self, x, y, lam):
        F = self.torch.nn.functional
        logits = self.net(x, F.softmax(self.alphas, dim=-1))
        ce = F.cross_entropy(logits, y)
        reg = self.torch.logsumexp(self.alphas, dim=-1).mean()
        return ce, reg

    def arch_step(self, x, y, lam):
        # The reference's backward also fills the weights' gradients (they require grad);
        # `lean` turns that off, as betadarts does.
        if self.lean:
            self.net.requires_grad_(False)
        self.opt_a.zero_grad()
        ce, reg = self.arch_loss(x, y, lam)
        (ce + lam * reg).backward()
        grad = self.alphas.grad.detach().clone()
        self.opt_a.step()
        if self.lean:
            self.net.requires_grad_(True)
        return ce, reg, grad

    def weight_step(self, x, y, lr=0.025):
        torch, F = self.torch, self.torch.nn.functional
        for g in self.opt_w.param_groups:
            g["lr"] = lr
        self.opt_w.zero_grad()
        mix = F.softmax(self.alphas, dim=-1).detach().requires_grad_()
        ce = F.cross_entropy(self.net(x, mix), y)
        ce.backward()
        norm = torch.nn.utils.clip_grad_norm_(list(self.net.parameters()) + [mix], 5.0)
        self.opt_w.step()
        return ce, norm


def check(torch, folder):
    """Loads betadarts' weights, α and batch; prints our figures next to betadarts' and exits
    non-zero when they differ beyond the tolerances."""
    meta = json.load(open(f"{folder}/expected.json"))
    net = build(torch, meta["channels"], meta["cells"], meta["classes"], meta["in_channels"])
    tensors = common.load_safetensors(f"{folder}/weights.safetensors")
    alphas = tensors.pop("alphas")
    missing, unexpected = net.load_state_dict(tensors, strict=False)
    missing = [m for m in missing if "running_" not in m and "num_batches" not in m]
    if missing or unexpected:
        sys.exit(f"weights do not match the reference network: missing {missing}, unexpected {unexpected}")
    batch = common.load_safetensors(f"{folder}/batch.safetensors")
    x, y = batch["images"], batch["labels"].long()
    s = Search(torch, net, alphas.clone())
    ce, reg, grad = s.arch_step(x, y, meta["lambda"])
    alphas_after = s.alphas.detach().clone()
    wce, norm = s.weight_step(x, y)
    ours = {
        "arch_ce": ce.item(),
        "arch_reg": reg.item(),
        "alpha_grad": grad.flatten().tolist(),
        "alphas_after": alphas_after.flatten().tolist(),
        "weight_ce": wce.item(),
        "grad_norm": norm.item(),
    }
    print(json.dumps(compare(meta["expected"], ours)))


def compare(theirs, ours):
    """Absolute difference for scalars, max |Δ| / max |reference| for vectors."""
    out = {"ok": True, "fields": {}}
    tol = {"arch_ce": 1e-4, "arch_reg": 1e-5, "alpha_grad": 1e-4, "alphas_after": 1e-5,
           "weight_ce": 1e-4, "grad_norm": 1e-3}
    for k, t in tol.items():
        a, b = theirs[k], ours[k]
        if isinstance(a, list):
            scale = max(abs(v) for v in b) or 1.0
            d = max(abs(u - v) for u, v in zip(a, b)) / scale
            kind = "relative"
        else:
            d = abs(a - b) / (max(1.0, abs(b)) if k == "grad_norm" else 1.0)
            kind = "relative" if k == "grad_norm" else "absolute"
        ok = d <= t and len(a if isinstance(a, list) else [a]) == len(b if isinstance(b, list) else [b])
        out["fields"][k] = {"diff": d, "kind": kind, "tolerance": t, "ok": ok}
        out["ok"] &= ok
    return out


def main():
    p = common.parser("NB201 β-DARTS search step (PyTorch reference)")
    p.add_argument("--lambda", dest="lam", type=float, default=1.0)
    p.add_argument("--lean", action="store_true",
                   help="no weight gradients in the α step (betadarts' behaviour)")
    p.add_argument("--check", metavar="DIR", help="parity check against `betadarts bench dump`")
    args = p.parse_args()
    common.threads_from_env(args)
    torch, device = common.setup(args)
    if args.check:
        check(torch, args.check)
        return
    net = build(torch, args.channels, args.cells, args.classes).to(device)
    alphas = 1e-3 * torch.randn(len(EDGES), 5, device=device)
    s = Search(torch, net, alphas, lean=args.lean)
    xa, ya = common.synthetic_batch(torch, args, device)
    xw, yw = xa.clone(), ya.clone()

    def step():
        s.arch_step(xa, ya, args.lam)
        s.weight_step(xw, yw)

    times = common.time_steps(torch, device, step, args.warmup, args.repeats)
    common.report("nb201-search-step", args, times,
                  {"channels": args.channels, "cells": args.cells, "lean": args.lean,
                   "weights": sum(p.numel() for p in net.parameters())})


if __name__ == "__main__":
    main()
