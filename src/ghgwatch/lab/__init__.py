"""Laboratory gas analyses: import (CSV/XLSX), storage with provenance and quality flags, instrument checks."""
