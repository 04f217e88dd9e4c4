/* BackTalk chat widget. Any page embeds it with one tag:
 *
 *   <script src="https://bot.example/widget.js" defer></script>
 *
 * It talks only to the bot.web that served this file (POST api/chat, api/forget, api/research-consent,
 * api/documents, GET api/widget-strings/<lang>)
 * and loads nothing else: no framework, no font, no third-party request. It renders into an element
 * with the attribute data-backtalk-widget when the page has one, otherwise into a chat button fixed to
 * the corner of the page. The language is navigator.language unless the tag says data-language="de";
 * a language the patient then chooses in the chat is kept by Rasa (and the widget's labels follow).
 * The conversation id and the last 100 messages are kept in localStorage, so a reload resumes (and
 * links to the patient's files, which expire, are replaced by fresh ones).
 * Text from the server is only ever set with textContent: nothing it sends is parsed as HTML.
 * The header's privacy menu offers "forget me" (after a confirmation saying what is lost: bot.web erases
 * the conversation, the widget clears its storage and starts a new conversation id) and changing the
 * research answer.
 */
(function () {
  "use strict";

  var script = document.currentScript || document.querySelector("script[src*='widget.js']");
  if (!script || window.__backtalkWidget) return; // once per page
  window.__backtalkWidget = true;

  var BASE = new URL("./", script.src); // where bot.web lives, e.g. https://bot.example/
  var FALLBACK_STRINGS = /*BACKTALK_FALLBACK_STRINGS*/{}; // English, filled in by bot.web
  var KEY = "backtalk."; // localStorage: conversation, transcript, language, open
  var MAX_ITEMS = 100;
  var MAX_CHARS = 2000; // bot.web answers 413 beyond this
  var MAX_RETRIES = 3; // after a 429, wait Retry-After and send again this often
  var hint = script.getAttribute("data-language") || navigator.language || "en";
  var clinic = script.getAttribute("data-clinic"); // which clinic receives the triage (its code)

  // Colours, text on background. tests/test_web.py checks every pair in CONTRAST_PAIRS is at
  // least 4.5:1 (WCAG 2.1 AA): ink/paper 16.6, ink/bubble 14.7, paper/brand 8.9, brand/paper 8.9,
  // brand/bubble 7.9, muted/paper 7.0, muted/bubble 6.2, danger/dangerBg 7.3, focus/paper 6.5,
  // focus/bubble 5.8.
  var COLOURS = {
    ink: "#1b1f23", paper: "#ffffff", brand: "#0b4f6c", bubble: "#eef2f5",
    muted: "#4f5b66", danger: "#9b1c1c", dangerBg: "#fdf0f0", focus: "#a04000"
  };
  var CONTRAST_PAIRS = "ink/paper ink/bubble paper/brand brand/paper brand/bubble muted/paper muted/bubble danger/dangerBg focus/paper focus/bubble";
  var C = COLOURS;

  var CSS = [
    ":host{all:initial;display:block}",
    ":host(.inline),.inline{height:100%}",
    "*{box-sizing:border-box}",
    "[hidden]{display:none!important}",
    ".panel{display:flex;flex-direction:column;height:100%;min-height:min(16rem,100vh);max-height:100vh;",
    "  font:1rem/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:" + C.ink + ";background:" + C.paper + ";",
    "  border:1px solid " + C.muted + ";border-radius:.75rem;overflow:hidden;text-align:start}",
    ".head{display:flex;align-items:center;gap:.5rem;padding:.6rem .9rem;background:" + C.brand + ";color:" + C.paper + "}",
    "h2{flex:1;margin:0;font-size:1.05rem;font-weight:600;line-height:1.3;overflow-wrap:anywhere}",
    // position:relative keeps the visually hidden texts (.sr, absolutely positioned) inside the widget.
    ".log{position:relative;flex:1 1 auto;min-height:6rem;overflow-y:auto;overflow-x:hidden;padding:.75rem;display:flex;flex-direction:column;gap:.5rem}",
    ".msg{position:relative;max-width:88%;padding:.55rem .8rem;border-radius:.75rem;white-space:pre-wrap;overflow-wrap:anywhere;word-break:break-word}",
    ".msg p,.msg figure{margin:0}",
    ".bot{align-self:flex-start;background:" + C.bubble + ";color:" + C.ink + ";border-bottom-left-radius:.2rem}",
    ".user{align-self:flex-end;background:" + C.brand + ";color:" + C.paper + ";border-bottom-right-radius:.2rem}",
    ".note{align-self:stretch;max-width:none;background:" + C.dangerBg + ";color:" + C.danger + ";border:1px solid " + C.danger + "}",
    ".empty{margin:auto;color:" + C.muted + ";text-align:center}",
    ".sr{position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}",
    "img{display:block;max-width:100%;height:auto;border-radius:.4rem;margin:.25rem 0}",
    "figcaption{margin-top:.25rem}",
    "a{color:" + C.brand + ";font-weight:600;text-decoration:underline;text-underline-offset:.15em}",
    ".choices{display:flex;flex-wrap:wrap;gap:.4rem;margin-top:.5rem;white-space:normal}",
    "button{font:inherit;cursor:pointer;border-radius:.5rem;min-height:2.75rem}",
    ".choice{border:2px solid " + C.brand + ";background:" + C.paper + ";color:" + C.brand + ";padding:.35rem .8rem;font-weight:600;max-width:100%;overflow-wrap:anywhere;text-align:start}",
    ".choice:hover:not(:disabled){background:" + C.bubble + ";text-decoration:underline}",
    ".choice:disabled{cursor:default;border-color:" + C.muted + ";color:" + C.muted + ";background:" + C.bubble + "}",
    ".choice.chosen:disabled{border-color:" + C.brand + ";background:" + C.brand + ";color:" + C.paper + "}",
    ".typing{margin:0;padding:.35rem .9rem;color:" + C.muted + ";font-style:italic;min-height:1.9rem}",
    ".dots::after{content:'';display:inline-block;width:1.2em;text-align:start;animation:bt-dots 1.2s steps(4,end) infinite}",
    "@keyframes bt-dots{0%{content:''}25%{content:'.'}50%{content:'..'}75%{content:'...'}}",
    "@media (prefers-reduced-motion:reduce){.dots::after{animation:none}}",
    ".compose{position:relative;padding:.6rem .75rem .75rem;border-top:1px solid " + C.muted + ";background:" + C.paper + "}",
    ".compose label{display:block;font-size:.875rem;color:" + C.muted + ";margin-bottom:.25rem}",
    // Short screens (a phone held sideways, 200 % zoom): the label stays for screen readers only.
    "@media (max-height:30rem){.compose label{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}",
    "  .compose{padding-top:.5rem}.head{padding:.4rem .9rem}}",
    ".row{display:flex;gap:.5rem;flex-wrap:wrap}",
    "input{flex:1 1 8rem;min-width:0;font:inherit;color:" + C.ink + ";background:" + C.paper + ";padding:.55rem .65rem;border:2px solid " + C.muted + ";border-radius:.5rem;min-height:2.75rem}",
    "input::placeholder{color:" + C.muted + ";opacity:1}",
    ".send{flex:0 0 auto;border:2px solid " + C.brand + ";background:" + C.brand + ";color:" + C.paper + ";padding:.5rem 1rem;font-weight:600}",
    ".close,.menu-toggle{flex:0 0 auto;border:2px solid " + C.paper + ";background:" + C.brand + ";color:" + C.paper + ";padding:.2rem .7rem;min-height:2.5rem}",
    ".menu,.confirm{display:flex;flex-wrap:wrap;gap:.4rem;padding:.6rem .75rem;border-bottom:1px solid " + C.muted + ";background:" + C.bubble + "}",
    ".confirm p{flex:1 1 100%;margin:0}",
    ".info{align-self:stretch;max-width:none;background:" + C.bubble + ";color:" + C.ink + ";border:1px solid " + C.brand + "}",
    // Visible focus: a thick outline, offset so it sits on the background whatever the control's colour.
    ":focus{outline:none}",
    ":focus-visible{outline:3px solid " + C.focus + ";outline-offset:2px}",
    ".head :focus-visible{outline-color:" + C.paper + "}",
    ".log:focus-visible{outline-offset:-3px}",
    // Floating mode: a chat button in the corner; the panel above it, or the whole screen when small.
    ".launcher{position:fixed;right:1rem;bottom:1rem;z-index:2147483000;border:2px solid " + C.paper + ";",
    "  background:" + C.brand + ";color:" + C.paper + ";padding:.6rem 1.1rem;border-radius:1.5rem;font:600 1rem/1.3 system-ui,sans-serif;",
    "  box-shadow:0 .2rem .8rem rgba(0,0,0,.3);max-width:calc(100vw - 2rem)}",
    ".floating .panel{position:fixed;right:1rem;bottom:4.5rem;z-index:2147483000;width:min(24rem,calc(100vw - 2rem));",
    "  height:min(36rem,calc(100vh - 6rem));min-height:0;box-shadow:0 .3rem 1.5rem rgba(0,0,0,.3)}",
    "@media (max-width:30rem),(max-height:32rem){.floating .panel{inset:0;width:100%;height:100%;max-height:none;border-radius:0;border:0}}"
  ].join("\n");

  // ---- storage (falls back to memory when localStorage is unavailable) ----------------------------
  var memory = {};
  function load(name, fallback) {
    var raw = null;
    try { raw = window.localStorage.getItem(KEY + name); } catch (e) { raw = memory[name] || null; }
    if (raw === null) return fallback;
    try { return JSON.parse(raw); } catch (e) { return raw; } // the first page stored the id unquoted
  }
  function save(name, value) {
    var raw = JSON.stringify(value);
    memory[name] = raw;
    try { window.localStorage.setItem(KEY + name, raw); } catch (e) { /* private mode: memory only */ }
  }

  function newConversationId() {
    return Array.prototype.map.call(window.crypto.getRandomValues(new Uint8Array(16)), function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }
  var conversationId = load("conversation", null);
  if (typeof conversationId !== "string" || !/^[0-9a-f]{32}$/.test(conversationId)) {
    conversationId = newConversationId();
    save("conversation", conversationId);
  }
  var items = load("transcript", []);
  if (!Array.isArray(items)) items = [];
  var chosenLanguage = load("language", null);

  // ---- small helpers --------------------------------------------------------------------------------
  function api(path) { return new URL(path, BASE).href; }
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text); // text only, never HTML
    return node;
  }
  function safeUrl(value) {
    if (typeof value !== "string" || !value) return null;
    try {
      var url = new URL(value, BASE);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (e) { return null; }
  }
  function delay(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }
  function str(name) { return strings[name] || FALLBACK_STRINGS[name] || ""; }

  var strings = FALLBACK_STRINGS;
  var stringsLanguage = "en";
  function loadStrings(tag) {
    return fetch(api("api/widget-strings/" + encodeURIComponent(tag)), { credentials: "omit" })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
      .then(function (body) { strings = body.strings || strings; stringsLanguage = body.language || stringsLanguage; })
      .catch(function () { /* keep the strings we have */ });
  }

  // ---- the interface ---------------------------------------------------------------------------------
  var ui = {};
  var pending = 0;
  var queue = Promise.resolve();

  function build() {
    var container = document.querySelector("[data-backtalk-widget]");
    var host = el("div", container ? "backtalk-widget inline" : "backtalk-widget");
    (container || document.body).appendChild(host);
    var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
    var style = el("style", null, CSS);
    root.appendChild(style);
    var wrap = el("div", container ? "inline" : "floating");
    root.appendChild(wrap);
    ui.root = root;

    var panel = el("section", "panel");
    panel.id = "bt-panel";
    panel.setAttribute("aria-labelledby", "bt-title");
    var head = el("div", "head");
    ui.title = el("h2");
    ui.title.id = "bt-title";
    head.appendChild(ui.title);
    panel.appendChild(head);
    buildPrivacy(head, panel);

    ui.log = el("div", "log");
    ui.log.setAttribute("role", "log");
    ui.log.setAttribute("aria-live", "polite");
    ui.log.tabIndex = 0; // so the conversation can be scrolled by keyboard
    panel.appendChild(ui.log);
    ui.empty = el("p", "empty");
    ui.log.appendChild(ui.empty);

    ui.typing = el("p", "typing");
    ui.typing.hidden = true;
    ui.typingText = el("span");
    ui.typing.appendChild(ui.typingText);
    ui.typing.appendChild(el("span", "dots")).setAttribute("aria-hidden", "true");
    panel.appendChild(ui.typing);

    var form = el("form", "compose");
    ui.label = el("label");
    ui.label.htmlFor = "bt-input";
    ui.input = el("input");
    ui.input.id = "bt-input";
    ui.input.type = "text";
    ui.input.autocomplete = "off";
    ui.input.maxLength = MAX_CHARS;
    ui.input.setAttribute("enterkeyhint", "send");
    ui.send = el("button", "send");
    ui.send.type = "submit";
    var row = el("div", "row");
    row.appendChild(ui.input);
    row.appendChild(ui.send);
    form.appendChild(ui.label);
    form.appendChild(row);
    panel.appendChild(form);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = ui.input.value.trim();
      if (!text) return;
      ui.input.value = "";
      send(text, text, false);
    });

    if (!container) buildLauncher(wrap, head, panel);
    wrap.appendChild(panel);
    items.forEach(function (item) { render(item); });
    applyStrings();
    scrollDown();
  }

  // ---- privacy: forget me, research answer -------------------------------------------------------------
  function buildPrivacy(head, panel) {
    ui.menuToggle = el("button", "menu-toggle");
    ui.menuToggle.type = "button";
    ui.menuToggle.setAttribute("aria-expanded", "false");
    ui.menuToggle.setAttribute("aria-controls", "bt-menu");
    head.appendChild(ui.menuToggle);
    ui.menu = el("div", "menu");
    ui.menu.id = "bt-menu";
    ui.menu.hidden = true;
    ui.forget = el("button", "choice");
    ui.withdraw = el("button", "choice");
    ui.allow = el("button", "choice");
    [ui.forget, ui.withdraw, ui.allow].forEach(function (b) { b.type = "button"; ui.menu.appendChild(b); });
    panel.appendChild(ui.menu);

    ui.confirm = el("div", "confirm");
    ui.confirm.setAttribute("role", "alertdialog");
    ui.confirm.setAttribute("aria-labelledby", "bt-confirm-text");
    ui.confirm.hidden = true;
    ui.confirmText = el("p");
    ui.confirmText.id = "bt-confirm-text";
    ui.forgetYes = el("button", "choice");
    ui.forgetNo = el("button", "choice");
    ui.forgetYes.type = ui.forgetNo.type = "button";
    ui.confirm.appendChild(ui.confirmText);
    ui.confirm.appendChild(ui.forgetYes);
    ui.confirm.appendChild(ui.forgetNo);
    panel.appendChild(ui.confirm);

    function showMenu(open) {
      ui.menu.hidden = !open;
      ui.menuToggle.setAttribute("aria-expanded", String(open));
      if (open) ui.forget.focus();
    }
    ui.menuToggle.addEventListener("click", function () { showMenu(ui.menu.hidden); });
    ui.menu.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { event.stopPropagation(); showMenu(false); ui.menuToggle.focus(); }
    });
    ui.forget.addEventListener("click", function () {
      showMenu(false);
      ui.confirm.hidden = false;
      ui.forgetNo.focus(); // the safe answer first
    });
    ui.forgetNo.addEventListener("click", function () {
      ui.confirm.hidden = true;
      ui.menuToggle.focus();
    });
    ui.forgetYes.addEventListener("click", function () {
      ui.forgetYes.disabled = true;
      postJson("api/forget", { conversation_id: conversationId }).then(function (counts) {
        ui.forgetYes.disabled = false;
        ui.confirm.hidden = true;
        forgetLocally();
        info(fill(str("forgotten"), counts));
        ui.input.focus();
      }, function (error) {
        ui.forgetYes.disabled = false;
        ui.confirm.hidden = true;
        note(str(error.status === 429 ? "error_busy" : "error_connection"));
      });
    });
    [[ui.withdraw, false], [ui.allow, true]].forEach(function (pair) {
      pair[0].addEventListener("click", function () {
        showMenu(false);
        ui.menuToggle.focus();
        postJson("api/research-consent", { conversation_id: conversationId, allow: pair[1] }).then(function (body) {
          info(str(!body.triages ? "research_nothing" : pair[1] ? "research_allowed" : "research_withdrawn"));
        }, function (error) {
          note(str(error.status === 429 ? "error_busy" : "error_connection"));
        });
      });
    });
  }

  function forgetLocally() {
    ["conversation", "transcript", "language"].forEach(function (name) {
      delete memory[name];
      try { window.localStorage.removeItem(KEY + name); } catch (e) { /* memory only */ }
    });
    items.forEach(function (item) { if (item.node) item.node.remove(); });
    items = [];
    clearNotes();
    chosenLanguage = null;
    conversationId = newConversationId();
    save("conversation", conversationId);
    ui.empty.hidden = false;
  }

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (all, name) {
      return typeof values[name] === "number" ? values[name].toLocaleString(stringsLanguage) : all;
    });
  }

  function info(text) {
    clearNotes();
    var node = el("div", "msg info", text);
    node.setAttribute("role", "status");
    ui.log.appendChild(node);
    scrollDown();
  }

  function buildLauncher(wrap, head, panel) {
    ui.launcher = el("button", "launcher");
    ui.launcher.type = "button";
    ui.launcher.setAttribute("aria-controls", "bt-panel");
    ui.close = el("button", "close", "\u00d7");
    ui.close.type = "button";
    head.appendChild(ui.close);
    wrap.appendChild(ui.launcher);
    function setOpen(open, focus) {
      panel.hidden = !open;
      ui.launcher.hidden = open;
      ui.launcher.setAttribute("aria-expanded", String(open));
      save("open", open);
      if (focus) (open ? ui.input : ui.launcher).focus();
      if (open) scrollDown();
    }
    ui.launcher.addEventListener("click", function () { setOpen(true, true); });
    ui.close.addEventListener("click", function () { setOpen(false, true); });
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") setOpen(false, true);
    });
    setOpen(load("open", false) === true, false);
  }

  function applyStrings() {
    ui.root.querySelector(".panel").setAttribute("lang", stringsLanguage);
    ui.title.textContent = str("title");
    ui.log.setAttribute("aria-label", str("log_label"));
    ui.empty.textContent = str("empty");
    ui.empty.hidden = items.length > 0;
    ui.label.textContent = str("input_label");
    ui.input.placeholder = str("placeholder");
    ui.send.textContent = str("send");
    ui.typingText.textContent = str("typing");
    ui.menuToggle.textContent = str("menu");
    ui.forget.textContent = str("forget");
    ui.withdraw.textContent = str("research_withdraw");
    ui.allow.textContent = str("research_allow");
    ui.confirmText.textContent = str("forget_ask");
    ui.forgetYes.textContent = str("forget_yes");
    ui.forgetNo.textContent = str("forget_no");
    if (ui.launcher) {
      ui.launcher.textContent = str("open");
      ui.launcher.setAttribute("lang", stringsLanguage);
      ui.close.setAttribute("aria-label", str("close"));
    }
    Array.prototype.forEach.call(ui.root.querySelectorAll(".sr.who"), function (node) {
      node.textContent = str(node.getAttribute("data-who"));
    });
    Array.prototype.forEach.call(ui.root.querySelectorAll("a.doc.untitled"), function (node) {
      node.textContent = str("document");
    });
  }

  function scrollDown() { ui.log.scrollTop = ui.log.scrollHeight; }

  // ---- messages ----------------------------------------------------------------------------------------
  var counter = 0;
  function render(item) {
    var node = el("div", "msg " + (item.who === "user" ? "user" : "bot"));
    if (item.lang) node.setAttribute("lang", item.lang);
    var who = el("span", "sr who", str(item.who === "user" ? "you" : "bot"));
    who.setAttribute("data-who", item.who === "user" ? "you" : "bot");
    node.appendChild(who);
    var textId = "bt-m" + (counter += 1);
    var image = safeUrl(item.image);
    if (image) {
      var figure = el("figure");
      var img = el("img");
      img.src = image;
      img.alt = item.text || "";
      figure.appendChild(img);
      if (item.text) {
        var caption = el("figcaption", null, item.text);
        caption.id = textId;
        caption.setAttribute("aria-hidden", "true"); // read once, as the image's alt text
        figure.appendChild(caption);
      }
      node.appendChild(figure);
    } else if (item.text) {
      var text = el("p", null, item.text);
      text.id = textId;
      node.appendChild(text);
    }
    var doc = item.document && safeUrl(item.document.url);
    if (doc) {
      var title = item.document.title;
      var link = el("a", "doc" + (title ? "" : " untitled"), title || str("document"));
      link.href = doc;
      link.setAttribute("download", "");
      link.rel = "noopener noreferrer";
      node.appendChild(link);
    }
    if (item.buttons && item.buttons.length) {
      var group = el("div", "choices");
      group.setAttribute("role", "group");
      if (item.text) group.setAttribute("aria-labelledby", textId);
      item.buttons.forEach(function (b, index) {
        var button = el("button", "choice" + (item.chosen === index ? " chosen" : ""), b.title);
        button.type = "button";
        button.disabled = !!item.done;
        button.addEventListener("click", function () {
          if (item.done) return;
          item.chosen = index;
          send(b.payload, b.title, true);
        });
        group.appendChild(button);
      });
      node.appendChild(group);
    }
    item.node = node;
    ui.log.appendChild(node);
    return node;
  }

  function persist() {
    items = items.slice(-MAX_ITEMS);
    save("transcript", items.map(function (item) {
      var copy = {};
      Object.keys(item).forEach(function (k) { if (k !== "node") copy[k] = item[k]; });
      return copy;
    }));
  }

  function add(item) {
    items.push(item);
    ui.empty.hidden = true;
    render(item);
    var extra = items.length - MAX_ITEMS;
    for (var i = 0; i < extra; i += 1) if (items[i].node) items[i].node.remove();
    persist();
    scrollDown();
    return item;
  }

  function closeChoices() {
    var closed = [];
    items.forEach(function (item) {
      if (!item.buttons || item.done) return;
      item.done = true;
      closed.push(item);
      Array.prototype.forEach.call(item.node.querySelectorAll("button"), function (button, index) {
        button.disabled = true;
        if (item.chosen === index) button.classList.add("chosen");
      });
    });
    return closed;
  }

  function reopenChoices(closed) {
    closed.forEach(function (item) {
      item.done = false;
      delete item.chosen;
      Array.prototype.forEach.call(item.node.querySelectorAll("button"), function (button) {
        button.disabled = false;
        button.classList.remove("chosen");
      });
    });
  }

  function note(text) {
    var node = el("div", "msg note", text);
    ui.log.appendChild(node);
    scrollDown();
  }

  function clearNotes() {
    Array.prototype.forEach.call(ui.root.querySelectorAll(".note,.info"), function (node) { node.remove(); });
  }

  function setBusy(delta) {
    pending += delta;
    ui.typing.hidden = pending === 0;
    ui.log.setAttribute("aria-busy", String(pending > 0));
  }

  function postJson(path, body) {
    return fetch(api(path), {
      method: "POST",
      credentials: "omit",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (response) {
      if (!response.ok) {
        var error = new Error("HTTP " + response.status);
        error.status = response.status;
        throw error;
      }
      return response.json();
    });
  }

  function post(message, attempt) {
    return fetch(api("api/chat"), {
      method: "POST",
      credentials: "omit",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(clinic ? { conversation_id: conversationId, message: message, language: hint, clinic: clinic }
                                  : { conversation_id: conversationId, message: message, language: hint })
    }).then(function (response) {
      if (response.status === 429 && attempt < MAX_RETRIES) {
        var wait = parseInt(response.headers.get("Retry-After"), 10) || 2;
        return delay(Math.min(30, Math.max(1, wait)) * 1000).then(function () { return post(message, attempt + 1); });
      }
      if (!response.ok) {
        var error = new Error("HTTP " + response.status);
        error.status = response.status;
        throw error;
      }
      return response.json();
    });
  }

  function receive(body, fromButton) {
    var newest = null;
    var lang = typeof body.language === "string" ? body.language : stringsLanguage;
    (Array.isArray(body.messages) ? body.messages : []).forEach(function (m) {
      var item = { who: "bot", lang: lang };
      if (typeof m.text === "string") item.text = m.text;
      if (Array.isArray(m.buttons) && m.buttons.length) {
        item.buttons = m.buttons.map(function (b) { return { title: String(b.title), payload: String(b.payload) }; });
      }
      if (typeof m.image === "string") item.image = m.image;
      if (m.custom && safeUrl(m.custom.document)) {
        item.document = { url: m.custom.document, title: typeof m.custom.title === "string" ? m.custom.title : "" };
      }
      if (item.text || item.buttons || item.image || item.document) newest = add(item);
    });
    var active = ui.root.activeElement;
    var lost = !active || active.disabled; // focus was on the button just used
    if (fromButton && lost) {
      var first = newest && newest.buttons && newest.node.querySelector("button:not(:disabled)");
      (first || ui.input).focus();
    }
    if (typeof body.language === "string" && body.language !== stringsLanguage) {
      chosenLanguage = body.language;
      save("language", chosenLanguage);
      loadStrings(chosenLanguage).then(applyStrings);
    }
  }

  function send(message, shown, fromButton) {
    clearNotes();
    var closed = closeChoices();
    var mine = add({ who: "user", text: shown });
    setBusy(1);
    queue = queue.then(function () {
      return post(message, 0).then(function (body) {
        setBusy(-1);
        receive(body, fromButton);
      }, function (error) {
        setBusy(-1);
        items.splice(items.indexOf(mine), 1);
        mine.node.remove();
        persist();
        reopenChoices(closed);
        if (!fromButton && !ui.input.value) ui.input.value = message;
        note(str(error.status === 413 ? "error_too_long" : error.status === 429 ? "error_busy"
          : error.status === 502 || error.status === 503 ? "error_unavailable" : "error_connection"));
        if (fromButton && closed.length) {
          var again = closed[closed.length - 1].node.querySelector("button");
          if (again && !ui.root.activeElement) again.focus();
        }
      });
    });
  }

  // A follow-up return link, /chat?followup=<code> (shown at the end of a triage): open that
  // check-in once, then take the code out of the address bar so a reload or a shared screen does not
  // repeat or show it.
  function openFollowup() {
    var code = null;
    try { code = new URLSearchParams(window.location.search).get("followup"); } catch (e) { return; }
    if (!code || !/^[A-Za-z0-9_-]{8,64}$/.test(code)) return;
    try {
      var url = new URL(window.location.href);
      url.searchParams.delete("followup");
      window.history.replaceState(null, "", url.toString());
    } catch (e) { /* an old browser keeps the address as it is */ }
    send('/followup{"token": "' + code + '"}', str("followup"), false);
  }

  // Links to the patient's files (/files/<token>?expires=...&sig=...) expire: on resuming a
  // conversation that holds some, ask for fresh ones and put them in place of the old.
  var FILE_TOKEN = /\/files\/([A-Za-z0-9_-]{43})(?:[?#]|$)/;
  function fileToken(url) {
    var match = typeof url === "string" && FILE_TOKEN.exec(url);
    return match ? match[1] : null;
  }

  function refreshFiles() {
    var holding = items.filter(function (item) {
      return fileToken(item.image) || (item.document && fileToken(item.document.url));
    });
    if (!holding.length) return;
    postJson("api/documents", { conversation_id: conversationId }).then(function (body) {
      var fresh = (body && body.documents) || {};
      holding.forEach(function (item) {
        var image = fresh[fileToken(item.image)], doc = item.document && fresh[fileToken(item.document.url)];
        if (image && safeUrl(image)) item.image = image;
        if (doc && safeUrl(doc)) item.document.url = doc;
        if (item.node && (image || doc)) {
          var old = item.node;
          render(item);
          ui.log.replaceChild(item.node, old);
        }
      });
      persist();
    }, function () { /* offline or erased: the old links answer for themselves */ });
  }

  function start() {
    var language = chosenLanguage || hint;
    var ready = loadStrings(language);
    // Draw after the labels arrive (or after 3 s with the English ones), so nothing flickers.
    Promise.race([ready, delay(3000)]).then(function () {
      build();
      ready.then(applyStrings); // in case the labels came after the 3 s
      refreshFiles();
      openFollowup();
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
