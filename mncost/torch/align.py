"""Hold a model's conv and FC layers against the paper's Network, layer by layer.

An edit-distance alignment on layer signatures (kind, kernel, stride, groups,
in and out channels, output size) names every difference: an extra layer, a
missing layer, a changed layer, or a parameter-only difference (bias, BatchNorm).
When one rule of the spec explains a set of changes (another width rounding, a
width multiplier, a head or stem kept unthinned, one table row's width), it is
named once as a "rule" finding whose delta is the paper's cost under the rule
minus the paper's, and the model is held against the paper under the rule.
Every mult-add and parameter of both sides lands in exactly one finding or
match, so the findings' deltas add up to the total difference. No torch here.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any, Iterable, Iterator, Literal

from ..arch.builder import build
from ..arch.layers import Layer, Network
from ..arch.spec import Spec
from ..arch.stack import ROUNDING
from ..cost.ops import LayerCost, network_costs, total_cost
from ..errors import MncostError
from ..table import Column, Table

FindingKind = Literal["rule", "extra", "missing", "changed", "params"]

# The signature: the attributes that decide a layer's mult-adds (with their report labels).
SIGNATURE = {"kind": "kind", "kernel": "kernel", "stride": "stride", "groups": "groups",
             "in_channels": "in channels", "out_channels": "out channels", "output_size": "output size"}
INDEL = len(SIGNATURE) + 1  # an extra or missing layer costs more than any change of one layer


@dataclass(frozen=True)
class Entry:
    """One conv or FC layer of either side, with its measured or analytic cost."""

    layer: Layer
    cost: LayerCost


@dataclass(frozen=True)
class Step:
    """One alignment step: a pair (match or change), an extra model layer, or a missing paper layer."""

    model: Entry | None
    paper: Entry | None


@dataclass(frozen=True)
class Finding:
    """A named deviation of the model from the paper, with its exact cost deltas."""

    kind: FindingKind
    model_layer: str | None
    paper_layer: str | None
    detail: str
    macs_delta: int
    params_delta: int
    cause: str | None = None  # the upstream finding's layer that this change follows from


def paper_entries(net: Network) -> list[Entry]:
    """The paper Network's conv and FC layers with their analytic costs."""
    return [Entry(layer, cost) for layer, cost in network_costs(net) if layer.op in ("conv2d", "linear")]


def paper_outside(net: Network) -> LayerCost:
    """What the paper's Network costs outside its conv and FC layers: [V4]'s attention matmuls (mult-adds),
    layer scale and Mobile MQA's pre-norm (params); nothing for V1-V3."""
    return sum((cost for layer, cost in network_costs(net) if layer.op not in ("conv2d", "linear")), LayerCost())


def _is_classifier_conv(layer: Layer) -> bool:
    return layer.kind == "pw" and tuple(layer.input_size) == (1, 1)


def _value(layer: Layer, attr: str) -> Any:
    if attr == "kind" and _is_classifier_conv(layer):
        return "fc"  # a 1x1 conv on a 1x1 input is the FC in another form: same mult-adds and weights
    value = layer.kind if attr == "kind" else getattr(layer, attr)
    return tuple(value) if isinstance(value, list) else value


def differences(model: Layer, paper: Layer) -> list[str]:
    """The signature attributes in which two layers differ."""
    return [attr for attr in SIGNATURE if _value(model, attr) != _value(paper, attr)]


def align(model: list[Entry], paper: list[Entry]) -> list[Step]:
    """The cheapest edit script turning the paper's layers into the model's (Levenshtein on signatures)."""
    n, m = len(model), len(paper)

    def sub(i: int, j: int) -> int:
        diff = differences(model[i].layer, paper[j].layer)
        return INDEL + len(diff) if diff else 0

    dist = [[INDEL * (i + j) if i == 0 or j == 0 else 0 for j in range(m + 1)] for i in range(n + 1)]
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            dist[i][j] = min(dist[i - 1][j - 1] + sub(i - 1, j - 1), dist[i - 1][j] + INDEL, dist[i][j - 1] + INDEL)
    steps: list[Step] = []
    i, j = n, m
    while i or j:  # backtrack; on ties prefer a pair, then a missing paper layer
        if i and j and dist[i][j] == dist[i - 1][j - 1] + sub(i - 1, j - 1):
            i, j = i - 1, j - 1
            steps.append(Step(model[i], paper[j]))
        elif j and dist[i][j] == dist[i][j - 1] + INDEL:
            j -= 1
            steps.append(Step(None, paper[j]))
        else:
            i -= 1
            steps.append(Step(model[i], None))
    return steps[::-1]


