"""Suite-wide JAX settings for tests, doctests and docs.

Strict dtype promotion turns silent upcasts into errors.
"""

import os

import jax
from hypothesis import settings

jax.config.update("jax_numpy_dtype_promotion", "strict")

# CI runs the property tests on a fixed set of examples (no flaky red builds);
# locally hypothesis explores new ones each run.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
