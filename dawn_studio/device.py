"""Compute devices: which exist here, which to use by default, and how to name them for people."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class ComputeDevice:
    """A torch device with the name shown to the user."""

    torch_device: str
    label: str

    @property
    def kind(self) -> str:
        return self.torch_device.split(":")[0]


def available_devices() -> list[ComputeDevice]:
    """Accelerators first (CUDA GPUs, Apple MPS), the CPU always last."""
    found: list[ComputeDevice] = []
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            found.append(ComputeDevice(f"cuda:{index}", f"CUDA: {torch.cuda.get_device_name(index)}"))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append(ComputeDevice("mps", "Apple GPU (MPS)"))
    found.append(ComputeDevice("cpu", f"CPU ({torch.get_num_threads()} threads)"))
    return found


def default_device() -> ComputeDevice:
    return available_devices()[0]


def resolve_device(name: str | None) -> ComputeDevice:
    """Map a user's choice ('auto', 'cpu', 'cuda', 'cuda:1', 'mps') to an available device."""
    if name in (None, "", "auto"):
        return default_device()
    devices = available_devices()
    for dev in devices:
        if dev.torch_device == name or (name == "cuda" and dev.kind == "cuda"):
            return dev
    names = ", ".join(["auto"] + [d.torch_device for d in devices])
    raise ValueError(f"Compute device '{name}' is not available on this machine (available: {names})")