def _show(value: Any, attr: str) -> str:
    if attr == "kernel":
        return f"{value}x{value}" if isinstance(value, int) else "x".join(map(str, value))
    if isinstance(value, tuple):
        return "x".join(map(str, value))
    return str(value)


def describe(layer: Layer) -> str:
    """A layer in the paper's words: 3x3x32 dw / s1, output 112x112x32, BatchNorm."""
    extras = [word for word, present in (("bias", layer.bias), ("BatchNorm", layer.norm)) if present]
    output = f"{_show(layer.output_size, 'output_size')}x{layer.out_channels}"
    return ", ".join([f"{layer.filter_shape} / s{_show(layer.stride, 'stride')}, output {output}", *extras])


def _keeps_input_ratio(paper: Layer) -> bool:
    """Whether the paper sets this layer's width from its input: a depthwise conv, or [V2]'s expand conv (t x in).

    Any other layer's width (a projection, a pointwise conv, the stem, the head) is its own table entry."""
    return paper.kind == "dw" or paper.name.endswith(".expand")


def _follows_from_input(model: Layer, paper: Layer, attr: str) -> bool:
    """Whether a differing attribute is implied by a differing input (channels or size)."""
    if attr in ("in_channels", "output_size"):
        return True
    if attr in ("out_channels", "groups") and _keeps_input_ratio(paper):
        return getattr(model, attr) * paper.in_channels == getattr(paper, attr) * model.in_channels
    return False


def _own_changes(model: Layer, paper: Layer, diff: list[str]) -> list[str]:
    if (model.in_channels, tuple(model.input_size)) == (paper.in_channels, tuple(paper.input_size)):
        return diff
    return [attr for attr in diff if not _follows_from_input(model, paper, attr)]


def _term_notes(model: Entry, paper: Entry) -> list[str]:
    """Parameter terms that differ: a bias or BatchNorm one side has and the other has not."""
    notes = []
    for term, word in (("bias", "bias"), ("bn_params", "BatchNorm")):
        delta = getattr(model.cost, term) - getattr(paper.cost, term)
        flag = "bias" if term == "bias" else "norm"
        has_model, has_paper = getattr(model.layer, flag), getattr(paper.layer, flag)
        if has_model and not has_paper:
            notes.append(f"{word} where the paper has none ({delta:+,} params)")
        elif has_paper and not has_model:
            notes.append(f"no {word} where the paper has one ({delta:+,} params)")
        elif delta and model.layer.out_channels == paper.layer.out_channels:  # else the shape change says it
            notes.append(f"{word} params {getattr(model.cost, term):,} vs {getattr(paper.cost, term):,}")
    if _is_classifier_conv(model.layer) and paper.layer.kind == "fc":
        notes.append("a 1x1 conv in place of the paper's FC (same mult-adds and weights)")
    return notes


def _hint_extra(step_index: int, steps: list[Step], net: Network) -> str:
    """Why an extra layer is extra, where the paper's table says so ([V2]: t = 1 has no expand conv)."""
    following = next((s.paper for s in steps[step_index + 1:] if s.paper is not None), None)
    if following is None or not following.layer.name.endswith(".dw"):
        return ""
    block = following.layer.name.rsplit(".", 1)[0]
    names = {layer.name for layer in net.layers}
    if f"{block}.project" in names and f"{block}.expand" not in names:
        return f"; the paper's {block} has expansion t = 1 and no expand conv"
    return ""


