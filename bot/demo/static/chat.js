// The demo's chat page. The server sends message views whose `html` it has already made safe
// (every character escaped, only Telegram's formatting as tags); everything else is set as text.
"use strict";

const state = { personas: [], current: null, chats: {}, username: "", socket: null };
const $ = (id) => document.getElementById(id);
const SHARE_NOTE = "Trong Telegram, nút này mở danh sách cuộc trò chuyện để gửi tin cho người khác.";

function chat(id) {
  if (!state.chats[id]) {
    state.chats[id] = { messages: new Map(), keyboard: [], menu: [], unread: 0, notices: [] };
  }
  return state.chats[id];
}

function connect() {
  const socket = new WebSocket(`ws://${location.host}/ws`);
  state.socket = socket;
  socket.onopen = () => { $("status").textContent = "bot"; };
  socket.onmessage = (event) => handle(JSON.parse(event.data));
  socket.onclose = () => {
    $("status").textContent = "mất kết nối, đang thử lại…";
    setTimeout(connect, 1000);
  };
}

function send(request) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) {
    state.socket.send(JSON.stringify(request));
  }
}

function handle(event) {
  switch (event.type) {
    case "hello":
      state.personas = event.personas;
      state.username = event.username;
      state.chats = {};
      $("bot-name").textContent = event.bot;
      $("site-link").href = event.site;
      if (!state.current || !event.personas.some((p) => p.id === state.current)) {
        state.current = event.personas[0].id;
      }
      drawPersonas();
      drawChat();
      break;
    case "message": {
      const c = chat(event.chat);
      const isNew = !c.messages.has(event.message.id);
      c.messages.set(event.message.id, event.message);
      if (event.chat === state.current) {
        upsert(event.message, isNew);
      } else if (isNew && !event.message.out) {
        c.unread += 1;
        drawPersonas();
      }
      break;
    }
    case "delete": {
      chat(event.chat).messages.delete(event.id);
      const node = document.querySelector(`.msg[data-id="${event.id}"]`);
      if (event.chat === state.current && node) node.remove();
      drawStart();
      break;
    }
    case "keyboard":
      chat(event.chat).keyboard = event.rows;
      chat(event.chat).placeholder = event.placeholder;
      if (event.chat === state.current) drawKeyboard(event.rows.length > 0);
      break;
    case "menu":
      chat(event.chat).menu = event.commands;
      if (event.chat === state.current) drawMenu();
      break;
    case "toast":
      if (event.chat === state.current) (event.alert ? alertBox : toast)(event.text);
      break;
    case "published":
      $("tools-note").textContent = event.title
        ? `Đã đăng: “${event.title}”. Người theo dõi tin sẽ nhận thông báo.`
        : "Trang mẫu đã đăng hết các bài mới.";
      break;
  }
}

function drawPersonas() {
  const box = $("personas");
  box.replaceChildren();
  for (const persona of state.personas) {
    const chip = document.createElement("button");
    chip.type = "button";
    chip.className = "chip" + (persona.staff ? " staff" : "");
    chip.dataset.persona = persona.id;
    chip.setAttribute("role", "tab");
    chip.setAttribute("aria-selected", String(persona.id === state.current));
    chip.textContent = persona.label + (persona.staff ? " ★" : "");
    const unread = chat(persona.id).unread;
    if (unread) {
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = unread;
      chip.append(badge);
    }
    chip.onclick = () => {
      state.current = persona.id;
      chat(persona.id).unread = 0;
      drawPersonas();
      drawChat();
    };
    box.append(chip);
  }
}

function drawChat() {
  const c = chat(state.current);
  $("messages").replaceChildren();
  const ids = [...c.messages.keys()].sort((a, b) => a - b);
  for (const id of ids) upsert(c.messages.get(id), true, false);
  scrollDown();
  drawKeyboard(c.keyboard.length > 0);
  drawMenu();
  $("commands").hidden = true;
  $("toast").hidden = true; // a button's answer belongs to the chat it was tapped in
  drawStart();
}

function drawStart() {
  $("start-box").hidden = chat(state.current).messages.size > 0;
}

function time(seconds) {
  const d = new Date(seconds * 1000);
  return d.toLocaleTimeString("vi-VN", { hour: "2-digit", minute: "2-digit" });
}

