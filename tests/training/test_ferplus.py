"""FER+ votes: the reader of training.prepare on a FER+-layout folder written here from real FER2013
faces, packs with vote distributions, the losses against them and the class-balanced sampling."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ganmut.emotions import EMOTIONS
from training.data import DeviceData
from training.losses import cls_loss, soft_cls_loss
from training.pack import Pack, PackError, concat_packs, load_pack, save_pack
from training.prepare import detect_layout, ferplus_votes, main
from training.train_classifier import ClassifierTrainConfig, soft_cross_entropy, train_classifier
from tests.helpers import FERPLUS_ROWS as ROWS
from ganmut.classifier import ClassifierConfig

def test_votes_of_one_face_map_to_ganmut_order_and_leave_out_non_emotions():
    label, dist = ferplus_votes(np.array(ROWS[0][1], float))
    assert EMOTIONS[label] == "neutral"
    expected = dict(neutral=0.4, sad=0.1, anger=0.3, disgust=0.2)
    assert dist.tolist() == pytest.approx([expected.get(e, 0.0) for e in EMOTIONS])
    label, dist = ferplus_votes(np.array(ROWS[6][1], float))
    assert EMOTIONS[label] == "fear" and dist.sum() == pytest.approx(1) and dist[EMOTIONS.index("neutral")] == pytest.approx(1 / 3)
    assert EMOTIONS[ferplus_votes(np.array(ROWS[7][1], float))[0]] == "neutral"  # tie: neutral before sad
    assert ferplus_votes(np.array(ROWS[3][1], float)) == "FER+ plurality 'unknown'"
    assert ferplus_votes(np.array(ROWS[4][1], float)) == "FER+ plurality 'not a face'"
    assert ferplus_votes(np.array(ROWS[5][1], float)) == "FER+ plurality 'contempt'"
    assert ferplus_votes(np.array(ROWS[8][1], float)) == "FER+ plurality 'unknown'"
    assert ferplus_votes(np.zeros(10)) == "no FER+ emotion vote"


def test_prepare_reads_the_ferplus_layout_with_votes(ferplus, tmp_path, capsys):
    assert detect_layout(ferplus) == "ferplus" and detect_layout(ferplus / "FER2013Test") == "ferplus"
    out = tmp_path / "train.npz"
    assert main([str(ferplus), "-o", str(out), "--split", "train", "--quiet"]) == 0
    pack = load_pack(out)
    assert len(pack) == 5 and pack.votes is not None and pack.votes.shape == (5, 7)
    assert np.allclose(pack.votes.sum(1), 1) and (pack.votes.argmax(1) == pack.labels).all()
    assert sorted(EMOTIONS[i] for i in pack.labels) == ["fear", "happy", "neutral", "neutral", "surprise"]
    reasons = pack.meta["skipped"]["reasons"]
    assert reasons == {"FER+ plurality 'unknown'": 2, "FER+ plurality 'not a face'": 1, "FER+ plurality 'contempt'": 1,
                       "missing file": 1, "unreadable vote counts": 2}
    assert pack.meta["layout"] == "ferplus" and "contempt" in pack.meta["contempt"]
    assert "skipped: 7" in capsys.readouterr().out
    assert main([str(ferplus / "FER2013Test"), "-o", str(tmp_path / "t.npz"), "--quiet"]) == 0  # one split's folder
    assert len(load_pack(tmp_path / "t.npz")) == 2


def test_prepare_refuses_an_unknown_ferplus_split(ferplus, tmp_path, capsys):
    assert main([str(ferplus), "-o", str(tmp_path / "x.npz"), "--split", "holdout", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "label file not found" in err and "\n" not in err
    assert not (tmp_path / "x.npz").exists()


def test_fer2013_layout_still_has_no_votes(fer2013, tmp_path):
    assert main([str(fer2013), "-o", str(tmp_path / "f.npz"), "--limit-per-class", "2", "--quiet"]) == 0
    pack = load_pack(tmp_path / "f.npz")
    assert pack.votes is None and (pack.distributions().argmax(1) == pack.labels).all()


def test_pack_votes_round_trip_and_corrupt_votes_are_refused(tmp_path):
    images = np.zeros((3, 1, 8, 8), np.uint8)
    votes = np.array([[0.5, 0.5, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0.25, 0.75, 0]], np.float32)
    pack = Pack(images, np.array([0, 1, 5]), {}, votes)
    back = load_pack(save_pack(tmp_path / "v.npz", pack))
    assert np.array_equal(back.votes, votes) and np.array_equal(back.subset(np.array([2])).votes, votes[2:])
    joined = concat_packs([back, back])
    assert len(joined) == 6 and joined.votes.shape == (6, 7)
    assert concat_packs([back, Pack(images, np.array([0, 1, 2]), {})]).votes is None  # one pack has none: labels only
    bad = dict(images=images, labels=np.array([0, 1, 5]), meta=np.array("{}"), votes=votes * 2)
    np.savez(tmp_path / "bad.npz", **bad)
    with pytest.raises(PackError, match="sum to 1"):
        load_pack(tmp_path / "bad.npz")
    with pytest.raises(PackError, match="must be"):
        save_pack(tmp_path / "bad2.npz", Pack(images, np.array([0, 1, 5]), {}, votes[:2]))
    assert not (tmp_path / "bad2.npz").exists()


def test_losses_against_distributions_equal_cross_entropy_on_one_hot():
    torch.manual_seed(0)
    logits, y = torch.randn(12, 7), torch.randint(7, (12,))
    one_hot = F.one_hot(y, 7).float()
    assert soft_cls_loss(logits, one_hot).item() == pytest.approx(cls_loss(logits, y).item(), rel=1e-6)
    w = torch.rand(7) + 0.5
    for smoothing in (0.0, 0.1):
        expected = F.cross_entropy(logits, y, weight=w, label_smoothing=smoothing)
        assert soft_cross_entropy(logits, one_hot, w, smoothing).item() == pytest.approx(expected.item(), rel=1e-5)
    votes = torch.softmax(torch.randn(12, 7), -1)
    assert soft_cls_loss(votes.log(), votes) < soft_cls_loss(logits, votes)  # the distribution itself is best


def test_class_balanced_sampling_evens_out_the_emotions():
    labels = np.repeat(np.arange(7), [700, 300, 100, 100, 20, 10, 100])
    pack = Pack(np.zeros((len(labels), 1, 4, 4), np.uint8), labels, {})
    gen = torch.Generator().manual_seed(0)
    for balance, target in ((0.0, np.bincount(labels) / len(labels)), (1.0, np.full(7, 1 / 7))):
        data = DeviceData(pack, torch.device("cpu"), balance)
        _, y, votes = data.sample(14000, gen)
        share = np.bincount(y.numpy(), minlength=7) / 14000
        assert np.abs(share - target).max() < 0.015
        assert torch.equal(votes.argmax(1), y)  # one-hot votes of a pack without votes
        assert np.abs(np.bincount(data.random_labels(14000, gen).numpy(), minlength=7) / 14000 - target).max() < 0.015
    with pytest.raises(ValueError, match="class_balance"):
        DeviceData(pack, torch.device("cpu"), 1.5)


def test_a_classifier_trains_on_real_faces_against_vote_distributions(ferplus, tmp_path):
    """Real training steps on the real faces of the FER+ layout above, with their vote distributions."""
    assert main([str(ferplus), "-o", str(tmp_path / "tr.npz"), "--quiet"]) == 0
    pack = load_pack(tmp_path / "tr.npz")
    from training.prepare import pack_tensors

    x, _ = pack_tensors(pack)
    q = torch.as_tensor(pack.votes)
    cfg = ClassifierTrainConfig(epochs=60, batch_size=5, lr=3e-3, jitter=0.0, erase_p=0.0, label_smoothing=0.0)
    cfg.geometry.flip = False
    cfg.geometry.rotate_deg = cfg.geometry.translate = 0.0
    model = train_classifier(x, q, ClassifierConfig(width=8, dropout=0.0), cfg, progress=False)
    with torch.no_grad():
        probs = torch.softmax(model(x), -1)
    top = q.gather(1, probs.argmax(1, keepdim=True))[:, 0]
    assert torch.equal(top, q.amax(1))  # it predicts a plurality of every face (a tie may go either way)
    assert float(soft_cross_entropy(model(x).detach(), q)) < float(soft_cross_entropy(torch.zeros(5, 7), q))
