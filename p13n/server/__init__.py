"""The faces: FastAPI app, the command line, (later) the MCP server. Thin: parse, call, format."""
