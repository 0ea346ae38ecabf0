/* Chat playground: mints a short-lived key through the portal, then streams from LiteLLM directly (SSE).
   No framework; the key lives only in this page's memory and is never written to storage. */
(function () {
  "use strict";
  var root = document.getElementById("playground");
  if (!root) { return; }
  var $ = function (id) { return document.getElementById(id); };
  var session = null;          // {key, base_url, model, expires_at, input_cost_per_token, output_cost_per_token}
  var messages = [];           // [{role, content}]
  var turns = [];              // metrics per answer, for export
  var controller = null;

  function showError(text) { $("pg-error-text").textContent = text; $("pg-error").hidden = !text; }

  function render() {
    var box = $("pg-messages");
    box.textContent = "";
    messages.forEach(function (m) {
      var p = document.createElement("div");
      p.className = "portal-chat-" + m.role;
      var who = document.createElement("strong");
      who.textContent = m.role + ": ";
      var body = document.createElement("span");
      body.style.whiteSpace = "pre-wrap";
      body.textContent = m.content;
      p.appendChild(who); p.appendChild(body);
      box.appendChild(p);
    });
  }

  function sessionValid(model) {
    return session && session.model === model && (!session.expires_at || Date.parse(session.expires_at) - Date.now() > 60000);
  }

  function getSession(model) {
    if (sessionValid(model)) { return Promise.resolve(session); }
    var body = new URLSearchParams({ model: model });
    return fetch(root.dataset.sessionUrl, {
      method: "POST", credentials: "same-origin", body: body,
      headers: { "X-CSRFToken": root.dataset.csrf, "Accept": "application/json" }
    }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) { throw new Error((data.error && data.error.message) || "Could not start a playground session."); }
        session = data;
        return data;
      });
    });
  }

  function cost(usage) {
    if (!usage || !session) { return null; }
    var inCost = parseFloat(session.input_cost_per_token || "NaN"), outCost = parseFloat(session.output_cost_per_token || "NaN");
    if (isNaN(inCost) || isNaN(outCost)) { return null; }
    return (usage.prompt_tokens || 0) * inCost + (usage.completion_tokens || 0) * outCost;
  }

  function showMetrics(m) {
    var parts = [];
    if (m.usage) { parts.push("tokens " + (m.usage.prompt_tokens || 0) + " in / " + (m.usage.completion_tokens || 0) + " out / " + (m.usage.total_tokens || 0) + " total"); }
    if (m.ttft != null) { parts.push("first token " + m.ttft + " ms"); }
    parts.push("latency " + m.latency + " ms");
    if (m.usage && m.latency) { parts.push(((m.usage.completion_tokens || 0) / (m.latency / 1000)).toFixed(1) + " tok/s"); }
    if (m.cost != null) { parts.push("≈ " + m.cost.toFixed(6) + " (estimated from the model's prices)"); }
    $("pg-metrics").textContent = parts.join(" · ");
  }

  function send(text) {
    var model = $("pg-model").value;
    showError("");
    var history = [];
    var system = $("pg-system").value.trim();
    if (system) { history.push({ role: "system", content: system }); }
    messages.push({ role: "user", content: text });
    var answer = { role: "assistant", content: "" };
    messages.push(answer);
    render();
    var started = performance.now(), first = null, usage = null;
    controller = new AbortController();
    $("pg-stop").disabled = false; $("pg-send").disabled = true;
    getSession(model).then(function (s) {
      return fetch(s.base_url + "/v1/chat/completions", {
        method: "POST", signal: controller.signal,
        headers: { "Authorization": "Bearer " + s.key, "Content-Type": "application/json" },
        body: JSON.stringify({
          model: model, stream: true, stream_options: { include_usage: true },
          temperature: parseFloat($("pg-temperature").value || "0.7"),
          max_tokens: parseInt($("pg-max-tokens").value || "1024", 10),
          messages: history.concat(messages.slice(0, -1))
        })
      });
    }).then(function (r) {
      if (!r.ok) { return r.text().then(function (t) { throw new Error("LiteLLM answered " + r.status + ": " + t.slice(0, 300)); }); }
      var reader = r.body.getReader(), decoder = new TextDecoder(), buffer = "";
      function pump() {
        return reader.read().then(function (chunk) {
          if (chunk.done) { return; }
          buffer += decoder.decode(chunk.value, { stream: true });
          var lines = buffer.split("\n");
          buffer = lines.pop();
          lines.forEach(function (line) {
            line = line.trim();
            if (line.indexOf("data:") !== 0) { return; }
            var data = line.slice(5).trim();
            if (data === "[DONE]") { return; }
            try {
              var evt = JSON.parse(data);
              var delta = evt.choices && evt.choices[0] && evt.choices[0].delta;
              if (delta && delta.content) {
                if (first === null) { first = performance.now(); }
                answer.content += delta.content;
              }
              if (evt.usage) { usage = evt.usage; }
            } catch (e) { /* partial or non-JSON line: ignore */ }
          });
          render();
          return pump();
        });
      }
      return pump();
    }).catch(function (err) {
      if (err.name !== "AbortError") { showError(err.message); }
    }).then(function () {
      var m = { model: model, latency: Math.round(performance.now() - started),
                ttft: first === null ? null : Math.round(first - started), usage: usage, cost: cost(usage) };
      turns.push(m);
      showMetrics(m);
      controller = null;
      $("pg-stop").disabled = true; $("pg-send").disabled = false;
    });
  }

  function download(name, type, text) {
    var a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([text], { type: type }));
    a.download = name;
    document.body.appendChild(a); a.click(); a.remove();
  }

  $("pg-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var text = $("pg-input").value.trim();
    if (!text || controller) { return; }
    $("pg-input").value = "";
    send(text);
  });
  $("pg-stop").addEventListener("click", function () { if (controller) { controller.abort(); } });
  $("pg-clear").addEventListener("click", function () { messages = []; turns = []; render(); $("pg-metrics").textContent = ""; });
  $("pg-model").addEventListener("change", function () { session = null; });
  $("pg-export-json").addEventListener("click", function () {
    download("conversation.json", "application/json", JSON.stringify({
      model: $("pg-model").value, system: $("pg-system").value, messages: messages, metrics: turns
    }, null, 2));
  });
  $("pg-export-md").addEventListener("click", function () {
    var md = "# Conversation with " + $("pg-model").value + "\n\n";
    if ($("pg-system").value.trim()) { md += "> System: " + $("pg-system").value.trim() + "\n\n"; }
    messages.forEach(function (m) { md += "**" + m.role + "**\n\n" + m.content + "\n\n"; });
    download("conversation.md", "text/markdown", md);
  });
})();
