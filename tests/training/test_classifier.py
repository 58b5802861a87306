"""The emotion classifier: learning, augmentation, safetensors round trip and one-line errors."""
from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

from ganmut.emotions import EMOTIONS
from ganmut.errors import CheckpointError
from ganmut.classifier import ClassifierConfig, EmotionClassifier, load_classifier, predict, save_classifier
from training.train_classifier import ClassifierTrainConfig, augment_batch, card, class_weights, main, train_classifier
from training.config import AugmentConfig
from training.pack import load_pack
from training.prepare import pack_tensors

NO_AUGMENT = dict(geometry=AugmentConfig(flip=False, rotate_deg=0.0, translate=0.0, zoom_min=1.0, zoom_max=1.0), jitter=0.0, erase_p=0.0)


def test_memorises_a_small_real_set(fer_pack):
    """Without augmentation or dropout, 28 real faces (4 per emotion) must be learnt almost perfectly."""
    pack = load_pack(fer_pack)
    keep = torch.cat([torch.nonzero(torch.as_tensor(pack.labels) == c)[:4, 0] for c in range(len(EMOTIONS))])
    x, y = pack_tensors(pack.subset(keep.numpy()), size=24)
    arch = ClassifierConfig(input_size=24, width=8, feature_dim=32, dropout=0.0)
    cfg = ClassifierTrainConfig(epochs=40, batch_size=28, lr=3e-3, weight_decay=0.0, label_smoothing=0.0, warmup_epochs=0, **NO_AUGMENT)
    model = train_classifier(x, y, arch, cfg, progress=False)
    assert (predict(model, x).argmax(-1) == y).float().mean() >= 0.9


def test_features_logits_and_input_adaptation(tiny_classifier):
    clf = load_classifier(tiny_classifier)
    assert not clf.training
    x = torch.rand(3, 3, 64, 64) * 2 - 1  # RGB at the generator's size: adapted to 1 x 48 x 48
    f, logits = clf.features(x), clf(x)
    assert f.shape == (3, clf.cfg.feature_dim) and logits.shape == (3, len(EMOTIONS))
    assert torch.allclose(clf.head(f), logits)
    assert torch.allclose(clf(x[:1]), logits[:1], atol=1e-5)  # eval mode: no dependence on the batch


def test_metadata_round_trip(tiny_classifier, tmp_path):
    clf = load_classifier(tiny_classifier)
    meta = clf.meta
    assert meta["architecture"]["width"] == 4 and meta["emotions"] == list(EMOTIONS)
    assert 0.0 <= meta["test"]["accuracy"] <= 1.0 and meta["test"]["n"] == 14
    assert set(meta["test"]["per_class"]) == set(EMOTIONS)
    again = load_classifier(save_classifier(tmp_path / "again.safetensors", clf, {"note": "copy"}))
    x = torch.rand(2, 1, 48, 48) * 2 - 1
    assert torch.equal(again(x), clf(x))


def test_augment_shape_range_and_randomness():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(8, 1, 48, 48) * 2 - 1
    y = augment_batch(x, ClassifierTrainConfig(), gen)
    assert y.shape == x.shape and y.min() >= -1 and y.max() <= 1
    assert not torch.allclose(x, y)
    assert torch.allclose(augment_batch(x, ClassifierTrainConfig(**NO_AUGMENT), gen), x, atol=1e-5)


