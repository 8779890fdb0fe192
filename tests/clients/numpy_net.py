"""An independent numpy forward pass of a betadarts safetensors export, reading every weight by
the PyTorch reference name it must carry (DARTS NetworkCIFAR / NetworkImageNet, NB201
TinyNetwork). The CI check of the export when PyTorch itself is not installed; the PyTorch check
is `python/betadarts_torch.py`.

    python numpy_net.py MODEL.safetensors INPUT.f32 N,C,S,S    → {"logits": [[…]], "unused": [...]}
"""

import json
import sys

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from safetensors import safe_open
from safetensors.numpy import load_file

path, inp, shape = sys.argv[1], sys.argv[2], [int(d) for d in sys.argv[3].split(",")]
W = load_file(path)
used = set()
with safe_open(path, framework="np") as f:
    META = f.metadata()


def w(name):
    used.add(name)
    return W[name].astype(np.float64)


def conv(x, name, stride=1, pad=0, dil=1, groups=1):
    k = w(name + ".weight")
    o, cg, kh, _ = k.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    span = dil * (kh - 1) + 1
    win = sliding_window_view(xp, (span, span), axis=(2, 3))[:, :, ::stride, ::stride, ::dil, ::dil]
    if groups == 1:
        return np.einsum("nchwij,ocij->nohw", win, k)
    assert groups == x.shape[1] == o and cg == 1, "depthwise only"
    return np.einsum("nchwij,cij->nchw", win, k[:, 0])


def bn(x, name):
    mean, var = w(name + ".running_mean"), w(name + ".running_var")
    g, b = w(name + ".weight"), w(name + ".bias")
    r = lambda v: v[None, :, None, None]
    return (x - r(mean)) / np.sqrt(r(var) + 1e-5) * r(g) + r(b)


def relu(x):
    return np.maximum(x, 0)


def pool(x, k, stride, pad, kind):
    fill = -np.inf if kind == "max" else 0.0
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=fill)
    win = sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
    if kind == "max":
        return win.max((-2, -1))
    ones = np.pad(np.ones(x.shape[2:]), pad)
    count = sliding_window_view(ones, (k, k))[::stride, ::stride].sum((-2, -1))
    return win.sum((-2, -1)) / count  # count_include_pad=False


def linear(x, name):
    return x @ w(name + ".weight").T + w(name + ".bias")


def relu_conv_bn(x, name, stride=1, pad=0):
    return bn(conv(relu(x), name + ".op.1", stride, pad), name + ".op.2")


def factorized_reduce(x, name):
    x = relu(x)
    shifted = np.pad(x[:, :, 1:, 1:], ((0, 0), (0, 0), (0, x.shape[2] % 2), (0, x.shape[3] % 2)))
    y = np.concatenate([conv(x, name + ".conv_1", 2), conv(shifted, name + ".conv_2", 2)], axis=1)
    return bn(y, name + ".bn")


def dil_block(x, name, first, k, stride, pad, dil):
    y = conv(relu(x), f"{name}.op.{first}", stride, pad, dil, groups=x.shape[1])
    return bn(conv(y, f"{name}.op.{first + 1}"), f"{name}.op.{first + 2}")


def darts_op(x, op, name, stride):
    if op == "none":
        return x[:, :, ::stride, ::stride] * 0
    if op == "skip_connect":
        return x if stride == 1 else factorized_reduce(x, name)
    if op in ("max_pool_3x3", "avg_pool_3x3"):
        return pool(x, 3, stride, 1, op[:3])
    k = 3 if op.endswith("3x3") else 5
    if op.startswith("sep"):
        return dil_block(dil_block(x, name, 1, k, stride, k // 2, 1), name, 5, k, 1, k // 2, 1)
    return dil_block(x, name, 1, k, stride, k - 1, 2)


def darts(x, imagenet):
    g, layers = json.loads(META["genotype"]), int(META["layers"])
    if imagenet:
        s0 = bn(conv(x, "stem0.0", 2, 1), "stem0.1")
        s0 = bn(conv(relu(s0), "stem0.3", 2, 1), "stem0.4")
        s1 = bn(conv(relu(s0), "stem1.1", 2, 1), "stem1.2")
        reduction_prev = True
    else:
        s0 = s1 = bn(conv(x, "stem.0", 1, 1), "stem.1")
        reduction_prev = False
    for i in range(layers):
        reduction = i in (layers // 3, 2 * layers // 3)
        p = f"cells.{i}"
        a = factorized_reduce(s0, p + ".preprocess0") if reduction_prev else relu_conv_bn(s0, p + ".preprocess0")
        states = [a, relu_conv_bn(s1, p + ".preprocess1")]
        pairs = g["reduce" if reduction else "normal"]
        for n in range(len(pairs) // 2):
            node = 0
            for j in (2 * n, 2 * n + 1):
                op, src = pairs[j]
                node = node + darts_op(states[src], op, f"{p}._ops.{j}", 2 if reduction and src < 2 else 1)
            states.append(node)
        s0, s1 = s1, np.concatenate([states[c] for c in g["reduce_concat" if reduction else "normal_concat"]], 1)
        reduction_prev = reduction
    return linear(s1.mean((2, 3)), "classifier")


def nb201(x):
    nodes = [[(e.split("~")[0], int(e.split("~")[1])) for e in node.split("|") if e]
             for node in META["arch"].split("+")]
    n = int(META["layers"])
    x = bn(conv(x, "stem.0", 1, 1), "stem.1")
    at = 0
    for stage in range(3):
        if stage > 0:
            p = f"cells.{at}"
            a = relu_conv_bn(relu_conv_bn(x, p + ".conv_a", 2, 1), p + ".conv_b", 1, 1)
            x = conv(pool(x, 2, 2, 0, "avg"), p + ".downsample.1") + a
            at += 1
        for _ in range(n):
            states, layer = [x], 0
            for node in nodes:
                total = 0
                for op, j in node:
                    name, h = f"cells.{at}.layers.{layer}", states[j]
                    total = total + {"none": lambda: h * 0, "skip_connect": lambda: h,
                                     "avg_pool_3x3": lambda: pool(h, 3, 1, 1, "avg"),
                                     "nor_conv_1x1": lambda: relu_conv_bn(h, name),
                                     "nor_conv_3x3": lambda: relu_conv_bn(h, name, 1, 1)}[op]()
                    layer += 1
                states.append(total)
            x = states[-1]
            at += 1
    return linear(relu(bn(x, "lastact.0")).mean((2, 3)), "classifier")


x = np.fromfile(inp, dtype="<f4").reshape(shape).astype(np.float64)
logits = nb201(x) if META["network"] == "nb201" else darts(x, META["network"] == "imagenet")
# Weights the eval forward does not read: the auxiliary head only.
unused = sorted(k for k in W if k not in used)
json.dump({"logits": logits.tolist(), "unused": unused}, sys.stdout)
