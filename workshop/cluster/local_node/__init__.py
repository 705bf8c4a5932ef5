"""A single-node Kubernetes cluster run directly on this Linux machine (root), built from upstream source.

The provider interface: up(), down(), status(). See provider.py.
"""
from workshop.cluster.local_node.provider import down, status, up

__all__ = ["up", "down", "status"]
