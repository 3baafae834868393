"""Every bad command-line argument: exit 2, one line ``drawcnn: ...``, no traceback, and no
work done (the dataset is never loaded, nothing is written)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import pytest

import drawcnn.data
from drawcnn.cli import build_parser, main


@pytest.fixture
def no_work(monkeypatch):
    """Loading a dataset is the first piece of real work: it must never start."""
    calls = []

    def spy(*a, **k):
        calls.append(a)
        raise AssertionError("the dataset was loaded before the arguments were checked")

    monkeypatch.setattr(drawcnn.data, "load_dataset", spy)
    return calls


def _one_line_exit_2(capsys, argv, expect: str):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors (a word where a number goes)
        code = exc.code
    cap = capsys.readouterr()
    lines = cap.err.strip().splitlines()
    assert code == 2, (argv, cap.err)
    assert len(lines) == 1 and lines[0].startswith("drawcnn: "), cap.err
    assert expect in lines[0], lines[0]
    assert "Traceback" not in cap.err and cap.out == ""


def _bad_train_args(tmp_path):
    a_file = tmp_path / "a_file.txt"
    a_file.write_text("x")
    return [
        (["--epochs", "0"], "--epochs must be at least 1"),
        (["--epochs", "-1"], "--epochs must be at least 1"),
        (["--epochs", "ten"], "invalid int value"),
        (["--batch-size", "0"], "--batch-size must be at least 1"),
        (["--batch-size", "-3"], "--batch-size must be at least 1"),
        (["--limit", "-5"], "--limit must be at least 0"),
        (["--val-size", "-1"], "--val-size must be at least 0"),
        (["--seed", "-1"], "--seed must be at least 0"),
        (["--lr", "0"], "--lr must be a finite number above 0"),
        (["--lr", "-0.1"], "--lr must be a finite number above 0"),
        (["--lr", "nan"], "--lr must be a finite number above 0"),
        (["--lr", "inf"], "--lr must be a finite number above 0"),
        (["--lr", "fast"], "invalid float value"),
        (["--weight-decay", "-1"], "--weight-decay must be a finite number, 0 or more"),
        (["--weight-decay", "nan"], "--weight-decay must be a finite number, 0 or more"),
        (["--arch", "resnet"], "invalid choice"),
        (["--optimizer", "rmsprop"], "invalid choice"),
        (["--dataset", "cifar"], "unknown dataset"),
        (["--data-dir", str(tmp_path / "nowhere")], "no such folder"),
        (["--init", str(tmp_path / "missing.npz")], "--init"),
        (["--init", str(tmp_path)], "is a folder"),
        (["--out", str(tmp_path)], "is a folder"),
        (["--out", str(a_file / "net.npz")], "is not a folder"),
        (["--no-such-option"], "unrecognized arguments"),
    ]


def test_every_bad_train_argument(tmp_path, capsys, no_work):
    for args, expect in _bad_train_args(tmp_path):
        _one_line_exit_2(capsys, ["train", *args], expect)
    assert not no_work
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file.txt"]  # nothing written


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_out_in_a_read_only_folder(tmp_path, capsys, no_work):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        _one_line_exit_2(capsys, ["train", "--out", str(ro / "net.npz")], "cannot write")
    finally:
        ro.chmod(0o700)


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
def test_out_where_nothing_can_be_created(capsys, no_work):
    _one_line_exit_2(capsys, ["train", "--out", "/proc/self/net.npz"], "cannot write")


def test_every_bad_evaluate_and_predict_argument(tmp_path, capsys, no_work):
    missing = str(tmp_path / "missing.npz")
    for argv, expect in [
        (["evaluate", "--weights", missing], "no such file"),
        (["evaluate", "--weights", str(tmp_path)], "is a folder"),
        (["evaluate", "--dataset", "cifar"], "unknown dataset"),
        (["evaluate", "--data-dir", str(tmp_path / "nowhere")], "no such folder"),
        (["predict", "x.png", "--top", "0"], "--top must be at least 1"),
        (["predict", "x.png", "--weights", missing], "no such file"),
        (["predict"], "the following arguments are required"),
    ]:
        _one_line_exit_2(capsys, argv, expect)
    assert not no_work


def test_train_help_explains_every_option():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    train = sub.choices["train"]
    for action in train._actions:
        assert action.help and len(action.help) > 8, action.option_strings
    text = " ".join(train.format_help().split())
    for words in ("passes over the training images", "learning rate", "images per optimisation"
                  " step", "validation", "default 10", "default 0.001", "default 100"):
        assert words in text, words


def test_bad_arguments_from_a_real_shell(tmp_path):
    """The same through ``python -m drawcnn``: exit 2, one line, no traceback, no output file."""
    out = tmp_path / "net.npz"
    for args in (["--epochs", "0"], ["--val-size", "-1"], ["--lr", "nan"]):
        res = subprocess.run([sys.executable, "-m", "drawcnn", "train", *args, "--out", str(out)],
                             capture_output=True, text=True, timeout=120)
        assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
        assert res.stderr.startswith("drawcnn: ") and "Traceback" not in res.stderr
    assert not out.exists()
