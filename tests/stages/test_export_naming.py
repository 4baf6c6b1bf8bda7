"""Proposed export names never point at an existing file or at one a queued export will write."""

from dawn_studio.stages.export_naming import free_name


def test_numbers_the_name_when_it_is_taken(tmp_path):
    target = tmp_path / "talk.mp4"
    assert free_name(target) == target
    target.write_bytes(b"an earlier export")
    assert free_name(target) == tmp_path / "talk-2.mp4"
    (tmp_path / "talk-2.mp4").write_bytes(b"another")
    assert free_name(target) == tmp_path / "talk-3.mp4"
    assert free_name(tmp_path / "talk-2.mp4") == tmp_path / "talk-3.mp4", "counts on from the name's number"
    assert free_name(target, taken=[tmp_path / "talk-3.mp4"]) == tmp_path / "talk-4.mp4", "queued names count"
    assert target.read_bytes() == b"an earlier export"


def test_folders_dates_and_other_formats(tmp_path):
    (tmp_path / "talk").mkdir()  # PNG frames go to a folder
    assert free_name(tmp_path / "talk") == tmp_path / "talk-2"
    assert free_name(tmp_path / "talk.gif") == tmp_path / "talk.gif", "another format is another name"
    (tmp_path / "take-2024.mp4").write_bytes(b"x")
    assert free_name(tmp_path / "take-2024.mp4") == tmp_path / "take-2024-2.mp4", "a year is not a counter"
