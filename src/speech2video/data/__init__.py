"""Corpora: SynthTalk (procedural, with ground truth) and real talking-face videos, in one shared schema."""
