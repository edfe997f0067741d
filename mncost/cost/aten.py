"""The op registry at the level torch dispatches: one small pure function per aten op, from its arguments'
shapes to its exact cost, in the spirit of torch/utils/flop_counter.py and fvcore/nn/jit_handles.py.

An entry takes the op's arguments by schema name (a tensor as its Shape, a list of tensors as a tuple of
Shapes, anything else as it was passed) and the output shapes, and returns an OpCost: the multiply-adds,
the work beyond them by kind (elements normalised, activated, added, pooled, interpolated, ...), and the
elements the op reads and writes (bytes follow by dtype). Counts are for the batch that ran. A built-in
arch's layers are costed by these same entries (mncost.cost.layout), and an op with no entry is named,
never guessed (`op_cost` returns None).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Any, Callable, Mapping

from ..arch.records import Shape, shapes

Args = Mapping[str, Any]
Outs = tuple[Shape, ...]
WORK_KINDS = ("bias", "norm", "activation", "elementwise", "reduction", "pooling", "interpolation", "softmax")


@dataclass(frozen=True)
class OpCost:
    """One op's cost, exact integers: multiply-adds, the work beyond them by kind, elements read and written."""

    macs: int = 0
    work: tuple[tuple[str, int], ...] = ()  # (kind, elements), kinds from WORK_KINDS
    reads: int = 0  # elements of every tensor argument
    writes: int = 0  # elements of every output

    def of(self, kind: str) -> int:
        return sum(n for k, n in self.work if k == kind)


REGISTRY: dict[str, Callable[[Args, Outs], OpCost]] = {}
# the ops with multiply-adds (every other entry counts work beyond them only)
WITH_MACS = frozenset({"convolution", "_convolution", "mm", "bmm", "dot", "mv", "addmm", "baddbmm", "addmv", "matmul",
                       "_trilinear", "einsum", "lstm", "gru", "rnn_tanh", "rnn_relu", "lstm_cell", "gru_cell",
                       "rnn_tanh_cell", "rnn_relu_cell", "mkldnn_rnn_layer", "_scaled_dot_product_flash_attention_for_cpu",
                       "_scaled_dot_product_flash_attention", "_scaled_dot_product_efficient_attention",
                       "_scaled_dot_product_cudnn_attention", "_native_multi_head_attention",
                       "_transformer_encoder_layer_fwd"})


def entry(*names: str) -> Callable:
    """Register a cost function under one or more aten op names."""
    def register(fn: Callable[[Args, Outs], OpCost]) -> Callable[[Args, Outs], OpCost]:
        for name in names:
            REGISTRY[name] = fn
        return fn
    return register


def op_cost(name: str, args: Args, out: Outs) -> OpCost | None:
    """The cost of one aten op (reads: every tensor argument; writes: every output), or None: no entry."""
    fn = REGISTRY.get(name)
    if fn is None:
        return None
    cost = fn(args, out)
    reads = PARTIAL_READS[name](args, out) if name in PARTIAL_READS else \
        sum(s.numel for value in args.values() for s in shapes(value))
    return OpCost(cost.macs, cost.work, reads, sum(s.numel for s in out))


def _bias(present: Any, out: Shape) -> tuple[tuple[str, int], ...]:
    """One add per output element when the op adds a bias."""
    return (("bias", out.numel),) if present is not None else ()


def _one(kind: str, elements: int) -> OpCost:
    return OpCost(work=((kind, elements),))


# --- convolution and matrix products: multiply-adds ---


@entry("convolution", "_convolution")
def convolution(a: Args, out: Outs) -> OpCost:
    """Any rank, grouped, dilated, strided, padded, transposed or not: every output position (every input
    position, when transposed) meets each weight of its group once: N x positions x prod(weight)."""
    positions = a["input"] if a["transposed"] else out[0]
    return OpCost(positions[0] * prod(positions[2:]) * prod(a["weight"]), _bias(a["bias"], out[0]))


@entry("mm", "bmm", "dot", "mv")
def matrix_product(a: Args, out: Outs) -> OpCost:
    """(.., m, k) x (.., k, n), vectors included: one multiply-add per output element and inner index."""
    return OpCost(out[0].numel * a["self"][-1])


@entry("addmm", "baddbmm", "addmv")
def matrix_product_add(a: Args, out: Outs) -> OpCost:
    """A matrix product plus a bias (Linear): its multiply-adds and one add per output element."""
    first = a.get("mat1") or a.get("batch1") or a["mat"]
    return OpCost(out[0].numel * first[-1], _bias(a["self"] if a.get("beta", 1) != 0 else None, out[0]))


