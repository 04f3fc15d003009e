"""fal_filestore (placeholder)."""
