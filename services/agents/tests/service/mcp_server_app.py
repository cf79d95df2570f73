"""A tiny MCP server (the official SDK's) for the MCP tests: `python mcp_server_app.py PORT`."""

from __future__ import annotations

import sys

from mcp.server.mcpserver import MCPServer

app = MCPServer("calc")


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def shout(text: str) -> str:
    """Upper-case a text."""
    return text.upper()


app.tool()(add)
app.tool(name="shoutText")(shout)

if __name__ == "__main__":
    app.run(transport="streamable-http", host="127.0.0.1", port=int(sys.argv[1]))
