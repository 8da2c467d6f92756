"""PyTorch peer for `npm run bench`: the two Table 1 models trained in lockstep, the fastest
way PyTorch offers on a CPU for many small models. FFNN: every model's layer as one batched
matmul (torch.bmm); CNN: every model's conv as one grouped conv (groups = models), the last
layer as one einsum. SGD with momentum and weight decay (torch.optim.SGD), MSE on one-hot
targets, sigmoid (FFNN) or LeakyReLU(0.01) after max-pooling (CNN), no biases, as the engine.
Random data: throughput does not depend on the pixel values. One thread.

Prints one JSON object: {"arch", "models", "batch", "modelSamplesPerSecond", "torch", "threads"}.
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--arch", choices=["ffnn", "cnn"], required=True)
p.add_argument("--models", type=int, default=250)
p.add_argument("--batch", type=int, default=4)
p.add_argument("--lr", type=float, default=0.03)
p.add_argument("--momentum", type=float, default=0.9)
p.add_argument("--weight-decay", type=float, default=0.0)
p.add_argument("--seconds", type=float, default=4.0)
args = p.parse_args()

torch.set_num_threads(1)
torch.manual_seed(0)
M, B = args.models, args.batch


def kaiming(*shape, fan_in):
    return (torch.randn(*shape) * (2.0 / fan_in) ** 0.5).requires_grad_()


if args.arch == "ffnn":
    params = [kaiming(M, 196, 10, fan_in=196), kaiming(M, 10, 10, fan_in=10), kaiming(M, 10, 10, fan_in=10)]

    def forward(x):  # x: [M, B, 196]
        h = torch.sigmoid(torch.bmm(x, params[0]))
        h = torch.sigmoid(torch.bmm(h, params[1]))
        return torch.bmm(h, params[2])  # [M, B, 10]

    def batch():
        return torch.rand(M, B, 196), torch.randint(0, 10, (M, B))

else:
    params = [kaiming(M * 16, 1, 3, 3, fan_in=9), kaiming(M * 8, 16, 3, 3, fan_in=144), kaiming(M, 10, 8, fan_in=8)]

    def forward(x):  # x: [B, M, 14, 14], model m's image in channel m
        h = F.conv2d(x, params[0], stride=2, padding=1, groups=M)  # [B, M*16, 7, 7]
        h = F.leaky_relu(F.max_pool2d(h, 2), 0.01)  # [B, M*16, 3, 3]
        h = F.conv2d(h, params[1], stride=2, padding=1, groups=M)  # [B, M*8, 2, 2]
        h = F.leaky_relu(F.max_pool2d(h, 2), 0.01).reshape(B, M, 8)
        return torch.einsum("bmi,moi->mbo", h, params[2])  # [M, B, 10]

    def batch():
        return torch.rand(B, M, 14, 14), torch.randint(0, 10, (M, B))


opt = torch.optim.SGD(params, lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay)


def step():
    x, y = batch()
    target = F.one_hot(y, 10).float()
    # each model's mean squared error, summed over models: each model's gradient is its own
    loss = ((forward(x) - target) ** 2).mean(dim=(1, 2)).sum()
    opt.zero_grad()
    loss.backward()
    opt.step()


for _ in range(20):  # warm-up
    step()
steps = 0
start = time.perf_counter()
while time.perf_counter() - start < args.seconds:
    step()
    steps += 1
elapsed = time.perf_counter() - start
print(
    json.dumps(
        {
            "arch": args.arch,
            "models": M,
            "batch": B,
            "modelSamplesPerSecond": M * B * steps / elapsed,
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
        }
    )
)
