"""Training configuration: dataclasses loaded from TOML (``tomllib``) with command-line overrides.

A TOML file has the top-level keys ``kind``, ``data``, ``out``, ``seed`` and one table per
section below (``[generator]``, ``[discriminator]``, ``[optim]``, ``[loss]``, ``[sampling]``,
``[augment]``, ``[guide]``, ``[log]``). Any key left out takes the default written here; a key that does not
exist is an error (:class:`ConfigError`), never silently ignored. ``None`` defaults are filled per
model kind (the paper's GGANmut uses lambda_cls 0.5 and n_c 7 of 16 where GANmut uses 1 and 9).
"""
from __future__ import annotations

import json
import tomllib
import typing
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path

from ganmut.generator import GeneratorConfig
from ganmut.spaces import SPACES, TAU, make_space

from .recipes import recipe

KINDS = tuple(SPACES)  # "linear", "gaussian", "stargan"


class ConfigError(ValueError):
    """A configuration file or override is missing, malformed or names an unknown setting."""


@dataclass
class DiscriminatorConfig:
    """StarGAN discriminator: stride-2 4x4 convs from ``conv_dim`` channels, doubling up to ``max_channels``."""

    conv_dim: int = 64
    max_channels: int = 2048  # 2048 = uncapped at 128 px (the paper's D)
    norm: str = "none"  # "none" (StarGAN) | "spectral"


@dataclass
class OptimConfig:
    """Batches, optimisers and schedules. One iteration = one batch = one D step; G steps every ``n_critic``."""

    batch_size: int = 16  # per process; the global batch under torchrun is batch_size * world size
    iters: int = 200_000
    lr_g: float = 1e-4
    lr_d: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.999
    n_critic: int = 5
    decay_iters: int = 100_000  # learning rates fall linearly to 0 over the last decay_iters iterations
    ema_decay: float = 0.999  # EMA of G and its space; 0 disables it (export then uses G itself)
    bf16: bool = True  # bf16 autocast on CUDA and on the CPU (1.6x on a CPU with native bf16, AVX-512 BF16)


@dataclass
class LossConfig:
    """Loss weights (the paper's defaults) and the adversarial formulation."""

    adversarial: str = "wgan"  # "wgan" (paper) | "logistic" (non-saturating, pair with r1 as StarGAN v2)
    penalty: str = "gp"  # "gp" (WGAN-GP, paper) | "r1" (on real images) | "none"
    penalty_every: int = 1  # lazy regularisation: apply the penalty every k D steps, weighted by k
    lambda_gp: float = 10.0
    lambda_r1: float = 1.0  # multiplies 0.5 * E||grad D(x)||^2 as in StarGAN v2
    lambda_cls: float | None = None  # 1 (GANmut, StarGAN), 0.5 (GGANmut)
    lambda_info: float = 1.0  # coordinate regression, D and G (linear and Gaussian)
    lambda_rho: float = 4.0  # linear only
    lambda_div: float = 2.0  # Gaussian only
    div_modes: bool = True  # Gaussian: the divergence also covers S_c's codes at the modes (false: S_r's codes only)
    lambda_rec: float = 10.0
    lambda_mask: float = 0.0  # attention output: lambda * mean(A) on both G passes (GANimation's L_A, 0.1 there)
    lambda_id: float = 0.0  # identity at the image's own code: lambda * E|G(x, c(x)) - x|, c(x) the cycle's code of x
    id_fraction: float = 0.25  # share of the batch's real images that the identity term uses (it costs a G pass)
    id_neutral_anchor: bool = False  # the identity term codes faces labelled neutral at the neutral anchor, not at D's reading
    neutral_weight: float = 1.0  # scales the S_c terms of neutral targets in G's classification and guide losses
    lambda_neutral_id: float = 0.0  # lambda * E|G(x, c) - x| over S_c's neutral targets c: the origin edits minimally
    lambda_texture: float = 0.0  # lambda * E|h - box3(h)|, h = G(x, z) - x over every fake: edits carry no fine texture
    lambda_template: float = 0.0  # lambda * |mean_x (G(x, neutral anchor) - x)|, over half the batch: no pattern common to every face
    # the warp output (generator.output = "warp", ganmut.motion); each term is over every fake of a G step
    lambda_flow_tv: float = 1.0  # lambda * Charbonnier |grad flow| on the flow grid (strain): a smooth warp
    lambda_fold: float = 10.0  # lambda * E max(0, 0.25 - det J): no fold, no crushed region
    lambda_gain: float = 1.0  # lambda * E|log gain|: shading only where it pays
    lambda_mouth: float = 2.0  # lambda * E[alpha]: new pixels only where the warp cannot supply them
    lambda_warp_cls: float = 0.5  # lambda * D's classification of the warp-only S_c fakes: geometry carries the emotion


