#!/usr/bin/env python3
"""Builds the NAS-Bench-201 accuracy table that `betadarts --table` reads, from the official
benchmark file, through its own API:

    pip install nats_bench                      # the NATS-Bench API (PyPI)
    python scripts/nb201_table.py ~/.torch/NATS-tss-v1_0-3ffb9-simple -o nb201_accuracies.csv
    python scripts/nb201_table.py NATS-tss-v1_0-3ffb9.pickle.pbz2 -o nb201_accuracies.csv
    python scripts/nb201_table.py NAS-Bench-201-v1_1-096897.pth -o nb201.csv   # pip install nas-bench-201

One row per architecture in the official index order (0 … 15,624): `index, arch` and six
top-1 accuracies in percent, 200-epoch training (`hp="200"`), last epoch, mean over the trained
seeds (`is_random=False`):

    cifar10_valid     cifar10-valid   x-valid   trained on 25k train images, tested on the other 25k
    cifar10_test      cifar10         ori-test  trained on all 50k, tested on the 10k test set
    cifar100_valid    cifar100        x-valid   half (5k) of the CIFAR-100 test set
    cifar100_test     cifar100        x-test    the other half
    imagenet16_valid  ImageNet16-120  x-valid   half (3k) of the 6k ImageNet16-120 validation set
    imagenet16_test   ImageNet16-120  x-test    the other half

(The NB201 paper's convention: CIFAR-10 "valid" comes from the cifar10-valid run, "test" from
the separate cifar10 run; the other two datasets split one evaluation set in halves.)
"""

import argparse
import csv
import os
import sys

# (column, API dataset name, key of get_more_info's answer)
COLUMNS = [
    ("cifar10_valid", "cifar10-valid", "valid-accuracy"),
    ("cifar10_test", "cifar10", "test-accuracy"),
    ("cifar100_valid", "cifar100", "valid-accuracy"),
    ("cifar100_test", "cifar100", "test-accuracy"),
    ("imagenet16_valid", "ImageNet16-120", "valid-accuracy"),
    ("imagenet16_test", "ImageNet16-120", "test-accuracy"),
]


def open_api(path):
    """The benchmark's API: NATS-Bench (topology space) for NATS-tss files and folders,
    `nas_201_api` for the original NAS-Bench-201 `.pth` files."""
    if not os.path.exists(path):
        sys.exit(f"{path}: no such file or folder (the NAS-Bench-201 / NATS-Bench benchmark file)")
    if path.endswith(".pth"):
        try:
            from nas_201_api import NASBench201API
        except ImportError:
            sys.exit("reading a .pth file needs the nas_201_api package: pip install nas-bench-201")
        return NASBench201API(path, verbose=False)
    try:
        from nats_bench import create
    except ImportError:
        sys.exit("this needs the NATS-Bench API: pip install nats_bench")
    # A folder is the "simple" archive (fast mode, one file per architecture).
    return create(path, "tss", fast_mode=os.path.isdir(path), verbose=False)


def rows(api, hp):
    for index in range(len(api)):
        info = {}
        accs = []
        for column, dataset, key in COLUMNS:
            if dataset not in info:
                info[dataset] = api.get_more_info(index, dataset, hp=hp, is_random=False)
            if key not in info[dataset]:
                raise SystemExit(f"architecture {index}: {dataset} has no {key} (hp={hp})")
            accs.append(info[dataset][key])
        yield [index, api.arch(index)] + [f"{a:.6f}" for a in accs]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("benchmark", help="NATS-tss file or folder, or a NAS-Bench-201 .pth file")
    p.add_argument("-o", "--output", required=True, help="CSV to write")
    p.add_argument("--hp", default="200", choices=["12", "200"],
                   help="training schedule of the recorded runs (200: the published numbers)")
    a = p.parse_args(argv)
    if os.path.exists(a.output):
        sys.exit(f"{a.output} exists; choose another -o")
    api = open_api(a.benchmark)
    total = len(api)
    tmp = a.output + ".part"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["index", "arch"] + [c for c, _, _ in COLUMNS])
        for n, row in enumerate(rows(api, a.hp), 1):
            w.writerow(row)
            if n % 500 == 0 or n == total:
                print(f"\r{n}/{total} architectures", end="", file=sys.stderr, flush=True)
    os.replace(tmp, a.output)
    print(f"\nwrote {a.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
