"""fal.cli (placeholder)."""
