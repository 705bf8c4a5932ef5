"""Runs the Docker and Kubernetes workshop: the deck, its rehearsal and its environment."""
