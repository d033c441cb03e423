"""aggregator: turn a folder of news seed files into RSS 2.0 and Atom 1.0 feeds."""

__version__ = "0.1.0"
