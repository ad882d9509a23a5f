"""A lab script in PyExpLabSys's style: a reader thread polls a gauge, a ValueLogger per
channel decides which readings to keep, and a ContinuousDataSaver saves them.

The gauge is simulated (a pressure that steps up a decade after 1.5 s). The loop is the
one of upstream's setup scripts: ``read_trigged()`` → ``save_point_now`` →
``clear_trigged()``; the loggers are ended with ``status['quit'] = True``. The
ValueLoggers poll once a second (upstream's pace): in 3.5 s the pressure is saved twice
(first reading, the step) and the temperature once. It prints those counts.
"""

import threading
import time

from PyExpLabSys.common.database_saver import ContinuousDataSaver
from PyExpLabSys.common.supported_versions import python3_only
from PyExpLabSys.common.value_logger import ValueLogger

python3_only(__file__)

CODENAMES = ["dummy_pressure", "dummy_temperature"]
RUN_SECONDS = 3.5
STEP_AFTER = 1.5


class GaugeReader(threading.Thread):
    """Reads the (simulated) gauge continuously; ``value(channel)`` is the latest."""

    def __init__(self):
        threading.Thread.__init__(self)
        self.daemon = True
        self.values = {"dummy_pressure": 1e-7, "dummy_temperature": 300.0}
        self.quit = False

    def value(self, channel):
        return self.values[channel]

    def run(self):
        started = time.time()
        while not self.quit:
            if time.time() - started > STEP_AFTER:  # the pump stops: a decade up
                self.values["dummy_pressure"] = 1e-6
            time.sleep(0.05)


def main():
    reader = GaugeReader()
    reader.start()
    loggers = {}
    for codename in CODENAMES:
        comp_type, comp_val = ("log", 0.1) if codename == "dummy_pressure" else ("lin", 1.0)
        loggers[codename] = ValueLogger(
            reader, comp_val=comp_val, comp_type=comp_type, maximumtime=600, channel=codename
        )
        loggers[codename].start()
    saver = ContinuousDataSaver("dateplots_pressures", "dummy", "dummy", measurement_codenames=CODENAMES)
    saver.start()
    saved = dict.fromkeys(CODENAMES, 0)
    started = time.time()
    while reader.is_alive() and time.time() - started < RUN_SECONDS:
        time.sleep(0.05)
        for codename in CODENAMES:
            value = loggers[codename].read_value()
            if loggers[codename].read_trigged():
                saver.save_point_now(codename, value)
                saved[codename] += 1
                loggers[codename].clear_trigged()
    for logger in loggers.values():
        logger.status["quit"] = True
    reader.quit = True
    saver.stop()
    print("saved:", saved["dummy_pressure"], saved["dummy_temperature"])


if __name__ == "__main__":
    main()
