"""One training loop for every denoiser network: AdamW, EMA, gradient clipping, eps / v / x0
objectives, seeded and deterministic on CPU, resumable from an atomic checkpoint."""

import time
from dataclasses import dataclass, fields, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from diffusers.training_utils import EMAModel
from tqdm import tqdm

from difflab.core import parallel
from difflab.core.data import CHANNELS, DATASETS, TITLES, disjoint_subsets, load_images
from difflab.core.denoisers import NetDenoiser
from difflab.core.devices import checked, float32_precision
from difflab.core.models import ARCHITECTURES, CLASSES, CONDITIONAL, NULL_LABEL, build_network
from difflab.core.objectives import OBJECTIVES
from difflab.core.schedule import T, forward_process
from difflab.training.checkpoints import load_state, save_state, save_weights


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a trained model's weights; its hash is the model's cache key."""

    dataset: str = "fashion_mnist"
    resolution: int = 16
    subset: int | None = (
        None  # train on `subset` images: block `subset_part` of a fixed permutation
    )
    subset_part: int = 0  # part 0 is the nested subset; parts 1, 2, ... are disjoint from it
    subset_seed: int = 0
    arch: str = "unet-s"
    objective: str = "eps"
    steps: int = 4000
    batch_size: int = 128
    lr: float = 1e-3
    ema_decay: float = 0.999
    grad_clip: float = 1.0
    seed: int = 0
    snapshots: tuple[int, ...] = ()  # also keep the EMA weights at these steps
    label_dropout: float | None = (
        None  # class-conditional archs: the share of labels replaced by the
    )
    # null label, which guidance needs (None: an unconditional arch)
    only_class: int | None = None  # train on the images of this class only (before `subset`)
    parent: "TrainConfig | None" = None  # fine-tuning: start from this trained model's EMA weights
    stored_as: str = "float32"  # the precision of the committed weights ("float16" halves them)

    def describe(self, parameters: int) -> str:
        """The run in a sentence (Markdown) for a chapter, with the network's `parameters`."""
        images = "the whole training set" if self.subset is None else f"{self.subset:,} images"
        if self.only_class is not None:
            images += f" of class {self.only_class}"
        return (
            f"A `{self.arch}` network ({parameters:,} parameters) trained with the "
            f"{self.objective} objective on {images} of {TITLES[self.dataset]} at "
            f"{self.resolution}x{self.resolution}: {self.steps:,} steps in batches of "
            f"{self.batch_size}, learning rate {self.lr:g}, EMA decay {self.ema_decay:g}, seed "
            f"{self.seed}."
        )

    def __post_init__(self):
        if isinstance(self.parent, dict):  # as read back from a manifest
            object.__setattr__(self, "parent", TrainConfig(**self.parent))
        object.__setattr__(self, "snapshots", tuple(self.snapshots))
        choices = {"dataset": DATASETS, "arch": ARCHITECTURES, "objective": OBJECTIVES}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"{name}={getattr(self, name)!r} is unknown; allowed: {', '.join(map(repr, allowed))}"
                )
        for name in ("steps", "batch_size", "resolution"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(
                    f"{name}={getattr(self, name)!r} is not allowed; allowed: integers >= 1"
                )
        if any(not 1 <= step < self.steps for step in self.snapshots):
            raise ValueError(
                f"snapshots={self.snapshots} is not allowed; allowed: steps in 1..steps-1 = {self.steps - 1}"
            )
        if self.subset is not None and self.subset < 1:
            raise ValueError(
                f"subset={self.subset} is not allowed; allowed: None (all data) or >= 1"
            )
        numbers = {
            "lr": ("> 0", lambda v: v > 0),
            "grad_clip": ("> 0", lambda v: v > 0),
            "ema_decay": ("in [0, 1)", lambda v: 0 <= v < 1),
        }
        for name, (allowed, ok) in numbers.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not ok(value):
                raise ValueError(f"{name}={value!r} is not allowed; allowed: a number {allowed}")
        conditional = self.arch in CONDITIONAL
        if conditional != (self.label_dropout is not None) or (
            conditional and not 0 <= self.label_dropout < 1
        ):
            raise ValueError(
                f"label_dropout={self.label_dropout!r} is not allowed for arch={self.arch!r}; allowed: "
                + ("a number in [0, 1)" if conditional else "None (the arch is unconditional)")
            )
        if self.only_class is not None and self.only_class not in range(CLASSES):
            raise ValueError(
                f"only_class={self.only_class!r} is not allowed; allowed: None or 0..{CLASSES - 1}"
            )
        if self.stored_as not in STORED_AS:
            raise ValueError(
                f"stored_as={self.stored_as!r} is not allowed; allowed: {', '.join(map(repr, STORED_AS))}"
            )
        same = ("dataset", "resolution", "arch", "objective")
        if self.parent is not None and any(
            getattr(self.parent, k) != getattr(self, k) for k in same
        ):
            raise ValueError(
                f"parent={self.parent} is not allowed: a fine-tuned model keeps its parent's "
                f"{', '.join(same)}; allowed: a parent with {[getattr(self, k) for k in same]}"
            )
        for name in ("subset_part", "subset_seed", "seed"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 0:
                raise ValueError(
                    f"{name}={getattr(self, name)!r} is not allowed; allowed: integers >= 0"
                )

    def as_dict(self) -> dict:
        """The fields as saved in manifests and hashed into the cache key; the fields added after the
        first models were committed only where they differ from their defaults, so that those models'
        keys are the ones they had before the fields existed."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values = {
            **values,
            "snapshots": list(self.snapshots),
            "parent": self.parent.as_dict() if self.parent is not None else None,
        }
        return {
            k: v for k, v in values.items() if k not in LATER_DEFAULTS or v != LATER_DEFAULTS[k]
        }

    def stored(self, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The weights as committed: floats in `stored_as` precision."""
        dtype = getattr(torch, self.stored_as)
        return {k: v.to(dtype) if v.is_floating_point() else v for k, v in state.items()}


STORED_AS = ("float32", "float16")
LATER_DEFAULTS = {"label_dropout": None, "only_class": None, "parent": None, "stored_as": "float32"}


def training_set(config: TrainConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """The images a config trains on, and their labels."""
    images, labels = load_images(config.dataset, config.resolution)
    if config.only_class is not None:
        images, labels = images[labels == config.only_class], labels[labels == config.only_class]
    if config.subset is None:
        return images, labels
    part = disjoint_subsets(len(images), config.subset, config.subset_part + 1, config.subset_seed)[
        config.subset_part
    ]
    return images[part], labels[part]


def training_images(config: TrainConfig) -> torch.Tensor:
    """The images a config trains on."""
    return training_set(config)[0]


def training_loss(
    config: TrainConfig,
    net,
    fp,
    x0: torch.Tensor,
    noise: torch.Tensor,
    t: torch.Tensor,
    g: torch.Generator,
    rows: slice = slice(None),
) -> torch.Tensor:
    """The network's regression loss for one batch, on the pair its objective defines; with
    `rows`, on those rows of it (a net from `_with_labels(..., rows)` predicts only them)."""
    prediction, target = OBJECTIVES[config.objective].regression(net, fp, x0, noise, t, g)
    return F.mse_loss(prediction, target[rows])


def _with_labels(
    net, config: TrainConfig, labels: torch.Tensor, g: torch.Generator, rows: slice = slice(None)
):
    """The network as net(x, t) for one batch, run on `rows` of it only (every random draw is the
    whole batch's, so P processes draw what one would). A conditional network gets the batch's labels,
    each replaced by the null label with probability label_dropout (drawn after the batch's images,
    noise and times; an unconditional network draws nothing, so its random stream is unchanged)."""
    if config.label_dropout is None:
        return net if rows == slice(None) else lambda x, t: net(x[rows], t[rows])
    dropped = torch.rand(len(labels), generator=g).to(labels.device) < config.label_dropout
    labels = torch.where(dropped, torch.full_like(labels, NULL_LABEL), labels)
    return lambda x, t: net(x[rows], t[rows], labels[rows])


def ema_state_dict(net: torch.nn.Module, ema: EMAModel) -> dict[str, torch.Tensor]:
    """The network's state with the EMA's parameters, leaving the training weights alone."""
    state = dict(net.state_dict())
    names = [name for name, _ in net.named_parameters()]
    return {**state, **{name: p.detach().clone() for name, p in zip(names, ema.shadow_params)}}


class Run:
    """What one training run updates (network, EMA, optimizer) and how one step updates it; when
    launched by accelerate, this process's share of it (`difflab.core.parallel`)."""

    def __init__(
        self,
        config: TrainConfig,
        data: torch.Tensor,
        labels: torch.Tensor,
        device: str,
        parent_weights: dict[str, torch.Tensor] | None = None,
    ):
        self.config, self.data, self.labels, self.device = config, data, labels, device
        torch.manual_seed(config.seed)
        self.net = build_network(config.arch, data.shape[1], config.resolution).to(device)
        if parent_weights is not None:
            self.net.load_state_dict(parent_weights)
        self.ema = EMAModel(self.net.parameters(), decay=config.ema_decay)
        self.optimizer = torch.optim.AdamW(self.net.parameters(), lr=config.lr)
        self.fp = forward_process()
        self.net.train()
        self.rows, self.accelerator = parallel.rows(config.batch_size), parallel.accelerator()
        self.model = self.net  # what the step calls: DDP's wrapper when launched
        if self.accelerator is not None:
            self.model, self.optimizer = self.accelerator.prepare(self.net, self.optimizer)

    def step(self, k: int) -> float:
        """Step k: batch k's images, noise and times come from a generator seeded by (seed, k), so a
        resumed run draws what an uninterrupted one would. Returns the batch's loss."""
        config, device = self.config, self.device
        parallel.decorrelate(config.seed, k)  # each process its own dropout masks
        g = torch.Generator().manual_seed(
            config.seed * 1_000_003 + k
        )  # on the CPU, wherever it trains
        batch = torch.randint(len(self.data), (config.batch_size,), generator=g).to(device)
        x0 = self.data[batch]
        noise = torch.randn(x0.shape, generator=g).to(device)
        t = torch.randint(0, T, (config.batch_size,), generator=g).to(device)
        loss = training_loss(
            config,
            _with_labels(self.model, config, self.labels[batch], g, self.rows),
            self.fp,
            x0,
            noise,
            t,
            g,
            self.rows,
        )
        self.optimizer.zero_grad(set_to_none=True)
        if self.accelerator is None:
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.net.parameters(), config.grad_clip)
        else:
            self.accelerator.backward(loss)
            self.accelerator.clip_grad_norm_(self.model.parameters(), config.grad_clip)
            loss = self.accelerator.reduce(loss.detach(), "mean")  # the whole batch's loss
        self.optimizer.step()
        self.ema.step(self.net.parameters())
        return loss.item()

    def ema_weights(self) -> dict[str, torch.Tensor]:
        return ema_state_dict(self.net, self.ema)

    def state_dict(self) -> dict:
        """What a resume needs: the weights, the EMA, the optimizer and every random stream the run
        draws from (the batches' come from generators seeded by step; dropout's from torch's, and on
        a GPU from its CUDA generator)."""
        on_gpu = torch.device(self.device).type == "cuda"
        rngs = {"cuda_rng": torch.cuda.get_rng_state(self.device)} if on_gpu else {}
        return {
            "net": self.net.state_dict(),
            "ema": self.ema.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "torch_rng": torch.get_rng_state(),
            **rngs,
        }

    def load_state_dict(self, state: dict) -> None:
        """A checkpoint read onto the CPU (checkpoints.load_state), each tensor put on this run's device."""
        self.net.load_state_dict(state["net"])
        self.ema.load_state_dict(state["ema"])
        self.ema.to(self.device)
        self.optimizer.load_state_dict(
            state["optimizer"]
        )  # moves its state to the parameters' device
        torch.set_rng_state(state["torch_rng"])
        if "cuda_rng" in state and torch.device(self.device).type == "cuda":
            torch.cuda.set_rng_state(state["cuda_rng"], self.device)


def snapshot_path(state_path: Path, step: int) -> Path:
    return state_path.with_name(f"snapshot-{step}.safetensors")


@float32_precision(exact=False)  # TF32 where a GPU has it (devices: training may use it)
def train(
    config: TrainConfig,
    state_path: Path,
    device: str = "cpu",
    progress: bool = True,
    checkpoint_every: int = 500,
    until: int | None = None,
    parent_weights: dict[str, torch.Tensor] | None = None,
) -> tuple[NetDenoiser, dict]:
    """Train `config`, resuming from `state_path` if it holds a checkpoint of the same config.

    Batch k draws its images, noise and times from a generator seeded by (seed, k), so a resumed
    run gives the same weights as an uninterrupted one. `until` stops after that many steps with a
    checkpoint, for a later call to go on (a job with a time limit). A fine-tuning config (one with a
    parent) starts from `parent_weights`, the parent's trained weights. Returns the EMA denoiser and a summary."""
    if (config.parent is None) != (parent_weights is None):
        raise ValueError(
            "parent_weights must be given exactly when the config has a parent (a fine-tuning run)"
        )
    if until is not None and not (isinstance(until, int) and 1 <= until <= config.steps):
        raise ValueError(
            f"until={until!r} is not allowed; allowed: None (all steps) or an integer in 1..{config.steps}"
        )
    stop = config.steps if until is None else until
    device = checked(parallel.device(device))
    data, labels = (tensor.to(device) for tensor in training_set(config))
    run = Run(config, data, labels, device, parent_weights)
    step, losses, wall = 0, [], 0.0
    if state_path.exists():
        state = load_state(state_path)
        if state["config"] != config.as_dict():
            raise ValueError(
                f"the checkpoint {state_path} was written for config {state['config']}, "
                f"not {config.as_dict()}; delete it or use its config"
            )
        run.load_state_dict(state)
        step, losses, wall = state["step"], state["losses"], state["wall_time_s"]
    bar = tqdm(
        total=config.steps,
        initial=step,
        desc=f"train {config.arch}",
        disable=not (progress and parallel.is_main()),
    )
    start = time.perf_counter() - wall
    while step < stop:
        losses.append(run.step(step))
        step += 1
        bar.update()
        bar.set_postfix(loss=f"{losses[-1]:.4f}", refresh=False)
        if step in config.snapshots and parallel.is_main():
            save_weights(
                snapshot_path(state_path, step), config.stored(run.ema_weights()), {"step": step}
            )
        if (step % checkpoint_every == 0 or step == stop) and parallel.is_main():
            save_state(
                state_path,
                {
                    "config": config.as_dict(),
                    **run.state_dict(),
                    "step": step,
                    "losses": losses,
                    "wall_time_s": time.perf_counter() - start,
                },
            )
    bar.close()
    run.ema.copy_to(run.net.parameters())
    parallel.wait()  # the others read what the main process wrote
    summary = {
        "final_loss": sum(losses[-200:]) / len(losses[-200:]),
        "wall_time_s": time.perf_counter() - start,
        **parallel.summary(),
    }
    return NetDenoiser(
        run.net.eval(),
        config.objective,
        sample_shape=data.shape[1:],
        conditional=config.label_dropout is not None,
    ).to(device), summary


@float32_precision(exact=False)
def seconds_per_step(
    config: TrainConfig, device: str = "cpu", steps: int = 2, batch_size: int | None = None
) -> float:
    """A training step's wall time for `config` on this device, from `steps` timed steps after a
    warm-up one on random images of its shape (so no data is needed): what a plan multiplies by the
    step count. With `batch_size`, timed at that batch and scaled linearly to the config's."""
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps={steps!r} is not allowed; allowed: an integer >= 1")
    timed = config if batch_size is None else replace(config, batch_size=batch_size)
    device, g = checked(device), torch.Generator().manual_seed(0)
    shape = (timed.batch_size, CHANNELS[config.dataset], config.resolution, config.resolution)
    data = (torch.rand(shape, generator=g) * 2 - 1).to(device)
    labels = torch.randint(CLASSES, shape[:1], generator=g).to(device)
    run = Run(replace(timed, parent=None), data, labels, device)
    run.step(0)
    start = time.perf_counter()
    for k in range(1, steps + 1):
        run.step(k)  # .item() waits for the device
    return (time.perf_counter() - start) / steps * config.batch_size / timed.batch_size
