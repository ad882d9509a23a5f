"""PyExpLabSys: resilient data logging from laboratory instruments."""
