"""What a network is trained to output, one class per objective (as EDM's networks.py has one per
formulation). Each says, for DDPM time t with x_t = a x_0 + s eps (a = sqrt(alpha_bar_t),
s = sqrt(1 - alpha_bar_t)), what the training loss regresses the network on (`regression`) and how
the trained network's output becomes the noise estimate eps that the samplers use (`eps`): the
loss and the denoiser read the same class, so they cannot disagree.
"""

import torch


class Objective:
    """One objective: its name in TrainConfig, its training pair and its eps."""

    name: str

    def regression(self, net, fp, x0, noise, t, g) -> tuple[torch.Tensor, torch.Tensor]:
        """(the network's prediction, its target) for a batch of clean images x0, their noise and
        times t; fp is diffusers' DDPM scheduler, g the batch's generator."""
        raise NotImplementedError

    def eps(self, network, x, t, a, s) -> torch.Tensor:
        """The noise estimate at x_t from `network(x, t)`; a and s broadcast against x."""
        raise NotImplementedError


class Epsilon(Objective):
    """net(x_t, t) = eps (Ho et al. 2020)."""

    name = "eps"

    def regression(self, net, fp, x0, noise, t, g):
        return net(fp.add_noise(x0, noise, t), t), noise

    def eps(self, network, x, t, a, s):
        return network(x, t)


class Velocity(Objective):
    """net(x_t, t) = v = a eps - s x_0 (Salimans & Ho 2022), so eps = a v + s x_t."""

    name = "v"

    def regression(self, net, fp, x0, noise, t, g):
        return net(fp.add_noise(x0, noise, t), t), fp.get_velocity(x0, noise, t)

    def eps(self, network, x, t, a, s):
        return a * network(x, t) + s * x


class CleanImage(Objective):
    """net(x_t, t) = x_0, so eps = (x_t - a x_0) / s."""

    name = "x0"

    def regression(self, net, fp, x0, noise, t, g):
        return net(fp.add_noise(x0, noise, t), t), x0

    def eps(self, network, x, t, a, s):
        return (x - a * network(x, t)) / s


class EDM(Objective):
    """EDM's preconditioning (Karras et al. 2022, Table 1) for a variance-exploding network trained
    in sigma, x = x_0 + sigma n with ln(sigma) ~ N(P_MEAN, P_STD^2):

        D(x; sigma) = c_skip(sigma) x + c_out(sigma) F(c_in(sigma) x, c_noise(sigma)).

    DDPM's x_t is a (x_0 + sigma n) at sigma = s / a: the same noise, up to the scale a."""

    name = "edm"
    SIGMA_DATA = 0.5  # the data's standard deviation (images in [-1, 1])
    P_MEAN, P_STD = -1.2, 1.2  # training noise levels

    def coefficients(self, sigma: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(c_skip, c_out, c_in, c_noise) at noise level sigma."""
        total = sigma**2 + self.SIGMA_DATA**2
        c_skip = self.SIGMA_DATA**2 / total
        c_out = sigma * self.SIGMA_DATA / total.sqrt()
        c_in = 1 / total.sqrt()
        c_noise = sigma.log() / 4
        return c_skip, c_out, c_in, c_noise

    def denoise(self, network, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """D(x; sigma), the clean-image estimate; sigma has shape (batch,)."""
        shape = (-1, *[1] * (x.dim() - 1))
        c_skip, c_out, c_in, c_noise = self.coefficients(sigma)
        return c_skip.view(shape) * x + c_out.view(shape) * network(c_in.view(shape) * x, c_noise)

    def regression(self, net, fp, x0, noise, t, g):
        """The target (x_0 - c_skip x) / c_out makes D(x; sigma) the clean image; t is not used."""
        sigma = (self.P_MEAN + self.P_STD * torch.randn(len(x0), generator=g).to(x0.device)).exp()
        c_skip, c_out, c_in, c_noise = (c.view(-1, 1, 1, 1) for c in self.coefficients(sigma))
        x = x0 + sigma.view(-1, 1, 1, 1) * noise
        return net(c_in * x, c_noise.flatten()), (x0 - c_skip * x) / c_out

    def eps(self, network, x, t, a, s):
        return (x - a * self.denoise(network, x / a, (s / a).flatten())) / s


OBJECTIVES = {
    objective.name: objective for objective in (Epsilon(), Velocity(), CleanImage(), EDM())
}
