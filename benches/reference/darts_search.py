"""PyTorch reference of one DARTS-space β-DARTS search step (spec §2, §4): the supernet of
`model_search.py` (MixedOp per edge, BN after pools, 14 edges per cell, reductions at L/3 and
2L/3), the α step (Adam on CE + λ·L_beta over both α tensors, mean over their 28 rows) then the
weight step (SGD, global grad-norm clip 5 over the weights only: α are plain tensors there).

    python darts_search.py [--ops darts|beta-darts] [--device cuda:0] [--json]

Written for betadarts from its spec; not copied from any repository.
"""

import common
import darts_ops


def build(torch, C, layers, classes, primitives):
    nn, F = torch.nn, torch.nn.functional
    make, ReLUConvBN, FactorizedReduce, _ = darts_ops.ops(torch)

    class MixedOp(nn.Module):
        def __init__(self, c, stride):
            super().__init__()
            self.ops = nn.ModuleList()
            for name in primitives:
                op = make(name, c, stride, False)
                if "pool" in name:
                    op = nn.Sequential(op, nn.BatchNorm2d(c, affine=False))
                self.ops.append(op)

        def forward(self, x, w):
            return sum(wk * op(x) for wk, op in zip(w, self.ops))

    class Cell(nn.Module):
        def __init__(self, c_pp, c_p, c, reduction, reduction_prev):
            super().__init__()
            self.reduction = reduction
            self.preprocess0 = (FactorizedReduce(c_pp, c, False) if reduction_prev
                                else ReLUConvBN(c_pp, c, 1, 1, 0, False))
            self.preprocess1 = ReLUConvBN(c_p, c, 1, 1, 0, False)
            self.edges = nn.ModuleList(
                MixedOp(c, 2 if reduction and j < 2 else 1) for i in range(4) for j in range(i + 2)
            )

        def forward(self, s0, s1, weights):
            states = [self.preprocess0(s0), self.preprocess1(s1)]
            offset = 0
            for _ in range(4):
                s = sum(self.edges[offset + j](h, weights[offset + j]) for j, h in enumerate(states))
                offset += len(states)
                states.append(s)
            return torch.cat(states[-4:], dim=1)

    class Network(nn.Module):
        def __init__(self):
            super().__init__()
            c_stem = 3 * C
            self.stem_conv = nn.Conv2d(3, c_stem, 3, padding=1, bias=False)
            self.stem_bn = nn.BatchNorm2d(c_stem)
            c_pp, c_p, c = c_stem, c_stem, C
            self.cells = nn.ModuleList()
            reduction_prev = False
            for i in range(layers):
                reduction = i in (layers // 3, 2 * layers // 3)
                if reduction:
                    c *= 2
                self.cells.append(Cell(c_pp, c_p, c, reduction, reduction_prev))
                reduction_prev = reduction
                c_pp, c_p = c_p, 4 * c
            self.classifier = nn.Linear(c_p, classes)

        def forward(self, x, normal, reduce):
            s0 = s1 = self.stem_bn(self.stem_conv(x))
            for cell in self.cells:
                s0, s1 = s1, cell(s0, s1, reduce if cell.reduction else normal)
            return self.classifier(s1.mean((2, 3)))

    return Network()


def main():
    p = common.parser("DARTS-space β-DARTS search step (PyTorch reference)", cells=8)
    p.add_argument("--ops", choices=["darts", "beta-darts"], default="darts",
                   help="darts: the 8 DARTS primitives; beta-darts: 7, without none")
    p.add_argument("--lambda", dest="lam", type=float, default=1.0)
    p.add_argument("--lean", action="store_true",
                   help="no weight gradients in the α step (betadarts' behaviour)")
    args = p.parse_args()
    common.threads_from_env(args)
    torch, device = common.setup(args)
    F = torch.nn.functional
    primitives = darts_ops.PRIMITIVES if args.ops == "darts" else darts_ops.PRIMITIVES[1:]
    net = build(torch, args.channels, args.cells, args.classes, primitives).to(device)
    k = len(primitives)
    alphas = [(1e-3 * torch.randn(14, k, device=device)).requires_grad_() for _ in range(2)]
    opt_w = torch.optim.SGD(net.parameters(), lr=0.025, momentum=0.9, weight_decay=3e-4)
    opt_a = torch.optim.Adam(alphas, lr=3e-4, betas=(0.5, 0.999), weight_decay=1e-3)
    x, y = common.synthetic_batch(torch, args, device)

    def step():
        if args.lean:
            net.requires_grad_(False)
        opt_a.zero_grad()
        logits = net(x, F.softmax(alphas[0], -1), F.softmax(alphas[1], -1))
        reg = torch.logsumexp(torch.stack(alphas), dim=-1).mean()
        (F.cross_entropy(logits, y) + args.lam * reg).backward()
        opt_a.step()
        if args.lean:
            net.requires_grad_(True)
        opt_w.zero_grad()
        normal, reduce = (F.softmax(a, -1).detach() for a in alphas)
        F.cross_entropy(net(x, normal, reduce), y).backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        opt_w.step()

    times = common.time_steps(torch, device, step, args.warmup, args.repeats)
    common.report("darts-search-step", args, times,
                  {"channels": args.channels, "cells": args.cells, "ops": args.ops,
                   "lean": args.lean, "weights": sum(p.numel() for p in net.parameters())})


if __name__ == "__main__":
    main()
