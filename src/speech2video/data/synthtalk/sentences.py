"""A built-in generator of varied English sentences (1-6 s when spoken), split into disjoint pools."""

from __future__ import annotations

import zlib

import numpy as np

NAMES = ("Maria", "Peter", "Bob", "Emma", "Paul", "Sophie", "David", "Lucy", "Tom", "Fatima", "James", "Mei",
         "Carlos", "Nina", "Ben", "Olivia", "Hugo", "Priya", "Sam", "Greta")
ADJECTIVES = ("big", "small", "blue", "bright", "broken", "heavy", "quiet", "purple", "warm", "empty", "famous",
              "beautiful", "simple", "modern", "green", "old", "busy", "perfect", "pale", "brave")
NOUNS = ("bag", "book", "window", "map", "piano", "bottle", "bridge", "garden", "camera", "boat", "lamp",
         "basket", "table", "mirror", "pencil", "kitchen", "blanket", "market", "museum", "problem", "paper",
         "umbrella", "bicycle", "message", "picture")
VERBS = ("bring", "move", "paint", "open", "buy", "find", "keep", "wash", "borrow", "fix", "build", "pack",
         "show", "carry", "remember", "measure", "sell", "push", "mend", "describe")
PAST = ("brought", "moved", "painted", "opened", "bought", "found", "kept", "washed", "borrowed", "fixed",
        "built", "packed", "showed", "carried", "remembered", "measured", "sold", "pushed", "mended", "described")
PLACES = ("the beach", "the park", "my office", "the bakery", "the airport", "the library", "the harbour",
          "the village", "the meeting", "the hospital", "the bus stop", "the museum")
TIMES = ("tomorrow", "before noon", "by Monday", "this evening", "last week", "at midnight", "every morning",
         "in May", "after lunch", "on Sunday")
ADVERBS = ("slowly", "carefully", "perhaps", "quickly", "probably", "quietly", "happily", "maybe", "barely")
NUMBERS = ("two", "three", "five", "seven", "nine", "twelve", "fifteen", "twenty", "a hundred", "forty")

TEMPLATES = (
    "{name} {past} the {adj} {noun}.",
    "Please {verb} the {adj} {noun} {adverb}.",
    "Did you see {name} at {place} {time}?",
    "{name} will {verb} {number} {adj} {noun}s {time}.",
    "We {past} a {adj} {noun} near {place}.",
    "Could you {verb} my {noun} to {place}?",
    "The {noun} is {adj}, but the {noun2} is {adj2}.",
    "{name} and {name2} {past} the {noun} {time}.",
    "Maybe we should {verb} the {noun} {time}.",
    "I {adverb} {past} {number} {noun}s at {place}.",
    "Why did {name} {verb} the {adj} {noun}?",
    "Bring me the {adj} {noun} from {place}, please.",
    "My {noun} was {adj}, so {name} {past} it {time}.",
    "Be careful with the {adj} {noun} at {place}.",
)


def make_sentence(rng: np.random.Generator) -> str:
    """One sentence: one template, or two joined, filled with random words."""
    def fill() -> str:
        names, adjectives, nouns = rng.choice(NAMES, 2, replace=False), rng.choice(ADJECTIVES, 2, replace=False), rng.choice(NOUNS, 2, replace=False)
        index = int(rng.integers(len(VERBS)))
        return TEMPLATES[int(rng.integers(len(TEMPLATES)))].format(
            name=names[0], name2=names[1], adj=adjectives[0], adj2=adjectives[1], noun=nouns[0], noun2=nouns[1],
            verb=VERBS[index], past=PAST[index], place=rng.choice(PLACES), time=rng.choice(TIMES),
            adverb=rng.choice(ADVERBS), number=rng.choice(NUMBERS),
        )

    text = fill()
    if rng.random() < 0.3:  # some longer utterances
        second = fill()
        text = f"{text[:-1]}, and {second[0].lower()}{second[1:]}"
    elif rng.random() < 0.15:  # and some very short ones
        text = f"{rng.choice(('Yes', 'No', 'Okay', 'Hello', 'Thank you', 'Good morning'))}, {rng.choice(NAMES)}."
    return text[0].upper() + text[1:]


def sentence_pool(split: str, size: int, seed: int = 0) -> list[str]:
    """`size` distinct sentences for `split`.

    Sentences are assigned to a side by a stable hash of their text: one in ten belongs to the test side,
    the rest to training and validation, so train and test never share a sentence whatever the sizes.
    """
    streams = {"train": 0, "validation": 1, "test": 2}
    rng = np.random.default_rng([seed, 2, streams[split]])
    pool: dict[str, None] = {}
    while len(pool) < size:
        sentence = make_sentence(rng)
        if is_test_sentence(sentence) == (split == "test"):
            pool[sentence] = None
    return list(pool)


def is_test_sentence(sentence: str) -> bool:
    return zlib.crc32(sentence.encode()) % 10 == 0
