"""Network track numbers: issued from the detections that start tracks, so that nodes holding
the same detections issue the same numbers without a word between them.

A detection is known network-wide by its sensor and the sensor's own sequence number
(:data:`~airpicture.tables.ROW_SEQ_BITS`). A track's number is issued from the block of the
sensor that made its first report every nation holds (or its first report, without one):
``<nation><k>-<sequence>``, ``k`` the sensor's place among its nation's sensors (1-based, in
sensor-table order), so ``JPN2-13842`` is issued from the 13,842nd report of Japan's second
sensor. A report is that report of at most one confirmed track, so a number is never issued
twice in a run; two nodes whose tracks of an object share that report issue the same number.

Where nodes started their tracks on different reports (they did not see the same
detections), the numbers meet when their tracks are found to be one object; the number that
goes back furthest (earliest first report; then the smaller number) is kept everywhere
(:func:`precedes`) and the other is retired for good (:mod:`airpicture.fusion._picture`).
"""

from __future__ import annotations

import numpy as np

from airpicture.tables import ROW_SEQ_BITS, SensorTable

__all__ = ["NumberBlocks", "precedes"]


class NumberBlocks:
    """The number blocks of a sensor table (the same table on every node).

    Examples
    --------
    >>> from airpicture.sim import scenario_sensors                     # doctest: +SKIP
    >>> NumberBlocks(sensors).issue(np.array([(1 << ROW_SEQ_BITS) | 7]))  # doctest: +SKIP
    array(['JPN2-7'], dtype='<U6')
    """

    def __init__(self, sensors: SensorTable) -> None:
        seen: dict[str, int] = {}
        prefixes = []
        for sensor in sensors:
            seen[sensor.nation] = seen.get(sensor.nation, 0) + 1
            prefixes.append(f"{sensor.nation}{seen[sensor.nation]}-")
        self._prefix = np.array(prefixes, dtype=str)

    def issue(self, first_row: np.ndarray) -> np.ndarray:
        """The numbers of tracks whose first reports have these network-wide ``row`` keys.

        Parameters
        ----------
        first_row : ndarray of int64, shape (n,)
            ``sensor_index << ROW_SEQ_BITS | sequence`` of each track's first report.

        Returns
        -------
        ndarray of str, shape (n,)
        """
        first_row = np.asarray(first_row, dtype=np.int64)
        sensor = first_row >> ROW_SEQ_BITS
        seq = first_row & ((1 << ROW_SEQ_BITS) - 1)
        return np.array(
            [f"{self._prefix[s]}{q}" for s, q in zip(sensor, seq, strict=True)], dtype=str
        )


def precedes(a: tuple[float, str], b: tuple[float, str]) -> bool:
    """Whether number ``a`` is kept over ``b`` when both name one object: keys are (time of
    the first report of the track the number was issued for, number), earliest first."""
    return a < b
