"""Source strings of the signals made locally: ``PREFIX:NAME`` or ``PREFIX:NAME:SEED`` (``curve:tones:3``)."""


def parse(source, prefix, names, seeded):
    """(name, seed or None) of a source string ``prefix:NAME[:SEED]``, or None when ``source`` does not start
    with ``prefix:``.

    Args:
      names: the names known under ``prefix``.
      seeded: those of them drawn from a seed, which they need; the others take none.

    Raises:
      ValueError: an unknown name, a seed missing or not a whole number, a seed given to a name that takes none.
    """
    if not isinstance(source, str) or not source.startswith(prefix + ":"):
        return None
    name, _, seed = source[len(prefix) + 1:].partition(":")
    if name not in names:
        raise ValueError(f"unknown {prefix} {name!r} in {source!r}: choose from {', '.join(names)}")
    if name in seeded:
        if not seed.isdigit():
            raise ValueError(f"{prefix}:{name} is drawn from a seed: {prefix}:{name}:0, {prefix}:{name}:1, ..., "
                             f"got {source!r}")
        return name, int(seed)
    if seed:
        raise ValueError(f"{prefix}:{name} takes no seed, got {source!r}")
    return name, None
