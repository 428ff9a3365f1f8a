"""pySigma backend `secdet`: Sigma rules as secdet rules (see docs/sigma.md)."""
from .backend import SecdetBackend

backends = {"secdet": SecdetBackend}
__all__ = ["SecdetBackend", "backends"]
