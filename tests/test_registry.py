import numpy as np
import pytest

import tinygraph as tg
from tinygraph import ops, registry


@pytest.fixture
def isolated_registry(monkeypatch):
    """Let a test register and replace ops without leaking into other tests."""
    monkeypatch.setattr(registry, "_by_name", dict(registry._by_name))
    monkeypatch.setattr(registry, "_name_of", dict(registry._name_of))


def test_builtin_ops_are_registered_by_class_name():
    known = registry.registered_ops()
    for name in ops.__all__:
        cls = getattr(ops, name)
        if isinstance(cls, type) and issubclass(cls, tg.Op) and cls is not tg.Op:
            assert known[cls.__name__] is cls
            assert registry.op_name(cls) == cls.__name__


def test_custom_op_registers_itself_under_module_and_qualname(isolated_registry):
    class Swish(tg.Op):
        def forward(self, a):
            return a / (1 + np.exp(-a))

    expected = f"{__name__}:test_custom_op_registers_itself_under_module_and_qualname.<locals>.Swish"
    assert registry.op_name(Swish) == expected
    assert registry.lookup_op(expected) is Swish


def test_subclass_named_like_a_builtin_does_not_replace_it(isolated_registry):
    class MatMul(tg.ops.MatMul):
        pass

    assert registry.lookup_op("MatMul") is tg.ops.MatMul
    assert registry.op_name(tg.ops.MatMul) == "MatMul"
    assert registry.op_name(MatMul).endswith(":test_subclass_named_like_a_builtin_does_not_replace_it.<locals>.MatMul")


def test_explicit_registry_name_is_used_and_not_inherited(isolated_registry):
    class Gelu(tg.Op):
        registry_name = "acme.Gelu"

        def forward(self, a):
            return a

    class FastGelu(Gelu):
        pass

    assert registry.lookup_op("acme.Gelu") is Gelu
    assert registry.op_name(FastGelu) != "acme.Gelu"
    assert registry.lookup_op(registry.op_name(FastGelu)) is FastGelu


def test_explicit_name_of_another_class_is_an_error(isolated_registry):
    with pytest.raises(tg.GraphError, match=r"'MatMul'.*belongs to tinygraph\.ops\.linalg:MatMul.*replace=True"):
        class Impostor(tg.Op):
            registry_name = "MatMul"

    assert registry.lookup_op("MatMul") is tg.ops.MatMul


def test_redefining_the_same_class_replaces_the_old_definition(isolated_registry):
    def define():
        class Twice(tg.Op):
            def forward(self, a):
                return 2 * a

        return Twice

    first, second = define(), define()
    name = registry.op_name(second)
    assert registry.lookup_op(name) is second
    with pytest.raises(tg.GraphError, match="no registered name"):
        registry.op_name(first)


def test_register_op_replace_gives_a_builtin_name_to_a_subclass(isolated_registry):
    class TracedMatMul(tg.ops.MatMul):
        pass

    with pytest.raises(tg.GraphError, match="replace=True"):
        tg.register_op(TracedMatMul, name="MatMul")
    assert tg.register_op(TracedMatMul, name="MatMul", replace=True) == "MatMul"
    assert registry.lookup_op("MatMul") is TracedMatMul
    assert registry.op_name(TracedMatMul) == "MatMul"
    with pytest.raises(tg.GraphError, match="no registered name"):
        registry.op_name(tg.ops.MatMul)
    # the subclass's own automatic name still resolves, so files saved before keep loading
    assert any(cls is TracedMatMul and n != "MatMul" for n, cls in registry.registered_ops().items())


def test_register_op_rejects_non_ops_and_bad_names(isolated_registry):
    with pytest.raises(TypeError):
        tg.register_op(int)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        tg.register_op(tg.ops.Add, name="")
    with pytest.raises(TypeError, match="registry_name"):
        class Bad(tg.Op):
            registry_name = 3  # type: ignore[assignment]


def test_unknown_name_says_how_to_register():
    with pytest.raises(tg.GraphError) as info:
        registry.lookup_op("mylib.ops:Gelu")
    message = str(info.value)
    assert "'mylib.ops:Gelu'" in message and "tg.register_op(" in message and "import the module" in message
