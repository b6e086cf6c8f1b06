"""CosineSimilarityEncoder: an encoder with no decoder, trained to keep cosine similarities.

An autoencoder learns to rebuild its input. Here the decoder is gone: the loss compares the
cosine-similarity matrix of a batch of inputs with that of the encoder's outputs, over the
off-diagonal pairs. The reduced space is asked directly for what we want from it: the
relative similarities of the original space.

Training runs in torch (imported only by :meth:`CosineSimilarityEncoder.fit`); the fitted
weights are plain numpy arrays, so ``transform``, saving and loading need no torch.
"""

from __future__ import annotations

import math
import time
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import erf
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from embreduce.exceptions import InputError
from embreduce.reducers.baselines import check_n_components
from embreduce.reducers.encoder_training import (
    TORCH_ACTIVATIONS,
    _pair_weights,
    _train,
)
from embreduce.reducers.persistence import check_array_shapes, load_reducer, save_reducer

ACTIVATIONS = tuple(TORCH_ACTIVATIONS)
"""Activations allowed between the hidden layers of the MLP encoder."""

_TRANSFORM_ROWS = 16384
"""Rows encoded at a time by ``transform``."""

_NUMPY_ACTIVATIONS = {
    "relu": lambda z: np.maximum(z, 0.0),
    "gelu": lambda z: 0.5 * z * (1.0 + erf(z / math.sqrt(2.0))),
    "tanh": np.tanh,
    "silu": lambda z: z / (1.0 + np.exp(-z)),
}


class CosineSimilarityEncoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Reduce vectors with an encoder trained to keep pairwise cosine similarities.

    The loss is the mean squared difference between the cosine-similarity matrix of a batch
    of inputs and that of the encoder's outputs, over off-diagonal pairs. Mini-batches are
    drawn from the whole (shuffled) training set every epoch. A validation split, fixed for
    the whole fit, decides early stopping, and the best weights seen (the initial ones
    included) are kept.

    With ``hidden_layers=()`` the encoder is one linear map without bias,
    ``transform(X) = X @ components_.T``; it is scale-equivariant, so inputs need no
    normalising and :func:`embreduce.reducers.linear_map` can export it. With hidden layers
    it is an MLP that L2-normalises its inputs first (it was trained on unit vectors).

    Parameters
    ----------
    n_components : int, default=128
        Output dimension.
    hidden_layers : tuple of int, default=()
        Sizes of the hidden layers; empty for a linear encoder, e.g. ``(512,)`` for an MLP.
    activation : {"relu", "gelu", "tanh", "silu"}, default="gelu"
        Activation after each hidden layer (unused by the linear encoder).
    max_epochs : int, default=50
        Most passes over the training set.
    batch_size : int, default=1024
        Vectors per mini-batch; the loss of a batch covers its ``b * (b - 1)`` pairs.
    learning_rate : float, default=5e-3
        Peak learning rate of Adam(W); it warms up over the first epoch and then follows a
        cosine decay to zero at ``max_epochs``.
    weight_decay : float, default=0.0
        AdamW weight decay.
    validation_fraction : float, default=0.1
        Share of the vectors held out to decide early stopping (at least 2 vectors).
    early_stopping : bool, default=True
        Stop when the validation loss has not improved for ``n_iter_no_change`` epochs, and
        keep the best weights. If False, or if there are too few vectors to hold some out,
        all vectors train and the final weights are kept.
    n_iter_no_change : int, default=8
        Epochs without improvement before stopping.
    tol : float, default=1e-4
        Relative improvement of the validation loss that counts as improvement.
    init : {"svd", "random"}, default="svd"
        ``"svd"`` starts the linear encoder (or the MLP's last layer, on the hidden
        activations) from the uncentred SVD projection of the L2-normalised training
        vectors, so training starts from that baseline; ``"random"`` draws uniform
        weights like torch's default.
    device : {"auto", "cpu", "cuda"}, default="auto"
        Where training runs; ``"auto"`` takes a GPU when torch sees one. ``transform``
        always runs in numpy on the CPU.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the validation split and the batch order. Fits on the CPU with
        the same seed give the same weights.
    verbose : bool, default=False
        Draw a progress bar on stderr.

    Attributes
    ----------
    weights_ : list of ndarray
        Layer weights in torch ``Linear`` layout ``(out, in)``, float32.
    biases_ : list of ndarray or None
        Layer biases; ``None`` for the linear encoder's single layer.
    components_ : ndarray of shape (n_components, n_features_in_)
        The linear encoder's weights (linear encoder only).
    n_features_in_ : int
        Input dimension.
    loss_curve_ : list of float
        Mean training loss of each epoch.
    validation_loss_curve_ : list of float
        Validation loss after each epoch; empty without a validation split.
    init_validation_loss_ : float or None
        Validation loss of the initial weights.
    best_epoch_ : int
        Epoch of the kept weights (0: the initial weights were never beaten).
    n_iter_ : int
        Epochs run.
    n_steps_ : int
        Optimiser steps taken.
    training_summary_ : dict
        Sizes, losses, device and fit time, as written to ``config.json``.

    See Also
    --------
    embreduce.reducers.make_reducer : Build this or a baseline by name.
    sklearn.decomposition.TruncatedSVD : The uncentred SVD baseline it starts from.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(200, 16))
    >>> enc = CosineSimilarityEncoder(n_components=4, max_epochs=5, random_state=0)
    >>> enc.fit_transform(X).shape
    (200, 4)
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "hidden_layers": [tuple, list],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 2, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "early_stopping": ["boolean"],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "init": [StrOptions({"svd", "random"})],
        "device": [StrOptions({"auto", "cpu", "cuda"})],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_components: int = 128,
        *,
        hidden_layers: tuple[int, ...] = (),
        activation: str = "gelu",
        max_epochs: int = 50,
        batch_size: int = 1024,
        learning_rate: float = 5e-3,
        weight_decay: float = 0.0,
        validation_fraction: float = 0.1,
        early_stopping: bool = True,
        n_iter_no_change: int = 8,
        tol: float = 1e-4,
        init: str = "svd",
        device: str = "auto",
        random_state: int | np.random.RandomState | None = None,
        verbose: bool = False,
    ) -> None:
        self.n_components = n_components
        self.hidden_layers = hidden_layers
        self.activation = activation
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.init = init
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ fitting

    def fit(
        self, X: ArrayLike, y: Any = None, sample_weight: ArrayLike | None = None
    ) -> CosineSimilarityEncoder:
        """Train the encoder on the vectors ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training vectors; at least 2, none all-zero (its cosine is undefined).
        y : ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each vector. The pair ``(i, j)`` counts
            ``sample_weight[i] * sample_weight[j]`` in the training and validation losses,
            as if vector ``i`` appeared ``sample_weight[i]`` times, and the SVD start is
            weighted the same way. Use it when the rows are a vocabulary and the vectors
            will be used on running text: weighting words by their corpus frequency fits
            the pairs that occur most. ``None`` (or equal weights) weighs every pair alike.

        Returns
        -------
        self
        """
        self._validate_params()
        self._check_hidden_layers()
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=2)
        n, d = X.shape
        check_n_components(self.n_components, d, method=self._method_name)
        norms = np.linalg.norm(X.astype(np.float64), axis=1)
        if not (norms > 0).all():
            row = int(np.flatnonzero(norms == 0)[0])
            raise InputError(
                f"{self._method_name}: row {row} is all zeros, so its cosine similarity is "
                f"undefined ({int((norms == 0).sum())} zero row(s) in all)"
            )
        weights = _pair_weights(sample_weight, X)
        unit = (X / norms[:, None]).astype(np.float32)
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        start = time.perf_counter()
        result = _train(self, unit, seed, weights)
        self.weights_ = result["weights"]
        self.biases_ = result["biases"]
        self.loss_curve_ = result["loss_curve"]
        self.validation_loss_curve_ = result["validation_loss_curve"]
        self.init_validation_loss_ = result["init_validation_loss"]
        self.best_epoch_ = result["best_epoch"]
        self.n_iter_ = len(self.loss_curve_)
        self.n_steps_ = result["n_steps"]
        self.training_summary_ = {
            "n_samples": n,
            "n_train": result["n_train"],
            "n_validation": result["n_validation"],
            "sample_weight": weights is not None,
            "epochs": self.n_iter_,
            "steps": self.n_steps_,
            "best_epoch": self.best_epoch_,
            "init_validation_loss": self.init_validation_loss_,
            "best_validation_loss": result["best_validation_loss"],
            "final_training_loss": self.loss_curve_[-1] if self.loss_curve_ else None,
            "device": result["device"],
            "fit_seconds": round(time.perf_counter() - start, 3),
        }
        return self

    def transform(self, X: ArrayLike) -> NDArray[np.float32]:
        """Encode ``X``; the result is float32 of shape (n_samples, n_components).

        Computed in float64 numpy and rounded to float32, so it does not depend on how the
        rows are batched.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        return self._forward(X)

    def _forward(self, X: NDArray[np.floating]) -> NDArray[np.float32]:
        out = np.empty((X.shape[0], int(self.n_components)), dtype=np.float32)
        for start in range(0, X.shape[0], _TRANSFORM_ROWS):  # float64 copies stay small
            out[start : start + _TRANSFORM_ROWS] = self._forward_block(
                X[start : start + _TRANSFORM_ROWS]
            )
        return out

    def _forward_block(self, X: NDArray[np.floating]) -> NDArray[np.float32]:
        Z = np.asarray(X, dtype=np.float64)
        if self.hidden_layers:
            norms = np.linalg.norm(Z, axis=1, keepdims=True)
            Z = Z / np.where(norms > 0, norms, 1.0)
        act = _NUMPY_ACTIVATIONS[self.activation]
        last = len(self.weights_) - 1
        for i, (w, b) in enumerate(zip(self.weights_, self.biases_, strict=True)):
            Z = Z @ w.T.astype(np.float64)
            if b is not None:
                Z += b.astype(np.float64)
            if i < last:
                Z = act(Z)
        return Z.astype(np.float32)

    # ------------------------------------------------------------------ properties

    @property
    def components_(self) -> NDArray[np.float32]:
        """The linear encoder's weight matrix, shape (n_components, n_features_in_)."""
        check_is_fitted(self)
        if self.hidden_layers:
            raise AttributeError("components_ exists only for the linear encoder")
        return self.weights_[0]

    @property
    def layer_sizes(self) -> list[int]:
        """``[n_features_in_, *hidden_layers, n_components]`` of the fitted encoder."""
        check_is_fitted(self)
        return [self.n_features_in_, *map(int, self.hidden_layers), int(self.n_components)]

    @property
    def _n_features_out(self) -> int:
        return int(self.n_components)

    @property
    def _method_name(self) -> str:
        return "encoder-mlp" if self.hidden_layers else "encoder"

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "weights_")

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        tags.non_deterministic = False
        return tags

    def _check_hidden_layers(self) -> None:
        bad = [h for h in self.hidden_layers if isinstance(h, bool) or not isinstance(h, Integral)]
        if bad or any(h < 1 for h in self.hidden_layers):
            raise InputError(
                f"hidden_layers must be a tuple of positive integers, got {self.hidden_layers!r}"
            )

    # ------------------------------------------------------------------ persistence

    def save(
        self, directory: str | Path, *, extra: dict | None = None, overwrite: bool = False
    ) -> Path:
        """Write ``config.json`` and ``model.safetensors`` into ``directory`` (atomically).

        See :func:`embreduce.reducers.save_reducer` for the format.

        Examples
        --------
        >>> import numpy as np, tempfile
        >>> X = np.random.default_rng(0).normal(size=(50, 8))
        >>> enc = CosineSimilarityEncoder(2, max_epochs=2, random_state=0).fit(X)
        >>> back = CosineSimilarityEncoder.load(enc.save(tempfile.mkdtemp() + "/enc"))
        >>> bool((back.transform(X) == enc.transform(X)).all())
        True
        """
        return save_reducer(self, directory, extra=extra, overwrite=overwrite)

    @classmethod
    def load(cls, directory: str | Path) -> CosineSimilarityEncoder:
        """Read an encoder written by :meth:`save`, checking its config and array shapes."""
        model = load_reducer(directory)
        if not isinstance(model, cls):
            raise InputError(
                f"{directory}: holds a '{type(model).__name__}' reducer, not an encoder; "
                "use embreduce.reducers.load_reducer"
            )
        return model

    def _config_extra(self) -> dict[str, Any]:
        return {
            "architecture": {
                "layer_sizes": self.layer_sizes,
                "activation": self.activation if self.hidden_layers else None,
                "normalize_input": bool(self.hidden_layers),
                "bias": bool(self.hidden_layers),
                "weights": "layers.{i}.weight (out, in); layers.{i}.bias (out,) for the MLP",
            },
            "training": self.training_summary_,
        }

    def _get_state(self) -> tuple[dict[str, NDArray], dict[str, Any]]:
        arrays: dict[str, NDArray] = {}
        for i, (w, b) in enumerate(zip(self.weights_, self.biases_, strict=True)):
            arrays[f"layers.{i}.weight"] = w
            if b is not None:
                arrays[f"layers.{i}.bias"] = b
        fitted = {
            "loss_curve_": self.loss_curve_,
            "validation_loss_curve_": self.validation_loss_curve_,
            "init_validation_loss_": self.init_validation_loss_,
            "best_epoch_": self.best_epoch_,
            "n_iter_": self.n_iter_,
            "n_steps_": self.n_steps_,
            "training_summary_": self.training_summary_,
        }
        return arrays, fitted

    def _set_state(self, arrays: dict[str, NDArray], fitted: dict[str, Any], d: int) -> None:
        self.hidden_layers = tuple(int(h) for h in self.hidden_layers)
        self._check_hidden_layers()
        sizes = [d, *self.hidden_layers, int(self.n_components)]
        expected = {}
        for i in range(len(sizes) - 1):
            expected[f"layers.{i}.weight"] = (sizes[i + 1], sizes[i])
            if self.hidden_layers:
                expected[f"layers.{i}.bias"] = (sizes[i + 1],)
        check_array_shapes(arrays, expected, what=self._method_name)
        n_layers = len(sizes) - 1
        self.weights_ = [np.asarray(arrays[f"layers.{i}.weight"]) for i in range(n_layers)]
        self.biases_ = [
            np.asarray(arrays[f"layers.{i}.bias"]) if self.hidden_layers else None
            for i in range(n_layers)
        ]
        self.n_features_in_ = d
        for key, value in fitted.items():
            setattr(self, key, value)


# ---------------------------------------------------------------------- training (torch)
