"""A lab script in PyExpLabSys's style: the DataSetSaver example of its docs, with the
measurement's time as ``CustomColumn(unixtime, 'FROM_UNIXTIME(%s)')``.

Two "mass spectra" (numpy sines): ``sine1`` saved as one batch, ``sine2`` point by point,
into ``measurements_dummy`` and ``xy_values_dummy`` as user ``dummy``; the server comes
from PyExpLabSys's settings (here the environment). It prints how many points were not
yet committed after ``wait_for_queue_to_empty`` and the measurement ids. Run unchanged by
the tests against the throw-away MariaDB and the mock database.
"""

import time

import numpy

from PyExpLabSys.common.database_saver import CustomColumn, DataSetSaver
from PyExpLabSys.common.supported_versions import python2_and_3

python2_and_3(__file__)

START = 1700000000.0


def main():
    saver = DataSetSaver("measurements_dummy", "xy_values_dummy", "dummy", "dummy")
    saver.start()
    metadata = {
        "type": 4,
        "comment": "Test sine1",
        "sem_voltage": 47,
        "mass_label": "Sine",
        "preamp_range": -9,
        "time": CustomColumn(START, "FROM_UNIXTIME(%s)"),
    }
    saver.add_measurement("sine1", metadata)
    metadata["comment"] = "Test sine2"
    metadata["time"] = CustomColumn(START + 60, "FROM_UNIXTIME(%s)")
    saver.add_measurement("sine2", metadata)
    x = numpy.arange(0, 3, 0.03)
    y = numpy.sin(x)
    saver.save_points_batch("sine1", x, y)
    for xpoint, ypoint in zip(x, y):  # noqa: B905 (written as upstream scripts are: Python 2 and 3)
        saver.save_point("sine2", (xpoint, ypoint + 0.3))
    saver.wait_for_queue_to_empty()
    print("not committed:", saver.sql_saver.queue.qsize())
    print("ids:", saver.measurement_ids["sine1"], saver.measurement_ids["sine2"])
    print("comments:", sorted(saver.get_unique_values_from_measurements("comment")))
    time.sleep(0)
    saver.stop()


if __name__ == "__main__":
    main()
