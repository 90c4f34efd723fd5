#!/usr/bin/env python3
"""A client of the Open Inference Protocol (KServe v2) over HTTP/REST, written from the protocol's public
description (kserve.github.io, "Open Inference Protocol (V2 Inference Protocol)"), not from this server's code.

It discovers everything from the server: the model's inputs (name, datatype, shape with -1 for a variable
dimension), its outputs and versions. Then it checks what a compliant server must do and, given the Fashion-MNIST
test files, classifies images and prints the accuracy.

    python3 oip_client.py --url http://127.0.0.1:8000 --model fashion [--images DIR] [--count 1000]

Standard library only. Exits 0 when every check passed, 1 naming the first that failed.
"""
import argparse
import gzip
import json
import math
import random
import struct
import sys
import urllib.error
import urllib.request


class ProtocolError(Exception):
    pass


def call(url, method="GET", body=None):
    """(status, parsed JSON or None) of one request; HTTP errors are answers too, not exceptions."""
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, text = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read()
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = None
    return status, parsed


def expect(condition, message):
    if not condition:
        raise ProtocolError(message)


def elements(shape):
    count = 1
    for dimension in shape:
        count *= dimension
    return count


def check_health_and_server(base):
    for path in ("/v2/health/live", "/v2/health/ready"):
        status, _ = call(base + path)
        expect(status == 200, f"GET {path} answered {status}, a live and ready server answers 200")
    status, server = call(base + "/v2")
    expect(status == 200 and isinstance(server, dict), f"GET /v2 answered {status}")
    for field in ("name", "version", "extensions"):
        expect(field in server, f"server metadata lacks '{field}': {server}")
    expect(isinstance(server["extensions"], list), "server metadata 'extensions' is not an array")


def model_metadata(base, model):
    status, metadata = call(f"{base}/v2/models/{model}")
    expect(status == 200 and isinstance(metadata, dict), f"GET /v2/models/{model} answered {status}")
    expect(metadata.get("name") == model, f"model metadata names '{metadata.get('name')}', not '{model}'")
    for field in ("platform", "inputs", "outputs"):
        expect(field in metadata, f"model metadata lacks '{field}'")
    for tensor in metadata["inputs"] + metadata["outputs"]:
        for field in ("name", "datatype", "shape"):
            expect(field in tensor, f"tensor metadata lacks '{field}': {tensor}")
    status, _ = call(f"{base}/v2/models/{model}/ready")
    expect(status == 200, f"GET /v2/models/{model}/ready answered {status}")
    return metadata


def request_for(metadata, rows, values, nested=False, request_id=None, outputs=None):
    """An inference request for the model's one FP32 input, shaped by its metadata (-1 is the batch)."""
    expect(len(metadata["inputs"]) == 1, "this client feeds models with one input")
    tensor = metadata["inputs"][0]
    expect(tensor["datatype"] == "FP32", f"input datatype {tensor['datatype']}, this client sends FP32")
    shape = [rows if dimension == -1 else dimension for dimension in tensor["shape"]]
    expect(elements(shape) == len(values), f"{len(values)} values do not fill the shape {shape}")
    data = values
    if nested:
        width = len(values) // rows
        data = [values[r * width:(r + 1) * width] for r in range(rows)]
    body = {"inputs": [{"name": tensor["name"], "shape": shape, "datatype": "FP32", "data": data}]}
    if request_id is not None:
        body["id"] = request_id
    if outputs is not None:
        body["outputs"] = [{"name": name} for name in outputs]
    return body


def flatten(data):
    if isinstance(data, list):
        return [value for item in data for value in flatten(item)]
    return [data]


def infer(base, model, body, version=None):
    path = f"/v2/models/{model}" + (f"/versions/{version}" if version else "") + "/infer"
    status, response = call(base + path, "POST", body)
    expect(status == 200 and isinstance(response, dict), f"POST {path} answered {status}: {response}")
    expect(response.get("model_name") == model, f"response model_name is '{response.get('model_name')}'")
    if "id" in body:
        expect(response.get("id") == body["id"], f"response id '{response.get('id')}', request id '{body['id']}'")
    outputs = {}
    for tensor in response.get("outputs", []):
        for field in ("name", "shape", "datatype", "data"):
            expect(field in tensor, f"output tensor lacks '{field}'")
        values = flatten(tensor["data"])
        expect(len(values) == elements(tensor["shape"]),
               f"output '{tensor['name']}' has {len(values)} values for shape {tensor['shape']}")
        outputs[tensor["name"]] = tensor
    return response, outputs


