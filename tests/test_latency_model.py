"""Issue 26: exact bytes of every op kind on small traced modules (counted by hand), the bias folding leaves,
and the per-kernel model of `--hw this` on a fixed profile (no timing in tests)."""

from __future__ import annotations

import math

import pytest

from mncost.cost.hardware import BYTE_KINDS, KERNEL_KINDS, Kernels, PROFILES, from_peaks
from mncost.cost.ops import total_cost
from mncost.cost.roofline import TERMS, network_roofline, roofline

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402


class EveryKind(nn.Module):
    """A conv-BN-ReLU, a biased conv-BN ending in a residual add, a 5x5 depthwise, cat, interpolation, pooling,
    a grouped conv on a slice, a LayerNorm and an attention: each row's bytes written out below."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU())
        self.b, self.bn = nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4)
        self.dw = nn.Conv2d(4, 4, 5, padding=2, groups=4, bias=False)
        self.g = nn.Conv2d(4, 4, 3, padding=1, groups=2, bias=False)
        self.ln = nn.LayerNorm(8)

    def forward(self, x):
        y = self.a(x)
        w = y + self.bn(self.b(y))
        c = torch.cat([w, self.dw(w)], 1)
        p = F.avg_pool2d(F.interpolate(c, scale_factor=2.0, mode="nearest"), 2)
        t = self.ln(self.g(p[:, :4]))
        return F.scaled_dot_product_attention(t, t, t)


# row -> (mult-adds, weight, input, output elements), by hand, on a 1x3x8x8 input (64 positions)
EVERY_KIND = {
    "a": (4 * 27 * 64, 4 * 27 + 4, 3 * 64, 4 * 64),  # 3x3x3x4 weights + the bias folding BN leaves
    "b": (4 * 36 * 64, 4 * 36 + 4, 2 * 4 * 64, 4 * 64),  # its own bias takes BN's; reads y twice (the add)
    "dw": (4 * 25 * 64, 4 * 25, 4 * 64, 4 * 64),
    "torch.cat": (0, 0, 8 * 64, 8 * 64),
    "F.interpolate": (0, 0, 8 * 64, 8 * 256),
    "F.avg_pool2d": (0, 0, 8 * 256, 8 * 64),
    "g": (4 * 18 * 64, 4 * 2 * 9, 4 * 64, 4 * 64),  # 2 groups of 2 channels; the slice's 4 channels read
    "ln": (0, 8 + 8, 4 * 64, 4 * 64),
    "F.scaled_dot_product_attention": (4 * 8 * 8 * (8 + 8), 0, 3 * 4 * 64, 4 * 64),  # 4 heads, L = S = E = 8
}


@pytest.fixture(scope="module")
def every_kind():
    import mncost

    return mncost.count(EveryKind(), (1, 3, 8, 8)).network


@pytest.mark.parametrize("dtype,size", [("int8", 1), ("fp16", 2), ("fp32", 4)])
def test_every_op_kind_moves_the_bytes_counted_by_hand(every_kind, dtype, size):
    result = network_roofline(every_kind, dtype, PROFILES["pixel6-cpu"])
    got = {r.layer.name: (r.macs, r.weight_bytes, r.input_bytes, r.output_bytes) for r in result.layers}
    assert got == {name: (m, size * w, size * i, size * o) for name, (m, w, i, o) in EVERY_KIND.items()}


def test_each_op_is_a_kernel_of_its_kind(every_kind):
    result = network_roofline(every_kind, "fp32", PROFILES["pixel6-cpu"])
    kinds = {r.layer.name: [kind for kind, _, _ in r.kernels] for r in result.layers}
    assert kinds == {"a": ["conv", "norm", "elementwise"], "b": ["conv", "norm", "elementwise"],
                     "dw": ["depthwise5"], "torch.cat": ["elementwise"], "F.interpolate": ["elementwise"],
                     "F.avg_pool2d": ["pooling"], "g": ["grouped"], "ln": ["norm"],
                     "F.scaled_dot_product_attention": ["attention"]}
    # each kernel moves what its op reads and writes: the first conv reads input and weights, writes its map
    assert result.layers[0].kernels[0] == ("conv", 6912, 4 * (3 * 64 + 108 + 4 * 64))


def test_deployed_weights_keep_one_bias_per_batchnorm_channel():
    """Issue 26: at fp32, V1 0.5 at 160 moves 4 x (params - bn_params / 2) weight bytes."""
    result = roofline("v1", 0.5, 160, dtype="fp32")
    cost = total_cost(result.network)
    assert sum(r.weight_bytes for r in result.layers) == 4 * (cost.params - cost.bn_params // 2) == 5_304_480


def _kernels(overhead: float = 2e-6) -> Kernels:
    """A made-up machine: every mult-add kind 1e9 mult-adds/s at 1e3 and 4e9 at 1e5; bytes 1e10 bytes/s."""
    points = {kind: ((1e3, 1e9), (1e5, 4e9)) for kind in KERNEL_KINDS}
    points.update({kind: ((1e3, 1e10), (1e6, 1e10)) for kind in BYTE_KINDS})
    return Kernels(overhead, points)


def test_rates_are_interpolated_between_the_calibrated_sizes():
    k = _kernels()
    assert k.rate("pointwise", 1e3) == 1e9 and k.rate("pointwise", 1e5) == 4e9
    assert k.rate("pointwise", 10) == 1e9 and k.rate("pointwise", 1e9) == 4e9  # held beyond them
    assert k.rate("pointwise", 1e4) == pytest.approx(2e9)  # log-log: halfway in log size, twice the rate


def test_a_measured_machine_prices_each_op_and_names_the_bound(every_kind):
    hw = from_peaks("this", "this machine", 4e9, 1e10, "test", "fp32", _kernels(), 1)
    result = network_roofline(every_kind, "fp32", hw)
    for row in result.layers:
        expected = 0.0
        for kind, macs, nbytes in row.kernels:
            memory = nbytes / 1e10
            compute = 0.0 if kind in BYTE_KINDS else macs / _kernels().rate(kind, macs)
            expected += max(compute, memory) + 2e-6
        assert row.time(hw) == pytest.approx(expected)
        assert row.bound(hw) in TERMS
    dw = next(r for r in result.layers if r.layer.name == "dw")
    # 6400 mult-adds at 1e9 * 4^(log(6.4)/log(100)) mult-adds/s; 612 bytes at 1e10 bytes/s; + 2 us
    rate = 1e9 * 4 ** (math.log(6.4) / math.log(100))
    assert dw.time(hw) == pytest.approx(6400 / rate + 2e-6) and dw.bound(hw) == "compute"
    assert next(r for r in result.layers if r.layer.name == "ln").bound(hw) == "overhead"
    doc = result.to_dict()
    assert doc["time_unit"] == "ms" and doc["totals"]["time"] == pytest.approx(1e3 * result.time)
    assert doc["hardware"]["kernels"]["overhead"] == 2e-6 and doc["hardware"]["threads"] == 1
    table = result.to_table()
    assert table.title.startswith("Predicted ms on this machine")
    assert any(line.startswith("Bound: ") for line in table.footer)


def test_a_published_profile_says_ratios_first():
    title = roofline("v1", 0.25, 128).to_table().title
    assert title.startswith("Ratios only, not ms")


@pytest.mark.parametrize("kernels, message", [
    (None, "it has no per-kernel model (an older mncost measured it)"),
    ({"overhead": -1, "points": {}}, "kernels.overhead -1 is not a time"),
    ({"overhead": 1e-6, "points": {"conv": [[1, "x"]]}}, "kernels.points.conv [[1, 'x']] is not a list"),
    ({"overhead": 1e-6, "points": {k: [[2e3, 1e9], [1e3, 1e9]] for k in KERNEL_KINDS}}, "by ascending size"),
])
def test_a_cached_kernel_model_is_checked_and_measured_again(tmp_path, monkeypatch, capsys, kernels, message):
    import json

    from mncost.cli import main
    from mncost.output.files import JSON_MARK

    good = {"overhead": 2e-6, "points": {kind: [[1e3, 1e9], [1e6, 4e9]] for kind in KERNEL_KINDS}}
    record = {"peak_macs": 8e10, "bandwidth": 2.5e10, "method": "test", "threads": 1, "torch": "2.13.0",
              "machine": "test", "measured": "2026-01-01 00:00 UTC", "kernels": good}
    monkeypatch.setenv("MNCOST_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr("mncost.torch.calibrate.measure", lambda: dict(record))
    (tmp_path / "hw.json").write_text(json.dumps({**JSON_MARK, **record, "kernels": kernels}))
    with pytest.raises(SystemExit) as exit_info:
        main(["latency", "--arch", "v1", "--alpha", "0.25", "--res", "96", "--hw", "this", "--format", "json"])
    out = capsys.readouterr()
    assert exit_info.value.code == 0 and message in out.err and "measuring this machine" in out.err
    assert json.loads(out.out)["hardware"]["kernels"] == good
    assert json.loads((tmp_path / "hw.json").read_text())["kernels"] == good


@pytest.mark.parametrize("args, message", [
    (["--hw", "this", "--threads", "0"], "threads 0 is invalid"),
    (["--hw", "this", "--threads", "5000"], "threads 5000 is invalid"),
    (["--threads", "1"], "'pixel6-cpu' is a published profile"),
])
def test_threads_are_checked_before_measuring(cli, tmp_path, monkeypatch, args, message):
    monkeypatch.setenv("MNCOST_CACHE_DIR", str(tmp_path))
    out = cli("latency", "--arch", "v1", *args)
    assert out.returncode == 2 and out.stdout == "" and len(out.stderr.splitlines()) == 1 and message in out.stderr
    assert "measuring" not in out.stderr and not (tmp_path / "hw.json").exists()
