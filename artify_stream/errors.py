"""Typed errors. The CLI turns each into one readable line and an exit code."""

from __future__ import annotations


class ArtifyError(Exception):
    """Base of every error a user can cause and fix (bad input, missing file...)."""

    exit_code = 1


class ModelFileError(ArtifyError):
    """A model file is missing, unreadable or not an artify-stream model."""


class InputError(ArtifyError):
    """An input file, folder or stream is missing, unreadable or unusable."""


class OutputError(ArtifyError):
    """An output path cannot be written (exists, unwritable, disk full)."""


class OutputExists(OutputError):
    """The output is there already (finished work) and --overwrite was not given: a folder run skips it."""


class ConfigError(ArtifyError):
    """Options that contradict each other or are out of range."""


class EngineError(ArtifyError):
    """An engine cannot be built or run on this machine as asked."""