def findings(steps: list[Step], net: Network) -> list[Finding]:
    """One finding per step that differs from the paper, with the cost deltas of that step."""
    found: list[Finding] = []
    root: str | None = None
    for index, step in enumerate(steps):
        m, p = step.model, step.paper
        if p is None:
            found.append(Finding("extra", m.layer.name, None,
                                 f"{describe(m.layer)}{_hint_extra(index, steps, net)}",
                                 m.cost.macs, m.cost.params))
            root = m.layer.name
            continue
        if m is None:
            found.append(Finding("missing", None, p.layer.name, describe(p.layer),
                                 -p.cost.macs, -p.cost.params))
            root = p.layer.name
            continue
        macs, params = m.cost.macs - p.cost.macs, m.cost.params - p.cost.params
        diff = differences(m.layer, p.layer)
        notes = _term_notes(m, p)
        if diff:
            own = _own_changes(m.layer, p.layer, diff)
            changes = "; ".join(f"{SIGNATURE[a]} {_show(_value(m.layer, a), a)} vs {_show(_value(p.layer, a), a)}"
                                for a in diff)
            cause = root if not own and root else None
            prefix = f"follows from {cause}: " if cause else ""
            found.append(Finding("changed", m.layer.name, p.layer.name,
                                 "; ".join([f"{prefix}{changes}", *notes]), macs, params, cause))
            if own:
                root = m.layer.name
        elif macs or params:
            if macs:
                notes.append(f"mult-adds {m.cost.macs:,} vs {p.cost.macs:,}")
            found.append(Finding("params", m.layer.name, p.layer.name, "; ".join(notes), macs, params))
    return found


# --- rules: one change of the spec that explains a set of changed layers ---

ROUNDING_WORDS = {"floor": "int(c x alpha)", "divisible": "the nearest multiple of 8"}
COMMON_ALPHAS = (0.25, 0.35, 0.5, 0.75, 1.0, 1.3, 1.4)  # the published checkpoints' width multipliers
MAX_RULES = 3


@dataclass(frozen=True)
class Candidate:
    """A spec change to try: its words, the changed spec and the width multiplier."""

    words: str
    spec: Spec
    alpha: float


def _widths_giving(channels: int, spec: Spec, alpha: float) -> Iterator[int]:
    """Table widths c that the spec's rounding turns into `channels` at this alpha, nearest c x alpha first."""
    guess = math.ceil(channels / alpha)
    near = sorted(range(max(1, guess - 2), guess + 3), key=lambda c: abs(c * alpha - channels))
    yield from (c for c in near if ROUNDING[spec.rounding](c, alpha) == channels)


def _row_of(spec: Spec, block: int) -> int | None:
    """The index of the table row that lays out block number `block` (1-based), if any."""
    seen = 0
    for index, row in enumerate(spec.rows):
        seen += row.n
        if block <= seen:
            return index
    return None


def candidates(spec: Spec, alpha: float, steps: list[Step]) -> Iterator[Candidate]:
    """The spec changes worth trying against these aligned steps."""
    for name in ROUNDING:
        if name != spec.rounding:
            yield Candidate(f"widths rounded with {ROUNDING_WORDS[name]} instead of {ROUNDING_WORDS[spec.rounding]}",
                            replace(spec, rounding=name), alpha)
    if spec.head is not None:
        words = "thinned by alpha" if not spec.thin_head else "not thinned by alpha (kept for alpha < 1)"
        yield Candidate(f"head conv {words}", replace(spec, thin_head=not spec.thin_head), alpha)
    model_stem = next((s.model.layer.out_channels for s in steps if s.model is not None), None)
    for c in _widths_giving(spec.stem, spec, alpha) if model_stem == spec.stem else ():
        yield Candidate(f"stem conv not thinned by alpha ({spec.stem} channels)", replace(spec, stem=c), alpha)
        break
    ratio = model_stem / spec.stem if model_stem else None
    for other in sorted({*COMMON_ALPHAS, *([ratio] if ratio else [])} - {alpha}):
        yield Candidate(f"width multiplier {other:g} instead of {alpha:g}", spec, other)
    tried: set[int] = set()
    for step in steps:  # a table row's own width: c in the model's layer where the paper's row sets it
        m, p = step.model, step.paper
        if not (m and p and p.layer.name.startswith("block")) or _keeps_input_ratio(p.layer) or \
                m.layer.out_channels == p.layer.out_channels:
            continue
        index = _row_of(spec, int(p.layer.name[len("block"):].split(".")[0]))
        if index is None or index in tried:
            continue
        tried.add(index)
        row = spec.rows[index]
        for c in _widths_giving(m.layer.out_channels, spec, alpha):
            rows = spec.rows[:index] + (replace(row, c=c),) + spec.rows[index + 1:]
            yield Candidate(f"table row {index + 1} ({type(row).__name__} {_row_words(row)}) with c = {c}",
                            replace(spec, rows=rows), alpha)
            break


