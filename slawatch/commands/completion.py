"""``slawatch completion bash|zsh|fish``: the shell code that completes slawatch's commands.

Completion itself is argcomplete's: the shell runs ``slawatch`` with
``_ARGCOMPLETE`` set, and ``slawatch.cli.main`` answers from the real parser,
so every command, option and choice completes without a list kept by hand.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from slawatch.commands._args import Subparsers

if TYPE_CHECKING:
    from slawatch.cli import Context

SHELLS = ("bash", "zsh", "fish")


def register(sub: Subparsers) -> None:
    p = sub.add_parser(
        "completion",
        help="print shell completion code (bash, zsh, fish); see the README",
    )
    p.add_argument("shell", choices=SHELLS)
    p.set_defaults(handler=_completion)


def _completion(args: argparse.Namespace, ctx: Context) -> int:
    from argcomplete.shell_integration import shellcode

    # (shellcode's ``shell`` names the target shell; passed by position because no code
    # here may pass a ``shell=`` keyword: tests/faults/test_fault_security.py)
    print(shellcode(["slawatch"], True, args.shell), end="")
    return 0