@dataclass
class SamplingConfig:
    """How the conditional codes of a batch are drawn (see :mod:`training.recipes`)."""

    nc_fraction: float | None = None  # share of the batch in S_c: 9/16 linear, 7/16 Gaussian, 1 StarGAN
    noise_std: float | None = None  # code noise in S_c: 0.1 linear (paper), 0.05 Gaussian, unused by StarGAN
    tau: float = TAU  # below this radius a linear code means neutral
    class_balance: float = 0.0  # real faces and targets c drawn prop. to count(c) ** (1 - b): 1 = every emotion alike


@dataclass
class AugmentConfig:
    """Batched on-device augmentation; every range is symmetric around the identity except zoom."""

    flip: bool = True
    rotate_deg: float = 7.5
    translate: float = 0.05  # max shift as a fraction of the image side
    zoom_min: float = 1.0  # zoom > 1 crops in (the official code used 1.075-1.15 at 128 px)
    zoom_max: float = 1.1


@dataclass
class GuideConfig:
    """A frozen emotion classifier whose cross-entropy on G's S_c fakes joins G's loss (off while ``classifier`` is "").

    The fakes are first shifted by one random whole-pixel offset a batch and box-blurred, so that G
    gains little from pixel patterns that only this network reads. Judge such a G with another
    classifier (the bundled ``weights/fer-classifier.safetensors``, when the guide is another one)."""

    classifier: str = ""  # .safetensors written by training.train_classifier
    weight: float = 0.5
    blur: int = 3  # box-filter side (odd; 1 = no blur)
    shift: int = 3  # the offset lies in [-shift, shift] on each axis


@dataclass
class LogConfig:
    log_every: int = 100
    sample_every: int = 2000
    ckpt_every: int = 5000
    tensorboard: bool = True


@dataclass
class TrainConfig:
    """Everything a training run needs; saved into every checkpoint."""

    kind: str = "linear"  # "linear" (GANmut) | "gaussian" (GGANmut) | "stargan" (baseline)
    data: str = ""  # dataset pack (.npz) written by training.prepare
    out: str = "runs/ganmut"
    seed: int = 0
    generator: dict = field(default_factory=dict)  # GeneratorConfig fields except code_dim
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    guide: GuideConfig = field(default_factory=GuideConfig)
    log: LogConfig = field(default_factory=LogConfig)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        try:
            defaults = recipe(self.kind).defaults
        except ValueError as e:
            raise ConfigError(str(e)) from None
        for key, value in defaults.items():
            section = self.loss if hasattr(self.loss, key) else self.sampling
            if getattr(section, key) is None:
                setattr(section, key, value)
        self.generator_config()  # validates the generator table
        o, lo, s, a = self.optim, self.loss, self.sampling, self.augment
        checks = [
            (o.batch_size >= 2, "optim.batch_size must be at least 2"),
            (o.iters >= 1, "optim.iters must be positive"),
            (o.n_critic >= 1, "optim.n_critic must be at least 1"),
            (o.decay_iters >= 0, "optim.decay_iters must be >= 0"),
            (0 <= o.ema_decay < 1, "optim.ema_decay must lie in [0, 1)"),
            (lo.adversarial in ("wgan", "logistic"), "loss.adversarial must be 'wgan' or 'logistic'"),
            (lo.penalty in ("gp", "r1", "none"), "loss.penalty must be 'gp', 'r1' or 'none'"),
            (lo.penalty_every >= 1, "loss.penalty_every must be at least 1"),
            (lo.lambda_id >= 0 and 0 < lo.id_fraction <= 1, "loss.lambda_id must be >= 0 and id_fraction in (0, 1]"),
            (lo.neutral_weight >= 0, "loss.neutral_weight must be >= 0"),
            (lo.lambda_neutral_id >= 0, "loss.lambda_neutral_id must be >= 0"),
            (lo.lambda_texture >= 0, "loss.lambda_texture must be >= 0"),
            (min(lo.lambda_flow_tv, lo.lambda_fold, lo.lambda_gain, lo.lambda_mouth, lo.lambda_warp_cls) >= 0,
             "the warp output's loss weights (lambda_flow_tv, lambda_fold, lambda_gain, lambda_mouth, lambda_warp_cls) must be >= 0"),
            (0 <= self.sampling.class_balance <= 1, "sampling.class_balance must lie in [0, 1]"),
            (lo.lambda_template >= 0, "loss.lambda_template must be >= 0"),
            (self.discriminator.norm in ("none", "spectral"), "discriminator.norm must be 'none' or 'spectral'"),
            (0 < s.nc_fraction <= 1, "sampling.nc_fraction must lie in (0, 1]"),
            (s.noise_std >= 0 and 0 <= s.tau < 1, "sampling.noise_std must be >= 0 and tau in [0, 1)"),
            (1 <= a.zoom_min <= a.zoom_max, "augment needs 1 <= zoom_min <= zoom_max"),
            (a.rotate_deg >= 0 and a.translate >= 0, "augment.rotate_deg and translate must be >= 0"),
            (self.guide.weight >= 0 and self.guide.blur >= 1 and self.guide.blur % 2 and self.guide.shift >= 0,
             "guide needs weight >= 0, an odd blur >= 1 and shift >= 0"),
            (min(self.log.log_every, self.log.sample_every, self.log.ckpt_every) >= 1, "log intervals must be positive"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)

    def generator_config(self) -> GeneratorConfig:
        """The generator architecture, with ``code_dim`` fixed by the space of ``kind``."""
        if "code_dim" in self.generator:
            raise ConfigError("generator.code_dim is set by kind; remove it")
        try:
            return GeneratorConfig.from_dict({**self.generator, "code_dim": make_space(self.kind).dim})
        except (TypeError, ValueError) as e:
            raise ConfigError(f"generator: {e}") from None

    @property
    def n_c(self) -> int:
        """Number of S_c samples in a (per-process) batch."""
        return max(1, round(self.optim.batch_size * self.sampling.nc_fraction))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict, source: str = "config") -> "TrainConfig":
        return _build(cls, d, source, "")


