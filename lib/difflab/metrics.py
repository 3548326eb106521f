"""How alike two sets of images are: pixel similarity, the papers' RP and GL scores, and a
threshold-free retrieval accuracy.

RP counts same-noise pairs above a similarity threshold. The paper's 0.6 is for SSCD features;
for centred pixel cosine, shuffled (unrelated) pairs of Fashion-MNIST already score near 0.47,
so the threshold is calibrated: the value that shuffled pairs exceed only a small share of the time.
"""

import torch


def _centred_unit(x: torch.Tensor) -> torch.Tensor:
    flat = x.flatten(1).double()
    flat = flat - flat.mean(1, keepdim=True)
    return flat / flat.norm(dim=1, keepdim=True).clamp_min(1e-12)


def pair_similarity(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Centred pixel cosine of a_i with b_i (Kadkhodaie et al.'s measure, mean removed)."""
    return (_centred_unit(a) * _centred_unit(b)).sum(1)


def similarity_matrix(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Centred pixel cosine of every a_i with every b_j."""
    return _centred_unit(a) @ _centred_unit(b).T


def shuffled_similarity(a: torch.Tensor, b: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """Similarity of a_i with b_pi(i) for a random derangement pi: the unrelated-pairs baseline."""
    n = len(a)
    shift = torch.randint(1, n, (1,), generator=torch.Generator().manual_seed(seed)).item()
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed + 1))
    partner = torch.empty_like(perm)
    partner[perm] = perm.roll(shift)   # a cyclic shift of a shuffled order moves every index
    return pair_similarity(a, b[partner])


def calibrated_threshold(a: torch.Tensor, b: torch.Tensor, false_positive_rate: float = 0.01,
                         seed: int = 0) -> float:
    """The similarity that shuffled pairs exceed with probability `false_positive_rate`."""
    if not 0 < false_positive_rate < 1:
        raise ValueError(f"false_positive_rate={false_positive_rate} is out of range; allowed: 0 < rate < 1")
    return torch.quantile(shuffled_similarity(a, b, seed), 1 - false_positive_rate).item()


def rp_score(a: torch.Tensor, b: torch.Tensor, threshold: float) -> float:
    """Reproducibility: the share of same-noise pairs (a_i, b_i) more similar than `threshold`."""
    if len(a) != len(b):
        raise ValueError(f"a and b must pair up one to one; got {len(a)} and {len(b)} images")
    return (pair_similarity(a, b) > threshold).double().mean().item()


def retrieval_accuracy(a: torch.Tensor, b: torch.Tensor) -> float:
    """The share of i for which b_i is the most similar of all b to a_i (chance: 1 / len(b))."""
    return (similarity_matrix(a, b).argmax(1) == torch.arange(len(a))).double().mean().item()


def nearest_neighbours(samples: torch.Tensor, train: torch.Tensor, chunk: int = 1024):
    """For each sample: (L2 distance to, index of, and centred cosine with) its nearest training image."""
    flat_train = train.flatten(1).double()
    distances, indices = [], []
    for part in samples.flatten(1).double().split(chunk):
        d, i = torch.cdist(part, flat_train).min(1)
        distances.append(d), indices.append(i)
    distances, indices = torch.cat(distances), torch.cat(indices)
    return distances, indices, pair_similarity(samples, train[indices])


def gl_score(samples: torch.Tensor, train: torch.Tensor, threshold: float) -> float:
    """Generalization: the share of samples whose nearest training image is no closer than `threshold`
    in similarity, i.e. the samples that are not copies of a training image."""
    similarity = nearest_neighbours(samples, train)[2]
    return (similarity <= threshold).double().mean().item()
