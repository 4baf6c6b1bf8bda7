"""Reading and writing model files: the one layer that opens weight, option and face-model files.

The networks (``dawn_studio.networks``) are built from configurations and filled from tensors; the
modules here read the published files safely (``torch.load(weights_only=True)``, ``yaml.safe_load``
with plain types only, strict key and shape checks) and hand the networks their tensors, and write
the same formats back (tiny test sets, conformance stores).
"""
