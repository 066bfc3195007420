"""What Tensor() and the operators accept: lucid's defaults, overflow, foreign data."""

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest
import torch

import lucid_fx
from lucid_fx import Float64Warning, Tensor


class TestDefaults:
    @pytest.mark.parametrize("data", [1, 2.5, [1, 2, 3], [[1, 2.0]], [[1], [2]]])
    def test_python_numbers_and_lists_become_float32(self, data):
        t = Tensor(data)
        assert t.dtype == jnp.float32
        np.testing.assert_array_equal(t.numpy(), np.asarray(data, np.float64))

    def test_integer_list_can_require_grad(self):
        t = Tensor([1, 2, 3], requires_grad=True)
        (t * t).sum().backward()
        np.testing.assert_array_equal(t.grad.numpy(), [2.0, 4.0, 6.0])

    def test_python_bools_stay_bool_as_in_pytorch(self):
        assert Tensor([True, False]).dtype == torch_dtype(torch.tensor([True, False]))

    @pytest.mark.parametrize(
        "dtype", [np.float16, np.float32, np.int8, np.int32, np.uint8, np.bool_]
    )
    def test_numpy_arrays_keep_their_dtype(self, dtype):
        assert Tensor(np.zeros(2, dtype)).dtype == dtype

    def test_jax_arrays_keep_their_dtype(self):
        assert Tensor(jnp.ones(2, jnp.bfloat16)).dtype == jnp.bfloat16
        assert Tensor(jnp.ones(2, jnp.int16)).dtype == jnp.int16

    def test_float64_without_x64_becomes_float32_with_one_warning(self):
        with pytest.warns(Float64Warning, match="jax_enable_x64") as caught:
            t = Tensor(np.array([0.1, 0.2]))
        assert len(caught) == 1 and issubclass(Float64Warning, UserWarning)
        assert t.dtype == jnp.float32
        np.testing.assert_array_equal(t.numpy(), np.array([0.1, 0.2], np.float32))

    def test_float32_data_does_not_warn(self):
        Tensor(np.array([0.1], np.float32))  # pytest turns a warning into an error
        Tensor(np.array([0.1]), dtype=jnp.float32)

    def test_explicit_dtype_and_keep_grad_in_lucids_positional_order(self):
        t = Tensor(np.array([1.0, 2.0], np.float32), True, False, np.float16)
        assert t.requires_grad and not t.keep_grad and t.dtype == jnp.float16
        assert Tensor([1.0], keep_grad=True).keep_grad

    def test_bool_flags_are_validated(self):
        with pytest.raises(TypeError, match="keep_grad must be True or False"):
            Tensor([1.0], keep_grad="yes")
        with pytest.raises(TypeError, match="requires_grad must be True or False"):
            Tensor([1.0], requires_grad=1)


def torch_dtype(t):
    return np.dtype(str(t.dtype).removeprefix("torch."))


class TestIntegerOverflow:
    @pytest.mark.parametrize(
        "data,dtype,value",
        [
            ([2**31], jnp.int32, 2**31),
            ([-(2**31) - 1], jnp.int32, -(2**31) - 1),
            ([300], jnp.uint8, 300),
            ([-1], jnp.uint8, -1),
            (np.array([2**33 + 5]), None, 2**33 + 5),
            (np.array([40000], np.int32), jnp.int16, 40000),
        ],
    )
    def test_out_of_range_raises_naming_value_and_dtype(self, data, dtype, value):
        with pytest.raises(
            OverflowError, match=rf"value {value} .*{np.dtype(dtype or np.int32)}"
        ):
            Tensor(data, dtype=dtype)

    def test_pytorch_also_refuses_out_of_range_values(self):
        with pytest.raises(RuntimeError, match="overflow"):
            torch.tensor(300, dtype=torch.uint8)

    def test_in_range_values_are_exact(self):
        info = np.iinfo(np.int32)
        t = Tensor([info.min, info.max], dtype=jnp.int32)
        assert t.tolist() == [info.min, info.max]
        assert Tensor(np.array([-(2**31), 2**31 - 1])).tolist() == [info.min, info.max]

    def test_python_int_becomes_the_nearest_float32(self):
        # Python ints follow the float32 default: 2**40 is exact, 2**31 too.
        assert Tensor(2**40).item() == float(np.float32(2**40)) == 2.0**40
        assert Tensor([2**31]).tolist() == [2.0**31]
        assert Tensor(2**63 + 1).item() == float(np.float32(2**63))

    def test_python_int_beyond_float32_raises(self):
        with pytest.raises(OverflowError, match=r"float32"):
            Tensor(2**200)
        with pytest.raises(OverflowError, match=r"digits"):
            Tensor([1, 2**2000])

    def test_float_beyond_float32_is_inf_as_in_pytorch(self):
        assert Tensor(1e39).item() == torch.tensor(1e39).item() == float("inf")

    def test_int64_is_kept_with_x64(self):
        with jax.enable_x64(True):
            t = Tensor(np.array([2**33 + 5]))
            assert t.dtype == jnp.int64 and t.tolist() == [2**33 + 5]


