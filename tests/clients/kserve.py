"""A real Open Inference Protocol client against `deploy serve`: tritonclient (Triton's own HTTP
client) runs inferences in binary and JSON tensor encodings, then prometheus_client's parser reads
/metrics. Prints what it saw as JSON for the Rust test to check.

usage: kserve.py HOST:PORT MODEL_NAME INPUT.f32
"""
import json
import sys
import urllib.request

import numpy as np
import tritonclient.http as httpclient
from prometheus_client.parser import text_string_to_metric_families

url, name, path = sys.argv[1:4]
client = httpclient.InferenceServerClient(url=url)
out = {
    "live": client.is_server_live(),
    "ready": client.is_server_ready(),
    "model_ready": client.is_model_ready(name),
}
meta = client.get_model_metadata(name)
out["metadata"] = meta
spec_in, spec_out = meta["inputs"][0], meta["outputs"][0]
x = np.fromfile(path, dtype="<f4").reshape([-1] + [int(d) for d in spec_in["shape"][1:]])
for binary in (True, False):
    tensor = httpclient.InferInput(spec_in["name"], list(x.shape), spec_in["datatype"])
    tensor.set_data_from_numpy(x, binary_data=binary)
    wanted = httpclient.InferRequestedOutput(spec_out["name"], binary_data=binary)
    result = client.infer(name, [tensor], outputs=[wanted], request_id="req-7")
    key = "binary" if binary else "json"
    out[key] = result.as_numpy(spec_out["name"]).tolist()
    out[key + "_id"] = result.get_response()["id"]
try:
    client.infer("no-such-model", [tensor])
    out["unknown_model"] = None
except Exception as e:  # tritonclient raises InferenceServerException with the server's message
    out["unknown_model"] = str(e)

text = urllib.request.urlopen(f"http://{url}/metrics").read().decode()
out["metrics"] = {
    family.name: [[s.name, s.labels, s.value] for s in family.samples]
    for family in text_string_to_metric_families(text)
}
print(json.dumps(out))
