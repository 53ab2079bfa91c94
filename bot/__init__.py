"""posbot: a support bot for merchants who cancel (注销) or stop (停机) a POS terminal."""

__version__ = "0.1.0"
