"""A TARGET (path/to/file.py:NAME or package.module:NAME) checked, resolved and loaded as an nn.Module, and
user code contained: what it prints (to sys.stdout or to file descriptor 1) goes to stderr, a process it
forks never returns into mncost, it runs within a time limit, and any exception, exit or Ctrl-C becomes one
MncostError. Checking a TARGET's syntax (parse_target) and the limits import no torch.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import importlib.util
import inspect
import math
import os
import re
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from ..arch.bounds import shown
from ..errors import MncostError

TARGET = re.compile(r"^(?P<source>[^:]+):(?P<name>[A-Za-z_][\w.]*)\s*(?P<call>\(.*\))?\s*$", re.S)
# Where a target's callable may come from: not the standard library, builtins, or torch's own functions.
REFUSED_ORIGINS = sys.stdlib_module_names | {"torch"}
RULE = ("mncost calls only an nn.Module class, or a function that makes one defined in the target's own file "
        "or package (docs/audit.md#target)")
# Words of a parameter's name that say it takes a file, a folder or a command, which no model factory needs.
FILE_WORDS = {"path", "file", "filename", "fname", "dir", "dirname", "directory", "folder", "dst", "dest",
              "destination", "src", "cmd", "command", "argv", "shell", "url", "fd"}
MODEL_NAME = re.compile(r"model|module|net|former|vit|mlp|mixer|vgg", re.I)  # what a factory's name says
DEFAULT_TIMEOUT = 600.0  # seconds: a forward pass of any MobileNet takes a fraction of one
MAX_TIMEOUT = 86_400.0
GRACE = 5.0  # seconds past the limit before a process that ignores the interrupt is ended


class UserTimeout(BaseException):
    """User code ran past the time limit (a BaseException, so that `except Exception` in it cannot hide it)."""


USER_ERRORS = (BaseException,)  # everything user code can raise at us: exits, Ctrl-C, GeneratorExit, timeouts


def one_line(error: BaseException) -> str:
    if isinstance(error, SystemExit):
        return f"SystemExit: sys.exit({'' if error.code is None else shown(error.code)}) was called"
    if isinstance(error, UserTimeout):
        return str(error)
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {shown(text, quote=False, limit=300)}" if text else type(error).__name__


# ---------- the syntax, before anything is imported ----------


@dataclass(frozen=True)
class Target:
    """A TARGET's parts: the file or module, the NAME to look up in it, and NAME(...)'s literal arguments."""

    text: str
    source: str
    name: str
    call: bool
    args: tuple
    kwargs: dict

    def __str__(self) -> str:
        return shown(self.text, limit=120)

    @property
    def is_path(self) -> bool:
        return self.source.endswith(".py") or "/" in self.source or "\\" in self.source


def _arguments(call: str | None, target: str) -> tuple[tuple, dict[str, Any]]:
    """Literal arguments of NAME(key=literal, ...), parsed with ast.literal_eval (never eval)."""
    if not call:
        return (), {}
    try:
        node = ast.parse(f"f{call}", mode="eval").body
        if not isinstance(node, ast.Call):
            raise ValueError
        args = tuple(ast.literal_eval(arg) for arg in node.args)
        kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords if kw.arg}
        if len(kwargs) != len(node.keywords):
            raise ValueError
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        raise MncostError(f"target {shown(target, limit=120)}: arguments must be literals, "
                          "as in NAME(width=1.0, classes=10)") from None
    return args, kwargs


def parse_target(text: str) -> Target:
    """A TARGET checked without importing anything: its syntax, its literal arguments, its file, and a
    module that is neither the standard library nor torch's functions."""
    match = TARGET.match(text.strip()) if isinstance(text, str) and "\0" not in text else None
    if not match:
        raise MncostError(f"target {shown(text, limit=120)} is invalid; use path/to/file.py:NAME or "
                          "package.module:NAME, NAME(key=literal, ...)")
    target = Target(text, match["source"], match["name"], bool(match["call"]), *_arguments(match["call"], text))
    if target.is_path and not Path(target.source).is_file():
        raise MncostError(f"cannot load {shown(target.source, limit=120)}: no such file")
    package = target.source.split(".")[0]
    if not target.is_path and package != "torch":  # torch.nn:Conv2d is a module class; torch's callables
        _refuse_origin(target, package)             # are refused once looked up
    return target


