"""Training-step time of torch's GRU against its LSTM of the same size, on CPU.

    python bench/gru_cpu.py [--repeats 5] [--threads 2]

On CPU, torch runs ``nn.LSTM`` as one fused oneDNN kernel forwards and backwards, and ``nn.GRU``
as a loop of small ops differentiated step by step through the autograd graph. In the forecast
space that makes a GRU trial cost a multiple of the same LSTM trial (``BENCHMARKS.md``,
search efficiency). One step = forward, backward and an Adam update on a [B, 48, 1] batch, two
layers, the shapes the forecast space draws. Last line: ``RESULT gru_over_lstm=<median ratio>``
(median over shapes of the median step-time ratio; 1.0 would be parity).
"""

from __future__ import annotations

import argparse
import statistics
import time

SHAPES = [(44, 16), (66, 32), (98, 64), (128, 16)]  # (hidden units, batch)


def step_ms(cell: str, hidden: int, batch: int, steps: int = 20) -> float:
    import torch

    torch.manual_seed(0)
    cls = {"gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[cell]
    rnn = cls(1, hidden, num_layers=2, batch_first=True)
    head = torch.nn.Linear(hidden, 12)
    params = [*rnn.parameters(), *head.parameters()]
    opt = torch.optim.Adam(params, lr=1e-3)
    x, y = torch.randn(batch, 48, 1), torch.randn(batch, 12)

    def step() -> None:
        out, _ = rnn(x)
        loss = (head(out[:, -1]) - y).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - started) / steps * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    ratios = []
    for hidden, batch in SHAPES:
        gru = [step_ms("gru", hidden, batch) for _ in range(args.repeats)]
        lstm = [step_ms("lstm", hidden, batch) for _ in range(args.repeats)]
        ratio = statistics.median(g / s for g, s in zip(gru, lstm, strict=True))
        ratios.append(ratio)
        print(
            f"hidden={hidden} batch={batch}: gru {statistics.median(gru):.2f} ms, "
            f"lstm {statistics.median(lstm):.2f} ms per step, ratio {ratio:.2f}",
            flush=True,
        )
    print(f"RESULT gru_over_lstm={statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
