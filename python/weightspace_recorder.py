"""Record checkpoints from a Python training loop for weightspace (docs/vc.md, "Recording from Python").

Standard library and numpy only (PyTorch optional: a module or a state_dict of tensors is
converted with .detach().cpu().numpy()). Each save() writes one safetensors file, by the
format's specification (an 8-byte little-endian header length, a JSON header of dtype, shape
and data offsets, then the tensors' little-endian bytes), and rewrites the run folder's
listing.json, which `npm run import -- <root>/<zoo>/listing.json --name NAME` reads: the
metrics become metric columns, the tags the run's tags, the parent the recorded parent link.

    from weightspace_recorder import Recorder
    rec = Recorder("runs", "my-mlp", run=seed, tags={"lr": "0.03"}, parent="ffnn-default:3@10")
    rec.save(model, epoch=0)                       # the initial weights
    for epoch in range(1, epochs + 1):
        train_one_epoch(model)
        rec.save(model, epoch=epoch, step=steps, loss=train_loss, val_acc=accuracy)

The listing is written beside and renamed (os.replace), so it is whole after any kill; one
Recorder per run, and several runs may share one zoo folder (their listings are merged on
import by listing file: record each run into the same listing by giving the same zoo).
"""

import json
import os
import struct

import numpy as np

__all__ = ["Recorder", "write_safetensors"]

_DTYPES = {np.dtype("float32"): "F32", np.dtype("float64"): "F64", np.dtype("float16"): "F16"}


def _as_numpy(value):
    """A tensor (PyTorch or numpy) as a C-contiguous little-endian numpy array."""
    if hasattr(value, "detach"):  # a torch.Tensor, without importing torch
        value = value.detach().cpu().numpy()
    array = np.ascontiguousarray(np.asarray(value))
    if array.dtype.byteorder == ">":
        array = array.astype(array.dtype.newbyteorder("<"))
    return array


def _state_of(model_or_state_dict):
    state = model_or_state_dict.state_dict() if hasattr(model_or_state_dict, "state_dict") else model_or_state_dict
    if not isinstance(state, dict) or not state:
        raise TypeError("save() takes a model with state_dict() or a non-empty dict of tensors")
    return {name: _as_numpy(value) for name, value in state.items()}


def write_safetensors(path, tensors):
    """Writes tensors (name -> numpy array; float32, float64 or float16) as a safetensors file."""
    header = {}
    offset = 0
    blobs = []
    for name, array in tensors.items():
        if array.dtype not in _DTYPES:
            raise TypeError(f"tensor {name} is {array.dtype}; weightspace imports float32, float64 or float16")
        data = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": _DTYPES[array.dtype], "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the specification allows trailing spaces; 8-byte alignment
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for data in blobs:
            f.write(data)
    os.replace(tmp, path)


class Recorder:
    """Saves one run's checkpoints under <root>/<zoo>/<run>/ and keeps <root>/<zoo>/listing.json."""

    def __init__(self, root, zoo, run, tags=None, parent=None):
        self.dir = os.path.join(root, zoo)
        self.run = str(run)
        self.tags = {str(k): str(v) for k, v in (tags or {}).items()}
        self.parent = parent
        os.makedirs(os.path.join(self.dir, self.run), exist_ok=True)
        self.listing = os.path.join(self.dir, "listing.json")

    def save(self, model_or_state_dict, epoch, step=None, **metrics):
        """Writes the checkpoint of `epoch` (0: the initial weights) and lists it with its metrics."""
        if not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"epoch must be a non-negative integer, got {epoch!r}")
        relative = f"{self.run}/epoch-{epoch:04d}.safetensors"
        write_safetensors(os.path.join(self.dir, relative), _state_of(model_or_state_dict))
        entry = {"path": relative, "run": self.run, "epoch": epoch}
        if step is not None:
            entry["step"] = int(step)
        for name, value in metrics.items():
            entry[name] = float(value)
        if self.tags:
            entry["tags"] = self.tags
        if self.parent:
            entry["parent"] = self.parent
        entries = []
        if os.path.exists(self.listing):
            with open(self.listing, encoding="utf-8") as f:
                entries = json.load(f)
        entries = [e for e in entries if (e["run"], e["epoch"]) != (self.run, epoch)] + [entry]
        entries.sort(key=lambda e: (e["run"], e["epoch"]))
        tmp = f"{self.listing}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(entries, f, indent=1)
        os.replace(tmp, self.listing)
        return os.path.join(self.dir, relative)

    # callback shapes: a plain loop calls save(); frameworks call these
    def on_epoch_end(self, model, epoch, **metrics):
        """PyTorch Lightning (a Callback's on_train_epoch_end) or a Keras-like loop."""
        return self.save(model, epoch=epoch, **metrics)

    def on_save(self, model, step, epoch, **metrics):
        """The Hugging Face Trainer's TrainerCallback.on_save: state.global_step and state.epoch."""
        return self.save(model, epoch=int(epoch), step=step, **metrics)