class TestForeignData:
    def test_pytorch_cpu_tensor(self):
        source = torch.arange(6, dtype=torch.float32).reshape(2, 3)
        t = Tensor(source)
        assert t.dtype == jnp.float32 and t.shape == (2, 3)
        np.testing.assert_array_equal(t.numpy(), source.numpy())

    def test_pytorch_tensor_that_requires_grad_and_other_dtypes(self):
        w = torch.tensor([1.5, -2.0], requires_grad=True)
        assert Tensor(w).tolist() == [1.5, -2.0]
        assert Tensor(torch.tensor([1, 2], dtype=torch.int32)).dtype == jnp.int32
        bf = Tensor(torch.tensor([0.1], dtype=torch.bfloat16))
        assert bf.dtype == jnp.bfloat16
        assert bf.numpy()[0] == ml_dtypes.bfloat16(torch.tensor(0.1).bfloat16().item())

    def test_pytorch_float64_warns_like_numpy(self):
        with pytest.warns(Float64Warning):
            assert Tensor(torch.tensor([0.5], dtype=torch.float64)).dtype == jnp.float32

    @pytest.mark.parametrize(
        "data,phrase",
        [
            ("abc", "str 'abc'"),
            (None, "NoneType"),
            ({"a": 1}, "dict"),
            (object(), "object"),
            (["1.5"], "str"),
        ],
    )
    def test_non_numeric_data_names_its_type(self, data, phrase):
        with pytest.raises(TypeError, match=phrase):
            Tensor(data)

    def test_unknown_object_names_type_and_module(self):
        class Box:
            pass

        with pytest.raises(TypeError, match=r"test_conversion\..*Box"):
            Tensor(Box())


class TestOperands:
    def test_lists_numbers_numpy_and_torch_convert(self):
        t = Tensor([1.0, 2.0])
        for other in ([10, 20], [10.0, 20.0], np.array([10.0, 20.0], np.float32)):
            assert (t + other).tolist() == [11.0, 22.0]
            assert (other + t).tolist() == [11.0, 22.0]
        assert (t * torch.tensor([2.0, 3.0])).tolist() == [2.0, 6.0]
        assert (t - 1).tolist() == [0.0, 1.0] and (1 - t).tolist() == [0.0, -1.0]

    def test_list_takes_an_integer_tensors_dtype(self):
        i = Tensor(np.array([1, 2], np.int32))
        out = i + [3, 4]
        assert out.dtype == jnp.int32 and out.tolist() == [4, 6]

    def test_list_operand_is_differentiable_against(self):
        t = Tensor([1.0, 2.0], requires_grad=True)
        (t * [3, 4]).sum().backward()
        assert t.grad.tolist() == [3.0, 4.0]

    @pytest.mark.parametrize("other", ["a", None, {"k": 1}, object(), ["x"]])
    @pytest.mark.parametrize("op", ["__add__", "__mul__", "__rsub__", "__lt__"])
    def test_foreign_operands_raise_type_error_naming_the_type(self, op, other):
        kind = "list" if isinstance(other, list) else type(other).__name__
        with pytest.raises(TypeError, match=kind if op != "__rsub__" else "rsub|str"):
            getattr(Tensor([1.0]), op)(other)

    def test_equality_with_foreign_objects_is_false_not_an_error(self):
        assert (Tensor([1.0]) == "a") is False
        assert (Tensor([1.0]) != None) is True  # noqa: E711

    def test_top_level_constants(self):
        assert lucid_fx.pi == np.pi and lucid_fx.inf == np.inf
        assert Tensor([1.0, 2.0])[lucid_fx.newaxis].shape == (1, 2)
