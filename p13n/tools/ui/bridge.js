"use strict";
// The view's side of the MCP Apps bridge (SEP-1865, 2026-01-26): JSON-RPC 2.0 over postMessage
// with the host (window.parent). ui/initialize, then ui/notifications/initialized; the host
// answers with ui/notifications/tool-input and ui/notifications/tool-result; tools/call goes
// through the host to this server. No SDK, no network access of its own.
const bridge = (() => {
  const host = window.parent;
  const pending = new Map();
  const handlers = new Map();
  let nextId = 1;
  let hostCapabilities = {};

  function post(message) { host.postMessage(Object.assign({ jsonrpc: "2.0" }, message), "*"); }

  function request(method, params) {
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      post({ id, method, params: params || {} });
    });
  }

  function notify(method, params) { post({ method, params: params || {} }); }

  window.addEventListener("message", (event) => {
    if (event.source !== host) return;
    const msg = event.data;
    if (!msg || msg.jsonrpc !== "2.0") return;
    if (msg.id !== undefined && msg.method === undefined) {
      const waiter = pending.get(msg.id);
      if (!waiter) return;
      pending.delete(msg.id);
      if (msg.error) waiter.reject(new Error(msg.error.message || "request failed"));
      else waiter.resolve(msg.result);
      return;
    }
    if (msg.method === "ui/resource-teardown" && msg.id !== undefined) {
      post({ id: msg.id, result: {} });
      return;
    }
    const handler = handlers.get(msg.method);
    if (handler) handler(msg.params || {});
    else if (msg.id !== undefined) {
      post({ id: msg.id, error: { code: -32601, message: "method not found: " + msg.method } });
    }
  });

  function reportSize() {
    const el = document.documentElement;
    notify("ui/notifications/size-changed", { width: el.scrollWidth, height: el.scrollHeight });
  }

  async function start(appInfo) {
    const result = await request("ui/initialize", {
      protocolVersion: "2026-01-26",
      appInfo,
      appCapabilities: { availableDisplayModes: ["inline"] },
    });
    hostCapabilities = (result && result.hostCapabilities) || {};
    notify("ui/notifications/initialized", {});
    if (window.ResizeObserver) new ResizeObserver(reportSize).observe(document.body);
    return result;
  }

  async function callTool(name, args) {
    const result = await request("tools/call", { name, arguments: args });
    if (result && result.isError) {
      const text = (result.content || []).map((c) => c.text || "").join(" ");
      throw new Error(text || name + " failed");
    }
    return result;
  }

  function openLink(url) {
    if (!hostCapabilities.openLinks || !/^https?:\/\//.test(url || "")) return;
    request("ui/open-link", { url }).catch(() => {});
  }

  return {
    start, callTool, openLink,
    on: (method, handler) => handlers.set(method, handler),
  };
})();

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}
