"""One module per command in scripts/: each parses its arguments, calls the package and prints."""
