"""drawcnn bench --layers: the per-layer profile names every layer and times each pass
(no speed is asserted, only that every layer was measured)."""

import time

from drawcnn.cli import bench_layers
from drawcnn.engine import ARCHITECTURES


def test_profile_rows_cover_every_layer():
    rows = bench_layers.profile_ours("lenet", 2, quick=True)
    assert [r[0] for r in rows] == ARCHITECTURES["lenet"].layer_names()
    assert all(ev >= 0 and tr >= 0 and bw >= 0 for _, ev, tr, bw in rows)
    assert sum(r[1] for r in rows) > 0


def test_run_layers_prints_one_table_per_batch(capsys):
    bench_layers.run_layers(["simple"], quick=True, batches=(1, 3), clock=time.process_time)
    out = capsys.readouterr().out
    assert "simple, batch 1 " in out and "simple, batch 3 " in out
    assert out.count("| **sum** |") == 2
    assert bench_layers._CLOCK is time.process_time


def test_plan_profile_names_every_fused_stage(capsys):
    stages = bench_layers.profile_plan("deep", quick=True)
    names = [s for s, _ in stages]
    assert names[0] == "conv1+relu1" and names[1] == "conv2+relu2+pool1"
    covered = [layer for s in names for layer in s.split("+")]
    assert covered == [n for n in ARCHITECTURES["deep"].layer_names() if n != "dropout1"]
    assert all(us >= 0 for _, us in stages)
    assert bench_layers.profile_plan("lenet", quick=True) is None
