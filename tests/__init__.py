"""The test suite, a package so that its helpers import as ``tests.X`` (in the tests, the benchmarks and
docs' scripts): ``helpers`` (test data, tiny checkpoints, configs and packs), ``appserver`` (the real app on
a free port), ``uiclient`` (a page's session over HTTP) and ``clips`` (clips made from a real photo). The
tests mirror the packages: ``tests/ganmut``, ``tests/training``, ``tests/webapp``."""
