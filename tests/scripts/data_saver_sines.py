"""A lab script in PyExpLabSys's style: the ContinuousDataSaver example of its docs.

Two sine waves as numpy values, ten points each, 0.1 s apart, into ``dateplots_dummy``
as user ``dummy``; the server comes from PyExpLabSys's settings (here the environment).
Run unchanged by the tests against the throw-away MariaDB and the mock database.
"""

import time

import numpy

from PyExpLabSys.common.database_saver import ContinuousDataSaver


def main():
    saver = ContinuousDataSaver("dateplots_dummy", "dummy", "dummy")
    saver.start()
    saver.add_continuous_measurement("dummy_sine_one")
    saver.add_continuous_measurement("dummy_sine_two")
    for _ in range(10):
        saver.save_point_now("dummy_sine_one", numpy.sin(time.time()))
        saver.save_point_now("dummy_sine_two", numpy.sin(time.time() + numpy.pi))
        time.sleep(0.1)
    saver.stop()


if __name__ == "__main__":
    main()
