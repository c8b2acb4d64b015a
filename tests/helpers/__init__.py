"""Test helpers: tiny offline model builders and a loopback fake OpenAI-compatible server."""