def check_inference(base, model, metadata):
    width = elements([d for d in metadata["inputs"][0]["shape"] if d != -1])
    rng = random.Random(7)
    rows = 3
    values = [rng.random() for _ in range(rows * width)]
    _, flat = infer(base, model, request_for(metadata, rows, values, request_id="client-1"))
    expect(set(flat) == {o["name"] for o in metadata["outputs"]},
           f"outputs {sorted(flat)} differ from the metadata's {[o['name'] for o in metadata['outputs']]}")
    _, nested = infer(base, model, request_for(metadata, rows, values, nested=True))
    for name in flat:
        expect(flatten(flat[name]["data"]) == flatten(nested[name]["data"]),
               f"output '{name}' differs between flat and nested input data")
    for name in flat:
        _, only = infer(base, model, request_for(metadata, rows, values, outputs=[name]))
        expect(list(only) == [name], f"asked for output '{name}' alone, got {sorted(only)}")
    for version in metadata.get("versions", []):
        response, _ = infer(base, model, request_for(metadata, 1, values[:width]), version=version)
        expect(str(response.get("model_version")) == str(version),
               f"versions/{version}/infer answered as version {response.get('model_version')}")
    return flat


def check_errors(base, model, metadata):
    width = elements([d for d in metadata["inputs"][0]["shape"] if d != -1])
    body = request_for(metadata, 1, [0.0] * width)
    body["inputs"][0]["datatype"] = "BYTES"
    status, error = call(f"{base}/v2/models/{model}/infer", "POST", body)
    expect(400 <= status < 500 and isinstance(error, dict) and "error" in error,
           f"a BYTES tensor for an FP32 input answered {status} {error}; the protocol wants a 4xx and {{\"error\": ...}}")
    status, error = call(f"{base}/v2/models/no-such-model-xyz/infer", "POST", request_for(metadata, 1, [0.0] * width))
    expect(400 <= status < 500 and isinstance(error, dict) and "error" in error,
           f"an unknown model answered {status} {error}")


def read_idx(path):
    with gzip.open(path, "rb") as stream:
        magic = struct.unpack(">I", stream.read(4))[0]
        dimensions = [struct.unpack(">I", stream.read(4))[0] for _ in range(magic & 0xFF)]
        return dimensions, stream.read()


def classify(base, model, metadata, directory, count, batch=50):
    (_, height, width), pixels = read_idx(f"{directory}/t10k-images-idx3-ubyte.gz")
    _, labels = read_idx(f"{directory}/t10k-labels-idx1-ubyte.gz")
    size = height * width
    class_output = next((o["name"] for o in metadata["outputs"] if o["datatype"].startswith("INT")), None)
    right = 0
    for start in range(0, count, batch):
        rows = min(batch, count - start)
        values = [float(p) for p in pixels[start * size:(start + rows) * size]]
        _, outputs = infer(base, model, request_for(metadata, rows, values))
        if class_output:
            predicted = flatten(outputs[class_output]["data"])
        else:
            scores = flatten(next(iter(outputs.values()))["data"])
            classes = len(scores) // rows
            predicted = [max(range(classes), key=lambda c: scores[r * classes + c]) for r in range(rows)]
        right += sum(1 for r in range(rows) if predicted[r] == labels[start + r])
    return right / count


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--model", required=True)
    parser.add_argument("--images", help="directory of the Fashion-MNIST t10k-*-ubyte.gz files")
    parser.add_argument("--count", type=int, default=1000)
    arguments = parser.parse_args()
    base = arguments.url.rstrip("/")
    try:
        check_health_and_server(base)
        metadata = model_metadata(base, arguments.model)
        outputs = check_inference(base, arguments.model, metadata)
        check_errors(base, arguments.model, metadata)
        print(f"protocol checks passed: model {arguments.model}, versions {metadata.get('versions')}, "
              f"outputs {sorted(outputs)}")
        for name, tensor in outputs.items():
            if tensor["datatype"] == "FP32":
                values = flatten(tensor["data"])
                expect(all(math.isfinite(v) for v in values), f"output '{name}' holds a non-finite value")
        if arguments.images:
            accuracy = classify(base, arguments.model, metadata, arguments.images, arguments.count)
            print(f"accuracy on the first {arguments.count} test images: {accuracy:.4f}")
    except ProtocolError as error:
        print(f"protocol check failed: {error}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as error:
        print(f"cannot reach {base}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