function render(view) {
  const node = document.createElement("div");
  node.className = "msg " + (view.out ? "out" : "in");
  node.dataset.id = view.id;
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  const body = document.createElement("div");
  body.className = "text";
  body.innerHTML = view.html; // made safe by the server (bot/demo/render.py)
  const media = [];
  if (view.photo) {
    const img = document.createElement("img");
    img.src = view.photo;
    img.alt = "Ảnh";
    img.className = "photo";
    img.onclick = () => window.open(view.photo, "_blank", "noopener");
    media.push(img);
  }
  if (view.document) {
    const doc = document.createElement("a");
    doc.className = "document";
    doc.href = view.document.url;
    doc.setAttribute("download", "");
    const icon = document.createElement("span");
    icon.className = "icon";
    icon.textContent = "📄";
    const name = document.createElement("span");
    name.textContent = "Tệp đính kèm — bấm để tải về";
    doc.append(icon, name);
    media.push(doc);
  }
  let preview = null;
  if (view.preview) {
    preview = document.createElement("img");
    preview.className = "link-preview";
    preview.src = view.preview.url;
    preview.alt = "";
    preview.onerror = () => preview.remove();
  }
  if (preview && view.preview.above) bubble.append(preview);
  bubble.append(...media, body);
  if (preview && !view.preview.above) bubble.append(preview);
  const meta = document.createElement("span");
  meta.className = "meta";
  meta.textContent = (view.edited ? "đã sửa · " : "") + time(view.date);
  bubble.append(meta);
  for (const spoiler of body.querySelectorAll(".spoiler")) {
    spoiler.onclick = () => spoiler.classList.add("shown");
  }
  for (const link of body.querySelectorAll("a[href]")) {
    link.onclick = (e) => { if (openBotLink(link.href)) e.preventDefault(); };
  }
  node.append(bubble);
  if (view.buttons.length) node.append(inlineKeyboard(view));
  return node;
}

function inlineKeyboard(view) {
  const box = document.createElement("div");
  box.className = "ikb";
  for (const row of view.buttons) {
    const line = document.createElement("div");
    line.className = "row";
    for (const button of row) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "ibtn" + (button.url ? " link" : "");
      b.textContent = button.text;
      b.onclick = () => tap(view, button);
      line.append(b);
    }
    box.append(line);
  }
  return box;
}

function tap(view, button) {
  if (button.data !== undefined) {
    send({ action: "press", chat: state.current, message: view.id, data: button.data });
  } else if (button.url) {
    if (!openBotLink(button.url)) window.open(button.url, "_blank", "noopener");
  } else if (button.share) {
    toast(SHARE_NOTE);
  }
}

// A link into the bot (t.me/<bot>?start=...) opens the article here, as Telegram would.
function openBotLink(href) {
  let url;
  try { url = new URL(href); } catch { return false; }
  if (url.hostname !== "t.me") return false;
  if (url.pathname === "/share/url") {
    toast(SHARE_NOTE);
    return true;
  }
  if (url.pathname.slice(1).toLowerCase() !== state.username.toLowerCase()) return false;
  const start = url.searchParams.get("start");
  send({ action: "send", chat: state.current, text: start ? `/start ${start}` : "/start" });
  return true;
}

function upsert(view, isNew, scroll = true) {
  const list = $("messages");
  const node = render(view);
  const old = list.querySelector(`.msg[data-id="${view.id}"]`);
  if (old) {
    old.replaceWith(node);
  } else {
    const later = [...list.querySelectorAll(".msg")].find((n) => Number(n.dataset.id) > view.id);
    list.insertBefore(node, later || null);
    if (scroll && isNew) scrollDown();
  }
  drawStart();
}

function scrollDown() {
  const list = $("messages");
  requestAnimationFrame(() => { list.scrollTop = list.scrollHeight; });
}

function drawKeyboard(show) {
  const rows = chat(state.current).keyboard;
  const box = $("keyboard");
  box.replaceChildren();
  for (const row of rows) {
    const line = document.createElement("div");
    line.className = "row";
    for (const text of row) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = text;
      b.onclick = () => sendText(text);
      line.append(b);
    }
    box.append(line);
  }
  box.hidden = !(show && rows.length);
  $("text").placeholder = chat(state.current).placeholder || "Nhập tin nhắn…";
  $("keyboard-toggle").hidden = rows.length === 0;
}

function drawMenu() {
  const box = $("commands");
  box.replaceChildren();
  for (const command of chat(state.current).menu) {
    const b = document.createElement("button");
    b.type = "button";
    b.setAttribute("role", "menuitem");
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = "/" + command.command;
    const desc = document.createElement("span");
    desc.className = "desc";
    desc.textContent = command.description;
    b.append(name, desc);
    b.onclick = () => {
      box.hidden = true;
      drawKeyboard(chat(state.current).keyboard.length > 0);
      sendText("/" + command.command);
    };
    box.append(b);
  }
  $("menu-button").hidden = chat(state.current).menu.length === 0;
}

function sendText(text) {
  text = text.trim();
  if (!text) return;
  send({ action: "send", chat: state.current, text });
}

let toastTimer = null;
function toast(text) {
  const box = $("toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, 2500);
}

function alertBox(text) {
  $("alert-text").textContent = text;
  $("alert").hidden = false;
}

$("composer").onsubmit = (e) => {
  e.preventDefault();
  sendText($("text").value);
  $("text").value = "";
};
$("text").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) {
    e.preventDefault();
    $("composer").requestSubmit();
  }
});
// Like Telegram, the command menu takes the place of the reply keyboard while it is open.
$("menu-button").onclick = () => {
  const open = $("commands").hidden;
  $("commands").hidden = !open;
  drawKeyboard(!open && chat(state.current).keyboard.length > 0);
};
$("keyboard-toggle").onclick = () => { $("keyboard").hidden = !$("keyboard").hidden; };
$("start").onclick = () => sendText("/start");
$("alert-ok").onclick = () => { $("alert").hidden = true; };
$("publish").onclick = () => {
  $("tools-note").textContent = "Đang đăng…";
  send({ action: "publish" });
};

connect();
