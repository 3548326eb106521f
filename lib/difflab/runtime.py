"""Inference through ONNX Runtime: a trained U-Net exported once and run by onnxruntime's CPU
kernels, which are 1.5-2x faster than eager torch for the book's small U-Nets on a 2-core CPU
(benchmarks/sampling.py). The outputs agree with torch's to ~1e-6; used only on the CPU and only
where nothing needs gradients (the symmetry chapter differentiates through torch)."""

import io
import warnings

import onnxruntime
import torch
from torch import nn

ARCHITECTURES = ("unet-xs", "unet-s", "unet-m")   # measured faster; DiT and the ResNet are not


class OnnxRuntimeNetwork:
    """net(x, t) run by onnxruntime. The network is exported on the first call for each dtype of
    t (DDPM steps are integers, EDM's noise levels floats), with a free batch size; its weights
    must not change afterwards."""

    def __init__(self, net: nn.Module):
        self.net, self.sessions = net, {}

    def __call__(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        t = t.expand(len(x)).contiguous()
        if t.dtype not in self.sessions:
            self.sessions[t.dtype] = self._export(x, t)
        (out,) = self.sessions[t.dtype].run(None, {"x": x.detach().contiguous().numpy(), "t": t.numpy()})
        return torch.from_numpy(out)

    def _export(self, x: torch.Tensor, t: torch.Tensor) -> onnxruntime.InferenceSession:
        model = io.BytesIO()
        with warnings.catch_warnings(), torch.no_grad():   # the exporter's tracer warnings are about
            warnings.simplefilter("ignore")               # Python control flow fixed in these nets
            torch.onnx.export(self.net, (x, t), model, input_names=["x", "t"], output_names=["out"],
                              dynamic_axes={"x": {0: "batch"}, "t": {0: "batch"}}, opset_version=17,
                              dynamo=False)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        options.log_severity_level = 3
        return onnxruntime.InferenceSession(model.getvalue(), options, providers=["CPUExecutionProvider"])