def _row_words(row: Any) -> str:
    return ", ".join(f"{key} {value}" for key, value in vars(row).items())


def _roots(steps: list[Step], net: Network) -> int:
    """How many findings do not follow from another one."""
    return sum(1 for f in findings(steps, net) if f.cause is None)


def _own_width_changes(rule_net: Network, reference: Network) -> list[str]:
    """The layers whose own width a rule changes: 'block2.project 18 vs 24'."""
    names = {layer.name: layer for layer in reference.layers}
    return [f"{layer.name} {layer.out_channels} vs {names[layer.name].out_channels}"
            for layer in rule_net.layers if layer.name in names and layer.op in ("conv2d", "linear")
            and layer.out_channels != names[layer.name].out_channels and not _keeps_input_ratio(layer)]


def _rule_finding(words: str, rule_net: Network, reference: Network) -> Finding:
    """One rule as one finding: its own width changes and the paper's cost under it minus before it."""
    new, old = total_cost(rule_net), total_cost(reference)
    changes = _own_width_changes(rule_net, reference)
    shown = ", ".join(changes[:4]) + (f" and {len(changes) - 4} more" if len(changes) > 4 else "")
    detail = f"{words}: {shown}; the layers after follow" if shown else words
    return Finding("rule", None, None, detail, new.macs - old.macs, new.params - old.params)


def explain(model: list[Entry], net: Network, spec: Spec) -> tuple[list[Finding], Network]:
    """The rules (at most a few, greedily) that each leave fewer independent findings, and the paper under them."""
    rules: list[Finding] = []
    reference, current, alpha = net, spec, net.alpha
    steps = align(model, paper_entries(reference))
    roots = _roots(steps, reference)
    while roots and len(rules) < MAX_RULES:
        best = None
        for candidate in candidates(current, alpha, steps):
            try:
                rule_net = build(candidate.spec, candidate.alpha, net.resolution, net.num_classes)
            except (MncostError, ValueError, ZeroDivisionError):
                continue
            if rule_net.layers == reference.layers:
                continue
            rule_steps = align(model, paper_entries(rule_net))
            score = _roots(rule_steps, rule_net)
            if score < roots and (best is None or score < best[0]):
                best = (score, candidate, rule_net, rule_steps)
        if best is None:
            break
        roots, candidate, rule_net, steps = best
        rules.append(_rule_finding(candidate.words, rule_net, reference))
        reference, current, alpha = rule_net, candidate.spec, candidate.alpha
    return rules, reference


