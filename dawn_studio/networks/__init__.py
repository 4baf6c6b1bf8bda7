"""Neural networks of DAWN, in pure PyTorch: no file, GUI or device assumptions."""
