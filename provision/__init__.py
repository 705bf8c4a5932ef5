"""The basement: what makes a machine ready for the workshop where it reaches no registry (README.md here)."""
