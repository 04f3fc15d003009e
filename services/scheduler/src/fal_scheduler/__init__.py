"""fal_scheduler (placeholder)."""
