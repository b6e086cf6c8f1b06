"""How the cosine-similarity encoder is trained: mini-batches of pairs, the loss on their
cosines, validation and early stopping (torch; imported only when an encoder is fitted).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from embreduce.devices import resolve_device
from embreduce.exceptions import InputError
from embreduce.progress import progress_bar
from embreduce.validation import check_sample_weight

TORCH_ACTIVATIONS = {"relu": "ReLU", "gelu": "GELU", "tanh": "Tanh", "silu": "SiLU"}
"""Each activation of the MLP encoder as its torch module (GELU: the exact erf form, as
``encoder._NUMPY_ACTIVATIONS`` computes it)."""

if TYPE_CHECKING:
    from embreduce.reducers.encoder import CosineSimilarityEncoder


def _pair_weights(sample_weight: ArrayLike | None, X: NDArray) -> NDArray[np.float32] | None:
    """Checked weights scaled to mean 1, or ``None`` when every vector weighs the same."""
    if sample_weight is None:
        return None
    w = check_sample_weight(sample_weight, len(X))
    if (w > 0).sum() < 2:
        raise InputError("sample_weight: fewer than 2 vectors have a non-zero weight")
    if np.all(w == w[0]):
        return None  # equal weights: the unweighted loss exactly
    return (w / w.mean()).astype(np.float32)


def _split(n: int, est: CosineSimilarityEncoder, gen: Any) -> tuple[Any, Any]:
    """Shuffle 0..n-1 and hold out a validation part if there is room for one."""
    import torch

    order = torch.randperm(n, generator=gen)
    n_val = 0
    if est.early_stopping and est.validation_fraction > 0:
        n_val = max(2, int(round(est.validation_fraction * n)))
        if n - n_val < 2:
            n_val = 0
    return order[n_val:], order[:n_val]


def _pair_loss(z: Any, target: Any, w: Any = None) -> Any:
    """Mean squared difference of the cosine matrices over the off-diagonal pairs.

    With vector weights ``w`` the mean is weighted, pair ``(i, j)`` by ``w[i] * w[j]``.
    """
    import torch

    zn = torch.nn.functional.normalize(z, dim=1, eps=1e-12)
    diff = zn @ zn.T - target
    b = z.shape[0]
    sq = diff.square()
    if w is None:
        return (sq.sum() - torch.diagonal(sq).sum()) / (b * (b - 1))
    pw = torch.outer(w, w)
    pw.fill_diagonal_(0.0)
    return (sq * pw).sum() / pw.sum().clamp_min(1e-12)


def _pair_count(w: Any, n: int) -> float:
    """Total pair weight of a batch: ``n * (n - 1)`` unweighted."""
    if w is None:
        return float(n * (n - 1))
    return float(w.sum() ** 2 - w.square().sum())


def _build_net(sizes: list[int], activation: str, gen: Any, device: str) -> Any:
    import torch

    act = getattr(torch.nn, TORCH_ACTIVATIONS[activation])
    mlp = len(sizes) > 2

    class EncoderNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = torch.nn.ModuleList(
                torch.nn.utils.skip_init(torch.nn.Linear, a, b, bias=mlp)
                for a, b in zip(sizes[:-1], sizes[1:], strict=True)
            )
            self.act = act()

        def forward(self, x: Any) -> Any:
            for i, layer in enumerate(self.layers):
                x = layer(x)
                if i < len(self.layers) - 1:
                    x = self.act(x)
            return x

    net = EncoderNet()
    with torch.no_grad():
        for layer in net.layers:
            # torch's own default for Linear, drawn from our generator, not the global one
            bound = 1.0 / math.sqrt(layer.in_features)
            torch.nn.init.uniform_(layer.weight, -bound, bound, generator=gen)
            if layer.bias is not None:
                layer.bias.zero_()
    return net.to(device)


def _svd_projection(H: Any, k: int) -> Any:
    """Top-k right singular vectors of ``H`` (rows), uncentred, as a (k, h) matrix."""
    import torch

    gram = (H.T.double() @ H.double()).cpu()
    _, vecs = torch.linalg.eigh(gram)
    top = vecs[:, -k:].flip(1).T  # (k, h), largest first
    # sign convention of sklearn's svd_flip: the largest entry of each vector is positive
    signs = torch.sign(top.gather(1, top.abs().argmax(dim=1, keepdim=True)))
    signs[signs == 0] = 1
    return (top * signs).float()


def _train(
    est: CosineSimilarityEncoder,
    unit: NDArray[np.float32],
    seed: int,
    weights: NDArray[np.float32] | None = None,
) -> dict:
    import torch

    device = resolve_device(est.device)
    gen = torch.Generator().manual_seed(seed)
    rows = _Rows(unit, weights, device)
    train_idx, val_idx = _split(len(unit), est, gen)
    sizes = [unit.shape[1], *map(int, est.hidden_layers), int(est.n_components)]
    net = _build_net(sizes, est.activation, gen, device)
    if est.init == "svd":
        _svd_init(net, rows(train_idx), int(est.n_components), device)
    n_train = len(train_idx)
    schedule = _Schedule(est, n_train)
    opt = torch.optim.AdamW(net.parameters(), lr=est.learning_rate, weight_decay=est.weight_decay)
    validation = _Validation(net, rows, val_idx, est.batch_size)
    init_val = validation.loss() if validation else None
    stopping = _EarlyStopping(net, init_val, est.tol, est.n_iter_no_change)
    loss_curve: list[float] = []
    val_curve: list[float] = []
    step = 0
    with progress_bar("training encoder", est.max_epochs, enabled=bool(est.verbose)) as bar:
        for epoch in range(1, est.max_epochs + 1):
            order = train_idx[torch.randperm(n_train, generator=gen)]
            epoch_loss, step = _epoch(net, opt, rows, order, schedule, step)
            loss_curve.append(epoch_loss)
            bar.advance(1)
            if not validation:
                continue
            val_curve.append(validation.loss())
            if stopping.stop(val_curve[-1], epoch):
                break
    if validation:
        net.load_state_dict(stopping.best_state)
    else:
        stopping.best_epoch = len(loss_curve)
    return {
        "weights": [layer.weight.detach().cpu().numpy().astype(np.float32) for layer in net.layers],
        "biases": [
            None if layer.bias is None else layer.bias.detach().cpu().numpy().astype(np.float32)
            for layer in net.layers
        ],
        "loss_curve": loss_curve,
        "validation_loss_curve": val_curve,
        "init_validation_loss": init_val,
        "best_validation_loss": stopping.best_val,
        "best_epoch": stopping.best_epoch,
        "n_steps": step,
        "n_train": n_train,
        "n_validation": len(val_idx),
        "device": device,
    }


class _Rows:
    """Rows (and their weights, or None) of the training data, on the device, by index."""

    def __init__(self, unit: NDArray[np.float32], weights: NDArray | None, device: str) -> None:
        import torch

        self.device = device
        self.data = torch.from_numpy(unit).to(device)
        self.weights = None if weights is None else torch.from_numpy(weights).to(device)

    def __call__(self, idx: Any) -> tuple[Any, Any]:
        idx = idx.to(self.device)
        return self.data[idx], (None if self.weights is None else self.weights[idx])


def _svd_init(net: Any, train: tuple[Any, Any], k: int, device: str) -> None:
    """Start the last layer at the top-k singular vectors of the (weighted) training rows."""
    import torch

    with torch.no_grad():
        h, hw = train
        for layer in net.layers[:-1]:
            h = net.act(layer(h))
        if hw is not None:
            h = h * hw.sqrt()[:, None]
        net.layers[-1].weight.copy_(_svd_projection(h, k).to(device))


class _Schedule:
    """Batches per epoch and the learning rate: a linear warm-up, then cosine decay."""

    def __init__(self, est: CosineSimilarityEncoder, n_train: int) -> None:
        self.learning_rate = est.learning_rate
        self.n_batches = max(1, int(round(n_train / est.batch_size)))
        self.total_steps = est.max_epochs * self.n_batches
        self.warmup = min(self.n_batches, max(1, self.total_steps // 10))

    def lr_at(self, step: int) -> float:
        ramp = min(1.0, (step + 1) / self.warmup)
        return self.learning_rate * ramp * 0.5 * (1.0 + math.cos(math.pi * step / self.total_steps))


def _epoch(
    net: Any, opt: Any, rows: _Rows, order: Any, schedule: _Schedule, step: int
) -> tuple[float, int]:
    """One pass over the shuffled training rows; ``(mean batch loss, steps so far)``."""
    import torch

    epoch_loss = 0.0
    for chunk in torch.tensor_split(order, schedule.n_batches):
        xb, wb = rows(chunk)
        for group in opt.param_groups:
            group["lr"] = schedule.lr_at(step)
        with torch.no_grad():
            target = xb @ xb.T
        loss = _pair_loss(net(xb), target, wb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        epoch_loss += float(loss.detach())
        step += 1
    return epoch_loss / schedule.n_batches, step


class _Validation:
    """The held-out batches and their pair-weighted loss; false when there are none."""

    def __init__(self, net: Any, rows: _Rows, val_idx: Any, batch_size: int) -> None:
        batches = [rows(chunk) for chunk in _chunks(val_idx, batch_size)]
        self.net = net
        self.batches = [(v, w) for v, w in batches if _pair_count(w, len(v)) > 0]
        self.targets = [v @ v.T for v, _ in self.batches]
        self.pairs = [_pair_count(w, len(v)) for v, w in self.batches]

    def __bool__(self) -> bool:
        return bool(self.batches)

    def loss(self) -> float:
        import torch

        with torch.no_grad():
            losses = [
                float(_pair_loss(self.net(v), t, w)) * p
                for (v, w), t, p in zip(self.batches, self.targets, self.pairs, strict=True)
            ]
        return sum(losses) / sum(self.pairs)


class _EarlyStopping:
    """Keep the best weights; stop after ``patience`` epochs without a ``tol`` gain."""

    def __init__(self, net: Any, init_val: float | None, tol: float, patience: int) -> None:
        self.net, self.tol, self.patience = net, tol, patience
        self.best_val, self.best_epoch, self.stale = init_val, 0, 0
        self.best_state = _copy_state(net)

    def stop(self, val: float, epoch: int) -> bool:
        if val < self.best_val * (1.0 - self.tol):  # type: ignore[operator]
            self.best_val, self.best_epoch, self.stale = val, epoch, 0
            self.best_state = _copy_state(self.net)
            return False
        self.stale += 1
        return self.stale >= self.patience


def _chunks(idx: Any, size: int) -> list[Any]:
    import torch

    if len(idx) < 2:
        return []
    n_chunks = max(1, int(round(len(idx) / size)))
    return [c for c in torch.tensor_split(idx, n_chunks) if len(c) >= 2]


def _copy_state(net: Any) -> dict:
    return {k: v.detach().clone() for k, v in net.state_dict().items()}
