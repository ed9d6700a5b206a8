"""Coverage-guided fuzzing of the interop decoders with atheris (libFuzzer).

The first byte picks the decoder (ASTERIX records and their fields, Beast, AVR, SBS, pcap);
the rest is its input. Run by ``test_fuzz.py`` for a bounded number of inputs; by hand::

    python -m tests.interop.fuzz_interop -max_total_time=600 CORPUS_DIR

Any exception (other than a pcap file refused as a whole with a DataError) is a crash.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["airpicture"]):
    from airpicture.errors import DataError
    from airpicture.interop import (
        DecodeReport,
        ModeSDecoder,
        iter_avr,
        iter_beast,
        iter_pcap,
        iter_records,
        iter_sbs,
        read_cat021,
        read_cat034,
        read_cat048,
        read_cat062,
    )

_READERS = {21: read_cat021, 34: read_cat034, 48: read_cat048, 62: read_cat062}


def one_input(data: bytes) -> None:
    """Decode ``data[1:]`` with the decoder ``data[0]`` picks."""
    if not data:
        return
    kind, body = data[0] % 5, data[1:]
    report = DecodeReport()
    if kind == 0:
        for record in iter_records(body, source="fuzz", report=report):
            _READERS[record.category](record)
    elif kind == 1:
        decoder = ModeSDecoder(
            report=report, source="fuzz", reference=(35.0, 139.0), receiver_range_m=300_000.0
        )
        for message in iter_beast(body, source="fuzz", report=report, start_t_s=0.0):
            decoder.feed(message)
    elif kind == 2:
        lines = enumerate(body.decode("latin-1").splitlines())
        decoder = ModeSDecoder(report=report, source="fuzz")
        for message in iter_avr(lines, source="fuzz", report=report, start_t_s=0.0):
            decoder.feed(message)
    elif kind == 3:
        list(iter_sbs(enumerate(body.decode("latin-1").splitlines()), source="fuzz", report=report))
    else:
        try:
            list(iter_pcap(body, source="fuzz", report=report))
        except DataError:
            pass


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
