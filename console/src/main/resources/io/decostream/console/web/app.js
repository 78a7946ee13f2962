// The DeCo Stream console page: plain JS, no build step. State comes from /api/..., live changes
// from server-sent events on /api/events.
"use strict";
(() => {
  const $ = id => document.getElementById(id);
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  };
  const enc = encodeURIComponent;
  const MAX_ITEMS = 50;

  let selected = null;      // stream id shown
  let windowFrames = 8;     // frames in the worker's window (from the latest answer/caption)
  let windowIdx = [];       // frame indices in the strip
  const images = new Map(); // "stream/index" -> Promise<Image|null>

  async function api(path) {
    const r = await fetch(path, { cache: "no-store" });
    if (!r.ok) throw new Error(path + ": HTTP " + r.status);
    return r.json();
  }

  function frameUrl(stream, index) {
    return "/api/streams/" + enc(stream) + "/frame/" + index + ".png";
  }

  function loadImage(stream, index) {
    const key = stream + "/" + index;
    if (!images.has(key)) {
      images.set(key, new Promise(resolve => {
        const img = new Image();
        img.onload = () => resolve(img);
        img.onerror = () => { images.delete(key); resolve(null); };
        img.src = frameUrl(stream, index);
      }));
      if (images.size > 512) images.delete(images.keys().next().value);
    }
    return images.get(key);
  }

  // ------------------------------------------------------------ streams list

  function streamItem(id) {
    let li = document.querySelector('#streams li[data-stream="' + CSS.escape(id) + '"]');
    if (!li) {
      li = el("li");
      li.dataset.stream = id;
      const b = el("button", "stream-button");
      b.append(el("span", "name", id), el("span", "count", ""));
      b.addEventListener("click", () => select(id));
      li.append(b);
      $("streams").append(li);
      $("no-streams").hidden = true;
    }
    return li;
  }

  function updateStreamItem(s) {
    const li = streamItem(s.id);
    li.querySelector(".count").textContent = s.latestFrame >= 0 ? "frame " + s.latestFrame : "";
    li.querySelector("button").classList.toggle("selected", s.id === selected);
  }

  async function loadStreams() {
    const list = await api("/api/streams");
    list.forEach(updateStreamItem);
    if (!selected && list.length > 0) await select(list[0].id);
  }

  // ------------------------------------------------------------ one stream

  async function select(id) {
    selected = id;
    document.querySelectorAll("#streams li").forEach(li =>
      li.querySelector("button").classList.toggle("selected", li.dataset.stream === id));
    const s = await api("/api/streams/" + enc(id));
    if (selected !== id) return;
    $("stream-view").hidden = false;
    $("stream-title").textContent = id;
    windowFrames = s.windowFrames || 8;
    windowIdx = [];
    $("window-strip").replaceChildren();
    (s.window || []).forEach(i => addToWindow(i));
    if (s.latestFrame >= 0) showLatest(s.latestFrame, (s.frames.find(f => f.index === s.latestFrame) || {}).timestampMicros);
    showTokens(s.tokens);
    $("answers").replaceChildren();
    (s.pending || []).forEach(p => renderPending(p));
    (s.answers || []).forEach(a => renderAnswer(a));
    $("captions").replaceChildren();
    (s.captions || []).forEach(c => renderCaption(c));
    $("dead-letters").replaceChildren();
    (s.deadLetters || []).forEach(d => renderDeadLetter(d));
  }

  function showLatest(index, timestampMicros) {
    const img = $("latest-frame");
    img.src = frameUrl(selected, index);
    img.dataset.index = index;
    $("frame-info").textContent = "frame " + index +
      (timestampMicros !== undefined ? " at " + (timestampMicros / 1e6).toFixed(1) + " s" : "");
  }

  function addToWindow(index) {
    if (windowIdx.includes(index)) return;
    windowIdx.push(index);
    windowIdx.sort((a, b) => a - b);
    const strip = $("window-strip");
    const fig = el("figure");
    fig.dataset.index = index;
    const img = el("img");
    img.alt = "frame " + index;
    img.src = frameUrl(selected, index);
    fig.append(img, el("figcaption", null, String(index)));
    const after = [...strip.children].find(c => Number(c.dataset.index) > index);
    strip.insertBefore(fig, after || null);
    while (windowIdx.length > windowFrames) {
      const drop = windowIdx.shift();
      const f = strip.querySelector('figure[data-index="' + drop + '"]');
      if (f) f.remove();
    }
    $("window-info").textContent = "(last " + windowFrames + " frames, as the worker's window)";
  }

  function showTokens(t) {
    if (!t) {
      // no tokens of this stream yet: nothing of the stream shown before stays on the page
      $("budget-figure").textContent = "–";
      $("budget-detail").textContent = "";
      return;
    }
    $("budget-figure").textContent = t.tokensPerFrame + " tokens per frame";
    $("budget-detail").textContent = "grid " + t.gridHeight + "×" + t.gridWidth + " of " +
      t.sourceGridHeight + "×" + t.sourceGridWidth + " patches, " + t.pooling + " pooling, frame " +
      t.frameIndex + ", model " + t.modelId;
  }

  // ------------------------------------------------------------ answers and their heatmaps

  function answerCard(questionId) {
    let card = document.querySelector('.answer[data-qid="' + CSS.escape(questionId) + '"]');
    if (!card) {
      card = el("div", "answer");
      card.dataset.qid = questionId;
      $("answers").prepend(card);
      while ($("answers").children.length > MAX_ITEMS) $("answers").lastChild.remove();
    }
    return card;
  }

  function renderPending(p) {
    const card = answerCard(p.questionId);
    if (card.dataset.answered) return;
    card.replaceChildren(el("div", "q", "Q: " + p.question), el("div", "pending", "waiting for the answer…"));
  }

  function renderAnswer(a) {
    const card = answerCard(a.questionId);
    card.dataset.answered = "1";
    const body = a.error
      ? el("div", "a err", "no answer: " + a.error)
      : el("div", "a", a.text);
    const ms = a.timingsMillis && a.timingsMillis.total !== undefined ? ", " + Math.round(a.timingsMillis.total) + " ms" : "";
    const meta = el("div", "muted",
      "frames " + a.firstFrame + ".." + a.lastFrame + " (" + a.frameCount + " frames × " + a.tokensPerFrame +
      " tokens, prompt " + a.promptTokens + " tokens, " + a.generatedTokens + " generated" + ms + ")");
    const heat = el("div", "grounding");
    card.replaceChildren(el("div", "q", "Q: " + a.question), body, meta, heat);
    if (a.grounding) loadGrounding(card, a.questionId);
  }

  async function loadGrounding(card, refId) {
    const box = card.querySelector(".grounding");
    if (!box || box.dataset.loaded) return;
    box.dataset.loaded = "1";
    let g;
    try {
      g = await api("/api/grounding/" + enc(refId));
    } catch (e) {
      delete box.dataset.loaded; // not here yet: the grounding event will come
      return;
    }
    const bar = el("div", "words-bar");
    const strip = el("div", "strip heatmaps");
    const choices = [{ label: "answer", maps: g.maps }].concat(g.words.map(w => ({ label: w.word, maps: w.maps })));
    choices.forEach((c, i) => {
      const b = el("button", i === 0 ? "selected" : "", c.label);
      b.type = "button";
      b.addEventListener("click", () => {
        bar.querySelectorAll("button").forEach(x => x.classList.remove("selected"));
        b.classList.add("selected");
        drawStrip(strip, g, c.maps);
      });
      bar.append(b);
    });
    box.append(el("div", "muted", "R-GAE relevance over the window (" + g.pooling + " pooling, " +
      g.tokensPerFrame + " tokens per frame): the answer, or one word"), bar, strip);
    await drawStrip(strip, g, g.maps);
  }

  async function drawStrip(strip, g, maps) {
    const [lo, hi] = Heatmap.range(maps);
    const figs = g.frameIndices.map((index, i) => {
      const fig = el("figure");
      const c = el("canvas", "heatmap");
      c.width = 168;
      c.height = 168;
      c.dataset.frame = index;
      fig.append(c, el("figcaption", null, String(index)));
      return { fig, c, index, map: maps[i] };
    });
    strip.replaceChildren(...figs.map(f => f.fig));
    for (const f of figs) {
      const img = await loadImage(g.stream, f.index);
      Heatmap.draw(f.c, img, f.map, g.gridHeight, g.gridWidth, lo, hi);
      f.c.dataset.drawn = "1";
    }
  }

  function renderCaption(c) {
    const li = el("li", null, "frames " + c.firstFrame + ".." + c.lastFrame + ": " + c.text);
    $("captions").prepend(li);
    while ($("captions").children.length > MAX_ITEMS) $("captions").lastChild.remove();
  }

  function renderDeadLetter(d) {
    const li = el("li", null, "[" + d.stage + "] " + (d.stream || "?") + ": " + d.reason);
    $("dead-letters").prepend(li);
    while ($("dead-letters").children.length > MAX_ITEMS) $("dead-letters").lastChild.remove();
  }

  // ------------------------------------------------------------ ask box

  $("ask-form").addEventListener("submit", async ev => {
    ev.preventDefault();
    const err = $("ask-error");
    const status = $("ask-status");
    // the console checks the question (empty, over 4096 bytes) and says why it refused it
    const body = { stream: selected, question: $("ask-text").value, grounding: $("ask-grounding").checked };
    let r, res;
    try {
      r = await fetch("/api/ask", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
      });
      res = await r.json();
    } catch (e) {
      err.textContent = "the console did not answer: " + e.message;
      err.hidden = false;
      return;
    }
    if (!r.ok) {
      err.textContent = res.error || ("HTTP " + r.status);
      err.hidden = false;
      status.textContent = "";
      return;
    }
    err.hidden = true;
    err.textContent = "";
    $("ask-text").value = "";
    status.textContent = "asked: " + res.question;
    renderPending(res);
  });

  // ------------------------------------------------------------ budget control

  // the text field, when filled, wins over the select; the console checks the budget as the
  // encoder does (mode, grid against the stream's patch grid) and says why it refused one
  $("budget-form").addEventListener("submit", async ev => {
    ev.preventDefault();
    const err = $("budget-error");
    const status = $("budget-status");
    const typed = $("budget-text").value.trim();
    const budget = typed !== "" ? typed : $("budget-select").value;
    let r, res;
    try {
      r = await fetch("/api/streams/" + enc(selected || "") + "/budget", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ budget })
      });
      res = await r.json();
    } catch (e) {
      err.textContent = "the console did not answer: " + e.message;
      err.hidden = false;
      return;
    }
    if (!r.ok) {
      err.textContent = res.error || ("HTTP " + r.status);
      err.hidden = false;
      status.textContent = "";
      return;
    }
    err.hidden = true;
    err.textContent = "";
    $("budget-text").value = "";
    status.textContent = "budget " + res.budget + " sent" +
      (res.tokensPerFrame ? " (" + res.tokensPerFrame + " tokens per frame)" : "") +
      ": applied from the stream's next frame";
  });

  // ------------------------------------------------------------ live updates

  function connect() {
    const es = new EventSource("/api/events");
    es.onopen = () => {
      $("conn").textContent = "live";
      $("conn").className = "conn up";
      loadStreams().then(() => selected && select(selected)).catch(() => {});
    };
    es.onerror = () => {
      $("conn").textContent = "reconnecting…";
      $("conn").className = "conn down";
    };
    const on = (name, f) => es.addEventListener(name, e => f(JSON.parse(e.data)));
    on("frame", f => {
      updateStreamItem({ id: f.stream, latestFrame: f.index });
      if (!selected) { select(f.stream); return; }
      if (f.stream !== selected) return;
      const current = Number($("latest-frame").dataset.index || -1);
      if (f.index >= current) showLatest(f.index, f.timestampMicros);
      addToWindow(f.index);
    });
    on("tokens", t => { if (t.stream === selected) showTokens(t); });
    on("caption", c => {
      if (c.stream !== selected) return;
      windowFrames = Math.max(1, c.lastFrame - c.firstFrame + 1);
      renderCaption(c);
    });
    on("asked", p => { if (p.stream === selected) renderPending(p); });
    on("answer", a => {
      if (a.stream !== selected) return;
      if (a.frameCount > 0) windowFrames = a.frameCount;
      renderAnswer(a);
    });
    on("grounding", g => {
      if (g.stream !== selected || g.kind !== "answer") return;
      const card = document.querySelector('.answer[data-qid="' + CSS.escape(g.refId) + '"]');
      if (card) loadGrounding(card, g.refId);
    });
    on("deadletter", d => { if (!d.stream || d.stream === selected) renderDeadLetter(d); });
  }

  // the stages' health (issue 21 point 1): this stream's frames/s and latency, every stage's
  // consumer-group state and lag, from /api/health
  async function refreshHealth() {
    const body = document.getElementById("health-body");
    if (!body) return;
    try {
      const h = await api("/api/health");
      const rows = [];
      const s = h.streams.find(x => x.stream === selected);
      if (s) {
        rows.push(["frames/s", s.framesPerSecond.toFixed(2)]);
        rows.push(["latency", s.latencyMillis < 0 ? "–" : s.latencyMillis + " ms publish to tokens"]);
      }
      for (const st of h.stages) {
        rows.push([st.stage, st.state + ", lag " + (st.lag < 0 ? "?" : st.lag)]);
      }
      body.replaceChildren(...rows.map(([k, v]) => {
        const tr = document.createElement("tr");
        const th = document.createElement("th");
        th.textContent = k;
        const td = document.createElement("td");
        td.textContent = v;
        td.className = "health-" + k.replace(/[^a-z]/g, "");
        tr.append(th, td);
        return tr;
      }));
    } catch (e) {
      body.replaceChildren();
    }
  }

  loadStreams().catch(() => {});
  connect();
  refreshHealth();
  setInterval(refreshHealth, 3000);
})();
