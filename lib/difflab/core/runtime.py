"""Inference through ONNX Runtime: a trained U-Net exported once and run by onnxruntime's CPU
kernels, faster than eager torch for the book's small U-Nets on a CPU (benchmarks/sampling.py
measures by how much). The outputs agree with torch's to float32 rounding; used only on the CPU and
only where nothing needs gradients (the symmetry chapter differentiates through torch).

A large batch runs as chunks of about CHUNK images, each on one thread, as many at a time as torch
has threads: more images a second than one run that spreads every operation over all threads
(per-operation synchronisation is what the chunks save; benchmarks/sampling.py), with the same
output bit for bit, since ONNX Runtime computes each image on its own."""

import functools
import io
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import onnxruntime
import torch
from torch import nn

ONNX_ARCHITECTURES = (
    "unet-xs",
    "unet-s",
    "unet-m",
)  # faster here (benchmarks/sampling.py); DiT and ResNet not
CHUNK = 50  # images per chunk, chosen with benchmarks/sampling.py on U-Net XS / S / M at 16x16


class OnnxRuntimeNetwork:
    """net(x, t) run by onnxruntime. The network is exported on the first call for each dtype of
    t (DDPM steps are integers, EDM's noise levels floats), with a free batch size; its weights
    must not change afterwards."""

    def __init__(self, net: nn.Module):
        self.net, self.sessions = net, {}

    def __call__(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        t = t.expand(len(x)).contiguous()
        threads = torch.get_num_threads()
        if (t.dtype, threads) not in self.sessions:
            self.sessions[t.dtype, threads] = self._export(x, t, threads)
        whole, single = self.sessions[t.dtype, threads]
        x, t = x.detach().contiguous().numpy(), t.numpy()
        n = chunks(len(x), threads)
        if n == 1:
            return torch.from_numpy(whole.run(None, {"x": x, "t": t})[0])
        pieces = zip(np.array_split(x, n), np.array_split(t, n))
        outs = _pool(threads).map(
            lambda piece: single.run(None, {"x": piece[0], "t": piece[1]})[0], pieces
        )
        return torch.from_numpy(np.concatenate(list(outs)))

    def _export(self, x: torch.Tensor, t: torch.Tensor, threads: int) -> tuple:
        """Sessions on `threads` threads (for small batches) and on one (for the chunks)."""
        model = io.BytesIO()
        with warnings.catch_warnings(), torch.no_grad():  # the exporter's tracer warnings are about
            warnings.simplefilter("ignore")  # Python control flow fixed in these nets
            torch.onnx.export(
                self.net,
                (x, t),
                model,
                input_names=["x", "t"],
                output_names=["out"],
                dynamic_axes={"x": {0: "batch"}, "t": {0: "batch"}},
                opset_version=17,
                dynamo=False,
            )
        return tuple(_session(model.getvalue(), n) for n in (threads, 1))


def chunks(batch: int, threads: int) -> int:
    """How many chunks a batch runs as: a multiple of the threads, of about CHUNK images each, or
    1 (the whole batch on all threads) where that leaves a thread idle."""
    return max(1, threads * (batch // (threads * CHUNK)))


def _session(model: bytes, threads: int) -> onnxruntime.InferenceSession:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])


@functools.cache
def _pool(threads: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(threads, thread_name_prefix="onnxruntime-chunks")
