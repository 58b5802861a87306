"""One device resolver for the library, the CLI and the training package."""
from __future__ import annotations

import pytest
import torch

from ganmut.devices import pick_device
from ganmut.errors import GanmutError


def test_auto_and_explicit_devices():
    assert pick_device(None) == pick_device("auto") == torch.device("cuda" if torch.cuda.is_available() else "cpu")
    assert pick_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize("name,message", [("tpu", "unknown device 'tpu'"), ("cuda:0", "CUDA is not available")])
def test_bad_devices_are_one_line(name, message):
    if name.startswith("cuda") and torch.cuda.is_available():
        pytest.fail("this test expects a machine without CUDA, as CI has")
    with pytest.raises(GanmutError, match=message):
        pick_device(name)


def test_training_commands_report_a_bad_device_in_one_line(fer_pack, tmp_path, capsys):
    from tests.helpers import write_tiny_config
    from training.train_classifier import main as classifier_main
    from training.train import main as train_main

    assert classifier_main(["--data", str(fer_pack), "--out", str(tmp_path / "c.safetensors"), "--device", "tpu"]) == 2
    assert capsys.readouterr().err.startswith("error: unknown device 'tpu'")
    with pytest.raises(SystemExit) as e:
        train_main(["--config", str(write_tiny_config(tmp_path / "tiny.toml")), "--data", str(fer_pack),
                    "--out", str(tmp_path / "r"), "--device", "tpu", "--no-progress"])
    assert e.value.code == 2 and capsys.readouterr().err.startswith("error: unknown device 'tpu'")
