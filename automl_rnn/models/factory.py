"""One factory builds every cell x topology network from an :class:`ArchConfig` and a DataShape."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from automl_rnn.data.contract import DataShape
from automl_rnn.errors import ConfigError, unknown_name
from automl_rnn.kinds import BIDIRECTIONAL_TOPOLOGIES, SKIP_TOPOLOGIES, TOPOLOGIES
from automl_rnn.models.cells import Recurrent
from automl_rnn.models.decoder import Decoder
from automl_rnn.models.skip import SeasonalNaiveSkip
from automl_rnn.models.topologies import EncoderDecoder, Seq2Seq, Seq2Vec, Vec2Seq

# Which output kinds each topology can produce.
_KINDS_BY_TOPOLOGY: dict[str, frozenset[str]] = {
    "seq2seq": frozenset({"forecast", "regression", "tokens"}),
    "seq2vec": frozenset({"forecast", "regression", "classification"}),
    "vec2seq": frozenset({"forecast", "regression", "tokens"}),
    "encoder_decoder": frozenset({"forecast", "regression", "tokens"}),
}


@dataclass(frozen=True)
class ArchConfig:
    """The architecture hyperparameters of one network."""

    cell: str = "lstm"
    topology: str = "seq2vec"
    num_layers: int = 1
    hidden_size: int = 64
    dropout: float = 0.0
    bidirectional: bool = False
    readout: str = "last"
    skip: str = "none"
    head_init: str = "default"


def check_fits(arch: ArchConfig, shape: DataShape) -> None:
    """Raise :class:`ConfigError` when the topology cannot produce this task's output."""
    if arch.topology not in TOPOLOGIES:
        raise ConfigError(unknown_name("topology", arch.topology, TOPOLOGIES))
    if shape.kind not in _KINDS_BY_TOPOLOGY[arch.topology]:
        raise ConfigError(f"topology '{arch.topology}' cannot produce {shape.kind} outputs")
    if arch.bidirectional and arch.topology not in BIDIRECTIONAL_TOPOLOGIES:
        raise ConfigError(
            f"bidirectional is only possible for {sorted(BIDIRECTIONAL_TOPOLOGIES)}, "
            f"not '{arch.topology}'"
        )
    if arch.skip != "none" and (shape.kind != "forecast" or arch.topology not in SKIP_TOPOLOGIES):
        raise ConfigError(
            f"skip '{arch.skip}' is only possible for forecasts with {sorted(SKIP_TOPOLOGIES)}, "
            f"not {shape.kind} with '{arch.topology}'; set skip: none"
        )


def build_network(arch: ArchConfig, shape: DataShape) -> nn.Module:
    """The network for ``arch`` whose outputs match the ``y`` layout of ``shape`` (see contract)."""
    check_fits(arch, shape)
    net = _network(arch, shape)
    if arch.head_init == "zero":
        zero_heads(net)
    if arch.skip == "seasonal_naive":
        return SeasonalNaiveSkip(net, shape.output_len, shape.output_size, shape.season)
    return net


def zero_heads(net: nn.Module) -> None:
    """Start every output layer (each module's ``head``) at zero weight and bias."""
    for name, module in net.named_modules():
        if name.rsplit(".", 1)[-1] == "head" and isinstance(module, nn.Linear):
            nn.init.zeros_(module.weight)
            nn.init.zeros_(module.bias)


def _network(arch: ArchConfig, shape: DataShape) -> nn.Module:
    float_out = shape.is_float_target
    if arch.topology == "vec2seq" or arch.topology == "encoder_decoder":
        decoder = Decoder(
            arch.cell,
            tokens=not float_out,
            output_size=shape.output_size,
            hidden_size=arch.hidden_size,
            num_layers=arch.num_layers,
            dropout=arch.dropout,
        )
        if arch.topology == "vec2seq":
            return Vec2Seq(shape.input_size, decoder, shape.output_len)
        encoder = _encoder(arch, shape)
        return EncoderDecoder(encoder, decoder, shape.output_len)
    encoder = _encoder(arch, shape)
    if arch.topology == "seq2seq":
        per_step = shape.output_len * shape.output_size if float_out else shape.output_size
        return Seq2Seq(encoder, per_step)
    if float_out:
        return Seq2Vec(
            encoder,
            shape.output_len * shape.output_size,
            arch.readout,
            out_shape=(shape.output_len, shape.output_size),
        )
    return Seq2Vec(encoder, shape.output_size, arch.readout)


def _encoder(arch: ArchConfig, shape: DataShape) -> Recurrent:
    return Recurrent(
        arch.cell,
        shape.input_size,
        arch.hidden_size,
        arch.num_layers,
        arch.dropout,
        arch.bidirectional,
    )


def count_parameters(net: nn.Module) -> int:
    """Trainable parameters of ``net``."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)
