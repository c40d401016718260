"""The faces over HTTP, the command line and MCP: parse, call the services, format.

`open_services` is what a script needs to run the agent tools or decisions in its own process
(the LangChain example uses it); everything else here is an entry point (`p13n`, `create_app`).
"""

from p13n.server.bootstrap import open_services

__all__ = ["open_services"]
