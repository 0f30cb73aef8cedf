"""faas-gitops: reconcile a git repository of PubNub Functions packages into the FaaS v2 API."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("faas-gitops")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
