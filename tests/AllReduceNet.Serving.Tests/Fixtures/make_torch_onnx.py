"""Writes the test fixture of a model trained elsewhere: a small PyTorch MLP exported with torch.onnx.export.

Run from this directory with Debian's PyTorch (apt-get install python3-torch libopenblas0-pthread):
    env -u OPENBLAS_CORETYPE /usr/bin/python3 make_torch_onnx.py
It writes torch_mlp.onnx (784 -> 16 -> ReLU -> 10 logits; input 'pixels', output 'logits', variable batch) and
torch_mlp_expected.json (a few input rows with torch's own logits and softmax probabilities for them), which
OnnxServingTests compares the server's answers with. The weights are random with a fixed seed, and the weights
are not trained: the test is about serving a foreign graph, not about accuracy. Two tiny models that the server
must refuse come with them: torch_fixed_batch.onnx (exported without dynamic_axes, so its batch is fixed at 2) and
torch_rank3_input.onnx (input [batch, 2, 4]).
"""
import json

import torch

torch.manual_seed(13)
model = torch.nn.Sequential(torch.nn.Linear(784, 16), torch.nn.ReLU(), torch.nn.Linear(16, 10))
model.eval()

example = torch.rand(2, 784)
torch.onnx.export(
    model, example, "torch_mlp.onnx",
    input_names=["pixels"], output_names=["logits"],
    dynamic_axes={"pixels": {0: "batch"}, "logits": {0: "batch"}},
    opset_version=13)

inputs = torch.rand(5, 784)
with torch.no_grad():
    logits = model(inputs)
    probabilities = torch.softmax(logits, dim=1)
with open("torch_mlp_expected.json", "w") as f:
    json.dump({
        "torch_version": torch.__version__,
        "inputs": inputs.tolist(),
        "logits": logits.tolist(),
        "probabilities": probabilities.tolist(),
        "classes": logits.argmax(dim=1).tolist(),
    }, f)
tiny = torch.nn.Linear(4, 3)
torch.onnx.export(tiny, torch.rand(2, 4), "torch_fixed_batch.onnx", input_names=["x"], output_names=["y"], opset_version=13)
torch.onnx.export(tiny, torch.rand(2, 2, 4), "torch_rank3_input.onnx", input_names=["x"], output_names=["y"],
                  dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, opset_version=13)
print("wrote torch_mlp.onnx, torch_mlp_expected.json, torch_fixed_batch.onnx, torch_rank3_input.onnx")
