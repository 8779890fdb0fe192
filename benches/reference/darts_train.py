"""PyTorch reference of one retraining step of a DARTS-space genotype (spec §5.1): the CIFAR
network of `model.py` (C=36, 20 cells, auxiliary head after the second reduction cell,
drop-path on every non-identity op output), loss CE + 0.4·CE(aux), global grad-norm clip 5,
SGD 0.025 with momentum 0.9 and weight decay 3e-4.

    python darts_train.py [--genotype FILE.json] [--device cuda:0] [--json]

Written for betadarts from its spec; not copied from any repository.
"""

import json
import os

import common
import darts_ops

HERE = os.path.dirname(os.path.abspath(__file__))
# Beside this script (where `bench compare` writes it), else in the repository.
DEFAULT_GENOTYPE = os.path.join(HERE, "DARTS_V2.json")
if not os.path.exists(DEFAULT_GENOTYPE):
    DEFAULT_GENOTYPE = os.path.join(HERE, "..", "..", "models", "genotypes", "DARTS_V2.json")


def build(torch, genotype, C, layers, classes):
    nn, F = torch.nn, torch.nn.functional
    make, ReLUConvBN, FactorizedReduce, Identity = darts_ops.ops(torch)

    def drop_path(x, p):
        keep = 1.0 - p
        mask = torch.empty(x.size(0), 1, 1, 1, device=x.device).bernoulli_(keep)
        return x / keep * mask

    class Cell(nn.Module):
        def __init__(self, c_pp, c_p, c, reduction, reduction_prev):
            super().__init__()
            self.reduction = reduction
            self.preprocess0 = (FactorizedReduce(c_pp, c, True) if reduction_prev
                                else ReLUConvBN(c_pp, c, 1, 1, 0, True))
            self.preprocess1 = ReLUConvBN(c_p, c, 1, 1, 0, True)
            pairs = genotype["reduce" if reduction else "normal"]
            self.concat = genotype["reduce_concat" if reduction else "normal_concat"]
            self.inputs = [i for _, i in pairs]
            self.ops = nn.ModuleList(
                make(name, c, 2 if reduction and i < 2 else 1, True) for name, i in pairs
            )

        def forward(self, s0, s1, drop_prob):
            states = [self.preprocess0(s0), self.preprocess1(s1)]
            for n in range(len(self.ops) // 2):
                node = 0
                for op, i in zip(self.ops[2 * n:2 * n + 2], self.inputs[2 * n:2 * n + 2]):
                    h = op(states[i])
                    if self.training and drop_prob > 0 and not isinstance(op, Identity):
                        h = drop_path(h, drop_prob)
                    node = node + h
                states.append(node)
            return torch.cat([states[i] for i in self.concat], dim=1)

    class AuxHead(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.features = nn.Sequential(
                nn.ReLU(), nn.AvgPool2d(5, 3, 0, count_include_pad=False),
                nn.Conv2d(c, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(),
                nn.Conv2d(128, 768, 2, bias=False), nn.BatchNorm2d(768), nn.ReLU())
            self.classifier = nn.Linear(768, classes)

        def forward(self, x):
            return self.classifier(self.features(x).flatten(1))

    class Network(nn.Module):
        def __init__(self):
            super().__init__()
            c_stem = 3 * C
            self.stem = nn.Sequential(nn.Conv2d(3, c_stem, 3, padding=1, bias=False),
                                      nn.BatchNorm2d(c_stem))
            c_pp, c_p, c = c_stem, c_stem, C
            self.cells = nn.ModuleList()
            reduction_prev = False
            self.aux_at = 2 * layers // 3
            for i in range(layers):
                reduction = i in (layers // 3, 2 * layers // 3)
                if reduction:
                    c *= 2
                cell = Cell(c_pp, c_p, c, reduction, reduction_prev)
                self.cells.append(cell)
                reduction_prev = reduction
                c_pp, c_p = c_p, len(cell.concat) * c
                if i == self.aux_at:
                    c_aux = c_p
            self.aux = AuxHead(c_aux)
            self.classifier = nn.Linear(c_p, classes)

        def forward(self, x, drop_prob):
            s0 = s1 = self.stem(x)
            aux = None
            for i, cell in enumerate(self.cells):
                s0, s1 = s1, cell(s0, s1, drop_prob)
                if i == self.aux_at and self.training:
                    aux = self.aux(s1)
            return self.classifier(s1.mean((2, 3))), aux

    return Network()


def main():
    p = common.parser("DARTS-space retraining step (PyTorch reference)", batch_size=96,
                      channels=36, cells=20)
    p.add_argument("--genotype", default=DEFAULT_GENOTYPE, help="genotype JSON (betadarts' format)")
    p.add_argument("--drop-path", type=float, default=0.2)
    args = p.parse_args()
    common.threads_from_env(args)
    torch, device = common.setup(args)
    F = torch.nn.functional
    genotype = json.load(open(args.genotype))
    net = build(torch, genotype, args.channels, args.cells, args.classes).to(device).train()
    opt = torch.optim.SGD(net.parameters(), lr=0.025, momentum=0.9, weight_decay=3e-4)
    x, y = common.synthetic_batch(torch, args, device)

    def step():
        opt.zero_grad()
        logits, aux = net(x, args.drop_path)
        loss = F.cross_entropy(logits, y) + 0.4 * F.cross_entropy(aux, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        opt.step()

    times = common.time_steps(torch, device, step, args.warmup, args.repeats)
    weights = sum(p.numel() for n, p in net.named_parameters() if not n.startswith("aux."))
    common.report("darts-train-step", args, times,
                  {"channels": args.channels, "cells": args.cells,
                   "genotype": os.path.basename(args.genotype), "weights": weights})


if __name__ == "__main__":
    main()
