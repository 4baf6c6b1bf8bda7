"""Pipeline stages: plain functions over plain data (arrays, tensors, paths)."""
