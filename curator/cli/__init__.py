"""The ``curator`` command line: serve, filter files in-process or against a server, stats, collections."""
