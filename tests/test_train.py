"""A training step's costs against torch itself: backward mult-adds equal torch.utils.flop_counter's count of
`loss.backward()`, saved bytes equal the unique storages autograd saves (saved_tensors_hooks) in train mode,
per layer, on mncost's own V1-V4 modules at random configs, on timm's models, with frozen layers."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import mncost
from conftest import heavy_imports, import_timm, run_cli
from mncost.arch.builder import network
from mncost.cost.train import network_train, parse_memory
from mncost.errors import MncostError
from mncost.torch.build import build_module


AUTOCAST = {"fp32": None, "bf16-mixed": torch.bfloat16, "fp16-mixed": torch.float16}


def measure(model: nn.Module, x: torch.Tensor, dtype: str = "fp32") -> tuple[dict[str, int], dict[str, int]]:
    """Per module path: the backward's multiply-adds as flop_counter counts them (flops / 2), and the bytes of
    the storages autograd saves while that module runs (each storage once, parameters and buffers not), under
    CPU autocast for a mixed dtype."""
    model.train()
    owned = {t.untyped_storage().data_ptr() for t in (*model.parameters(), *model.buffers())}
    paths = {m: name for name, m in model.named_modules()}
    stack: list[str] = []
    hooks = [m.register_forward_pre_hook(lambda m, a: stack.append(paths[m])) for m in model.modules()] + \
        [m.register_forward_hook(lambda m, a, o: (stack.pop(), None)[1]) for m in model.modules()]
    saved: dict[int, tuple[str, int]] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        key = t.untyped_storage().data_ptr()
        if key not in owned and key not in saved:
            saved[key] = (stack[-1] if stack else "", t.untyped_storage().nbytes())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), \
            torch.autocast("cpu", dtype=AUTOCAST[dtype], enabled=dtype != "fp32"):
        y = model(x)
    for h in hooks:
        h.remove()
    by_module: dict[str, int] = defaultdict(int)
    for path, n in saved.values():
        by_module[path] += n
    with FlopCounterMode(display=False) as counter:
        y = model(x)
        forward = counter.get_total_flops()
        y.float().sum().backward()
    return {"backward": (counter.get_total_flops() - forward) // 2}, dict(by_module)


def torch_rule(result, model: nn.Module) -> int:
    """mncost's backward with torch's rule for a grouped conv's grad-weight: flop_counter 2.13 counts it `groups`
    times (it transposes the shapes and loses the group division; pytorch/pytorch#183405)."""
    groups = {name: m.groups for name, m in model.named_modules() if isinstance(m, nn.Conv2d)}
    return sum(r.grad_input + r.grad_weight * groups.get(r.name, groups.get(f"{r.name}.conv", 1)) for r in result.rows)


def per_layer(saved: dict[str, int]) -> dict[str, int]:
    """Saved bytes by mncost's row: a module path folded into its layer (block1.conv -> block1)."""
    rows: dict[str, int] = defaultdict(int)
    for path, n in saved.items():
        rows[path.rsplit(".", 1)[0] if path.rsplit(".", 1)[-1] in ("conv", "bn", "act", "fc", "flatten") else path] += n
    return {k: v for k, v in rows.items() if v}


def check_own(arch: str, alpha: float, res: int, batch: int, freeze: tuple[str, ...] = (), dtype: str = "fp32") -> None:
    net = network(arch, alpha, res)
    module = build_module(net)
    for name, p in module.named_parameters():
        p.requires_grad_(not any(name.startswith(f + ".") or name == f for f in freeze))
    flops, saved = measure(module, torch.randn(batch, 3, res, res), dtype)
    result = network_train(net, batch, freeze=freeze, dtype=dtype)
    assert torch_rule(result, module) == flops["backward"]
    predicted = {r.name: r.saved_bytes for r in result.rows if r.saved_bytes}
    dropped = predicted.pop("fc", 0) - saved.pop("classifier_dropout", 0)  # dropout runs outside the fc's module
    assert per_layer(saved) == {**predicted, **({"fc": dropped} if dropped else {})}


ARCHS = ["v1", "v2", "v3-small", "v3-large", "v4-conv-small", "v4-hybrid-medium"]


@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(arch=st.sampled_from(ARCHS), alpha=st.sampled_from([0.25, 0.5, 0.75]), res=st.sampled_from([64, 96, 128]),
       batch=st.integers(2, 3))
def test_own_modules_backward_and_saved_bytes_exact(arch, alpha, res, batch):
    check_own(arch, alpha, res, batch)


@pytest.mark.parametrize("arch,dtype", [("v1", "bf16-mixed"), ("v3-small", "fp16-mixed"), ("v4-hybrid-medium", "bf16-mixed"),
                                        ("v2", "bf16-mixed")])
def test_mixed_precision_saved_bytes(arch, dtype):
    """Under CPU autocast: 16-bit activations, fp32 BatchNorm statistics, the cached 16-bit weight copies, an
    fp32 input cast afresh, and fp32 where a 16-bit tensor meets an fp32 parameter (V4's layer scale)."""
    check_own(arch, 0.25, 64, 2, ("conv1",) if arch == "v2" else (), dtype)


@pytest.mark.parametrize("arch", ["v1", "v2", "v3-small"])
@pytest.mark.parametrize("batch", [1, 8])
def test_saved_bytes_at_batch_1_and_8(arch, batch):
    check_own(arch, 0.25, 64, batch)


@pytest.mark.parametrize("arch,freeze", [("v1", ("conv1",)), ("v2", ("conv1", "block1")), ("v3-small", ("conv1",)),
                                         ("v1", ("fc",))])
def test_frozen_layers(arch, freeze):
    """A frozen first layer computes neither gradient, so the next computes no grad-input; a frozen fc no
    grad-weight."""
    check_own(arch, 0.25, 64, 2, freeze)
    rows = {r.name: r for r in network_train(network(arch, 0.25, 64), 2, freeze=freeze).rows}
    for prefix in freeze:
        assert all(r.grad_weight == 0 for name, r in rows.items() if name == prefix or name.startswith(prefix + "."))


def test_hand_derived_v1_first_layers():
    """Written out: V1's conv1 (3x3x3x32, stride 2, 112x112 out) has no grad-input and grad-weight = forward =
    112*112*32*27; the depthwise block1.dw (112x112x32, 3x3) has both, each 112*112*32*9 per image."""
    rows = {r.name: r for r in network_train(network("v1"), 4).rows}
    assert (rows["conv1"].forward, rows["conv1"].grad_input, rows["conv1"].grad_weight) == \
        (4 * 112 * 112 * 32 * 27, 0, 4 * 112 * 112 * 32 * 27)
    assert rows["block1.dw"].grad_input == rows["block1.dw"].grad_weight == 4 * 112 * 112 * 32 * 9
    # saved: conv1 keeps the input image; its BatchNorm the conv's output and 2 x 32 fp32 statistics; its ReLU
    # its output
    assert rows["conv1"].saved_bytes == 4 * (4 * 3 * 224 * 224 + 2 * 4 * 32 * 112 * 112) + 4 * 2 * 32


TIMM = ["mobilenetv3_small_100", "mobilenetv4_conv_small", "mobilenetv2_050", "efficientnet_b0"]


@pytest.mark.parametrize("name", TIMM)
def test_timm_models(name):
    import_timm()
    import timm_models

    model = timm_models.create_model(name)
    x = torch.randn(2, 3, 96, 96)
    flops, saved = measure(model, x)
    result = mncost.train(model, input=(2, 3, 96, 96))
    assert result.unknown == ()
    assert torch_rule(result, model) == flops["backward"]
    assert result.totals["saved_bytes"] == sum(saved.values())


def per_module(model: nn.Module, x: torch.Tensor) -> dict[str, int]:
    """mncost's saved bytes by the module each op ran in: the traced rows split one op a row."""
    from mncost.cost.train import train_rows
    from mncost.torch.fold import network_of
    from mncost.torch.trace import trace

    net = network_of(trace(model, x), "model")
    ops = [(layer, [op]) for layer in net.layers for op in layer.ops]
    rows, _ = train_rows(ops, {}, x.shape[0])
    found: dict[str, int] = defaultdict(int)
    for (_, (op,)), row in zip(ops, rows):
        found[op.module.path if op.module else ""] += row.saved_bytes
    return {k: v for k, v in found.items() if v}


@pytest.mark.parametrize("name,batch", [("mobilenetv3_small_100", 1), ("mobilenetv3_small_100", 8),
                                        ("mobilenetv4_conv_small", 8)])
def test_timm_saved_bytes_per_module(name, batch):
    """Per module, at batch 1 and 8 (MobileNetV4's head has a BatchNorm on a 1x1 map, which train mode refuses
    at batch 1)."""
    import_timm()
    import timm_models

    model = timm_models.create_model(name)
    x = torch.randn(batch, 3, 64, 64)
    expected = per_module(model, x)
    assert measure(model, x)[1] == expected


def test_traced_own_module_equals_the_analytic_rows():
    """The same V3-Small through both paths: its layout's ops (analytic) and its module traced."""
    net = network("v3-small", 0.5, 96)
    analytic = network_train(net, 4)
    traced = mncost.train(build_module(net), input=(4, 3, 96, 96))
    assert traced.totals == analytic.totals


@pytest.mark.parametrize("name", ["mobilenetv3_small_100", "efficientnet_b0"])
def test_timm_models_under_autocast(name):
    import_timm()
    import timm_models

    model = timm_models.create_model(name)
    x = torch.randn(2, 3, 64, 64)
    assert mncost.train(model, input=(2, 3, 64, 64), dtype="bf16-mixed").totals["saved_bytes"] == \
        sum(measure(model, x, "bf16-mixed")[1].values())


def test_timm_frozen_stem():
    import_timm()
    import timm_models

    model = timm_models.create_model("mobilenetv3_small_100")
    for name, p in model.named_parameters():
        p.requires_grad_(not name.startswith(("conv_stem", "bn1")))
    flops, saved = measure(model, torch.randn(2, 3, 96, 96))
    result = mncost.train(model, input=(2, 3, 96, 96))
    assert torch_rule(result, model) == flops["backward"]
    assert result.totals["saved_bytes"] == sum(saved.values())
    assert mncost.train(model, input=(2, 3, 96, 96), freeze=["blocks.0"]).totals["trainable"] < \
        result.totals["trainable"]


@pytest.mark.parametrize("dtype", ["fp32", "bf16-mixed"])
def test_largest_batch_fits_and_the_next_does_not(dtype):
    net = network("v2", 0.5, 160)
    result = network_train(net, 1, optimizer="adam", dtype=dtype)
    for budget in (10**8, 10**9, 24 * 10**9):
        n = result.largest_batch(budget)
        assert network_train(net, n, optimizer="adam", dtype=dtype).memory()["peak"] <= budget
        assert network_train(net, n + 1, optimizer="adam", dtype=dtype).memory()["peak"] > budget
    assert result.largest_batch(10**6) == 0  # not even the weights fit


def test_optimizer_state_and_mixed_precision():
    net = network("v1", 0.5, 128)
    sgd, adam = network_train(net, 4).memory(), network_train(net, 4, optimizer="adamw").memory()
    assert sgd["optimizer"] == 0 and adam["optimizer"] == 2 * adam["grads"]
    assert network_train(net, 4, "momentum").memory()["optimizer"] == sgd["grads"]
    assert network_train(net, 4, dtype="bf16-mixed").memory()["saved"] < sgd["saved"]


@pytest.mark.parametrize("text,expected", [("24GB", 24 * 10**9), ("512MiB", 512 * 2**20), ("1000", 1000)])
def test_parse_memory(text, expected):
    assert parse_memory(text) == expected


@pytest.mark.parametrize("args,message", [
    (["--optimizer", "lion"], "optimizer 'lion' is unknown"),
    (["--dtype", "int8"], "dtype 'int8' is unknown"),
    (["--memory", "lots"], "memory 'lots' is invalid"),
    (["--memory", "infGB"], "memory 'infGB' is invalid"),
    (["--batch", "0"], "batch '0' is invalid"),
    (["--freeze", "nothing"], "--freeze 'nothing' names no parameter"),
])
def test_bad_input_is_one_line_exit_2(args, message):
    out = run_cli("train", "--arch", "v1", *args)
    assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr


def test_cli_json_and_memory():
    out = run_cli("train", "--arch", "v3-small", "--batch", "16", "--memory", "2GB", "--format", "json")
    doc = json.loads(out.stdout)
    assert doc["batch"] == 16 and doc["largest_batch"]["batch"] > 16
    assert doc["totals"]["backward"] == sum(row["backward"] for row in doc["layers"])


def test_analytic_train_imports_no_torch():
    assert heavy_imports(["train", "--arch", "v2", "--batch", "8", "--format", "json"],
                         ("torch", "fvcore", "pandas")) == []


def test_mncost_train_api_batch_scales_exactly():
    result = mncost.train(arch="v1", alpha=0.25, res=128, batch=2)
    assert result.to_dict()["totals"]["forward"] == 2 * sum(r.forward for r in network_train(
        network("v1", 0.25, 128), 1).rows)
    with pytest.raises(MncostError):
        mncost.train(arch="v1", batch=0)
