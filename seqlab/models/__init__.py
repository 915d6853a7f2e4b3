"""Task models built from ``seqlab.nn`` layers."""
