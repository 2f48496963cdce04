"""invoke-style output: ANSI-coloured info/warning/error/success lines on stdout, like tasks.py."""
import sys


def _line(code: str, msg: str) -> None:
    sys.stdout.write(f'\033[{code}m{msg}\033[0m\n')
    sys.stdout.flush()


def info(msg: str) -> None:
    _line('94', msg)


def warning(msg: str) -> None:
    _line('93', msg)


def error(msg: str) -> None:
    _line('91', msg)


def success(msg: str) -> None:
    _line('92', msg)


def plain(msg: str = '') -> None:
    sys.stdout.write(msg + '\n')
    sys.stdout.flush()


def stderr(msg: str) -> None:
    sys.stderr.write(msg + '\n')
    sys.stderr.flush()


class CommandFailed(Exception):
    """A 'manage.py' step failed; invoke prints the failed command and exits with its code."""

    def __init__(self, command: str, code: int = 1):
        super().__init__(command)
        self.command = command
        self.code = code


class TaskExit(Exception):
    """An explicit sys.exit(code) in a task."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


def command_failed(command: str) -> None:
    error(f"ERROR: InvenTree command failed: '{command}'")
    warning('- Refer to the error messages in the log above for more information')
