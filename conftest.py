"""Suite-wide JAX settings for tests, doctests and docs.

Strict dtype promotion turns silent upcasts into errors.
"""

import jax

jax.config.update("jax_numpy_dtype_promotion", "strict")
