"""The pipeline's code. Run the loader with ``python -m src.load``."""
