"""The one-machine platform launcher."""
