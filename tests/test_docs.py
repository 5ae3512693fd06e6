"""The docs cannot rot: every command in a fenced block of the README, docs/ and the model cards is checked.

- `speech2video generate` commands run for real (outputs redirected to a temporary folder);
- other `speech2video` commands, `python <script>` and `accelerate launch <script>` commands have their
  arguments parsed by the real parsers (the script's argparse is stopped right after parsing);
- `make <target>` names a Makefile target; `pip install` names extras that setup.cfg defines;
- Python blocks that use the pipeline run with the bundled voice in place of placeholder file names; the
  others are compiled.
A command of any other kind fails the test, so new docs come with a way to check them.
"""

import argparse
import configparser
import re
import runpy
import shlex
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")),
        *sorted((ROOT / "src" / "speech2video" / "pretrained").glob("*/README.md"))]
EXAMPLE_VOICE = ROOT / "examples" / "audio" / "synthtalk_happy.wav"
PLACEHOLDER_AUDIO = re.compile(r'"(speech|lecture)\.wav"')


def fenced_blocks(path: Path):
    """(language, text) of each fenced code block of a Markdown file."""
    return re.findall(r"^```(\w*)\n(.*?)^```", path.read_text(), flags=re.S | re.M)


def shell_commands(text: str) -> list[list[str]]:
    """The commands of a bash block: continuation lines joined, comments and env assignments dropped."""
    commands = []
    for line in text.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
            words = words[1:]
        if words:
            commands.append(words)
    return commands


def all_commands():
    return [pytest.param(words, id=f"{path.relative_to(ROOT)}: {' '.join(words)[:60]}")
            for path in DOCS for language, text in fenced_blocks(path) if language in ("bash", "sh", "")
            for words in shell_commands(text)]


class _Parsed(Exception):
    pass


def parse_script_arguments(script: Path, arguments: list[str], monkeypatch) -> argparse.Namespace:
    """Run `script` as __main__ with `arguments` until its argparse has parsed them, then stop it."""
    original = argparse.ArgumentParser.parse_args

    def parse_then_stop(parser, args=None, namespace=None):
        parsed = original(parser, args, namespace)
        if sys._getframe(1).f_code.co_filename != str(script):
            return parsed  # a parser of a library the script imports: not the script's own
        raise _Parsed(parsed)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_then_stop)
    monkeypatch.setattr(sys, "argv", [str(script), *arguments])
    monkeypatch.syspath_prepend(str(script.parent))
    with pytest.raises(_Parsed) as parsed:
        runpy.run_path(str(script), run_name="__main__")
    return parsed.value.args[0]


def check_script(words: list[str], monkeypatch) -> None:
    script = ROOT / words[0]
    assert script.is_file(), f"no such script: {words[0]}"
    if not words[1:]:  # no arguments to parse (e.g. the Space's app.py, which would start a server): it loads
        monkeypatch.syspath_prepend(str(script.parent))
        runpy.run_path(str(script), run_name="__docs__")
    elif words[1:] != ["..."]:  # `...` stands for the arguments shown in the block above
        parse_script_arguments(script, words[1:], monkeypatch)


@pytest.mark.parametrize("words", all_commands())
def test_docs_command(words, tmp_path, monkeypatch):
    program, arguments = words[0], words[1:]
    if program == "make":
        targets = re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), flags=re.M)
        assert set(arguments) <= set(targets), f"no Makefile target {set(arguments) - set(targets)}"
    elif program == "pip":
        config = configparser.ConfigParser()
        config.read(ROOT / "setup.cfg")
        extras = set(config["options.extras_require"])
        for requirement in arguments[arguments.index("-e") + 1:]:
            assert set(re.findall(r"\[([\w,]+)\]", requirement)[0].split(",")) <= extras
    elif program == "python" and arguments[0].endswith(".py"):
        check_script(arguments, monkeypatch)
    elif program == "accelerate" and arguments[0] == "launch":
        from accelerate.commands.launch import launch_command_parser

        script_index = next(i for i, word in enumerate(arguments) if word.endswith(".py"))
        launch_command_parser().parse_args(arguments[1 : script_index + 1])
        check_script(arguments[script_index:], monkeypatch)
    elif program == "speech2video":
        from speech2video.cli import build_parser, main

        args = build_parser().parse_args(arguments)
        made_by_the_steps_above = args.command == "generate" and args.model and not (ROOT / args.model).exists()
        if args.command == "generate" and not made_by_the_steps_above:
            monkeypatch.chdir(ROOT)
            output = tmp_path / Path(args.output).name
            arguments[arguments.index(args.output)] = str(output)
            assert main(arguments) == 0 and output.stat().st_size > 10_000
    else:
        pytest.fail(f"the docs command {' '.join(words)!r} is not checked by anything: teach tests/test_docs.py")


def python_files():
    return [pytest.param(path, id=str(path.relative_to(ROOT))) for path in DOCS
            if any(language == "python" for language, _ in fenced_blocks(path))]


@pytest.mark.parametrize("path", python_files())
def test_docs_python_blocks(path, tmp_path, monkeypatch):
    """The Python blocks of one page, in order, in one namespace (as a reader runs them)."""
    blocks = [text for language, text in fenced_blocks(path) if language == "python"]
    for code in blocks:
        compile(code, str(path), "exec")
    if not any("pipe(" in code for code in blocks):
        return  # library calls that build whole corpora: compiled only
    monkeypatch.chdir(tmp_path)
    (tmp_path / "outputs").mkdir()
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    namespace = {"__name__": "__docs__"}
    for code in blocks:
        exec(compile(PLACEHOLDER_AUDIO.sub(repr(str(EXAMPLE_VOICE)), code), str(path), "exec"), namespace)
