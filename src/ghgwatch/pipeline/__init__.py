"""The pipeline role: validate, normalise, deduplicate and store readings; compile rollups."""
