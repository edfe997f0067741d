"""A TARGET (path/to/file.py:NAME or package.module:NAME) loaded as an nn.Module, and user code contained:
its prints go to stderr, and any exception, exit or Ctrl-C becomes one MncostError."""

from __future__ import annotations

import ast
import contextlib
import importlib
import importlib.util
import re
import sys
from pathlib import Path
from typing import Any, Iterator

from torch import nn

from ..errors import MncostError

TARGET = re.compile(r"^(?P<source>[^:]+):(?P<name>[A-Za-z_][\w.]*)\s*(?P<call>\(.*\))?\s*$", re.S)


USER_ERRORS = (Exception, SystemExit, KeyboardInterrupt)  # everything user code can raise at us
# Where a target's callable may come from: not the standard library, builtins, or torch's own functions.
REFUSED_ORIGINS = sys.stdlib_module_names | {"torch"}


def one_line(error: BaseException) -> str:
    if isinstance(error, SystemExit):
        return f"SystemExit: sys.exit({'' if error.code is None else repr(error.code)}) was called"
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


@contextlib.contextmanager
def user_code(message: str) -> Iterator[None]:
    """Run user code with its prints on stderr; any exception, exit or Ctrl-C becomes one MncostError."""
    sys.stdout.flush()
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    except MncostError:
        raise
    except USER_ERRORS as error:
        raise MncostError(f"{message}{one_line(error)}") from None


def _origin(obj: Any) -> str:
    """The top-level package an object is defined in ('' when unknown)."""
    return (getattr(obj, "__module__", None) or "").split(".")[0]


def _refuse_origin(target: str, origin: str) -> None:
    """Refuse a target from the standard library or torch itself: audit would run it, and it is no model."""
    if origin in REFUSED_ORIGINS:
        where = "torch itself" if origin == "torch" else f"the standard library ({origin!r})"
        raise MncostError(f"target {target!r} comes from {where}; audit runs the code a target names, so it only "
                          "calls nn.Module classes and model factories from model code")


def _is_path(source: str) -> bool:
    return source.endswith(".py") or "/" in source or "\\" in source


def _import_source(source: str) -> Any:
    """The module of a file path (path/to/file.py) or a module path (package.module)."""
    if _is_path(source):
        path = Path(source)
        if not path.is_file():
            raise MncostError(f"cannot load {source!r}: no such file")
        spec = importlib.util.spec_from_file_location(f"mncost_audit_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        sys.path.insert(0, str(path.resolve().parent))  # so the file can import its neighbours
        try:
            with user_code(f"cannot load {source!r}: "):
                spec.loader.exec_module(module)
        finally:
            sys.path.remove(str(path.resolve().parent))
        return module
    with user_code(f"cannot import module {source!r}: "):
        return importlib.import_module(source)


def _arguments(call: str | None, target: str) -> tuple[list[Any], dict[str, Any]]:
    """Literal arguments of NAME(key=literal, ...), parsed with ast.literal_eval (never eval)."""
    if not call:
        return [], {}
    try:
        node = ast.parse(f"f{call}", mode="eval").body
        if not isinstance(node, ast.Call):
            raise ValueError
        args = [ast.literal_eval(arg) for arg in node.args]
        kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords if kw.arg}
        if len(kwargs) != len(node.keywords):
            raise ValueError
    except (SyntaxError, ValueError):
        raise MncostError(f"target {target!r}: arguments must be literals, "
                          "as in NAME(width=1.0, classes=10)") from None
    return args, kwargs


def load_target(target: str) -> nn.Module:
    """The nn.Module a TARGET names: path/to/file.py:NAME or package.module:NAME, NAME(key=literal, ...)."""
    match = TARGET.match(target.strip())
    if not match:
        raise MncostError(f"target {target!r} is invalid; use path/to/file.py:NAME or package.module:NAME")
    package = match["source"].split(".")[0]
    if not _is_path(match["source"]) and package != "torch":  # torch.nn:Conv2d is a module; torch's callables
        _refuse_origin(target, package)                        # are refused below, once looked up
    module = _import_source(match["source"])
    obj: Any = module
    with user_code(f"looking up {match['name']!r} raised "):  # a module's __getattr__ is user code too
        for part in match["name"].split("."):
            if not hasattr(obj, part):
                found = sorted(n for n, v in vars(module).items() if isinstance(v, type)
                               and issubclass(v, nn.Module) and v.__module__ == module.__name__)
                hint = f"; nn.Module classes there: {', '.join(found)}" if found else ""
                raise MncostError(f"{match['source']!r} has no {match['name']!r}{hint}")
            obj = getattr(obj, part)
    args, kwargs = _arguments(match["call"], target)
    if isinstance(obj, nn.Module) and not match["call"]:
        return obj
    if not callable(obj) or (isinstance(obj, type) and not issubclass(obj, nn.Module)):
        raise MncostError(f"{match['name']!r} is not an nn.Module subclass or a factory "
                          f"(it is of type {type(obj).__name__})")
    if not (isinstance(obj, type) and issubclass(obj, nn.Module)):
        _refuse_origin(target, _origin(obj))
    with user_code(f"{match['name']}(...) raised "):
        model = obj(*args, **kwargs)
    if not isinstance(model, nn.Module):
        raise MncostError(f"{match['name']}(...) returned a {type(model).__name__}, not an nn.Module")
    return model
