"""Tests of the inference library, ganmut."""
