"""Festival's voices: recorded people (diphone, unit-selection and HTS voices) with each phone's time.

By default every SynthTalk speaker is a variant of espeak-ng's formant synthesizer; Festival's voices are built
from recordings of real people, in several languages. Each phone Festival reports is written as the espeak-ng mnemonic of the same
sound, so SynthTalk's mouth model (`animation.viseme_of`) animates it. The lips do not depend on the words'
language: the English sentences are read by each voice's own letter-to-sound rules.

Two disjoint sets of voices: the `TRAINING_VOICES` (Czech, Finnish, Catalan, Russian) may voice a corpus
(`build_corpus(..., voices="festival")`); the `EVALUATION_VOICES` (English) never do, so that
`benchmarks/unseen_voices.py` hears voices no model here trained on.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...audio import SAMPLING_RATE
from ...errors import Speech2VideoError

VOICES_FOLDER = Path("/usr/share/festival/voices")


@dataclass(frozen=True)
class FestivalVoice:
    name: str       # Festival's voice, selected with (voice_<name>)
    language: str   # the phone set its phones come from
    sex: str        # "female" or "male"
    package: str    # the Debian package that installs it


TRAINING_VOICES = (
    FestivalVoice("czech_dita", "czech", "female", "festvox-czech-dita"),
    FestivalVoice("czech_machac", "czech", "male", "festvox-czech-machac"),
    FestivalVoice("czech_krb", "czech", "male", "festvox-czech-krb"),  # a boy
    FestivalVoice("czech_ph", "czech", "male", "festvox-czech-ph"),
    FestivalVoice("suo_fi_lj_diphone", "finnish", "female", "festvox-suopuhe-lj"),
    FestivalVoice("hy_fi_mv_diphone", "finnish", "male", "festvox-suopuhe-mv"),
    FestivalVoice("upc_ca_ona_hts", "catalan", "female", "festvox-ca-ona-hts"),
    FestivalVoice("msu_ru_nsh_clunits", "russian", "male", "festvox-ru"),
)
EVALUATION_VOICES = (
    FestivalVoice("kal_diphone", "english", "male", "festvox-kallpc16k"),
    FestivalVoice("ked_diphone", "english", "male", "festvox-kdlpc16k"),
    FestivalVoice("cmu_us_slt_arctic_hts", "english", "female", "festvox-us-slt-hts"),
)
SYSTEM_PACKAGES = " ".join(["festival", *(voice.package for voice in TRAINING_VOICES + EVALUATION_VOICES)])

SILENCES = {"#", "##", "_", "pau", "h#", "brth"}
# Sounds written alike in every phone set below. A stop's segment in Festival is its closure up to the burst
# at its end (espeak reports a stop at its release): p and b become "m", whose lips `mouth_track` shuts over
# the whole segment.
COMMON = {"a": "a", "e": "e", "i": "i", "o": "o", "u": "u", "p": "m", "b": "m", "m": "m", "f": "f", "v": "v",
          "t": "t", "d": "d", "n": "n", "l": "l", "k": "k", "g": "g", "r": "r", "s": "s", "z": "z", "h": "h",
          "j": "j", "w": "w"}
PHONE_SETS = {
    "english": {  # Festival's US English ("radio") phones
        "em": "m", "th": "T", "dh": "D", "ch": "tS", "jh": "dZ", "sh": "S", "zh": "Z", "en": "n", "nx": "n",
        "dx": "t", "el": "l", "ng": "N", "y": "j", "hh": "h", "hv": "h", "aa": "A", "ae": "a", "ah": "V",
        "aw": "aU", "ay": "aI", "ao": "O", "ow": "oU", "oy": "OI", "uh": "U", "uw": "u", "ax": "@", "axr": "3",
        "er": "3", "eh": "E", "ey": "eI", "ih": "I", "iy": "i",
    },
    "czech": {"e": "E", "c": "ts", "ch": "x", "c~": "tS", "s~": "S", "z~": "Z", "r~": "Z", "n~": "n", "d~": "d",
              "t~": "t", "n*": "N", "dz": "dz", "dz~": "dZ", "ou": "oU", "au": "aU", "eu": "eU"},
    "finnish": {"y": "u", "@": "a", "7": "o", "&": "@", "T": "T", "N": "N", "S": "S", "L": "l"},  # @ is ä, 7 ö
    "catalan": {"E": "E", "O": "O", "ax": "@", "J": "n", "L": "l", "S": "S", "Z": "Z", "rr": "r", "dZ": "dZ",
                "tS": "tS", "B": "v", "D": "D", "G": "g", "N": "N", "jj": "j", "uw": "u"},
    "russian": {"y": "i", "ae": "@", "ay": "@", "ur": "U", "c": "ts", "ch": "tS", "sh": "S", "zh": "Z",
                "sch": "S", "h": "x"},  # doubled letters: a palatalised consonant or a stressed vowel
}


def espeak_mnemonic(phone: str, language: str) -> str:
    """The espeak-ng mnemonic of Festival's `phone` of `language`'s phone set (stress digits and length
    marks dropped). Raises `Speech2VideoError` for a phone the tables do not know."""
    if phone in SILENCES:
        return "_"
    table = PHONE_SETS[language]
    for candidate in (phone, re.sub(r"[0-9:]+$", "", phone)):
        if candidate in table:
            return table[candidate]
        if candidate in COMMON:
            return COMMON[candidate]
    if language == "russian" and len(phone) == 2 and phone[0] == phone[1]:
        return espeak_mnemonic(phone[0], language)
    raise Speech2VideoError(f"Festival phone {phone!r} of the {language} phone set has no viseme")


def is_installed(voice: FestivalVoice) -> bool:
    """Whether Festival and `voice`'s package are installed (Debian's layout of Festival's voices)."""
    return shutil.which("festival") is not None and any(VOICES_FOLDER.glob(f"*/{voice.name}"))


def speak(text: str, voice: FestivalVoice, duration_stretch: float = 1.0):
    """`voice` reading `text`, `duration_stretch` times slower than its own pace.

    Returns audio (n,) float32 at 16 kHz, the phones as espeak-ng mnemonics and their start times in seconds.
    """
    import soundfile
    import soxr

    if not is_installed(voice):
        raise Speech2VideoError(f"Festival's voice {voice.name} is not installed: apt-get install festival "
                                f"{voice.package} (`make system-deps` installs all of {SYSTEM_PACKAGES})")
    quoted = re.sub(r'["\\]', " ", text)
    with tempfile.TemporaryDirectory(prefix="synthtalk-festival-") as folder:
        wav, segments = Path(folder) / "utterance.wav", Path(folder) / "utterance.segs"
        script = (f"(voice_{voice.name})\n(Parameter.set 'Duration_Stretch {duration_stretch})\n"
                  f'(set! utt (utt.synth (Utterance Text "{quoted}")))\n'
                  f"(utt.save.wave utt \"{wav}\" 'riff)\n(utt.save.segs utt \"{segments}\")\n")
        result = subprocess.run(["festival", "--pipe"], input=script, capture_output=True, text=True)
        if not segments.exists():
            raise Speech2VideoError(f"Festival's {voice.name} could not read {text!r}: {result.stderr.strip()[-300:]}")
        audio, rate = soundfile.read(wav, dtype="float32")
        lines = [line.split() for line in segments.read_text().split("#", 1)[1].splitlines() if line.strip()]
    ends = [float(end) for end, _, _ in lines]
    phones = [espeak_mnemonic(phone, voice.language) for _, _, phone in lines]
    return soxr.resample(audio, rate, SAMPLING_RATE).astype(np.float32), phones, [0.0, *ends[:-1]]
