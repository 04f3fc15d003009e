"""Implementation of the fal SDK; import the public modules instead."""
