"""Tests of the training package, training."""