@entry("matmul")
def matmul(a: Args, out: Outs) -> OpCost:
    """torch.matmul with broadcasting: one multiply-add per output element and inner index."""
    return OpCost(max(out[0].numel, 1) * a["self"][-1])


@entry("_trilinear")
def trilinear(a: Args, out: Outs) -> OpCost:
    """nn.Bilinear's kernel: one multiply-add per element of the three operands broadcast together
    (N x out x in1 x in2)."""
    expanded = [_expand(a[i], a[e]) for i, e in (("i1", "expand1"), ("i2", "expand2"), ("i3", "expand3"))]
    return OpCost(prod(max(sizes) for sizes in zip(*expanded)))


def _expand(shape: Shape, dims: Any) -> list[int]:
    sizes = list(shape)
    for dim in sorted(dims):
        sizes.insert(dim, 1)
    return sizes


@entry("einsum")
def einsum(a: Args, out: Outs) -> OpCost:
    """From its equation and shapes, contracted left to right as torch does: an index only one side needs
    is summed out first; each pairwise product is one multiply-add per combination of the indices left."""
    lhs, _, target = a["equation"].replace(" ", "").partition("->")
    terms = lhs.split(",")
    sizes = {index: size for term, shape in zip(terms, a["tensors"]) for index, size in zip(term, shape)}
    target = target or "".join(sorted(i for i in sizes if lhs.count(i) == 1))
    macs, reduced, left = 0, 0, terms[0]
    for n, right in enumerate(terms[1:], 1):
        needed = set(target).union(*terms[n + 1:])
        keep_left = {i for i in left if i in needed or i in right}
        keep_right = {i for i in right if i in needed or i in left}
        reduced += _summed(left, keep_left, sizes) + _summed(right, keep_right, sizes)
        macs += prod(sizes[i] for i in keep_left | keep_right)
        left = "".join(sorted((keep_left | keep_right) & needed))
    if len(terms) == 1:
        reduced += _summed(terms[0], set(target), sizes)
    return OpCost(macs, (("reduction", reduced),) if reduced else ())


def _summed(term: str, kept: set[str], sizes: dict[str, int]) -> int:
    """Elements read by summing out the indices of a term that are not kept (0 when none is summed)."""
    return prod(sizes[i] for i in term) if set(term) - kept else 0


# --- recurrent layers: gates x hidden x (input + hidden) per step, layer and direction ---

