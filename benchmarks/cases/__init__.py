"""One module per benchmarked layer; each exposes ``run(quick, device) -> list[dict]``."""
