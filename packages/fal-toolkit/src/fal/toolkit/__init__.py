"""fal.toolkit (placeholder)."""