def _refuse_origin(target: Target, origin: str) -> None:
    """Refuse a target from the standard library or torch itself: it is no model, and mncost would run it."""
    if origin in REFUSED_ORIGINS:
        where = "torch itself" if origin == "torch" else f"the standard library ({origin!r})"
        raise MncostError(f"target {target} comes from {where}; {RULE}")


def parse_timeout(value: float | str) -> float:
    """Seconds user code may run: a number in (0, MAX_TIMEOUT]."""
    try:
        seconds = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError, OverflowError):
        seconds = math.nan
    if not 0 < seconds <= MAX_TIMEOUT:
        raise MncostError(f"timeout {shown(value)} is invalid; use seconds, a number > 0 and at most "
                          f"{MAX_TIMEOUT:,.0f}")
    return seconds


# ---------- user code, contained ----------


def _flush_c_stdio() -> None:
    """Flush the C library's stdout buffer, which native code prints into (it would reach fd 1 at exit)."""
    try:
        import ctypes

        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError, TypeError):
        pass


class _Running:
    """What a process forked by user code must know: mncost's stdout descriptors to let go of, and when the
    time limit ends (time.monotonic()), if one holds."""

    saved: list[int] = []
    deadline: float | None = None


def _in_forked_child() -> None:
    """In a child forked while user code runs: give back mncost's stdout at once (a reader of the pipe gets its
    end when mncost exits), and be ended at the time limit, even when stuck in native code."""
    for fd in _Running.saved:
        with contextlib.suppress(OSError):
            os.close(fd)
    if _Running.deadline is not None:
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        signal.setitimer(signal.ITIMER_REAL, max(_Running.deadline - time.monotonic(), 0.001))


os.register_at_fork(after_in_child=_in_forked_child)


def _stdout_to_stderr() -> int | None:
    """Point file descriptor 1 (where native code and child processes write) at stderr's; the saved one."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no descriptor 1: nothing to point
        return None
    try:
        os.dup2(2, 1)
    except OSError:
        os.close(saved)
        return None
    _Running.saved.append(saved)
    return saved


def _restore_stdout(saved: int | None) -> None:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        sys.stderr.flush()
    _flush_c_stdio()
    if saved is not None:
        os.dup2(saved, 1)
        os.close(saved)
        _Running.saved.remove(saved)


@contextlib.contextmanager
def _same_thread(model: Any) -> Iterator[None]:
    """Refuse a model that runs its modules in another thread: the trace sees only the calling thread."""
    from torch.nn.modules.module import register_module_forward_pre_hook

    caller, elsewhere = threading.get_ident(), []

    def hook(module: Any, args: Any) -> None:
        if threading.get_ident() != caller and not elsewhere:
            elsewhere.append(module)

    handle = register_module_forward_pre_hook(hook)
    try:
        yield
    finally:
        handle.remove()
        if elsewhere:
            names = {module: name for name, module in model.named_modules()}
            module = elsewhere[0]
            raise MncostError(f"the model ran {names.get(module) or 'a module'} ({type(module).__name__}) in "
                              "another thread; mncost records what forward runs in its own thread, so it would "
                              "miss those layers: run them in forward itself")


def _thread_error(args: Any) -> None:
    """An exception in a thread user code started: one line on stderr, not a traceback."""
    if args.exc_type is not SystemExit:
        print(f"mncost: note: a thread the model started raised {one_line(args.exc_value)}", file=sys.stderr)


@contextlib.contextmanager
def contained(model: Any = None) -> Iterator[None]:
    """While user code runs: its stdout (sys.stdout and descriptor 1) goes to stderr, an exception in a thread
    it starts is one line, and a process it forks ends when it would return into mncost. With a model: a
    module it runs in another thread is refused."""
    owner, saved, excepthook = os.getpid(), _stdout_to_stderr(), threading.excepthook
    threading.excepthook = _thread_error
    try:
        with contextlib.redirect_stdout(sys.stderr), \
                (_same_thread(model) if model is not None else contextlib.nullcontext()):
            yield
    finally:
        if os.getpid() != owner:  # a child forked by user code: only the original process writes output
            with contextlib.suppress(OSError, ValueError, AttributeError):
                sys.stderr.flush()
            os._exit(0)
        threading.excepthook = excepthook
        _restore_stdout(saved)


@contextlib.contextmanager
def user_code(message: str) -> Iterator[None]:
    """Run user code contained; any exception, exit, Ctrl-C or timeout becomes one MncostError."""
    try:
        with contained():
            yield
    except MncostError:
        raise
    except USER_ERRORS as error:
        raise MncostError(f"{message}{one_line(error)}") from None


def _give_up(message: str) -> None:
    """The watchdog's last resort: user code ignored the interrupt (or hangs in native code)."""
    os.write(2, f"mncost: error: {message}, and did not stop when interrupted\n".encode())
    os._exit(2)


