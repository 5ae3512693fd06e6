"""Finding and checking model folders: embedded checkpoints by name, local folders, Hub ids.

Only `config.json` and safetensors weights are ever read: a folder with pickle weights only is refused.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .errors import CheckpointError

PRETRAINED_DIR = Path(__file__).parent / "pretrained"
DEFAULT_MODEL = "synthtalk-128"
PICKLE_WEIGHTS = ("pytorch_model.bin", "model.pt", "model.pth", "model.ckpt", "pytorch_model.bin.index.json")


def embedded_models() -> list[str]:
    """Names of the checkpoints shipped inside the package."""
    if not PRETRAINED_DIR.is_dir():
        return []
    return sorted(p.name for p in PRETRAINED_DIR.iterdir() if (p / "config.json").is_file())


def resolve_model_path(name_or_path: str | os.PathLike | None = None) -> str:
    """An embedded name, a local folder or a Hub id -> what `from_pretrained` should load.

    Local folders are checked here so that a bad folder fails with a message saying what is wrong.
    """
    if name_or_path is None:
        if DEFAULT_MODEL not in embedded_models():
            raise CheckpointError(
                f"no default checkpoint is embedded in this version of speech2video (expected '{DEFAULT_MODEL}'); "
                "pass a model folder, e.g. Speech2VideoPipeline.from_pretrained('path/to/model')"
            )
        name_or_path = DEFAULT_MODEL
    name = str(name_or_path)
    if name in embedded_models() and not Path(name).exists():
        return str(PRETRAINED_DIR / name)
    if Path(name).exists() or _looks_like_path(name):
        check_model_folder(Path(name).expanduser())
        return str(Path(name).expanduser())
    return name  # a Hub id: transformers resolves it (needs network or the local Hub cache)


def _looks_like_path(name: str) -> bool:
    return os.path.isabs(name) or name.startswith((".", "~")) or name.count("/") != 1


def check_model_folder(folder: Path) -> None:
    """Raise `CheckpointError` unless `folder` holds a readable config.json and intact safetensors weights."""
    if not folder.exists():
        embedded = ", ".join(embedded_models()) or "none in this version"
        raise CheckpointError(f"model folder not found: {folder} (embedded models: {embedded})")
    if not folder.is_dir():
        raise CheckpointError(f"expected a model folder (config.json + model.safetensors), got a file: {folder}")
    config_file = folder / "config.json"
    if not config_file.is_file():
        raise CheckpointError(f"{folder} has no config.json: not a saved speech2video model")
    try:
        json.loads(config_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{config_file} is not valid JSON ({error})") from None
    weights = sorted(folder.glob("*.safetensors"))
    if not weights:
        pickles = [name for name in PICKLE_WEIGHTS if (folder / name).exists()]
        if pickles:
            raise CheckpointError(
                f"{folder} holds pickle weights only ({', '.join(pickles)}); speech2video loads safetensors only, "
                "never unpickles. Convert them with safetensors.torch.save_file in a trusted environment."
            )
        raise CheckpointError(f"{folder} has no model.safetensors weights")
    for file in weights:
        _check_safetensors(file)


def _check_safetensors(file: Path) -> None:
    """Read the header and check the data section is complete (catches truncation and bad headers)."""
    size = file.stat().st_size
    try:
        with open(file, "rb") as handle:
            header_size = int.from_bytes(handle.read(8), "little")
            if size < 8 or header_size <= 0 or 8 + header_size > size:
                raise ValueError("header size out of range")
            header = json.loads(handle.read(header_size))
        data_end = max((t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"), default=0)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{file} is not a valid safetensors file ({error})") from None
    if 8 + header_size + data_end != size:
        raise CheckpointError(
            f"{file} is truncated or damaged: the header describes {8 + header_size + data_end} bytes, the file has {size}"
        )
