"""fal.distributed (placeholder)."""
