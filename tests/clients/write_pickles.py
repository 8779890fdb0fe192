"""Writes tiny datasets in the layouts users download, from the same random images, with
Python's own pickle and numpy: CIFAR-10 and CIFAR-100 in both the binary and the python
("torchvision") versions, and ImageNet16 pickles with what their 120-class subset must read as.

    python write_pickles.py OUT_DIR
    python write_pickles.py --seeds DIR     # small batches for the fuzz corpus

The python-version batches vary on purpose: one assembled as Python 2's cPickle writes it
(checked here against Python's own unpickler first), then protocols 2, 3, 4 and 5, labels as a
list of ints, of numpy ints, or an int64 array.
"""

import json
import os
import pickle
import struct
import sys

import numpy as np

OUT = sys.argv[-1]
rng = np.random.default_rng(7)


def py2_pickle(d):
    """A dict of str -> (uint8 2-D array | list of ints | str) as Python 2's cPickle protocol 2."""
    def s(b):  # py2 str: SHORT_BINSTRING or BINSTRING
        return (b"U" + bytes([len(b)]) if len(b) < 256 else b"T" + struct.pack("<I", len(b))) + b

    out = [b"\x80\x02}("]
    for key, v in d.items():
        out.append(s(key.encode()))
        if isinstance(v, np.ndarray):
            out.append(b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85" + s(b"b")
                       + b"\x87R(K\x01" + b"".join(b"J" + struct.pack("<i", n) for n in v.shape)
                       + bytes([0x84 + v.ndim]) + b"cnumpy\ndtype\n" + s(b"u1")
                       + b"K\x00K\x01\x87R(K\x03" + s(b"|")
                       + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89" + s(v.tobytes()) + b"tb")
        elif isinstance(v, list):
            out.append(b"](" + b"".join(b"J" + struct.pack("<i", x) for x in v) + b"e")
        else:
            out.append(s(v.encode()))
    out.append(b"u.")
    blob = b"".join(out)
    back = pickle.loads(blob, encoding="bytes")
    for key, v in d.items():
        got = back[key.encode()]
        same = np.array_equal(got, v) if isinstance(v, np.ndarray) else got == (
            v if isinstance(v, list) else v.encode())
        assert same, f"py2 assembly of {key} does not round-trip"
    return blob


def write_pickle(path, d, style):
    if style == "py2":
        blob = py2_pickle(d)
    else:
        d = dict(d)
        for k in ("labels", "fine_labels"):
            if k in d and style == 3:
                d[k] = [np.int64(x) for x in d[k]]  # numpy scalars
            if k in d and style == 5:
                d[k] = np.asarray(d[k], dtype=np.int64)  # an array
        blob = pickle.dumps(d, protocol=style)
    with open(path, "wb") as f:
        f.write(blob)


def images(n, side):
    return rng.integers(0, 256, size=(n, 3 * side * side), dtype=np.uint8)


def cifar10():
    b, p = f"{OUT}/c10bin/cifar-10-batches-bin", f"{OUT}/c10py/cifar-10-batches-py"
    os.makedirs(b), os.makedirs(p)
    styles = ["py2", 2, 3, 4, 5, 5]
    for name, style in zip([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"], styles):
        x, y = images(7, 32), rng.integers(0, 10, size=7).tolist()
        with open(f"{b}/{name}.bin", "wb") as f:
            for img, label in zip(x, y):
                f.write(bytes([label]) + img.tobytes())
        write_pickle(f"{p}/{name}", {"batch_label": name, "labels": y, "data": x}, style)
    names = ["plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    with open(f"{b}/batches.meta.txt", "w") as f:
        f.write("\n".join(names) + "\n")
    write_pickle(f"{p}/batches.meta", {"label_names": names, "num_vis": 3072}, 2)


def cifar100():
    b, p = f"{OUT}/c100bin/cifar-100-binary", f"{OUT}/c100py/cifar-100-python"
    os.makedirs(b), os.makedirs(p)
    for name, style in [("train", 4), ("test", "py2")]:
        x = images(9, 32)
        fine, coarse = rng.integers(0, 100, size=9).tolist(), rng.integers(0, 20, size=9).tolist()
        with open(f"{b}/{name}.bin", "wb") as f:
            for img, c, l in zip(x, coarse, fine):
                f.write(bytes([c, l]) + img.tobytes())
        write_pickle(f"{p}/{name}", {"fine_labels": fine, "coarse_labels": coarse, "data": x}, style)
    names = [f"fine{i}" for i in range(100)]
    with open(f"{b}/fine_label_names.txt", "w") as f:
        f.write("\n".join(names) + "\n")
    write_pickle(f"{p}/meta", {"fine_label_names": names}, 5)


def imagenet16():
    root = f"{OUT}/in16/ImageNet16"
    os.makedirs(root)
    keep_x, keep_y = {"train": [], "val": []}, {"train": [], "val": []}
    files = [(f"train_data_batch_{i}", "train") for i in range(1, 11)] + [("val_data", "val")]
    for i, (name, split) in enumerate(files):
        x = images(6, 16)
        y = rng.integers(1, 1001, size=6)
        y[0], y[1] = 1, 120  # both ends of the kept range
        y = y.tolist()
        style = [4, 2, 5, 3][i % 4]
        write_pickle(f"{root}/{name}", {"data": x, "labels": y, "mean": x.mean(0)}, style)
        for img, label in zip(x, y):
            if label <= 120:
                keep_x[split].append(img)
                keep_y[split].append(label - 1)
    for split in ("train", "val"):
        with open(f"{OUT}/in16/expected_{split}.bin", "wb") as f:
            f.write(np.array(keep_x[split], dtype=np.uint8).tobytes())
    with open(f"{OUT}/in16/expected_labels.json", "w") as f:
        json.dump(keep_y, f)


def seeds():
    os.makedirs(OUT, exist_ok=True)
    for name, side, style in [("cifar-py2", 32, "py2"), ("cifar-p2", 32, 2), ("in16-p4", 16, 4),
                              ("in16-p5", 16, 5)]:
        write_pickle(f"{OUT}/{name}.pkl", {"data": images(2, side), "labels": [1, 7]}, style)


if sys.argv[1] == "--seeds":
    seeds()
else:
    cifar10()
    cifar100()
    imagenet16()
print("ok")
