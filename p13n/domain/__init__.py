"""The five steps (ingest, identify, update, compute, decide); no web, MCP or LangChain code here."""