@contextlib.contextmanager
def time_limit(seconds: float | str | None) -> Iterator[None]:
    """Interrupt user code after this many seconds (None: no limit) with one MncostError; a process that
    ignores the interrupt is ended GRACE seconds later with the same line, exit 2."""
    if seconds is None:
        yield
        return
    limit = parse_timeout(seconds)
    message = f"the model's code did not finish within --timeout {limit:g} s"
    main = threading.current_thread() is threading.main_thread()
    if main:
        def alarm(signum: int, frame: Any) -> None:
            raise UserTimeout(message)

        previous = signal.signal(signal.SIGALRM, alarm)
        signal.setitimer(signal.ITIMER_REAL, limit)
    watchdog = threading.Timer(limit + GRACE, _give_up, (message,))
    watchdog.daemon = True
    watchdog.start()
    _Running.deadline = time.monotonic() + limit
    try:
        yield
    except UserTimeout:
        raise MncostError(message) from None
    finally:
        _Running.deadline = None
        watchdog.cancel()
        if main:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


# ---------- resolving NAME, and what may be called ----------


def _import_source(target: Target) -> Any:
    """The module of a file path (path/to/file.py) or a module path (package.module)."""
    if target.is_path:
        path = Path(target.source)
        if not path.is_file():
            raise MncostError(f"cannot load {shown(target.source, limit=120)}: no such file")
        spec = importlib.util.spec_from_file_location(f"mncost_audit_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        folder = str(path.resolve().parent)
        sys.path.insert(0, folder)  # so the file can import its neighbours
        try:
            with user_code(f"cannot load {shown(target.source, limit=120)}: "):
                spec.loader.exec_module(module)
        finally:
            with contextlib.suppress(ValueError):
                sys.path.remove(folder)
        return module
    with user_code(f"cannot import module {shown(target.source, limit=120)}: "):
        return importlib.import_module(target.source)


def _look_up(module: Any, target: Target) -> Any:
    """NAME (dotted: Outer.inner) in the module; a module's __getattr__ is user code too."""
    from torch import nn

    obj = module
    with user_code(f"looking up {shown(target.name)} raised "):
        for part in target.name.split("."):
            if not hasattr(obj, part):
                found = sorted(n for n, v in vars(module).items() if isinstance(v, type)
                               and issubclass(v, nn.Module) and v.__module__ == module.__name__)
                hint = f"; nn.Module classes there: {', '.join(found)}" if found else ""
                raise MncostError(f"{shown(target.source, limit=120)} has no {shown(target.name, limit=120)}{hint}")
            obj = getattr(obj, part)
    return obj


def _annotation(func: Any) -> Any:
    """The function's return annotation, a string resolved by name in its module (never evaluated);
    inspect's `empty` when there is none or it cannot be resolved."""
    try:
        annotation = inspect.signature(func).return_annotation
    except (TypeError, ValueError):
        return inspect.Signature.empty
    if annotation == "None":
        return None
    if isinstance(annotation, str):
        parts = annotation.strip("'\"").split(".")
        value = func.__globals__.get(parts[0], inspect.Signature.empty)
        for part in parts[1:]:
            value = getattr(value, part, inspect.Signature.empty)
        return value
    return annotation


def _file_parameters(func: Any, target: Target) -> list[str]:
    """The parameters the call gives or requires whose names say a file, a folder or a command."""
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return []
    names = {name for name, p in signature.parameters.items() if p.default is p.empty
             and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)} | set(target.kwargs)
    with contextlib.suppress(TypeError):
        names |= set(signature.bind_partial(*target.args).arguments)
    return sorted(name for name in names if FILE_WORDS & set(name.lower().split("_")))


