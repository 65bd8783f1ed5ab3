"""`fix --write` replaces a file by rename: the new file must keep the old one's owner and mode."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.cli_support import LEAKY, NUMBERS_FIXED, make_module, unleak


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="only root can give files away"
)
def test_write_as_root_keeps_the_owner_group_and_mode_of_the_replaced_file(
    tmp_path: Path,
) -> None:
    module = make_module(tmp_path / "m", {"leaky.go": LEAKY})
    target = module / "leaky.go"
    os.chown(target, 12345, 23456)
    target.chmod(0o640)
    result = unleak("fix", "--write", ".", cwd=module)
    assert result.returncode == 0, result.stderr  # every finding fixed
    assert NUMBERS_FIXED in target.read_bytes()
    info = target.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (12345, 23456, 0o640)
