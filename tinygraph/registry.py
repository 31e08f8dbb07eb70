"""The op registry: the stable names under which ops are written to files and found again.

A saved graph names each node's op by a string, never by pickled code, and
``tg.load`` turns that string back into a class through this registry. Every
``Op`` subclass registers itself when its ``class`` statement runs, under:

* its class name for the ops tinygraph defines itself (``"MatMul"``, ``"Input"``);
* ``"module:QualName"`` for any other class (``"mylib.layers:Swish"``), so a user's
  ``class MatMul(tg.ops.MatMul)`` becomes ``"__main__:MatMul"`` and never shadows
  the built-in ``"MatMul"``;
* or the string in its own ``registry_name`` class attribute, if it sets one
  (not inherited: a subclass of a named op gets its own default name).

A name already held by a *different* class is an error, not a silent replacement;
redefining the same class (re-running a notebook cell, ``importlib.reload``)
replaces the old definition. ``register_op(cls, name, replace=True)`` gives a
name to a class deliberately, e.g. to load files that name a built-in op with
an extended version of it.
"""

from __future__ import annotations

from typing import Any

from .errors import GraphError

# The registry sits below the op classes (they register themselves as they are defined), so it
# knows them only as classes with ``forward``/``infer``, not through an import of ``Op``.
OpClass = type[Any]

_PACKAGE = __name__.rpartition(".")[0]
_by_name: dict[str, OpClass] = {}
_name_of: dict[OpClass, str] = {}
_operators: dict[str, OpClass] = {}


def _identity(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def is_builtin(cls: type) -> bool:
    """Whether ``cls`` is one of tinygraph's own classes."""
    return cls.__module__ == _PACKAGE or cls.__module__.startswith(_PACKAGE + ".")


def default_name(cls: OpClass) -> str:
    """The name ``cls`` registers under by itself: ``registry_name``, class name or ``module:QualName``."""
    explicit = cls.__dict__.get("registry_name")
    if explicit is not None:
        if not isinstance(explicit, str) or not explicit:
            raise TypeError(f"{_identity(cls)}.registry_name must be a non-empty str, got {explicit!r}")
        return explicit
    return cls.__name__ if is_builtin(cls) else _identity(cls)


def register_op(cls: OpClass, name: str | None = None, *, replace: bool = False) -> str:
    """Register ``cls`` under ``name`` (default: its ``default_name``); returns the name.

    The name becomes the one ``tg.save`` writes for ``cls``; names it had before keep
    resolving to it, so older files still load. A name held by another class raises
    ``GraphError`` unless ``replace=True``.
    """
    if not (isinstance(cls, type) and callable(getattr(cls, "forward", None)) and hasattr(cls, "infer")
            and hasattr(cls, "registry_name")):
        raise TypeError(f"register_op needs a subclass of tg.Op, got {cls!r}")
    if name is None:
        name = default_name(cls)
    elif not isinstance(name, str) or not name:
        raise TypeError(f"an op name must be a non-empty str, got {name!r}")
    holder = _by_name.get(name)
    if holder is not None and holder is not cls and not replace and _identity(holder) != _identity(cls):
        raise GraphError(
            f"cannot register {_identity(cls)} as op {name!r}: that name belongs to {_identity(holder)}. "
            f"Give the class another name (registry_name = '...'), or replace the old one deliberately "
            f"with tg.register_op({cls.__name__}, name={name!r}, replace=True)"
        )
    if holder is not None and holder is not cls and _name_of.get(holder) == name:
        del _name_of[holder]  # the old class can no longer be saved under a name that now means cls
    _by_name[name] = cls
    _name_of[cls] = name
    operator = cls.__dict__.get("python_operator")
    if operator is not None and is_builtin(cls):
        _operators[operator] = cls
    return name


def operator_op(operator: str) -> OpClass:
    """The built-in op class that the Python operator ``operator`` (``"add"``, ``"T"``) builds."""
    return _operators[operator]


def op_name(cls: OpClass) -> str:
    """The name ``tg.save`` writes for ops of class ``cls``."""
    try:
        return _name_of[cls]
    except KeyError:
        raise GraphError(
            f"op class {_identity(cls)} has no registered name (its name was given to another class "
            f"with replace=True); register it again with tg.register_op({cls.__name__}, name='...')"
        ) from None


def lookup_op(name: str) -> OpClass:
    """The class registered as ``name``, or a ``GraphError`` saying how to register it."""
    try:
        return _by_name[name]
    except KeyError:
        hint = (
            "import the module that defines it (an Op subclass registers itself when its class statement runs)"
            if ":" in name else "define the class and set registry_name"
        )
        raise GraphError(
            f"unknown op {name!r}: no Op class is registered under that name in this process. To load this "
            f"file, {hint}, or register the class explicitly: tg.register_op(TheOpClass, name={name!r})"
        ) from None


def registered_ops() -> dict[str, OpClass]:
    """A copy of the registry: ``{name: op class}``."""
    return dict(_by_name)