def _build(cls, d: dict, source: str, prefix: str):
    """Instantiate dataclass ``cls`` from a dict, checking key names and value types."""
    if not isinstance(d, dict):
        raise ConfigError(f"{source}: '{prefix.rstrip('.')}' must be a table")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise ConfigError(f"{source}: unknown setting '{prefix}{unknown[0]}' (known: {', '.join(sorted(names))})")
    kwargs = {}
    for name, value in d.items():
        hint = hints[name]
        if is_dataclass(hint):
            kwargs[name] = value if isinstance(value, hint) else _build(hint, value, source, f"{prefix}{name}.")
        else:
            kwargs[name] = _coerce(value, hint, f"{source}: {prefix}{name}")
    try:
        return cls(**kwargs)
    except ConfigError as e:
        raise ConfigError(f"{source}: {e}") from None


def _coerce(value, hint, where: str):
    allowed = typing.get_args(hint) or (hint,)
    if value is None and type(None) in allowed:
        return None
    if float in allowed and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    for t in allowed:
        if t is not type(None) and isinstance(value, t) and not (t is int and isinstance(value, bool)):
            return value
    names = "/".join(getattr(t, "__name__", str(t)) for t in allowed if t is not type(None))
    raise ConfigError(f"{where} must be {names}, got {value!r}")


def load_config(path: str | Path | None, overrides: dict | None = None) -> TrainConfig:
    """Read a TOML file (or start from defaults when ``path`` is None) and apply nested overrides."""
    data: dict = {}
    source = "defaults"
    if path is not None:
        path = Path(path)
        source = str(path)
        try:
            data = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            raise ConfigError(f"{path}: not a valid TOML file: {e}") from None
    merge(data, overrides or {})
    return TrainConfig.from_dict(data, source)


def merge(base: dict, extra: dict) -> dict:
    """Recursively merge ``extra`` into ``base`` (in place) and return it."""
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            merge(base[k], v)
        else:
            base[k] = v
    return base


def parse_override(text: str) -> dict:
    """``"loss.lambda_rho=2"`` -> ``{"loss": {"lambda_rho": 2}}``; the value is read as TOML, else as a string."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {text!r} must look like section.key=value")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    out: dict = {}
    node = out
    parts = key.strip().split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = value
    return out


def to_toml(d: dict) -> str:
    """Minimal TOML writer for a TrainConfig dict (scalars at top level, one table per section)."""
    def val(v) -> str:
        return json.dumps(v) if not isinstance(v, bool) else str(v).lower()

    top = [f"{k} = {val(v)}" for k, v in d.items() if not isinstance(v, dict)]
    tables = [f"\n[{k}]\n" + "\n".join(f"{kk} = {val(vv)}" for kk, vv in v.items()) for k, v in d.items() if isinstance(v, dict)]
    return "\n".join(top) + "\n" + "\n".join(tables) + "\n"
