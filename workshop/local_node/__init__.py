"""A single-node Kubernetes cluster run directly on this Linux machine (root), built from upstream source.

The provider interface: up(), down(), status(). See cluster.py.
"""
from .cluster import down, status, up

__all__ = ["up", "down", "status"]
