"""``drawcnn bench --layers``: where the time goes, layer by layer, next to PyTorch.

For each architecture and batch size (1, 100, 256) every layer is timed on its own input
(taken from one training-mode forward pass): eval forward (what predict runs), training
forward, and backward. PyTorch runs the same layer on the same input in the same process at
the same thread count. Best of ``reps`` runs, in microseconds: on a shared machine a layer's
median mostly measures who else held the core, its minimum what the layer costs.
"""

from __future__ import annotations

import time

import numpy as np

_CLOCK = time.perf_counter  # or time.process_time: see bench._CLOCK


def _best_us(fn, reps: int) -> float:
    fn()
    best = float("inf")
    for _ in range(reps):
        t = _CLOCK()
        fn()
        best = min(best, _CLOCK() - t)
    return best * 1e6


def _reps(batch: int, quick: bool) -> int:
    base = 40 if batch == 1 else 7
    return max(3, base // 3) if quick else base


def profile_ours(arch_name: str, batch: int, quick: bool) -> list[tuple[str, float, float, float]]:
    """[(layer, eval forward µs, train forward µs, backward µs)] for our CPU backend."""
    from drawcnn.engine import build_network

    net = build_network(arch_name, seed=0, backend="cpu")
    rng = np.random.default_rng(0)
    x = net._prepare(rng.random((batch, 1, 28, 28), dtype=np.float32))
    inputs = []
    out = x
    for layer in net.layers:
        inputs.append(out)
        out = layer.forward(out, True)
    reps = _reps(batch, quick)
    rows = []
    for layer, inp in zip(net.layers, inputs):
        ev = _best_us(lambda la=layer, i=inp: la.forward(i, False), reps)
        y = layer.forward(inp, True)
        g = np.ascontiguousarray(rng.standard_normal(y.shape).astype(np.float32))

        def train_pass(la=layer, i=inp, g=g):
            la.forward(i, True)
            la.backward(g)

        tr = _best_us(lambda la=layer, i=inp: la.forward(i, True), reps)
        both = _best_us(train_pass, reps)
        rows.append((layer.name, ev, tr, max(0.0, both - tr)))
    return rows


def profile_plan(arch_name: str, quick: bool) -> list[tuple[str, float]] | None:
    """[(stage, µs)] of the CPU backend's fused single-image forward (what predict runs on
    one image: engine/backends/cpu_plan.py), best of N per stage; None without a plan."""
    from drawcnn.engine import build_network

    net = build_network(arch_name, seed=0, backend="cpu")
    plan = net.backend.single_image_plan(net.arch)
    if plan is None:
        return None
    x = net._prepare(np.random.default_rng(0).random((1, 1, 28, 28), dtype=np.float32))[0]
    best: dict[str, float] = {}
    order: list[str] = []
    for _ in range(_reps(1, quick) + 1):
        times: list = []
        plan.run(net.params, x, times=times, clock=_CLOCK)
        for stage, t in times:
            if stage not in best:
                order.append(stage)
            best[stage] = min(best.get(stage, float("inf")), t * 1e6)
    return [(stage, best[stage]) for stage in order]


def profile_torch(arch_name: str, batch: int, quick: bool,
                  make_model) -> list[tuple[str, float, float, float]]:
    """The same rows for PyTorch; ``make_model(arch)`` builds its nn.Sequential."""
    import torch

    from drawcnn.engine import ARCHITECTURES

    arch = ARCHITECTURES[arch_name]
    model = make_model(arch)
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.random((batch, 1, 28, 28), dtype=np.float32))
    inputs = []
    with torch.no_grad():
        h = x
        for m in model:
            inputs.append(h)
            h = m(h)
    reps = _reps(batch, quick)
    rows = []
    for name, m, inp in zip(arch.layer_names(), model, inputs):
        def ev(m=m, inp=inp):
            m.eval()
            with torch.no_grad():
                m(inp)

        t_ev = _best_us(ev, reps)
        m.train()
        with torch.no_grad():
            g = torch.randn_like(m(inp))
        first = name == arch.layer_names()[0]

        def fwd(m=m, inp=inp, first=first):
            i = inp if first else inp.detach().requires_grad_(True)
            return m(i)

        def both(m=m, g=g):
            y = fwd()
            if y.requires_grad:
                y.backward(g)

        t_tr = _best_us(fwd, reps)
        t_both = _best_us(both, reps)
        rows.append((name, t_ev, t_tr, max(0.0, t_both - t_tr)))
    return rows


def run_layers(archs, quick: bool, make_torch_model=None, batches=(1, 100, 256),
               clock=time.perf_counter) -> None:
    """Print the per-layer tables; ``make_torch_model`` (arch -> nn.Sequential) or None."""
    global _CLOCK
    _CLOCK = clock
    with_torch = make_torch_model is not None
    for name in archs:
        for batch in batches:
            ours = profile_ours(name, batch, quick)
            theirs = profile_torch(name, batch, quick, make_torch_model) if with_torch else None
            print(f"\n{name}, batch {batch} (µs; eval fwd | train fwd | bwd"
                  + (", torch in brackets" if with_torch else "") + ")")
            print("| layer | eval fwd | train fwd | bwd |\n|---|---|---|---|")
            tot = np.zeros(3)
            ttot = np.zeros(3)
            for i, (lname, ev, tr, bw) in enumerate(ours):
                cells = [ev, tr, bw]
                tot += cells
                if theirs:
                    t = theirs[i][1:]
                    ttot += t
                    txt = [f"{a:.0f} ({b:.0f})" for a, b in zip(cells, t)]
                else:
                    txt = [f"{a:.0f}" for a in cells]
                print(f"| {lname} | " + " | ".join(txt) + " |")
            if theirs:
                txt = [f"{a:.0f} ({b:.0f})" for a, b in zip(tot, ttot)]
            else:
                txt = [f"{a:.0f}" for a in tot]
            print("| **sum** | " + " | ".join(txt) + " |")
            if batch == 1:
                _print_plan(name, quick, theirs)


def _print_plan(name, quick, theirs) -> None:
    """The fused single-image stages, each beside the sum of its layers' torch eval fwd."""
    stages = profile_plan(name, quick)
    if stages is None:
        return
    torch_ev = {row[0]: row[1] for row in theirs} if theirs else {}
    print(f"\n{name}, batch 1, fused single-image plan (what predict runs; µs"
          + (", torch eval fwd of the same layers in brackets" if theirs else "") + ")")
    print("| stage | eval fwd |\n|---|---|")
    tot = ttot = 0.0
    for stage, us in stages:
        tot += us
        if theirs:
            t = sum(torch_ev.get(layer, 0.0) for layer in stage.split("+"))
            ttot += t
            print(f"| {stage} | {us:.0f} ({t:.0f}) |")
        else:
            print(f"| {stage} | {us:.0f} |")
    print(f"| **sum** | {tot:.0f}" + (f" ({ttot:.0f})" if theirs else "") + " |")
