"""The command line: parses flags and renders results. No logic lives here."""