GATES = {"lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}
# per hidden unit and step: the gates' activations and the elementwise updates (LSTM: 3 sigmoid + 2 tanh;
# the sum of the two products for 4 gates, c = f*c + i*g, h = o*tanh(c); GRU and RNN alike)
RNN_WORK = {"lstm": (5, 8), "gru": (3, 8), "rnn_tanh": (1, 1), "rnn_relu": (1, 1)}


def _recurrent(kind: str, steps: int, weights: list[Shape], biases: int, layers: int) -> OpCost:
    hidden = weights[0][0] // GATES[kind]  # w_ih: (gates x hidden, input)
    activation, elementwise = RNN_WORK[kind]
    return OpCost(steps * sum(w.numel for w in weights),
                  (("bias", steps * biases), ("activation", steps * layers * activation * hidden),
                   ("elementwise", steps * layers * elementwise * hidden)))


def _layer(kind: str) -> Callable[[Args, Outs], OpCost]:
    def cost(a: Args, out: Outs) -> OpCost:
        """nn.LSTM, nn.GRU, nn.RNN: per step (batch x sequence), layer and direction, gates x hidden x
        (input + hidden) multiply-adds (and the projection's, with proj_size), the biases, and the
        gates' activations and updates."""
        params, runs = list(a["params"]), a["num_layers"] * (2 if a["bidirectional"] else 1)
        size = len(params) // runs  # w_ih, w_hh[, b_ih, b_hh][, w_hr] per layer and direction
        groups = [params[i * size:(i + 1) * size] for i in range(runs)]
        weights = [w for g in groups for w in g[:2] + (g[-1:] if size in (3, 5) else [])]
        biases = sum(b.numel for g in groups for b in (g[2:4] if a["has_biases"] else []))
        return _recurrent(kind, prod(a["input"][:-1]), weights, biases, runs)
    return cost


def _cell(kind: str) -> Callable[[Args, Outs], OpCost]:
    def cost(a: Args, out: Outs) -> OpCost:
        """nn.LSTMCell, nn.GRUCell, nn.RNNCell: one step of the layer above, for each sample."""
        biases = sum(b.numel for b in (a.get("b_ih"), a.get("b_hh")) if b is not None)
        return _recurrent(kind, prod(a["input"][:-1]), [a["w_ih"], a["w_hh"]], biases, 1)
    return cost


for _kind in GATES:
    REGISTRY[_kind], REGISTRY[f"{_kind}_cell"] = _layer(_kind), _cell(_kind)


@entry("mkldnn_rnn_layer")
def mkldnn_rnn_layer(a: Args, out: Outs) -> OpCost:
    """One layer and direction of an LSTM as torch's CPU kernel runs it."""
    biases = a["weight2"].numel + a["weight3"].numel if a["has_biases"] else 0
    return _recurrent("lstm", prod(a["input"][:-1]), [a["weight0"], a["weight1"]], biases, 1)


# --- attention ---


@entry("_scaled_dot_product_flash_attention_for_cpu", "_scaled_dot_product_flash_attention",
       "_scaled_dot_product_efficient_attention", "_scaled_dot_product_cudnn_attention")
def attention(a: Args, out: Outs) -> OpCost:
    """A fused attention kernel: Q K^T and A V, L x S x (E + Ev) per query head (a key/value head serves
    several query heads), and the softmax over each query's S logits."""
    q, k, v = a["query"], a["key"], a["value"]
    logits = prod(q[:-1]) * k[-2]
    return OpCost(logits * (q[-1] + v[-1]), (("softmax", logits),))


@entry("_native_multi_head_attention")
def multi_head_attention(a: Args, out: Outs) -> OpCost:
    """nn.MultiheadAttention's native kernel (eval, no grad, self-attention): the Q, K, V projections, the
    attention of every head (L x S x 2E in all), the output projection, their biases and the softmax."""
    q, k, v, e = a["query"], a["key"], a["value"], a["embed_dim"]
    tokens_q, tokens_k = prod(q[:-1]), prod(k[:-1])
    logits = tokens_q * k[-2] * a["num_head"]
    macs = (tokens_q + tokens_k + prod(v[:-1])) * e * e + tokens_q * k[-2] * 2 * e + tokens_q * e * e
    bias = (tokens_q + tokens_k + prod(v[:-1])) * e * (a["qkv_bias"] is not None) + tokens_q * e
    return OpCost(macs, (("bias", bias), ("softmax", logits)))


@entry("_transformer_encoder_layer_fwd")
def transformer_encoder_layer(a: Args, out: Outs) -> OpCost:
    """nn.TransformerEncoderLayer's native kernel: self-attention as above, two norms, the feed-forward
    block (E -> F -> E) with its activation, and the two residual adds."""
    src, e, ffn = a["src"], a["embed_dim"], a["ffn_weight_1"][0]
    tokens = prod(src[:-1])
    logits = tokens * src[-2] * a["num_heads"]
    macs = 4 * tokens * e * e + tokens * src[-2] * 2 * e + 2 * tokens * e * ffn
    return OpCost(macs, (("bias", tokens * (4 * e + ffn + e)), ("softmax", logits), ("norm", 2 * tokens * e),
                         ("activation", tokens * ffn), ("elementwise", 2 * tokens * e)))


# --- the work beyond multiply-adds: one unit per element ---


@entry("native_batch_norm", "_native_batch_norm_legit_no_training", "_native_batch_norm_legit",
       "native_layer_norm", "native_group_norm", "instance_norm", "rms_norm")
def norm(a: Args, out: Outs) -> OpCost:
    """Batch, layer, group, instance and RMS norm: one normalisation (and scale-and-shift) per element."""
    return _one("norm", a["input"].numel)


# activation op -> its kind, as a layer names it (Layer.activation)
ACTIVATION_KINDS = {**dict.fromkeys(("relu", "relu_"), "relu"), **dict.fromkeys(("hardtanh", "hardtanh_"), "relu6"),
                    **dict.fromkeys(("hardswish", "hardswish_"), "hswish"),
                    **dict.fromkeys(("hardsigmoid", "hardsigmoid_"), "hsigmoid"),
                    **{f"{k}{s}": k for k in ("sigmoid", "silu", "gelu", "tanh", "elu", "leaky_relu", "mish")
                       for s in ("", "_")}, "_prelu_kernel": "prelu", "softplus": "softplus"}
ACTIVATIONS = ("relu", "relu_", "hardtanh", "hardtanh_", "relu6", "hardswish", "hardswish_", "hardsigmoid",
               "hardsigmoid_", "sigmoid", "sigmoid_", "silu", "silu_", "gelu", "gelu_", "tanh", "tanh_", "elu",
               "elu_", "celu", "selu", "leaky_relu", "leaky_relu_", "_prelu_kernel", "softplus", "mish", "mish_",
               "log_sigmoid_forward", "hardshrink", "softshrink", "threshold", "threshold_", "glu")


@entry(*ACTIVATIONS)
def activation(a: Args, out: Outs) -> OpCost:
    """An activation: one evaluation per output element."""
    return _one("activation", out[0].numel)


ELEMENTWISE = ("add", "add_", "sub", "sub_", "rsub", "mul", "mul_", "div", "div_", "neg", "abs", "exp", "exp_",
               "log", "sqrt", "rsqrt", "pow", "pow_", "reciprocal", "clamp", "clamp_", "clamp_min", "clamp_min_",
               "clamp_max", "maximum", "minimum", "where", "erf", "sign", "square", "addcmul", "addcdiv", "lerp",
               "floor", "ceil", "round", "fmod", "remainder", "eq", "ne", "gt", "lt", "ge", "le", "logical_not",
               "masked_fill", "masked_fill_", "cos", "sin", "atan2", "log1p", "expm1", "bitwise_and")


@entry(*ELEMENTWISE)
def elementwise(a: Args, out: Outs) -> OpCost:
    """An elementwise op (add, multiply, ...), broadcasting included: one per output element."""
    return _one("elementwise", out[0].numel)


@entry("mean", "sum", "amax", "amin", "max", "min", "var", "std", "var_mean", "std_mean", "prod", "linalg_vector_norm",
       "logsumexp", "cumsum", "argmax", "argmin", "all", "any")
def reduction(a: Args, out: Outs) -> OpCost:
    """A reduction (mean, sum, max, ...): one per input element."""
    return _one("reduction", a["self"].numel)


@entry("_softmax", "_log_softmax", "_safe_softmax")
def softmax(a: Args, out: Outs) -> OpCost:
    """Softmax over a dimension: one exp, add and divide per element (kind softmax, one unit each)."""
    return _one("softmax", a["self"].numel)


def _pool(dims: int) -> Callable[[Args, Outs], OpCost]:
    def cost(a: Args, out: Outs) -> OpCost:
        """A pooling window: one read per tap, output elements x kernel size."""
        kernel = a["kernel_size"]
        return _one("pooling", out[0].numel * (prod(kernel) if len(kernel) == dims else kernel[0] ** dims))
    return cost


for _name in ("avg_pool1d", "max_pool1d", "avg_pool2d", "max_pool2d", "max_pool2d_with_indices", "avg_pool3d",
              "max_pool3d", "max_pool3d_with_indices"):
    REGISTRY[_name] = _pool(int(_name.split("pool")[1][0]))


@entry("_adaptive_avg_pool2d", "_adaptive_avg_pool3d", "adaptive_max_pool2d", "adaptive_max_pool3d",
       "adaptive_avg_pool1d", "adaptive_max_pool1d")
def adaptive_pool(a: Args, out: Outs) -> OpCost:
    """Adaptive pooling: output i of a side of n reads [floor(i*size/n), ceil((i+1)*size/n)) of its size."""
    x, dims = a["self"], len(a["output_size"])
    reads = prod(x[:-dims])
    for size, n in zip(x[-dims:], out[0][-dims:]):
        reads *= sum(-(-(i + 1) * size // n) - i * size // n for i in range(n))
    return _one("pooling", reads)


@entry("upsample_nearest1d", "upsample_nearest2d", "upsample_nearest3d", "_upsample_nearest_exact1d",
       "_upsample_nearest_exact2d", "_upsample_nearest_exact3d", "upsample_linear1d", "upsample_bilinear2d",
       "upsample_bicubic2d", "upsample_trilinear3d", "_upsample_bilinear2d_aa", "_upsample_bicubic2d_aa")
def interpolate(a: Args, out: Outs) -> OpCost:
    """Interpolation (nearest, bilinear, ...): one interpolated value per output element."""
    return _one("interpolation", out[0].numel)


@entry("cat", "stack", "constant_pad_nd", "reflection_pad1d", "reflection_pad2d", "reflection_pad3d",
       "replication_pad1d", "replication_pad2d", "replication_pad3d", "pixel_shuffle", "pixel_unshuffle",
       "roll", "flip", "repeat", "index", "gather", "index_select", "embedding", "im2col", "col2im")
def data_movement(a: Args, out: Outs) -> OpCost:
    """Concatenation, padding, shuffling, gathering: no arithmetic, only the elements read and written."""
    return OpCost()


def _gathered(a: Args, out: Outs) -> int:
    """A gather reads its indices and the elements it copies, not its whole source."""
    return sum(s.numel for name, value in a.items() if name in ("indices", "index") for s in shapes(value)) \
        + out[0].numel


# ops that read only part of a tensor argument
PARTIAL_READS: dict[str, Callable[[Args, Outs], int]] = dict.fromkeys(
    ("embedding", "index", "gather", "index_select"), _gathered)
