"""Reference data shipped in the package (GEM coal-mine data, CC BY 4.0)."""
