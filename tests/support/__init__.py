"""What only the tests use: the in-process renderer of lookatme slides."""
