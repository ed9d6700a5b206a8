"""Coverage-guided fuzzing of the message decoder with atheris (libFuzzer).

Run by ``test_fuzz.py`` for a bounded number of inputs; by hand, for as long as wanted::

    python -m tests.net.fuzz_decoder -max_total_time=600 CORPUS_DIR

Any exception other than a :class:`~airpicture.net.MessageError` is a crash: libFuzzer
stops, prints the input and exits with a non-zero status.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["airpicture"]):
    from airpicture.net import MessageError, decode_message


def one_input(data: bytes) -> None:
    """Decode ``data``; a clean refusal is fine."""
    try:
        decode_message(data)
    except MessageError:
        pass


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
