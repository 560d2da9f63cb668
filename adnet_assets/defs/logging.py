"""A console logger that prints what a person wants to follow: time, step, message; nothing else."""


import logging
import re
import sys

import dagster as dg


# Control characters (ESC sequences above all) that a message may carry from ad content or file names:
# a terminal would obey them. Line breaks and tabs stay.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


class _StepFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        meta = getattr(record, "dagster_meta", None) or {}
        step = meta.get("step_key") or "run"
        message = meta.get("orig_message") or record.getMessage()
        when = self.formatTime(record, "%H:%M:%S")
        level = "" if record.levelno < logging.WARNING else f"{record.levelname.lower()}: "
        return _CONTROLS.sub("\ufffd", f"{when}  {step:<22} {level}{message}")


class _NotTheSkippedSteps(logging.Filter):
    """After a step fails, Dagster logs as an error every step it therefore does not run ("Dependencies
    for step ... Not executing."): dozens of lines over the one that matters, which `adnet run`
    prints again at the end. The UI's event log keeps them."""

    def filter(self, record: logging.LogRecord) -> bool:
        meta = getattr(record, "dagster_meta", None) or {}
        message = str(meta.get("orig_message") or record.getMessage())
        return not (message.startswith("Dependencies for step ") and message.endswith("Not executing."))


@dg.logger(
    config_schema={"log_level": dg.Field(str, is_required=False, default_value="INFO")},
    description="Compact progress lines on stderr (the full event log is always in the Dagster UI).",
)
def compact_console_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    level = init_context.logger_config["log_level"]
    logger = logging.getLogger(f"adnet.console.{id(init_context)}")
    logger.setLevel(level)
    logger.propagate = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_StepFormatter())
    handler.addFilter(_NotTheSkippedSteps())
    logger.handlers = [handler]
    return logger
