"""`heitje completion bash`: a bash completion script for the `heitje` command, made from the
command line's own parser, so it always offers the commands and options there are.

    source <(heitje completion bash)        # in ~/.bashrc, or:
    heitje completion bash > /etc/bash_completion.d/heitje

It completes the command, then that command's actions (`payout list`, `chain up`) and
options; after an option that takes a value it offers file names.
"""

from __future__ import annotations

import argparse
import shlex

from heitje_chain.cli.common import Context, UsageError


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _words(parser: argparse.ArgumentParser) -> list[str]:
    """What may follow on this parser's line: its actions' names and choices, its options."""
    words = list(_subcommands(parser))
    for action in parser._actions:
        if action.option_strings:
            words.extend(o for o in action.option_strings if o.startswith("--"))
        elif action.choices and not isinstance(action, argparse._SubParsersAction):
            words.extend(str(choice) for choice in action.choices)
    return sorted(dict.fromkeys(words))


def _valued(parser: argparse.ArgumentParser) -> set[str]:
    """The options (of this parser and below) that take a value."""
    found = {
        option
        for action in parser._actions
        if action.option_strings and action.nargs != 0
        for option in action.option_strings
    }
    for sub in _subcommands(parser).values():
        found |= _valued(sub)
    return found


def bash_script(parser: argparse.ArgumentParser) -> str:
    cases = []
    for name, sub in sorted(_subcommands(parser).items()):
        cases.append(f"        {shlex.quote(name)}) words={shlex.quote(' '.join(_words(sub)))} ;;")
    valued = "|".join(sorted(_valued(parser)))
    top = shlex.quote(" ".join(_words(parser)))
    body = "\n".join(cases)
    return f"""# bash completion for heitje (made by `heitje completion bash`)
_heitje() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    local command="" words="" i
    case "$prev" in
        {valued}) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    esac
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${{COMP_WORDS[i]}}" in
            {valued}) ((i++)) ;;
            -*) ;;
            *) command="${{COMP_WORDS[i]}}"; break ;;
        esac
    done
    case "$command" in
        "") words={top} ;;
{body}
    esac
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
}}
complete -o default -F _heitje heitje
"""


def cmd_completion(ctx: Context, args: argparse.Namespace) -> int:
    if args.shell != "bash":
        raise UsageError(f"completion is made for bash only, not {args.shell}")
    from heitje_chain.cli.command_line import build_parser

    print(bash_script(build_parser()), end="", file=ctx.out)
    return 0
