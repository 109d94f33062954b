#!/usr/bin/env python3
"""Run a command on a pseudo-terminal, answer one prompt, report.

usage: on_tty.py PROMPT ANSWER OUTFILE CMD [ARGS...]

Waits (60 s at most) for PROMPT in the command's terminal output, types
ANSWER and a newline, copies everything the command printed to OUTFILE and
exits with the command's exit code. For the e2e cases whose programs ask
on a terminal only (password prompts, confirmations).
"""
import os
import pty
import signal
import sys


def main():
    prompt, answer, outfile = (a.encode() if i < 2 else a
                               for i, a in enumerate(sys.argv[1:4]))
    cmd = sys.argv[4:]
    signal.alarm(60)  # fail, do not hang, if the prompt never comes
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    out = b""
    while prompt not in out:
        chunk = os.read(fd, 1024)
        if not chunk:
            break
        out += chunk
    os.write(fd, answer + b"\n")
    while True:
        try:
            chunk = os.read(fd, 1024)
        except OSError:  # EIO once the child has closed the terminal
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    with open(outfile, "wb") as f:
        f.write(out)
    sys.exit(os.waitstatus_to_exitcode(status))


main()
