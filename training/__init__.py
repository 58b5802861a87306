"""Everything that produces GANmut checkpoints and measures them (not needed for inference)."""
