"""Checks the cases `BETADARTS_TORCH_BUNDLE=DIR cargo test … torch_weights` wrote, on a machine
with PyTorch: each safetensors file is loaded by python/betadarts_torch.py (strict) and run on
its input on every DEVICE given; its logits must equal those `deploy predict` gave.

    python torch_bundle.py DIR [cpu] [cuda]
"""

import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import betadarts_torch  # noqa: E402

folder, devices = sys.argv[1], sys.argv[2:] or ["cpu"]
failed = False
for case in sorted(f[:-5] for f in os.listdir(folder) if f.endswith(".json")):
    spec = json.load(open(os.path.join(folder, case + ".json")))
    shape = [int(d) for d in spec["shape"].split(",")]
    x = np.fromfile(os.path.join(folder, case + ".f32"), dtype="<f4").reshape(shape)
    want = np.array(spec["logits"])
    for device in devices:
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
        net, meta = betadarts_torch.load(os.path.join(folder, case + ".safetensors"), device)
        with torch.no_grad():
            got = net(torch.from_numpy(x).to(device))
        got = (got[0] if isinstance(got, tuple) else got).double().cpu().numpy()
        diff = float(np.abs(got - want).max())
        ok = diff <= 1e-4 * max(1.0, float(np.abs(want).max()))
        failed |= not ok
        params = sum(p.numel() for p in net.parameters())
        print(f"{case:9s} {device:5s} {meta['network']:8s} {params:8d} parameters  "
              f"max |Δlogit| {diff:.2e}  {'ok' if ok else 'FAILED'}  (torch {torch.__version__})")
sys.exit(1 if failed else 0)
