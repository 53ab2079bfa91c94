/* posbot web chat: the page's behaviour. No framework, no build step.
 *
 * - On load: GET /chat/history shows the conversation so far (a new visitor sends /start).
 * - Replies arrive by Server-Sent Events from the last reply id shown; each id is shown once,
 *   whichever way it came (history, stream, the answer to a POST).
 * - Every message gets an id made here once; a retry resends the same id, so it counts once.
 * - A reply marked in_place replaces the latest message with buttons (a ticked checklist);
 *   only that latest message's buttons can be tapped.
 * - Text is always set with textContent: nothing the merchant or the bot writes is HTML.
 */
(function () {
  "use strict";

  const words = JSON.parse(document.getElementById("words").textContent);
  const list = document.getElementById("messages");
  const scroller = document.getElementById("scroller");
  const form = document.getElementById("composer");
  const input = document.getElementById("input");
  const sendButton = document.getElementById("send");
  const statusBar = document.getElementById("status");
  const typing = document.getElementById("typing");
  const langSwitch = document.getElementById("lang-switch");

  const shown = new Set(); // reply ids on the page
  let lastId = 0; // the newest reply id shown: where the stream resumes
  let source = null; // the EventSource
  let retryDelay = 1000;
  let pending = 0; // POSTs waiting for their answer

  // ---- helpers -------------------------------------------------------------------------------

  function newId() {
    const bytes = new Uint8Array(12); // crypto.randomUUID needs https; this works on plain http
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function timeOf(iso) {
    const when = iso ? new Date(iso) : new Date();
    return when.toLocaleTimeString(document.documentElement.lang, { hour: "2-digit", minute: "2-digit" });
  }

  function nearBottom() {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 120;
  }

  function toBottom(force) {
    if (force || nearBottom()) scroller.scrollTop = scroller.scrollHeight;
  }

  function setStatus(state) {
    statusBar.dataset.state = state;
    statusBar.textContent = state === "online" ? "" : words[state] || "";
  }

  function sizeOf(bytes) {
    if (bytes < 1024) return bytes + " B";
    if (bytes < 1024 * 1024) return (bytes / 1024).toFixed(1) + " KB";
    return (bytes / 1024 / 1024).toFixed(1) + " MB";
  }

  // ---- showing messages ----------------------------------------------------------------------

  function replyNode(item) {
    const li = el("li", "msg reply by-" + item.by);
    li.dataset.id = String(item.id);
    li.dataset.keys = item.keys.join(" ");
    li.dataset.testid = "reply";
    if (item.by === "person") li.appendChild(el("span", "sender", words.person));
    li.appendChild(el("div", "text", item.text));
    if (item.attachments.length) {
      const files = el("div", "files");
      for (const file of item.attachments) {
        const link = el("a", "file", file.name);
        link.href = file.url;
        link.setAttribute("download", file.name);
        link.dataset.testid = "attachment";
        link.appendChild(el("span", "size", words.download + " · " + sizeOf(file.size)));
        files.appendChild(link);
      }
      li.appendChild(files);
    }
    if (item.buttons.length) {
      li.dataset.buttons = "true";
      const options = el("div", "options");
      options.setAttribute("role", "group");
      for (const button of item.buttons) {
        const b = el("button", "option", button.label);
        b.type = "button";
        b.dataset.value = button.value;
        b.dataset.testid = "option";
        b.addEventListener("click", () => tap(li, b, item.id, button.value));
        options.appendChild(b);
      }
      li.appendChild(options);
    }
    li.appendChild(el("time", "when", timeOf(item.at)));
    return li;
  }

  function latestKeyboard() {
    const boards = list.querySelectorAll('li[data-buttons="true"]');
    return boards.length ? boards[boards.length - 1] : null;
  }

  // only the latest message with buttons takes taps (the server refuses the others)
  function refreshKeyboards() {
    const latest = latestKeyboard();
    for (const board of list.querySelectorAll('li[data-buttons="true"]')) {
      const live = board === latest && board.dataset.answered !== "true";
      board.classList.toggle("stale", !live);
      for (const b of board.querySelectorAll("button.option")) b.disabled = !live;
    }
  }

  function showReply(item) {
    if (shown.has(item.id)) return;
    shown.add(item.id);
    lastId = Math.max(lastId, item.id);
    const follow = nearBottom();
    const node = replyNode(item);
    const board = item.in_place ? latestKeyboard() : null;
    if (board) board.replaceWith(node);
    else list.appendChild(node);
    refreshKeyboards();
    toBottom(follow);
  }

  function showTyped(text, at) {
    const li = el("li", "msg typed");
    li.dataset.testid = "typed";
    li.appendChild(el("div", "text", text));
    li.appendChild(el("time", "when", timeOf(at)));
    list.appendChild(li);
    toBottom(true);
    return li;
  }

  function notice(text) {
    const li = el("li", "notice", text);
    li.setAttribute("role", "alert");
    li.dataset.testid = "notice";
    list.appendChild(li);
    toBottom(true);
  }

  // ---- talking to the server -----------------------------------------------------------------

  async function request(path, options) {
    const response = await fetch(path, Object.assign({ credentials: "same-origin" }, options));
    if (response.status === 401) {
      // the cookie is gone or was not ours: a fresh page makes a new visitor
      if (!sessionStorage.getItem("posbot-reloaded")) {
        sessionStorage.setItem("posbot-reloaded", "1");
        location.reload();
      }
      throw new Error("no visitor");
    }
    sessionStorage.removeItem("posbot-reloaded");
    return response;
  }

  function showPending(on) {
    pending += on ? 1 : -1;
    typing.hidden = pending <= 0;
    if (pending > 0) toBottom(true);
  }

  // POST a message; network failures and 5xx are tried again with the same id (counted once)
  async function post(body, bubble) {
    showPending(true);
    try {
      for (let attempt = 0; ; attempt++) {
        let response;
        try {
          response = await request("/chat/messages", {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify(body),
          });
        } catch (error) {
          if (error.message === "no visitor") return null;
          response = null; // offline: try again
        }
        if (response && response.ok) {
          const answer = await response.json();
          if (bubble) {
            bubble.classList.remove("failed");
            bubble.querySelector(".text").textContent = answer.echo;
          }
          for (const item of answer.replies) showReply(item);
          return answer;
        }
        if (response && response.status < 500) {
          const problem = await response.json().catch(() => ({}));
          if (bubble) bubble.classList.add("refused");
          notice(problem.message || words.invalid);
          return null;
        }
        if (attempt >= 3) {
          if (bubble) failed(bubble, body);
          return null;
        }
        await new Promise((resolve) => setTimeout(resolve, 800 * 2 ** attempt));
      }
    } finally {
      showPending(false);
    }
  }

  function failed(bubble, body) {
    bubble.classList.add("failed");
    if (bubble.querySelector(".retry")) return;
    const retry = el("button", "retry", words.failed + " · " + words.retry);
    retry.type = "button";
    retry.dataset.testid = "retry";
    retry.addEventListener("click", () => {
      retry.remove();
      post(body, bubble);
    });
    bubble.appendChild(retry);
  }

  function sendText(text) {
    const body = { id: newId(), text: text };
    const bubble = showTyped(text);
    return post(body, bubble);
  }

  function tap(board, button, messageId, value) {
    board.dataset.answered = "true";
    button.classList.add("chosen");
    button.setAttribute("aria-pressed", "true");
    refreshKeyboards();
    post({ id: newId(), tap: { message: messageId, value: value } }, null).then((answer) => {
      if (answer === null) {
        delete board.dataset.answered; // refused or failed: the buttons work again
        button.classList.remove("chosen");
        button.removeAttribute("aria-pressed");
        refreshKeyboards();
      } else if (!answer.replies.some((r) => r.in_place)) {
        // the choice, as the merchant's line, goes before the replies it led to (the stream
        // may have shown them already)
        const choice = showTyped(answer.echo);
        const first = answer.replies.length
          ? list.querySelector('li[data-id="' + answer.replies[0].id + '"]')
          : null;
        if (first) list.insertBefore(choice, first);
      }
    });
  }

  // ---- the live stream -----------------------------------------------------------------------

  function connect() {
    if (source) source.close();
    setStatus(lastId || shown.size ? "reconnecting" : "connecting");
    source = new EventSource("/chat/stream?after=" + lastId);
    source.addEventListener("open", () => {
      retryDelay = 1000;
      setStatus("online");
    });
    source.addEventListener("reply", (event) => showReply(JSON.parse(event.data)));
    source.addEventListener("error", () => {
      setStatus("offline");
      if (source.readyState === EventSource.CLOSED) {
        // the browser gave up (a 401, the server away): start again from what is shown
        source = null;
        setTimeout(connect, retryDelay);
        retryDelay = Math.min(retryDelay * 2, 30000);
      }
    });
  }

  async function load() {
    let data;
    try {
      const response = await request("/chat/history");
      data = await response.json();
    } catch (error) {
      setStatus("offline");
      setTimeout(load, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 30000);
      return;
    }
    for (const item of data.items) {
      if (item.kind === "reply") showReply(item);
      else showTyped(item.text, item.at);
    }
    lastId = Math.max(lastId, data.last_id);
    toBottom(true);
    connect();
    if (!data.items.length) post({ id: "start", text: "/start" }, null); // the welcome, once
  }

  // ---- the composer and the language switch --------------------------------------------------

  function grow() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 160) + "px";
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    input.value = "";
    grow();
    sendText(text);
    input.focus();
  });

  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault(); // Enter sends, Shift+Enter starts a new line (not while an IME composes)
      form.requestSubmit();
    }
  });
  input.addEventListener("input", grow);

  langSwitch.addEventListener("click", async () => {
    langSwitch.disabled = true;
    const answer = await post({ id: newId(), text: "/lang " + langSwitch.dataset.lang }, null);
    if (answer !== null) location.reload(); // the page's own words follow the conversation's
    else langSwitch.disabled = false;
  });

  // a phone that slept, a network that came back: reconnect at once
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && (!source || source.readyState === EventSource.CLOSED)) {
      connect();
    }
  });
  window.addEventListener("online", () => {
    if (!source || source.readyState !== EventSource.OPEN) connect();
  });

  sendButton.disabled = false;
  load();
})();