def refusal(target: Target, obj: Any) -> str | None:
    """Why NAME must not be called, before anything is: None for an nn.Module class, or for a function
    defined in the target's own file or package whose name and signature say it makes a model."""
    from torch import nn

    if isinstance(obj, type):
        return None if issubclass(obj, nn.Module) else f"{target.name} is a class, not an nn.Module subclass"
    func = obj.__func__ if inspect.ismethod(obj) else obj
    kind = f"{target.name} is a {type(obj).__module__}.{type(obj).__qualname__}, not an nn.Module class or a function"
    if not callable(obj):
        return kind
    origin = (getattr(func, "__module__", None) or "").split(".")[0]
    _refuse_origin(target, origin)
    if not inspect.isfunction(func):
        return kind
    own = (func.__module__ == f"mncost_audit_{Path(target.source).stem}" if target.is_path
           else origin == target.source.split(".")[0])
    if not own:
        return f"{target.name} is defined in {func.__module__}, not in {shown(target.source, limit=120)}"
    returns = _annotation(func)
    if returns is not inspect.Signature.empty and not (isinstance(returns, type) and issubclass(returns, nn.Module)):
        return f"{target.name} is declared to return {getattr(returns, '__name__', returns)}, not an nn.Module"
    files = _file_parameters(func, target)
    if files:
        return f"{target.name} takes {files[0]!r}, a file, folder or command, which no model factory takes"
    if returns is inspect.Signature.empty and not MODEL_NAME.search(func.__name__):
        return f"neither the name {func.__name__!r} nor a return annotation says it makes a model"
    return None


def _checked_model(target: Target, model: Any) -> Any:
    """The model, if mncost can trace it: an nn.Module in Python (not TorchScript) whose modules can be listed."""
    import torch
    from torch import nn

    if not isinstance(model, nn.Module):
        raise MncostError(f"{target.name}(...) returned a {type(model).__name__}, not an nn.Module")
    if isinstance(model, torch.jit.ScriptModule):
        raise MncostError(f"{target.name} is a TorchScript module (torch.jit.script or trace); mncost records "
                          "a Python module's forward pass: give the nn.Module before it is scripted")
    with user_code("listing the model's modules and parameters raised "):
        dict(model.named_modules())
        list(model.named_parameters())
    return model


def load_target(target: str | Target) -> Any:
    """The nn.Module a TARGET names: path/to/file.py:NAME or package.module:NAME, NAME(key=literal, ...).

    NAME is resolved first and called only when refusal() finds nothing against it."""
    from torch import nn

    target = target if isinstance(target, Target) else parse_target(target)
    obj = _look_up(_import_source(target), target)
    if isinstance(obj, nn.Module):
        if target.call:
            raise MncostError(f"{target.name} is an nn.Module instance; give it without arguments")
        return _checked_model(target, obj)
    reason = refusal(target, obj)
    if reason:
        raise MncostError(f"target {target} is refused: {reason}; {RULE}")
    with user_code(f"{target.name}(...) raised "):
        model = obj(*target.args, **target.kwargs)
    return _checked_model(target, model)
