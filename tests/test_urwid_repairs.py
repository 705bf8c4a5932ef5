"""The repairs of urwid 2.1.2 that the deck installs, checked against urwid itself on this Python."""

import fcntl
import os
import pty
import struct
import termios

import urwid.raw_display

from workshop.presenter import boxes


def test_the_window_size_is_read_with_a_buffer_the_answer_fits_in():
    """urwid 2.1.2 asks TIOCGWINSZ with 4 bytes for an 8-byte answer: Python 3.14 raises SystemError
    (buffer overflow) on the deck's first slide. Repaired, the size of a real terminal comes back."""
    leader, follower = pty.openpty()
    try:
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("hhhh", 40, 120, 0, 0))
        with os.fdopen(follower, "w", closefd=False) as out:
            boxes.repair_window_size()
            screen = urwid.raw_display.Screen(output=out)
            assert screen.get_cols_rows() == (120, 40)
            assert screen.maxrow == 40
            fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("hhhh", 37, 101, 0, 0))
            assert screen.get_cols_rows() == (101, 37)  # asked again, not remembered
    finally:
        os.close(leader)
        os.close(follower)
