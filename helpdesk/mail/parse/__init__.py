"""Pure mail parsing: charsets, messages, threading keys, file sources (no ORM)."""