def test_cli_prints_per_class_accuracy(fer_pack, fer_test_pack, tmp_path, capsys):
    out = tmp_path / "c.safetensors"
    assert main(["--data", str(fer_pack), "--test", str(fer_test_pack), "--out", str(out), "--epochs", "1",
                 "--width", "4", "--device", "cpu", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "test accuracy" in printed and all(e in printed for e in EMOTIONS)


def test_class_weights_make_every_present_class_count_alike():
    y = torch.tensor([0] * 6 + [1] * 3 + [3] * 1)
    w = class_weights(y, 7)
    assert w.tolist() == pytest.approx([10 / (3 * 6), 10 / (3 * 3), 0.0, 10 / 3, 0.0, 0.0, 0.0])
    assert float(w[y].sum()) == pytest.approx(len(y))  # the loss keeps its scale: mean weight 1 over the images
    counts = torch.bincount(y, minlength=7)
    assert (counts * w)[[0, 1, 3]].tolist() == pytest.approx([10 / 3] * 3)  # each class weighs a third of the loss


def test_class_weights_power_and_distributions():
    y = torch.tensor([0] * 6 + [1] * 3 + [3] * 1)
    assert class_weights(y, 7, 0.0)[[0, 1, 3]].tolist() == pytest.approx([1.0] * 3)  # power 0: no balance
    half = class_weights(y, 7, 0.5)
    assert half[3] > half[1] > half[0] and float(half[y].sum()) == pytest.approx(len(y))
    assert half[3] / half[0] == pytest.approx((6 / 1) ** 0.5)
    one_hot = torch.nn.functional.one_hot(y, 7).float()
    assert class_weights(one_hot, 7).tolist() == pytest.approx(class_weights(y, 7).tolist())  # votes: mass per class


def test_cli_balance_is_recorded_on_the_card(fer_pack, tmp_path, capsys):
    out = tmp_path / "guide.safetensors"
    assert main(["--data", str(fer_pack), "--out", str(out), "--epochs", "1", "--width", "4", "--device", "cpu",
                 "--quiet", "--balance", "1"]) == 0
    assert load_classifier(out).meta["train"]["balance"] == 1.0
    assert "classes balanced" in card(load_classifier(out).meta)


@pytest.mark.parametrize("args", [["--data", "/nonexistent.npz"], ["--device", "nonsense"], ["--balance", "-1"],
                                  ["--balance", "nan"]])
def test_cli_bad_inputs_exit_2(fer_pack, tmp_path, capsys, args):
    full = ["--data", str(fer_pack), "--out", str(tmp_path / "c.safetensors"), "--epochs", "1", "--width", "4", *args]
    assert main(full) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err
    assert not (tmp_path / "c.safetensors").exists()


def test_load_rejects_foreign_and_corrupt_files(tmp_path, linear_ckpt):
    with pytest.raises(CheckpointError, match="not an emotion classifier"):
        load_classifier(linear_ckpt)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    with pytest.raises(CheckpointError):
        load_classifier(junk)
    model = EmotionClassifier(ClassifierConfig(width=4))
    wrong = tmp_path / "wrong.safetensors"
    meta = {"architecture": {"width": 8, "input_size": 48, "channels": 1, "feature_dim": 256, "dropout": 0.4},
            "emotions": list(EMOTIONS)}
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, wrong, metadata={"ganmut_classifier": json.dumps(meta)})
    with pytest.raises(CheckpointError, match="bad classifier weights"):
        load_classifier(wrong)
    with pytest.raises(CheckpointError, match="not found"):
        load_classifier(tmp_path / "missing.safetensors")


def test_card_prints_per_class_accuracy_and_the_confusion_matrix(tiny_classifier, capsys):
    assert main(["--card", str(tiny_classifier)]) == 0
    out = capsys.readouterr().out
    assert "- test accuracy: **" in out and "on 14 faces with flip averaging" in out
    rows = [line for line in out.splitlines() if line.startswith("| ") and not line.startswith(("| |", "| true"))]
    assert len(rows) == 1 + 7  # the accuracy row, then one confusion row per true emotion
    assert sum(int(v) for row in rows[1:] for v in row.strip("|").split("|")[1:]) == 14
    assert main(["--out", "x.safetensors"]) == 2 and "--data is required" in capsys.readouterr().err


def test_init_continues_from_trained_weights(fer_pack, tmp_path, capsys):
    first, second = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    common = ["--data", str(fer_pack), "--epochs", "1", "--width", "4", "--device", "cpu", "--quiet"]
    assert main([*common, "--out", str(first)]) == 0
    assert main([*common, "--out", str(second), "--init", str(first), "--lr", "0"]) == 0  # lr 0: the weights stay
    a, b = load_classifier(first), load_classifier(second)
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        if "running" not in k and "num_batches" not in k:  # BatchNorm's statistics follow the batches
            assert torch.equal(va, vb), k
    assert b.meta["train"]["init"] == str(first) and "after 1 epochs" in card(b.meta)
    assert main([*common, "--out", str(tmp_path / "c.safetensors"), "--init", str(tmp_path / "none.safetensors")]) == 2