@dataclass(frozen=True)
class Audit:
    """The model held against the paper: totals, findings, and the number of matching layers."""

    target: str
    network: Network
    findings: tuple[Finding, ...]
    macs_model: int
    macs_paper: int
    params_model: int
    params_paper: int
    matched: int
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.findings

    def verdict(self) -> str:
        """One line: matches, or deviates with the number of findings and the deltas."""
        net = self.network
        height, width = net.resolution
        paper = f"the paper's {net.arch} (alpha {net.alpha:g}, {height}x{width}, {net.num_classes} classes)"
        if self.ok:
            return (f"MATCH: {self.target} matches {paper} layer by layer: {self.matched} conv/FC layers, "
                    f"{self.macs_model:,} mult-adds, {self.params_model:,} params.")
        causes = list(dict.fromkeys(f.cause for f in self.findings if f.cause))
        follow = sum(1 for f in self.findings if f.cause)
        causes_text = f", {follow} of them following from {', '.join(causes)}" if follow else ""
        return (f"DEVIATES: {self.target} differs from {paper} in {len(self.findings)} finding(s){causes_text}: "
                f"{self.macs_model - self.macs_paper:+,} mult-adds, {self.params_model - self.params_paper:+,} params.")

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of `mncost audit`."""
        return {"ok": self.ok,
                "totals": {"macs_model": self.macs_model, "macs_paper": self.macs_paper,
                           "params_model": self.params_model, "params_paper": self.params_paper},
                "findings": [asdict(f) for f in self.findings],
                "matched": self.matched, "notes": list(self.notes), "verdict": self.verdict()}

    def to_table(self) -> Table:
        """The findings table; the totals, the closing sum and the verdict as its footer."""
        macs_diff, params_diff = self.macs_model - self.macs_paper, self.params_model - self.params_paper
        outside = paper_outside(self.network)
        macs_words = "conv + FC + attention matmuls" if outside.macs else "conv + FC"
        params_words = "weights + bias + BatchNorm" + (" + layer scale" if outside.weights else "")
        return Table(
            title=f"mncost audit {self.target} against {self.network.arch}",
            columns=[Column("kind", "Finding"), Column("model_layer", "Model layer"),
                     Column("paper_layer", "Paper layer"), Column("detail", "Detail (model vs paper)"),
                     Column("macs_delta", "Mult-adds", "delta"), Column("params_delta", "Params", "delta")],
            rows=[asdict(f) for f in self.findings],
            totals={"kind": "Total", "macs_delta": macs_diff, "params_delta": params_diff} if self.findings else None,
            footer=[f"Mult-adds ({macs_words}): model {self.macs_model:,}, paper {self.macs_paper:,}, "
                    f"difference {macs_diff:+,}.",
                    f"Params ({params_words}): model {self.params_model:,}, paper {self.params_paper:,}, "
                    f"difference {params_diff:+,}.",
                    f"{self.matched} layer pairs have the paper's shapes"
                    f"{' under the rule(s) above' if any(f.kind == 'rule' for f in self.findings) else ''}; "
                    "the findings' deltas add up exactly to both differences.",
                    *self.notes, self.verdict()],
        )


def close(target: str, net: Network, steps: list[Step], macs_model: int, params_model: int,
          unowned_params: Iterable[str] = (), notes: Iterable[str] = (), rules: Iterable[Finding] = (),
          reference: Network | None = None) -> Audit:
    """The audit of steps aligned with `reference` (the paper `net` under `rules`); what no conv/FC layer owns
    becomes its own finding, so the sum closes."""
    reference = reference or net
    found = [*rules, *findings(steps, reference)]
    model = [s.model for s in steps if s.model is not None]
    paper, outside = total_cost(net), paper_outside(reference)
    outside_macs = macs_model - sum(e.cost.macs for e in model)
    outside_params = params_model - sum(e.cost.params for e in model)
    if outside_macs != outside.macs:
        paper_words = f" (the paper's attention matmuls: {outside.macs:,})" if outside.macs else ""
        found.append(Finding("changed" if outside.macs else "extra", "(outside conv/linear modules)",
                             "(attention matmuls)" if outside.macs else None,
                             f"mult-adds of conv, linear or matmul ops outside nn.Conv2d/nn.Linear modules{paper_words}",
                             outside_macs - outside.macs, 0))
    if outside_params != outside.params:
        names = list(unowned_params)
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        paper_words = f" (the paper's layer scale and pre-norm: {outside.params:,})" if outside.params else ""
        found.append(Finding("params", shown or "(other parameters)", "(layer scale, norms)" if outside.params else None,
                             f"parameters outside the conv, linear and their BatchNorm layers{paper_words}", 0,
                             outside_params - outside.params))
    if (sum(f.macs_delta for f in found), sum(f.params_delta for f in found)) != \
            (macs_model - paper.macs, params_model - paper.params):
        raise RuntimeError("audit findings do not add up to the total difference")  # a bug, not a user error
    pairs = [s for s in steps if s.model and s.paper and not differences(s.model.layer, s.paper.layer)]
    flagged = {f.model_layer for f in found}
    notes = [*notes, *(f"{s.model.layer.name} is a 1x1 conv in place of the paper's FC {s.paper.layer.name}: "
                       "same mult-adds and weights" for s in pairs
                       if _is_classifier_conv(s.model.layer) and s.paper.layer.op == "linear"
                       and s.model.layer.name not in flagged)]
    return Audit(target, net, tuple(found), macs_model, paper.macs, params_model, paper.params, len(pairs),
                 tuple(notes))


def audit_entries(target: str, net: Network, model: list[Entry], macs_model: int, params_model: int,
                  unowned_params: Iterable[str] = (), spec: Spec | None = None, notes: Iterable[str] = ()) -> Audit:
    """Hold a model's layers against the paper's Network; with its Spec, name the rules that explain changes."""
    rules, reference = explain(model, net, spec) if spec is not None else ([], net)
    return close(target, net, align(model, paper_entries(reference)), macs_model, params_model, unowned_params,
                 notes, rules, reference)
