"""A local Genesys Cloud emulator for development and tests (see README.md); not for production."""
