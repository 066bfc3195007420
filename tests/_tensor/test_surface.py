"""lucid's Tensor surface: printing, format/index/item, the top level, Parameter,
PyTorch state dicts, and lucid 0.13's own doc examples for these objects."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import lucid_fx
import lucid_fx as lucid
import lucid_fx.nn as nn
from lucid_fx import Float64Warning, Tensor


class TestPrintFormatIndex:
    def test_print_shows_numpys_str_as_lucid(self):
        values = np.array([[1.0, 2.5], [3.0, -4.0]], np.float32)
        assert str(Tensor(values, requires_grad=True)) == str(values)
        assert str(Tensor(np.array([1, 2], np.int32))) == "[1 2]"

    def test_format_one_element(self):
        loss = Tensor(0.123456)
        expected = format(float(np.float32(0.123456)), ".3f")
        assert f"{loss:.3f}" == expected == "0.123"
        assert f"{Tensor([[2.5]]):>6.2f}" == "  2.50"
        assert f"{Tensor([1.0, 2.0])}" == str(Tensor([1.0, 2.0]))

    def test_format_spec_on_many_elements_raises(self):
        with pytest.raises(TypeError, match="one-element"):
            f"{Tensor([1.0, 2.0]):.3f}"

    def test_index_on_integer_tensors(self):
        classes = ["cat", "dog", "bird"]
        y = Tensor(np.array([2], np.int32))
        assert classes[y] == classes[torch.tensor([2])] == "bird"
        assert list(range(10))[Tensor(np.array(3, np.int32)) :] == list(range(3, 10))

    def test_index_refuses_floats_as_pytorch(self):
        with pytest.raises(TypeError, match="integer"):
            ["a", "b"][Tensor(1.0)]
        with pytest.raises(TypeError):
            ["a", "b"][torch.tensor(1.0)]

    @pytest.mark.parametrize(
        "data", [3.5, [3.5], [[3.5]], np.array([[[3]]], np.int32), [True]]
    )
    def test_item_on_any_one_element_tensor(self, data):
        assert Tensor(data).item() == np.asarray(data).reshape(()).item()

    def test_item_on_many_elements_raises(self):
        with pytest.raises(ValueError, match=r"one-element.*\(2,\)"):
            Tensor([1.0, 2.0]).item()


class TestTopLevel:
    def test_tensor_is_a_new_leaf(self):
        w = Tensor([1.0, 2.0], requires_grad=True)
        h = w * 2.0
        t = lucid_fx.tensor(h, requires_grad=True)
        assert t is not h and t.is_leaf and t.tolist() == [2.0, 4.0]
        assert lucid_fx.tensor([1, 2]).dtype == jnp.float32
        assert lucid_fx.tensor([1.0], keep_grad=True).keep_grad

    def test_to_tensor_returns_tensors_as_they_are(self):
        t = Tensor([1.0])
        assert lucid_fx.to_tensor(t) is t
        assert lucid_fx.to_tensor(t, dtype=jnp.float16).dtype == jnp.float16
        assert lucid_fx.to_tensor(np.array([1, 2], np.int32)).dtype == jnp.int32
        with pytest.raises(ValueError, match="to_tensor"):
            lucid_fx.to_tensor(t, requires_grad=True)

    def test_shape_and_grad_enabled(self):
        assert lucid_fx.shape(Tensor(np.zeros((2, 3), np.float32))) == (2, 3)
        assert lucid_fx.shape([[1, 2]]) == (1, 2) == lucid_fx.shape(jnp.ones((1, 2)))
        assert lucid_fx.grad_enabled()
        with lucid_fx.no_grad():
            assert not lucid_fx.grad_enabled()
        assert lucid_fx.grad_enabled()


class TestParameter:
    def test_lucids_positional_order(self):
        p = nn.Parameter(np.array([1.0, 2.0], np.float32), jnp.bfloat16)
        assert p.dtype == jnp.bfloat16 and p.requires_grad and p.keep_grad
        assert nn.Parameter([1, 2]).dtype == jnp.float32

    def test_a_bool_in_dtypes_place_is_refused(self):
        with pytest.raises(TypeError, match="requires_grad=... by keyword"):
            nn.Parameter([1.0], False)
        assert not nn.Parameter([1.0], requires_grad=False).requires_grad


class TestPyTorchStateDict:
    def test_linear_loads_a_pytorch_state_dict(self):
        torch.manual_seed(0)
        ref = torch.nn.Linear(3, 2)
        ours = nn.Linear(3, 2)
        ours.load_state_dict(ref.state_dict())
        x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
        expected = ref(torch.tensor(x)).detach().numpy()
        np.testing.assert_allclose(ours(Tensor(x)).numpy(), expected, rtol=1e-6)

    def test_sequential_and_bfloat16(self):
        ref = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Linear(3, 1))
        ours = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
        ours.load_state_dict(ref.to(torch.bfloat16).state_dict())
        weight = ref[1].weight.float().detach().numpy()
        np.testing.assert_array_equal(ours[1].weight.numpy(), weight)

    def test_foreign_values_are_named_with_their_module(self):
        with pytest.raises(TypeError, match=r"'bias': expected .*got str"):
            nn.Linear(2, 1).load_state_dict(
                {"weight": torch.zeros(1, 2), "bias": "zero"}
            )

    def test_shape_mismatch_from_pytorch(self):
        with pytest.raises(ValueError, match=r"\(3, 2\) in the state dict"):
            nn.Linear(2, 1).load_state_dict(torch.nn.Linear(2, 3).state_dict())


class TestLucidDocExamples:
    """lucid 0.13's examples for Tensor, tensor, Parameter, no_grad,
    grad_enabled and newaxis, with ``lucid`` = ``lucid_fx``. Where lucid's
    printed output is a typo (see docs/tensor.rst) the test pins ours."""

    def test_tensor_page(self, capsys):
        t = lucid.Tensor([1, 2, 3], requires_grad=True)
        print(t)
        t.backward()
        print(t.grad)
        assert capsys.readouterr().out == "[1. 2. 3.]\n[1. 1. 1.]\n"
        assert repr(t[0]) == "Tensor(1.0, grad=None)"  # lucid prints Tensor(1, ...)
        for sub_tensor in t:
            print(sub_tensor)
        assert capsys.readouterr().out == "1.0\n2.0\n3.0\n"

    def test_tensor_function_page(self, capsys):
        t = lucid.tensor([1, 2, 3], requires_grad=True)
        print(t)  # lucid's page prints Tensor([1, 2, 3], requires_grad=True)
        t1 = lucid.tensor([4.0, 5.0, 6.0])
        with pytest.warns(Float64Warning):
            t2 = lucid.tensor(t1, dtype=np.float64)
        print(t2)
        assert capsys.readouterr().out == "[1. 2. 3.]\n[4. 5. 6.]\n"
        with jax.enable_x64(True):
            assert lucid.tensor(t1, dtype=np.float64).dtype == np.float64

    def test_parameter_page(self, capsys):
        p = nn.Parameter([1.0, 2.0, 3.0])
        print(p)

        class MyModel(nn.Module):
            def __init__(self):
                super().__init__()
                self.param = nn.Parameter([0.5, -0.5])

        model = MyModel()
        print(model.param)
        p.backward()
        print(p.grad)
        assert capsys.readouterr().out == "[1. 2. 3.]\n[ 0.5 -0.5]\n[1. 1. 1.]\n"
        assert list(model.state_dict()) == ["param"]

    def test_grad_enabled_and_no_grad_pages(self, capsys):
        print(lucid.grad_enabled())
        model = nn.Linear(2, 1)
        with lucid.no_grad():
            print(lucid.grad_enabled())
            output = model(Tensor([[1.0, 2.0]]))
        assert capsys.readouterr().out == "True\nFalse\n"
        assert not output.requires_grad

    def test_newaxis_page(self):
        a = Tensor([1, 2, 3])
        assert a.shape == (3,) and a[None, :].shape == (1, 3)
        assert a[lucid.newaxis, :].shape == (1, 3)
        b = Tensor([[1, 2], [3, 4]])
        assert b[:, None, :].shape == (2, 1, 2)
        c, d = Tensor([1, 2, 3]), Tensor([[4], [5], [6]])
        assert (c + d).shape == (3, 3)


@pytest.mark.parametrize("cast", ["int", "long", "astype-int32", "astype-bool"])
def test_an_integer_cast_does_not_require_grad_as_pytorch(cast):
    import jax.numpy as jnp
    import torch

    a = Tensor([1.5, -2.5], requires_grad=True)
    ta = torch.tensor([1.5, -2.5], requires_grad=True)
    if cast.startswith("astype"):
        dtype = {"astype-int32": jnp.int32, "astype-bool": jnp.bool_}[cast]
        tdtype = {"astype-int32": torch.int32, "astype-bool": torch.bool}[cast]
        b, tb = a.astype(dtype), ta.to(tdtype)
    else:
        b, tb = getattr(a, cast)(), getattr(ta, cast)()
    assert b.requires_grad is tb.requires_grad is False
    np.testing.assert_array_equal(b.numpy(), tb.numpy())
    with pytest.raises(RuntimeError, match="does not require grad"):
        b.sum().backward()
    assert a.grad is None
    h = a.astype(jnp.float16)  # between floats: still differentiable
    assert h.requires_grad
    (h * 2.0).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [2.0, 2.0])


_BAD_INDEX = [
    ("int", lambda t: t[3]),
    ("negative int", lambda t: t[-4]),
    ("second axis", lambda t: t[0, 5]),
    ("integer array", lambda t: t[np.array([0, 7])]),
    ("list", lambda t: t[[1, -9]]),
    (
        "index tensor",
        lambda t: t[
            torch.tensor([3])
            if isinstance(t, torch.Tensor)
            else Tensor(np.array([3], np.int32))
        ],
    ),
    ("mask of the wrong length", lambda t: t[np.array([True, False])]),
]


@pytest.mark.parametrize("name, read", _BAD_INDEX, ids=[n for n, _ in _BAD_INDEX])
def test_an_out_of_range_index_raises_as_pytorch(name, read):
    data = np.arange(12, dtype=np.float32).reshape(3, 4)
    with pytest.raises(IndexError):
        read(torch.from_numpy(data))
    t = Tensor(data, requires_grad=True)
    with pytest.raises(IndexError, match="getitem: "):
        read(t)


def test_an_out_of_range_assignment_raises_and_leaves_the_tensor():
    t = Tensor(np.zeros(3, np.float32))
    with pytest.raises(IndexError, match=r"__setitem__: index 5 is out of bounds"):
        t[5] = 9.0
    with pytest.raises(IndexError, match="__setitem__"):
        t[np.array([0, 3])] = 1.0
    assert t.tolist() == [0.0, 0.0, 0.0] and t._version == 0
    t[-1] = 2.0  # in range: as before
    assert t.tolist() == [0.0, 0.0, 2.0]


_BOOL_INDEX = [
    ("True", True),
    ("False", False),
    ("int then True", (0, True)),
    ("True then int", (True, 1)),
    ("ellipsis then True", (Ellipsis, True)),
    ("False then int", (False, 1)),
    ("bool tensor", "tensor"),
]


@pytest.mark.parametrize("name, index", _BOOL_INDEX, ids=[n for n, _ in _BOOL_INDEX])
def test_a_scalar_bool_index_adds_an_axis_as_pytorch(name, index):
    # A bool scalar is not the int 0 or 1: it adds an axis of length 1 (True)
    # or 0 (False), in NumPy and PyTorch; reads, writes and gradients.
    data = np.arange(6, dtype=np.float32).reshape(2, 3)
    ours_index = Tensor(True) if index == "tensor" else index
    theirs_index = torch.tensor(True) if index == "tensor" else index
    t = Tensor(data, requires_grad=True)
    tt = torch.tensor(data, requires_grad=True)
    out, expected = t[ours_index], tt[theirs_index]
    assert out.shape == tuple(expected.shape)
    np.testing.assert_array_equal(out.numpy(), expected.detach().numpy())
    (out * 2.0).sum().backward()
    (expected * 2.0).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), tt.grad.numpy())
    w, tw = Tensor(data), torch.tensor(data)
    w[ours_index] = -1.0
    tw[theirs_index] = -1.0
    np.testing.assert_array_equal(w.numpy(), tw.numpy())


def test_a_numpy_bool_scalar_index_is_numpys():
    data = np.arange(6, dtype=np.float32).reshape(2, 3)
    for index in (np.True_, np.False_):
        assert Tensor(data)[index].shape == data[index].shape


def test_a_traced_index_cannot_be_checked_and_clamps_as_jax():
    # Inside jax.jit the index values are unknown on the host: JAX's rule.
    f = jax.jit(lambda x, i: lucid_fx.Tensor(x)[i].data)
    assert float(f(jnp.arange(3.0), jnp.array(7))) == 2.0
