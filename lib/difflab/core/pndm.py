"""F-PNDM, the pseudo numerical method the second paper ran (Liu et al. 2022, `gen_order_4` in
Raya and Ambrogioni's `sampling.py`): each of the first three steps is a Runge-Kutta step of four
network evaluations, every later step a fourth-order linear multistep of one. Every move from time
t to t' goes along PNDM's `transfer`, with a = alpha_bar_t, a' = alpha_bar_t' (a' = 1 past t = 0):

    x' = x + (a' - a) [ x / (sqrt(a) (sqrt(a) + sqrt(a'))) - eps / (sqrt(a) (sqrt((1 - a') a) + sqrt((1 - a) a'))) ]

which is DDIM's step from t to t' written without cancellations: F-PNDM is fourth-order
integration of the ODE that DDIM integrates to first order.

diffusers' PNDMScheduler(skip_prk_steps=False) has the Runge-Kutta warm-up, but on its own grid
of train steps, midpoints half a step apart; this class steps on any list of DDPM times, so a late
start works. It speaks the sampler protocol of `sampling.GridScheduler` (`timesteps`,
`ddpm_time`, `start`, `scale_model_input`, `step`), so that `sampling.run_sampler` runs it in its one loop.
"""

import torch

from difflab.core.schedule import forward_process


def transfer(x: torch.Tensor, eps: torch.Tensor, a: float, a_next: float) -> torch.Tensor:
    """PNDM's move of x_t along the noise estimate eps, from alpha_bar a to alpha_bar a_next."""
    a, a_next = (
        torch.as_tensor(a, dtype=torch.float64),
        torch.as_tensor(a_next, dtype=torch.float64),
    )
    c_x = (a_next - a) / (a.sqrt() * (a.sqrt() + a_next.sqrt()))
    c_eps = (a_next - a) / (a.sqrt() * (((1 - a_next) * a).sqrt() + ((1 - a) * a_next).sqrt()))
    return x + c_x.to(x.dtype) * x - c_eps.to(x.dtype) * eps


class FPNDM:
    """F-PNDM over a grid of DDPM times (largest first; after the last one, the clean image).

    `times` are the network's evaluations in order: t, mid, mid, t' for each Runge-Kutta step,
    t for each multistep step, mid being (t + t') / 2 truncated toward zero, the time whose
    alpha_bar the paper's `transfer` uses there. Its network, with a continuous time embedding, is
    called at the fractional time, and at t' = -1 (the clean image) in a last Runge-Kutta step;
    ours take integer times from 0, so that call is at 0 (its estimate enters the image scaled by
    sqrt(1 - alpha_bar_0) = 0.01). `step` takes the noise estimate at evaluation k and returns the
    state for evaluation k + 1."""

    warm_up = 3  # Runge-Kutta steps before the multistep takes over

    def __init__(self, grid: list[int], alphas_cumprod: torch.Tensor | None = None):
        if list(grid) != sorted(set(grid), reverse=True) or grid[-1] < 0:
            raise ValueError(
                f"grid={grid!r} is not allowed; allowed: distinct times >= 0, largest first"
            )
        self.pairs = list(zip(grid, [*grid[1:], -1]))
        self.alphas_cumprod = (
            forward_process().alphas_cumprod if alphas_cumprod is None else alphas_cumprod
        ).double()
        self.plan = [
            (j, stage) for j in range(len(grid)) for stage in range(4 if j < self.warm_up else 1)
        ]
        self.times = [max(self._stage_times(j)[stage], 0) for j, stage in self.plan]
        self.timesteps = range(len(self.times))
        self.ets, self.stage_eps, self.base = [], [], None

    def alpha_bar(self, t: int) -> float:
        return 1.0 if t < 0 else self.alphas_cumprod[t].item()

    def _stage_times(self, j: int) -> list[int]:
        t, t_next = self.pairs[j]
        mid = int((t + t_next) / 2)
        return [t, mid, mid, t_next]

    def ddpm_time(self, index: int) -> int:
        return self.times[index]

    def start(self, x_t: torch.Tensor) -> torch.Tensor:
        return x_t

    def scale_model_input(self, x: torch.Tensor, index: int) -> torch.Tensor:
        return x

    def step(
        self,
        eps: torch.Tensor,
        index: int,
        x: torch.Tensor,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        j, stage = self.plan[index]
        t, mid, _, t_next = (self.alpha_bar(s) for s in self._stage_times(j))
        if stage == 0:
            self.base, self.stage_eps = x, []
            self.ets.append(eps)
        if j >= self.warm_up:  # fourth-order linear multistep (Adams-Bashforth) on the eps history
            e = self.ets
            return transfer(x, (55 * e[-1] - 59 * e[-2] + 37 * e[-3] - 9 * e[-4]) / 24, t, t_next)
        self.stage_eps.append(eps)
        if stage < 3:  # the next evaluation: at the midpoint (twice), then at t'
            return transfer(self.base, eps, t, (mid, mid, t_next)[stage])
        e1, e2, e3, e4 = self.stage_eps
        return transfer(self.base, (e1 + 2 * e2 + 2 * e3 + e4) / 6, t, t_next)
