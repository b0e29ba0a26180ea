"""weike (微课): course repository -> delivery-spec MP4s, catalogue site, upload bundles."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("weike")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"
