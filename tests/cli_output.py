"""What every `hv` command owes a user on bad input: one line on stderr, no traceback. Shared by the
CLI error tests of each folder (a module of its own: conftest modules clash by name across folders)."""

from __future__ import annotations

import subprocess


def assert_one_line_error(proc: subprocess.CompletedProcess, *words: str) -> None:
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    for word in words:
        assert word in lines[0], lines[0]
