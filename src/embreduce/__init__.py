"""embreduce: see and shrink text embeddings while keeping their cosine similarities."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("embreduce")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
