"""Where torch work runs: one rule for the embedding models and the encoder."""

from __future__ import annotations

from embreduce.exceptions import InputError


def resolve_device(device: str) -> str:
    """Turn ``auto`` into ``cuda`` when torch sees a GPU, else ``cpu``; check the others.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda"} or "cuda:N"

    Raises
    ------
    InputError
        An unknown device, or ``cuda`` on a machine where torch sees no GPU.
    """
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise InputError(f"unknown device '{device}': use auto, cpu or cuda")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"device '{device}' was asked for, but torch sees no CUDA GPU")
    return device
