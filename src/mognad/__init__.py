"""mognad: a research workbench for digital maturity in the Swedish public sector.

The public façade: what a researcher calls from a notebook. Implementation modules may change.
"""

from mognad.codebook import Codebook, load_codebook
from mognad.errors import CodebookError, MognadError, ValidationError

__version__ = "0.1.0"

__all__ = [
    "Codebook",
    "CodebookError",
    "MognadError",
    "ValidationError",
    "__version__",
    "load_codebook",
]
