"""Where the sampler's Gaussian draws come from: a seeded generator, or tensors recorded elsewhere."""

from __future__ import annotations

from collections.abc import Sequence

import torch


class NoiseSource:
    """Hands out standard-normal tensors in order.

    Draws from a generator happen on the generator's device and are then moved, so a fixed seed
    gives the same noise whichever device runs the network. A replayed source returns the given
    tensors in order and refuses shape mismatches or running out.
    """

    def __init__(
        self,
        generator: torch.Generator | None = None,
        recorded: Sequence[torch.Tensor] | None = None,
    ) -> None:
        if (generator is None) == (recorded is None):
            raise ValueError("give exactly one of generator and recorded")
        self.generator = generator
        self._recorded = list(recorded) if recorded is not None else None
        self.drawn = 0

    @classmethod
    def seeded(cls, seed: int) -> NoiseSource:
        return cls(generator=torch.Generator(device="cpu").manual_seed(int(seed)))

    @classmethod
    def replay(cls, tensors: Sequence[torch.Tensor]) -> NoiseSource:
        return cls(recorded=tensors)

    def draw(self, shape: Sequence[int], *, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        shape = tuple(int(s) for s in shape)
        if self._recorded is not None:
            if self.drawn >= len(self._recorded):
                raise ValueError(f"replayed noise ran out after {self.drawn} tensors")
            value = self._recorded[self.drawn]
            if tuple(value.shape) != shape:
                raise ValueError(
                    f"replayed noise tensor {self.drawn} has shape {tuple(value.shape)}, "
                    f"the sampler needs {shape}"
                )
        else:
            assert self.generator is not None
            value = torch.randn(
                shape, generator=self.generator, device=self.generator.device, dtype=torch.float32
            )
        self.drawn += 1
        return value.to(device=device, dtype=dtype)
