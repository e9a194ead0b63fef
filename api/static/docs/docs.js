"use strict";
// Render the OpenAPI document as a list of operations with a small "try it" form each.
// Every HTTP method a Path Item Object can hold (OpenAPI 3.0/3.1), so none is left out.
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([k, v]) => { node[k] = v; });
  children.forEach((c) => node.append(c));
  return node;
}

function operationView(path, method, op) {
  const inputs = {};
  const form = el("div", {});
  (op.parameters || []).forEach((p) => {
    const input = el("input", { placeholder: p.schema && p.schema.default !== undefined ? String(p.schema.default) : "" });
    inputs[p.name] = { input, where: p.in };
    form.append(el("label", {}, `${p.name} (${p.in}${p.required ? ", required" : ""}) `, input));
  });
  let body = null;
  if (op.requestBody) {
    body = el("textarea", { value: "{}" });
    form.append(el("label", {}, "JSON body", body));
  }
  const out = el("pre", {});
  const send = el("button", { textContent: "Send" });
  send.addEventListener("click", async () => {
    let url = path;
    const query = new URLSearchParams();
    Object.entries(inputs).forEach(([name, { input, where }]) => {
      if (!input.value) return;
      if (where === "path") url = url.replace(`{${name}}`, encodeURIComponent(input.value));
      else if (where === "query") query.set(name, input.value);
    });
    const headers = { "Content-Type": "application/json" };
    const token = document.getElementById("token").value.trim();
    if (token) headers.Authorization = `Bearer ${token}`;
    const qs = query.toString();
    try {
      const res = await fetch(qs ? `${url}?${qs}` : url, { method: method.toUpperCase(), headers, body: body ? body.value : undefined });
      const text = await res.text();
      out.textContent = `${res.status} ${res.statusText}\n\n${text}`;
    } catch (err) {
      out.textContent = String(err);
    }
  });
  form.append(send, out);
  const summary = el("summary", {}, el("span", { className: `method ${method}`, textContent: method }), path, ` — ${op.summary || ""}`);
  const view = el("details", {}, summary, el("p", { textContent: op.description || "" }), form);
  view.dataset.method = method;
  view.dataset.path = path;
  return view;
}

async function main() {
  const root = document.getElementById("operations");
  const spec = await (await fetch("/api/v1/openapi.json")).json();
  document.getElementById("title").textContent = `${spec.info.title} ${spec.info.version}`;
  root.replaceChildren();
  Object.entries(spec.paths).forEach(([path, item]) => {
    METHODS.filter((m) => item[m]).forEach((m) => {
      const op = { ...item[m], parameters: [...(item.parameters || []), ...(item[m].parameters || [])] };
      root.append(operationView(path, m, op));
    });
  });
}

main();
