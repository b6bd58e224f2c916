"""``slawatch checkpoint make|verify``: signed heads, held by someone else.

``make`` signs the store's heads now (the audit trail's tree head and the
latest link of each chain of one source) and prints the note (or writes it, or
POSTs it to the agent's checkpoint webhook); the agent does the same on its own
every ``[agent.checkpoint] interval``. ``verify`` takes notes made earlier and
checks that today's store still contains what each one vouched for: exit 0
when all agree, 1 naming every chain or trail a later rewrite contradicts.
See ``core/checkpoint.py`` for the format.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from slawatch.commands._args import Subparsers, group
from slawatch.commands._support import run, with_store
from slawatch.tables import visible

if TYPE_CHECKING:
    from slawatch.cli import Context
    from store import Store


def register(sub: Subparsers) -> None:
    commands = group(sub, "checkpoint", "signed heads of the store, for someone else to hold")
    m = commands.add_parser(
        "make",
        help="sign the store's heads now and print the checkpoint",
        description="Sign the audit trail's tree head and the latest link of each chain of"
        " one source (default: the agent's name) with the agent's key, and print the note,"
        " write it to --out, or POST it to [agent.checkpoint] webhook with --send."
        " Example: slawatch checkpoint make --out heads-2026-12-06T21.txt",
    )
    m.add_argument("--name", metavar="NAME", help="the source whose chains it vouches for")
    m.add_argument("--key", metavar="FILE", help="private key (default: the agent's key)")
    m.add_argument("--out", metavar="FILE", help="write the note to FILE")
    m.add_argument("--send", action="store_true", help="POST it to the [agent.checkpoint] webhook")
    m.set_defaults(handler=_make)
    v = commands.add_parser(
        "verify",
        help="check that today's store still holds what earlier checkpoints vouched for",
        description="Check each checkpoint's signature with the public keys given, then"
        " that the store's audit trail only grew since (the same tree head over its first"
        " entries) and that each chain still has the same link at the hour the checkpoint"
        " names. Exit 0 when every checkpoint agrees, 1 naming each contradiction."
        " Example: slawatch checkpoint verify --key paris-1.key.pub heads/*.txt",
    )
    v.add_argument("files", nargs="+", metavar="FILE", help="checkpoints received earlier")
    v.add_argument(
        "--key",
        action="append",
        required=True,
        metavar="[NAME=]PUB",
        help="an agent's public key, bound to that agent's name (default: the file's,"
        " NAME.key.pub); a note counts only when signed by its own agent's key (repeat"
        " for each agent)",
    )
    v.set_defaults(handler=_verify)


def _make(args: argparse.Namespace, ctx: Context) -> int:
    from agent.checkpoints import SETTLE_MINUTES, Checkpointer, make_note, next_complete
    from agent.checkpoints import key_path as agent_key_path
    from agent.runner import as_agent
    from core.errors import InputError
    from slawatch.signing import default_key_path, load_private

    config = ctx.config
    settings = config.agent.checkpoint
    if args.send and settings is None:
        raise InputError("--send", "the config has no [agent.checkpoint] webhook to send to")
    name = args.name or config.agent.name
    if args.key:
        key_path = Path(args.key).expanduser().absolute()
    elif settings is not None and settings.key is not None:
        key_path = agent_key_path(settings, name)
    else:
        key_path = default_key_path(name)
    key = load_private(key_path)
    made_at = ctx.now()
    # In a fleet, read as the agent's role when the URL names none (as the agent does).
    reading = as_agent(config, name, os.environ)
    note = run(make_note(reading, name, key, lambda: made_at))
    if "\nchain " not in note:
        print(
            f"note: no complete hour of the chains of {name!r} yet: an hour is signed once it"
            f" ended {SETTLE_MINUTES} minutes ago (the next from {next_complete(made_at)})",
            file=sys.stderr,
        )
    if args.out:
        try:
            Path(args.out).write_text(note, encoding="utf-8")
        except OSError as exc:
            raise InputError(args.out, f"cannot write: {exc.strerror}") from None
        heads = note.count("\nchain ")
        print(f"checkpoint of {name!r} ({heads} chain heads) written to {args.out}")
    elif not args.send:
        print(note, end="")
    if args.send:
        assert settings is not None
        sender = Checkpointer(reading, settings, name, clock=ctx.now)
        if not run(sender.send_once()):
            print(f"checkpoint not sent to {settings.webhook} (see the line above)")
            return 1
        print(f"checkpoint sent to {settings.webhook}")
    return 0


def _verify(args: argparse.Namespace, ctx: Context) -> int:
    from core import checkpoint
    from core.errors import InputError
    from slawatch.signing import load_named_public

    keys = [load_named_public(k) for k in args.key]
    notes = []
    for name in args.files:
        try:
            text = Path(name).read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(
                name, f"not UTF-8 text (byte {exc.start}); not a signed checkpoint"
            ) from None
        except OSError as exc:
            raise InputError(name, f"cannot read: {exc.strerror or exc}") from None
        notes.append((name, checkpoint.open_note(text, name, keys)))
    config = ctx.config

    wanted = {(h.service, h.source, h.hour) for _, n in notes for h in n.checkpoint.heads}

    async def today(store: Store) -> tuple[list[bytes], dict[tuple[str, str, int], bytes]]:
        return await store.audit_leaves(), await store.chain_links(wanted)

    leaves, links = with_store(config, today, readonly=True)
    failed = 0
    for name, signed in notes:
        held = signed.checkpoint
        found = checkpoint.contradictions(held, leaves, links)
        said = (
            f"{name}: {held.origin} at {held.at.isoformat()} signed by {signed.signer!r}: "
            f"{len(held.heads)} chain heads, audit trail of {held.audit_size} entries"
        )
        if not found:
            print(visible(f"{said}: OK"))
            continue
        failed += 1
        print(visible(f"{said}: CONTRADICTED"))
        for c in found:
            print(visible(f"  {c.describe()}"))
    if failed:
        print(f"{failed} of {len(notes)} checkpoints contradicted by the store today")
        return 1
    return 0
