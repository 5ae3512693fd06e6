"""Restartable corpus builds: the work is cut into shards, each saved (atomically) as soon as it is done, so
a build that is killed and run again with the same settings keeps its finished shards and does the rest.

    build = ShardedBuild(output_dir, settings={"num_clips": 2000, ...}, overwrite=False)
    train = build.run("train", items, make_shard, shard_size=250)  # make_shard(items) -> datasets.Dataset
    corpus = build.finish(DatasetDict({"train": train, ...}))       # saved to output_dir, shards removed
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from ..errors import OutputError

logger = logging.getLogger(__name__)

SHARDS_FOLDER = ".shards"  # inside the output folder while a build is under way


class ShardedBuild:
    """One corpus build into `output_dir`; `settings` (JSON-able) must match for a restart to reuse shards."""

    def __init__(self, output_dir: str | os.PathLike, settings: dict, overwrite: bool = False):
        self.output_dir = Path(output_dir)
        self.shards_dir = self.output_dir / SHARDS_FOLDER
        settings_file = self.shards_dir / "settings.json"
        settings = json.loads(json.dumps(settings))  # as it reads back from the file
        unfinished = settings_file.exists() and json.loads(settings_file.read_text()) == settings
        if unfinished and not overwrite:
            logger.warning("resuming the unfinished build in %s", self.output_dir)
        elif self.output_dir.exists() and any(self.output_dir.iterdir()):
            if not overwrite:
                raise OutputError(f"{self.output_dir} exists and is not empty (pass overwrite=True / --overwrite)")
            shutil.rmtree(self.shards_dir, ignore_errors=True)  # another build's shards, or a fresh start asked for
        self.shards_dir.mkdir(parents=True, exist_ok=True)
        settings_file.write_text(json.dumps(settings))

    def run(self, name: str, items: Sequence, make_shard: Callable, shard_size: int):
        """`make_shard(items[i : i + shard_size])` -> Dataset for each shard not already saved; returns all
        shards of `name` concatenated, in order."""
        from datasets import concatenate_datasets, load_from_disk

        shards = []
        for index, start in enumerate(range(0, len(items), shard_size)):
            path = self.shards_dir / f"{name}-{index:05d}"
            if path.exists():
                logger.info("%s: shard %d already built", name, index)
            else:
                temporary = path.with_name(path.name + ".tmp")
                shutil.rmtree(temporary, ignore_errors=True)  # left by a build killed while saving it
                make_shard(items[start : start + shard_size]).save_to_disk(str(temporary))
                os.replace(temporary, path)
            shards.append(load_from_disk(str(path)))
        return concatenate_datasets(shards)

    def finish(self, corpus):
        """Save the DatasetDict `corpus` to the output folder, remove the shards, return the saved corpus."""
        from datasets import load_from_disk

        corpus.save_to_disk(str(self.output_dir))
        shutil.rmtree(self.shards_dir)
        return load_from_disk(str(self.output_dir))
