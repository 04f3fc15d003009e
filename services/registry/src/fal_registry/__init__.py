"""fal_registry (placeholder)."""
