"""The one real app server of the session (``python app.py``: tests/appserver.py) with the tiny checkpoints
and the tiny classifier behind the readout, shared by every test that talks to a server."""
from __future__ import annotations

import pytest

from tests import appserver


@pytest.fixture(scope="session")
def server(tmp_path_factory, linear_ckpt, gaussian_ckpt, tiny_classifier, request) -> appserver.Server:
    srv = appserver.start(tmp_path_factory.mktemp("app"), linear_ckpt, gaussian_ckpt, tiny_classifier)
    request.addfinalizer(appserver.stop)
    return srv
