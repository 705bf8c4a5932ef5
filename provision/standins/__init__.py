"""Stand-ins for the official base images, for machines that cannot reach a container registry (README.md here)."""
