"""PBNet: a conditional VAE that turns speech features into a head-pose or blink sequence.

Only the decoder runs at inference: per-frame prior noise, the audio embedding and the
portrait's initial state go into a cross-attention memory, and learned time queries are
decoded into one delta (relative to the initial state) per frame, all frames in one pass.
The encoder is the training-time posterior; it is built because the checkpoints hold it.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .config import PBNetConfig
from .layers import (
    DecoderStack,
    PreNorm,
    RelativePositionBias,
    Residual,
    SelfAttention,
    SinusoidalPositionalEncoding,
)


def frame_mask(lengths: Tensor, frames: int) -> Tensor:
    """``mask[b, t] = t < lengths[b]`` of shape ``(B, frames)``."""
    return torch.arange(frames, device=lengths.device)[None, :] < lengths[:, None]


class PBNetEncoder(nn.Module):
    """Training-time posterior ``q(z | signal, audio)``: per-frame mean and log-variance."""

    def __init__(self, config: PBNetConfig) -> None:
        super().__init__()
        width = config.encoder_dim
        self.mu_layer = nn.Linear(width, config.latent_dim)
        self.sigma_layer = nn.Linear(width, config.latent_dim)
        self.poseEmbedding = nn.Linear(config.signal_dim, config.pose_latent_dim)
        self.firstposeEmbedding = nn.Linear(config.signal_dim, config.pose_latent_dim)
        self.audioEmbedding = nn.Linear(config.audio_dim, config.audio_latent_dim)
        self.sequence_pos_encoder = SinusoidalPositionalEncoding(width, config.pe_max_len, config.dropout)
        layer = nn.TransformerEncoderLayer(
            d_model=width,
            nhead=config.num_heads,
            dim_feedforward=config.ff_size,
            dropout=config.dropout,
            activation=config.activation,
        )
        self.seqTransEncoder = nn.TransformerEncoder(
            layer, num_layers=config.num_layers, enable_nested_tensor=False
        )

    def forward(self, signal: Tensor, audio: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """``signal`` (B, T, D), ``audio`` (B, T, A), ``mask`` (B, T) → ``(mu, logvar)``, each (B, T, L)."""
        first = signal[:, :1]
        tokens = torch.cat(
            (
                self.firstposeEmbedding(first).expand(-1, signal.shape[1], -1),
                self.poseEmbedding(signal - first),
                self.audioEmbedding(audio),
            ),
            dim=-1,
        ).transpose(0, 1)
        hidden = self.seqTransEncoder(
            self.sequence_pos_encoder(tokens), src_key_padding_mask=~mask
        ).transpose(0, 1)
        return self.mu_layer(hidden), self.sigma_layer(hidden)


class PBNetDecoder(nn.Module):
    """Prior decoder: ``(initial state, per-frame noise, audio)`` → per-frame delta (B, T, D)."""

    def __init__(self, config: PBNetConfig) -> None:
        super().__init__()
        width = config.pose_latent_dim
        heads, dim_head, rotary = config.num_heads, config.dim_head, config.rotary_dim
        self.firstposeEmbedding = nn.Linear(config.signal_dim, width)
        self.audioEmbedding = nn.Linear(config.audio_dim, config.audio_latent_dim)
        self.ztimelinear = nn.Linear(width + config.latent_dim + config.audio_latent_dim, width)
        self.init_proj = nn.Linear(width, width)
        self.sequence_pos_encoder = SinusoidalPositionalEncoding(width, config.pe_max_len, config.dropout)
        window = config.attention_window
        self.time_rel_pos_bias_tgt = RelativePositionBias(
            heads, config.num_buckets, config.max_distance, window
        )
        self.time_rel_pos_bias_mem = RelativePositionBias(
            heads, config.num_buckets, config.max_distance, window
        )
        self.init_temporal_attn = Residual(PreNorm(width, SelfAttention(width, heads, dim_head, rotary)))
        self.seqTransDecoder = DecoderStack(
            config.num_layers,
            width,
            heads,
            dim_head,
            rotary,
            config.ff_size,
            config.dropout,
        )
        self.finallayer = nn.Linear(width, config.signal_dim)

    def forward(self, initial: Tensor, noise: Tensor, audio: Tensor, mask: Tensor) -> Tensor:
        """``initial`` (B, D), ``noise`` (T, B, latent) frame-major, ``audio`` (B, T, A), ``mask`` (B, T)."""
        batch, frames = audio.shape[0], audio.shape[1]
        reference = self.firstposeEmbedding(initial)[:, None, :].expand(batch, frames, -1)
        memory = self.ztimelinear(
            torch.cat((reference, noise.permute(1, 0, 2), self.audioEmbedding(audio)), dim=-1)
        )
        queries = self.init_proj(memory.new_zeros(batch, frames, self.init_proj.in_features))
        queries = self.init_temporal_attn(queries, self.time_rel_pos_bias_tgt)
        hidden = self.seqTransDecoder(queries, memory, self.time_rel_pos_bias_tgt, self.time_rel_pos_bias_mem)
        return self.finallayer(hidden) * mask[..., None].to(hidden.dtype)


class PBNet(nn.Module):
    """One PBNet model (pose or blink): the reference CVAE with ``encoder`` and ``decoder``."""

    def __init__(self, config: PBNetConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = PBNetEncoder(config)
        self.decoder = PBNetDecoder(config)

    def draw_noise(self, frames: int, batch: int = 1, generator: torch.Generator | None = None) -> Tensor:
        """Standard-normal latents ``(frames, batch, latent_dim)``, one per frame, on the generator device."""
        device = generator.device if generator is not None else torch.device("cpu")
        return torch.randn(
            (frames, batch, self.config.latent_dim),
            generator=generator,
            device=device,
            dtype=torch.float32,
        )

    @torch.no_grad()
    def generate(
        self,
        initial: Tensor,
        audio: Tensor,
        *,
        noise: Tensor | None = None,
        generator: torch.Generator | None = None,
        fact: float = 1.0,
        lengths: Tensor | None = None,
    ) -> Tensor:
        """Per-frame deltas ``(B, T, D)`` from initial states ``(B, D)`` and audio ``(B, T, A)``.

        ``noise`` ``(T, B, latent_dim)`` replaces the random draw (frame-major, as the reference
        draws it); otherwise it is drawn with ``generator`` (CPU by default, so a seed gives the
        same numbers on every device). The decoder receives ``fact * noise``; frames at or
        beyond ``lengths[b]`` are zero.
        """
        config = self.config
        param = self.decoder.finallayer.weight
        if audio.dim() != 3 or audio.shape[-1] != config.audio_dim:
            raise ValueError(
                f"PBNet expects audio features of shape (batch, frames, {config.audio_dim}), "
                f"got {tuple(audio.shape)}"
            )
        batch, frames = audio.shape[0], audio.shape[1]
        if frames < 1:
            raise ValueError("PBNet needs at least one frame of audio features")
        if initial.dim() == 3:
            initial = initial[:, 0]
        if tuple(initial.shape) != (batch, config.signal_dim):
            raise ValueError(
                f"PBNet expects an initial state of shape ({batch}, {config.signal_dim}), "
                f"got {tuple(initial.shape)}"
            )
        if noise is None:
            noise = self.draw_noise(frames, batch, generator)
        elif tuple(noise.shape) != (frames, batch, config.latent_dim):
            raise ValueError(
                f"PBNet noise must have shape ({frames}, {batch}, {config.latent_dim}), "
                f"got {tuple(noise.shape)}"
            )
        if lengths is None:
            mask = torch.ones(batch, frames, dtype=torch.bool, device=param.device)
        else:
            lengths = torch.as_tensor(lengths, device=param.device).reshape(batch)
            if int(lengths.max()) != frames:
                raise ValueError(
                    f"The longest length ({int(lengths.max())}) must equal the audio frames ({frames})"
                )
            mask = frame_mask(lengths, frames)
        dtype = param.dtype
        return self.decoder(
            initial.to(param.device, dtype),
            fact * noise.to(param.device, dtype),
            audio.to(param.device, dtype),
            mask,
        )
