// Parley web client: IRC over a WebSocket (IRCv3 text.ircv3.net), one IRC
// line per message. No dependencies, no build step. Every piece of text from
// the network reaches the page through textContent or text nodes only.
'use strict';
(() => {

// ---------------------------------------------------------------- helpers

const $ = (sel) => document.querySelector(sel);
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}
const lower = (s) => s.replace(/[A-Z]/g, (c) => c.toLowerCase()); // ASCII casemapping
const pad = (n) => String(n).padStart(2, '0');
const hhmm = (d) => `${pad(d.getHours())}:${pad(d.getMinutes())}`;
const utf8len = (s) => new TextEncoder().encode(s).length;
const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const narrow = () => matchMedia('(max-width: 760px)').matches;
const finePointer = () => matchMedia('(pointer: fine)').matches;

const NICK_RE = /^[A-Za-z_[\]{}\\|^`][A-Za-z0-9_[\]{}\\|^`-]*$/;
const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const FORMAT_RE = /[\x02\x0f\x11\x16\x1d\x1e\x1f]|\x03(\d{1,2}(,\d{1,2})?)?|\x04([0-9a-fA-F]{6}(,[0-9a-fA-F]{6})?)?/g;
// The capabilities this client understands, requested when offered.
const WANT_CAPS = ['server-time', 'echo-message', 'multi-prefix', 'message-tags', 'away-notify',
  'cap-notify', 'extended-join', 'invite-notify', 'setname', 'batch', 'standard-replies',
  'draft/chathistory', 'soju.im/search', 'account-notify', 'account-tag', 'draft/read-marker'];
// Their replies come in batches: without batch they are not asked for.
const NEED_BATCH = ['draft/chathistory', 'soju.im/search'];
// Earlier messages asked for at a time (within the server's CHATHISTORY=N).
const HISTORY_PAGE = 50;
// Messages a search shows at most.
const SEARCH_LIMIT = 50;
// Lines kept from one batch: a reply is at most a page, so more is a fault.
const BATCH_MAX = 2000;
// How near the top of a room (px) scrolling asks for earlier messages.
const TOP_SLACK = 120;
const STORE_NICK = 'parley.nick';
// With "Remember me" ticked: { account, password, server } as JSON (the
// server's password only when it has one). Removed when the user signs out.
const STORE_ACCOUNT = 'parley.account';
// A MARKREAD waits this long for more lines to be read (ms): one per burst.
const MARK_DELAY = 400;
// Private conversations looked for on connecting (CHATHISTORY TARGETS).
const TARGETS_MAX = 10;
const MAX_LINES = 1500;
const SERVER_KEY = '*server';

// ------------------------------------------------------------------ state

const S = {
  ws: null,
  nick: '',              // the nickname the user asked for
  password: '',          // the server's, once it asked (464); kept in memory only
  // How the user comes in: 'guest', 'signin' (SASL PLAIN during CAP) or
  // 'register' (draft/account-registration REGISTER before CAP END, then
  // 'signin' for every reconnect). The account's password is kept in
  // memory for reconnects, and in localStorage only if remember is set.
  mode: 'guest',
  accountName: '', accountPassword: '', remember: false,
  account: '',           // the account the server says we are logged in as (900)
  auth: '',              // what CAP END waits for: 'sasl', 'register', or ''
  registerLater: false,  // REGISTER after the welcome (COMPLETE_CONNECTION_REQUIRED)
  capValues: new Map(),  // capability -> its value in CAP LS
  me: '',                // the nickname the server gave us
  registered: false,
  capDone: false,
  burstDone: false,      // MOTD over: numerics now answer the user, shown in the open tab
  quitting: false,       // we closed on purpose: no reconnect
  everWelcomed: false,
  caps: new Set(),
  offered: new Set(),
  nickTries: 0,
  isupport: { chantypes: '#&', modes: 'ov', syms: '@+', chanmodes: ['beI', 'k', 'l', 'imnpst'], nicklen: 30, network: '',
    chathistory: 0, msgreftypes: ['msgid', 'timestamp'] },
  buffers: new Map(),    // lowercased name -> buffer
  active: null,
  switchTo: new Set(),   // channels to open when our JOIN comes back
  names: new Map(),      // channel key -> members being collected from 353
  attempt: 0, retryTimer: 0, retryAt: 0, countdown: 0, regTimer: 0,
  lastRx: 0,
  history: [], histPos: 0,
  complete: null,
  batches: new Map(),    // open batch reference -> { type, params, lines }
  search: null,          // the search asked for: { room, text }, until its batch ends
};

const ui = {};
for (const id of ['login', 'login-form', 'nick-input', 'pass-label', 'pass-input', 'login-error', 'connect-btn',
  'mode-choice', 'nick-label', 'nick-hint', 'account-fields', 'account-pass-label', 'account-pass-input',
  'account-pass-hint', 'remember-input', 'my-account',
  'app', 'rooms', 'queries',
  'queries-heading', 'join-form', 'join-input', 'my-nick', 'logout-btn', 'rooms-toggle', 'rooms-unread',
  'room-title', 'topic', 'status', 'members-toggle', 'member-count', 'leave-btn', 'conn-banner', 'conn-text',
  'reconnect-btn', 'messages', 'composer', 'message-input', 'members', 'members-heading-count', 'network-name',
  'scrim', 'search-toggle', 'search-form', 'search-input', 'search-label', 'search-close', 'search-view',
  'search-title', 'search-results', 'search-back', 'history-status', 'notify-btn', 'notify-hint']) {
  ui[id.replace(/-(\w)/g, (_, c) => c.toUpperCase())] = document.getElementById(id);
}

// -------------------------------------------------------------- IRC lines

function unescapeTag(v) {
  return v.replace(/\\(.?)/g, (_, c) => ({ ':': ';', s: ' ', r: '\r', n: '\n', '\\': '\\' })[c] ?? c);
}

// Splits one IRC line into tags, source, command and parameters.
function parse(line) {
  const m = { tags: {}, prefix: '', nick: '', command: '', params: [] };
  let i = 0;
  const word = () => {
    while (line[i] === ' ') i++;
    let j = line.indexOf(' ', i);
    if (j < 0) j = line.length;
    const w = line.slice(i, j);
    i = j;
    return w;
  };
  if (line[0] === '@') {
    for (const t of word().slice(1).split(';')) {
      const eq = t.indexOf('=');
      if (t) m.tags[eq < 0 ? t : t.slice(0, eq)] = eq < 0 ? '' : unescapeTag(t.slice(eq + 1));
    }
  }
  while (line[i] === ' ') i++;
  if (line[i] === ':') {
    m.prefix = word().slice(1);
    m.nick = m.prefix.split('!')[0].split('@')[0];
  }
  m.command = word().toUpperCase();
  while (i < line.length) {
    while (line[i] === ' ') i++;
    if (i >= line.length) break;
    if (line[i] === ':') { m.params.push(line.slice(i + 1)); break; }
    m.params.push(word());
  }
  return m;
}

function send(line) {
  if (!S.ws || S.ws.readyState !== WebSocket.OPEN) return false;
  S.ws.send(line.replace(/[\r\n]+/g, ' '));
  return true;
}

const isMe = (nick) => !!nick && lower(nick) === lower(S.me);
// Said by us, maybe from another connection of our account (another
// nick): history tells by the account tag, or by the account's own nick.
const isSelf = (m) => isMe(m.nick) || (!!S.account &&
  (lower(m.tags.account || '') === lower(S.account) || lower(m.nick) === lower(S.account)));
const isChannel = (t) => !!t && S.isupport.chantypes.includes(t[0]);
function msgTime(m) {
  const d = m.tags.time ? new Date(m.tags.time) : null;
  return d && !isNaN(d) ? d : new Date();
}

// ---------------------------------------------------------------- buffers

function bufferKey(name, type) { return type === 'server' ? SERVER_KEY : lower(name); }
function findBuffer(name) { return name ? S.buffers.get(lower(name)) : undefined; }
function serverBuffer() { return getBuffer('server', 'server'); }

function getBuffer(name, type) {
  const key = bufferKey(name, type);
  let b = S.buffers.get(key);
  if (b) return b;
  b = { key, name, type, joined: false, rejoin: type === 'channel', topic: '', members: new Map(),
    unread: 0, mention: false, stick: true, lastDay: '',
    msgids: new Set(),   // the msgids shown: history and the live stream overlap
    // Earlier messages: asked (a request is out), started (LATEST answered
    // since the join), done (none earlier), failed (the server's reason).
    hist: { asked: '', started: false, done: false, failed: '', gap: null },
    anchor: null,        // our JOIN's line: live messages begin after it
    // draft/read-marker: the time (ms) up to which the account has read
    // this tab, on any device; readKnown once the server said (or we did).
    readAt: 0, readKnown: false, markTimer: 0,
  };
  b.log = el('div', 'log');
  b.log.dataset.buffer = type === 'server' ? 'server' : name;
  b.log.hidden = true;
  b.log.setAttribute('role', 'log');
  // Focusable, so the keyboard can scroll it (and so load earlier messages).
  b.log.tabIndex = 0;
  b.log.addEventListener('scroll', () => {
    if (b.log.hidden) return;
    b.stick = b.log.scrollTop + b.log.clientHeight >= b.log.scrollHeight - 40;
    if (b.log.scrollTop < TOP_SLACK) loadEarlier(b);
  });
  // The top of a room: loading, a button for more, or the beginning.
  b.top = el('div', 'history-top');
  b.top.hidden = true;
  b.log.append(b.top);
  ui.messages.append(b.log);
  b.tab = el('li', 'tab');
  b.tab.dataset.type = type;
  const open = el('button', 'tab-open');
  open.type = 'button';
  open.append(el('span', 'tab-name'), el('span', 'badge'));
  b.tab.append(open);
  if (type !== 'server') {
    const x = el('button', 'tab-close', '×');
    x.type = 'button';
    b.tab.append(x);
  }
  S.buffers.set(key, b);
  labelTab(b);
  orderTabs();
  if (!S.active) activate(b);
  if (type === 'query') queryOpened(b);
  return b;
}

function labelTab(b) {
  b.log.setAttribute('aria-label', b.type === 'server' ? 'Server messages' : `Messages in ${b.name}`);
  b.tab.dataset.target = b.type === 'server' ? 'server' : b.name;
  b.tab.dataset.key = b.key;
  b.tab.querySelector('.tab-name').textContent = b.type === 'server' ? (S.isupport.network || 'Server') : b.name;
  const badge = b.tab.querySelector('.badge');
  badge.textContent = b.unread > 99 ? '99+' : String(b.unread);
  badge.hidden = !b.unread;
  b.tab.classList.toggle('mention', b.mention);
  b.tab.classList.toggle('parted', b.type === 'channel' && !b.joined);
  b.tab.classList.toggle('active', b === S.active);
  const x = b.tab.querySelector('.tab-close');
  if (x) x.title = b.type === 'channel' ? `Leave ${b.name}` : `Close ${b.name}`;
  if (x) x.setAttribute('aria-label', x.title);
  b.tab.querySelector('.tab-open').setAttribute('aria-current', b === S.active ? 'page' : 'false');
  const others = [...S.buffers.values()].some((o) => o !== S.active && o.unread);
  ui.roomsUnread.hidden = !others;
}

function orderTabs() {
  const all = [...S.buffers.values()];
  const byName = (a, b) => (a.type === 'server' ? -1 : b.type === 'server' ? 1 : a.key < b.key ? -1 : 1);
  ui.rooms.append(...all.filter((b) => b.type !== 'query').sort(byName).map((b) => b.tab));
  const q = all.filter((b) => b.type === 'query').sort(byName);
  ui.queries.append(...q.map((b) => b.tab));
  ui.queriesHeading.hidden = !q.length;
}

function renameBuffer(b, name) {
  S.buffers.delete(b.key);
  b.name = name;
  b.key = bufferKey(name, b.type);
  b.log.dataset.buffer = name;
  S.buffers.set(b.key, b);
  labelTab(b);
  orderTabs();
  if (b === S.active) renderHeader();
}

function removeBuffer(b) {
  const list = [...S.buffers.values()];
  const i = list.indexOf(b);
  S.buffers.delete(b.key);
  b.log.remove();
  b.tab.remove();
  orderTabs();
  if (S.active === b) {
    S.active = null;
    const rest = [...S.buffers.values()];
    const next = rest[Math.min(Math.max(i - 1, 0), rest.length - 1)];
    if (next) activate(next); else renderHeader();
  }
}

function activate(b) {
  const prev = S.active;
  S.active = b;
  if (prev && prev !== b) {
    prev.savedTop = prev.log.scrollTop;
    prev.log.hidden = true;
    labelTab(prev);
  }
  b.log.hidden = false;
  b.unread = 0;
  b.mention = false;
  labelTab(b);
  renderHeader();
  renderMembers();
  b.log.scrollTop = b.stick ? b.log.scrollHeight : b.savedTop || 0;
  closeSearch();
  renderSearchToggle();
  fillView(b);
  markSoon(b);
  ui.messageInput.placeholder = b.type === 'server' ? 'Type /join #room or /help' : `Message ${b.name}`;
  closeDrawers();
  updateTitle();
  if (finePointer()) ui.messageInput.focus();
}

function renderHeader() {
  const b = S.active;
  ui.roomTitle.textContent = !b ? SITE : b.type === 'server' ? (S.isupport.network || 'Server') : b.name;
  ui.topic.textContent = '';
  if (b?.type === 'channel') {
    if (!b.joined && b.rejoin) ui.topic.textContent = 'You will be back in this room when the connection is.';
    else if (!b.joined) ui.topic.textContent = `You are not in this room: /join ${b.name} to go back.`;
    else if (b.topic) appendRich(ui.topic, b.topic);
    else ui.topic.textContent = 'No topic';
  } else if (b?.type === 'query') {
    ui.topic.textContent = `Private conversation with ${b.name}`;
  } else {
    ui.topic.textContent = 'Server messages';
  }
  ui.topic.title = ui.topic.textContent;
  const chan = b?.type === 'channel';
  ui.app.classList.toggle('no-members', !chan);
  ui.membersToggle.hidden = !chan;
  ui.leaveBtn.hidden = !b || b.type === 'server';
  ui.leaveBtn.textContent = chan && (b.joined || b.rejoin) ? 'Leave' : 'Close';
  ui.leaveBtn.title = chan ? `Leave ${b.name}` : 'Close this conversation';
}

// ---------------------------------------------------------------- members

function rank(prefix) {
  const i = prefix ? S.isupport.syms.indexOf(prefix[0]) : -1;
  return i < 0 ? S.isupport.syms.length : i;
}
function sortPrefix(p) {
  return [...new Set(p)].filter((c) => S.isupport.syms.includes(c))
    .sort((a, b) => S.isupport.syms.indexOf(a) - S.isupport.syms.indexOf(b)).join('');
}

function renderMembers() {
  const b = S.active;
  ui.members.textContent = '';
  if (!b || b.type !== 'channel') return;
  const list = [...b.members.values()].sort((x, y) =>
    rank(x.prefix) - rank(y.prefix) || (lower(x.nick) < lower(y.nick) ? -1 : 1));
  for (const m of list) {
    const li = el('li', 'member');
    li.dataset.nick = m.nick;
    li.classList.toggle('away', !!m.away);
    li.classList.toggle('self', isMe(m.nick));
    const btn = el('button', 'member-btn');
    btn.type = 'button';
    btn.title = isMe(m.nick) ? 'You' : `Send ${m.nick} a private message`;
    btn.append(el('span', 'prefix', m.prefix[0] || ''), el('span', 'name ' + nickColor(m.nick), m.nick));
    li.append(btn);
    ui.members.append(li);
  }
  ui.memberCount.textContent = ui.membersHeadingCount.textContent = String(list.length);
}
function membersChanged(b) { if (b === S.active) renderMembers(); }

// ----------------------------------------------------------------- output

function nickColor(nick) {
  let h = 0;
  for (const c of lower(nick)) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return 'c' + (h % 8);
}

// Appends text with http(s) URLs made into links; IRC formatting removed.
function appendRich(parent, text) {
  text = text.replace(FORMAT_RE, '');
  let last = 0;
  for (const m of text.matchAll(URL_RE)) {
    let url = m[0].replace(/[.,;:!?'")\]]+$/, '');
    if (m[0].includes('(') && m[0].endsWith(')') && !url.endsWith(')')) url += ')';
    parent.append(text.slice(last, m.index));
    const a = el('a', 'link', url);
    a.href = url;
    a.target = '_blank';
    a.rel = 'noopener noreferrer nofollow';
    parent.append(a);
    last = m.index + url.length;
  }
  parent.append(text.slice(last));
}

const SAID = ['msg', 'action', 'notice'];
const dayLabel = (d) => d.toLocaleDateString(undefined, { weekday: 'long', month: 'long', day: 'numeric' });

// One line of a tab. kind: msg, action, notice (from a person), status
// (joins etc.), info, error. earlier: it comes from the room's history.
function makeRow(kind, { nick = '', text = '', time = null, self = false, msgid = '', earlier = false }) {
  const d = time || new Date();
  const row = el('div', `message ${kind}`);
  row.dataset.kind = kind;
  row.dataset.ts = String(d.getTime());
  if (msgid) row.dataset.msgid = msgid;
  if (earlier) row.classList.add('earlier');
  const t = el('time', 'time', hhmm(d));
  t.dateTime = d.toISOString();
  t.title = d.toLocaleString();
  row.append(t);
  const body = el('span', 'body');
  if (nick) {
    row.dataset.nick = nick;
    if (kind === 'action') body.append(el('span', 'star', '*'), ' ');
    body.append(el('span', 'nick ' + nickColor(nick), nick), ' ');
  }
  const span = el('span', 'text');
  appendRich(span, text);
  body.append(span);
  row.append(body);
  const mention = !self && nick && S.me && SAID.includes(kind) &&
    new RegExp(`(^|[^\\w])${escapeRe(S.me)}($|[^\\w])`, 'i').test(text);
  if (self) row.classList.add('self');
  if (mention) row.classList.add('mention');
  if (SAID.includes(kind)) row.classList.add('said');
  return row;
}

// Appends a line as it happens. A message whose msgid the tab already
// shows (it came in the room's history first) is not shown again: null.
function addLine(b, kind, opts = {}) {
  if (!b) b = S.active || serverBuffer();
  if (opts.msgid && b.msgids.has(opts.msgid)) return null;
  const row = makeRow(kind, opts);
  if (opts.msgid) b.msgids.add(opts.msgid);
  const d = new Date(+row.dataset.ts);
  const day = d.toDateString();
  if (b.lastDay && b.lastDay !== day) b.log.append(el('div', 'day', dayLabel(d)));
  b.lastDay = day;
  if (!b.log.hidden) b.stick = b.log.scrollTop + b.log.clientHeight >= b.log.scrollHeight - 40;
  b.log.append(row);
  trim(b);
  if (b.stick && !b.log.hidden) b.log.scrollTop = b.log.scrollHeight;
  if (SAID.includes(kind) && !opts.self && (b !== S.active || document.hidden) &&
      !(b.readKnown && +row.dataset.ts <= b.readAt)) {
    if (b !== S.active) b.unread++;
    if (row.classList.contains('mention') || b.type === 'query') b.mention = b !== S.active;
    labelTab(b);
    updateTitle(true);
    if (row.classList.contains('mention') || b.type === 'query') notify(b, opts);
  }
  if (SAID.includes(kind)) markSoon(b);
  return row;
}

// At most MAX_LINES lines, the oldest going first; but not while the
// user reads further up (they go once the user is back at the bottom).
// What goes can be loaded again from the history.
function trim(b) {
  if (!b.stick) return;
  while (b.log.childElementCount > MAX_LINES + 1) {
    const first = b.top.nextElementSibling;
    if (!first) break;
    if (first.dataset.msgid) b.msgids.delete(first.dataset.msgid);
    first.remove();
    if (b.hist.done) { b.hist.done = false; renderTop(b); }
  }
}

// The day lines again, after lines were put in between; earlier messages
// from before today get one above them too.
function redoDays(b) {
  for (const d of b.log.querySelectorAll(':scope > .day')) d.remove();
  let last = new Date().toDateString();
  let first = true;
  for (const row of [...b.log.querySelectorAll(':scope > .message')]) {
    const d = new Date(+row.dataset.ts);
    const day = d.toDateString();
    if (last !== day && (!first || row.classList.contains('earlier'))) row.before(el('div', 'day', dayLabel(d)));
    last = day;
    first = false;
  }
  b.lastDay = last;
}
const info = (text, b) => addLine(b, 'info', { text });
const error = (text, b) => addLine(b, 'error', { text });

// The server's name for its page (web-title), which it writes into
// index.html; the page's own when it was not served by parleyd.
const SITE = (() => {
  const v = document.querySelector('meta[name="application-name"]')?.content;
  return v && !v.startsWith('{{') ? v : 'Parley';
})();

let unseen = 0;
function updateTitle(bump) {
  if (bump && document.hidden) unseen++;
  if (!document.hidden) unseen = 0;
  const where = S.active && S.active.type !== 'server' ? `${S.active.name} · ` : '';
  document.title = `${unseen ? `(${unseen}) ` : ''}${where}${SITE}`;
}
document.addEventListener('visibilitychange', () => { updateTitle(); if (S.active) markSoon(S.active); });

// Browser notifications of mentions and private messages while the tab is
// hidden: asked for only when the user clicks "Notify me" (a browser asks
// for permission on a user's gesture, and nobody likes a prompt on
// arrival); the button shows while the browser has not been answered.
function renderNotifyButton() {
  const askable = 'Notification' in window && Notification.permission === 'default';
  ui.notifyBtn.hidden = ui.notifyHint.hidden = !askable;
}
ui.notifyBtn.addEventListener('click', async () => {
  try { await Notification.requestPermission(); } catch { /* an old browser: no promise */ }
  renderNotifyButton();
});
renderNotifyButton();

// One notification per tab at a time (tag): a burst replaces, not piles up.
function notify(b, { nick = '', text = '' }) {
  if (!document.hidden || !('Notification' in window) || Notification.permission !== 'granted') return;
  const title = b.type === 'query' ? `${nick} (private)` : `${nick} in ${b.name}`;
  try {
    const n = new Notification(title, { body: text.slice(0, 200), tag: `${SITE} ${b.name}`, icon: 'favicon.svg' });
    n.onclick = () => { window.focus(); if ([...S.buffers.values()].includes(b)) activate(b); n.close(); };
  } catch { /* Chrome on Android: only a service worker may notify */ }
}

// ------------------------------------------------------------- connection

function setStatus(state, text) {
  ui.status.dataset.state = state;
  ui.status.textContent = text;
  ui.connBanner.hidden = state !== 'offline';
  ui.app.dataset.conn = state;
}

function wsUrl() {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`;
}

function connect() {
  clearTimeout(S.retryTimer);
  clearInterval(S.countdown);
  if (S.ws) { const old = S.ws; S.ws = null; old.close(); }
  Object.assign(S, { registered: false, capDone: false, burstDone: false, quitting: false, nickTries: 0,
    account: '', auth: '', registerLater: false });
  S.caps.clear();
  S.offered.clear();
  S.capValues.clear();
  showAccount();
  S.batches.clear();
  // What was asked of the old connection is not coming.
  for (const b of S.buffers.values()) b.hist.asked = '';
  setStatus('connecting', 'Connecting…');
  let ws;
  try {
    ws = new WebSocket(wsUrl(), ['text.ircv3.net']);
  } catch (e) {
    error(`Cannot connect: ${e.message}`, serverBuffer());
    scheduleReconnect();
    return;
  }
  ws.binaryType = 'arraybuffer';
  S.ws = ws;
  ws.onopen = () => {
    if (ws !== S.ws) return;
    S.lastRx = Date.now();
    setStatus('connecting', 'Signing in…');
    send('CAP LS 302');
    if (S.password) send(`PASS :${S.password}`);
    send(`NICK ${S.nick}`);
    send(`USER ${S.nick} 0 * :Parley web client`);
    clearTimeout(S.regTimer);
    S.regTimer = setTimeout(() => { if (ws === S.ws && !S.registered) ws.close(); }, 20000);
  };
  ws.onmessage = (ev) => {
    if (ws !== S.ws) return;
    S.lastRx = Date.now();
    const data = typeof ev.data === 'string' ? ev.data : new TextDecoder().decode(ev.data);
    for (const line of data.split(/\r?\n/)) if (line) receive(line);
  };
  ws.onclose = (ev) => {
    if (ws !== S.ws) return;
    S.ws = null;
    disconnected(ev);
  };
}

function disconnected(ev) {
  clearTimeout(S.regTimer);
  if (S.search) { searchFailed('the connection was lost.'); S.search = null; }
  const was = S.registered;
  S.registered = false;
  for (const b of S.buffers.values()) {
    if (b.type !== 'channel') continue;
    if (b.joined && was) addLine(b, 'status', { text: 'Disconnected' });
    b.joined = false;
    b.members.clear();
    labelTab(b);
  }
  renderHeader();
  renderMembers();
  if (S.quitting) { setStatus('idle', 'Not connected'); return; }
  if (!was) info(`Connection closed${ev?.code && ev.code !== 1006 ? ` (code ${ev.code})` : ''}.`, serverBuffer());
  scheduleReconnect();
}

function scheduleReconnect() {
  const delay = Math.min(30, 2 ** S.attempt) * 1000;
  S.attempt++;
  S.retryAt = Date.now() + delay;
  const tick = () => {
    const s = Math.max(0, Math.ceil((S.retryAt - Date.now()) / 1000));
    setStatus('offline', `Reconnecting in ${s} s`);
    ui.connText.textContent = `Connection lost. Reconnecting in ${s} s…`;
  };
  tick();
  clearInterval(S.countdown);
  S.countdown = setInterval(tick, 1000);
  clearTimeout(S.retryTimer);
  S.retryTimer = setTimeout(connect, delay);
}

// Liveness: the server pings idle clients, but a dead network path shows
// only as silence, so ping it ourselves and give up after 90 s of nothing.
setInterval(() => {
  if (!S.ws || !S.registered) return;
  const quiet = Date.now() - S.lastRx;
  if (quiet > 90000) S.ws.close();
  else if (quiet > 45000) send(`PING :keepalive`);
}, 15000);
window.addEventListener('online', () => { if (!S.ws && !S.quitting && S.nick && ui.login.hidden) connect(); });

function welcomed(m) {
  S.registered = true;
  S.me = m.params[0] || S.nick;
  S.attempt = 0;
  clearTimeout(S.regTimer);
  setStatus('connected', 'Connected');
  ui.myNick.textContent = S.me;
  if (!isMe(S.nick)) {
    // Said again in the first room we join, where the user will be looking.
    S.nickNote = S.account && lower(S.nick) === lower(S.account)
      ? `You are signed in as ${S.account}, whose nickname another connection (yours) has: here you are ${S.me}.`
      : `${S.nick} is taken, so you are ${S.me} for now. Type /nick NAME to pick another.`;
    error(S.nickNote, serverBuffer());
  }
  const chans = [...S.buffers.values()].filter((b) => b.type === 'channel' && b.rejoin).map((b) => b.name);
  if (!S.everWelcomed) {
    S.everWelcomed = true;
    if (!chans.some((c) => lower(c) === '#lobby')) chans.unshift('#lobby');
    S.switchTo.add('#lobby');
  }
  for (let i = 0; i < chans.length; i += 10) send(`JOIN ${chans.slice(i, i + 10).join(',')}`);
  if (S.registerLater && S.mode === 'register') sendRegister();
  // The private conversations: those open fill again, those had
  // elsewhere (another device, an earlier visit) come as tabs.
  for (const b of S.buffers.values()) {
    if (b.type !== 'query') continue;
    Object.assign(b.hist, { asked: '', started: false, failed: '', gap: null });
    queryOpened(b);
  }
  askTargets();
}

// ------------------------------------------------------------- accounts
//
// Signing in is SASL PLAIN during capability negotiation (IRCv3 sasl-3.2):
// CAP REQ sasl, AUTHENTICATE PLAIN, the payload in base64 pieces of 400
// bytes (and "+" after a full last one); CAP END once the server said 903,
// or back to the form on 904. Creating an account is
// draft/account-registration's REGISTER before CAP END (before-connect),
// which logs in too; a server that wants the connection complete first
// gets it after the welcome. An account's name is the nickname asked for.

function b64utf8(text) {
  let bin = '';
  for (const x of new TextEncoder().encode(text)) bin += String.fromCharCode(x);
  return btoa(bin);
}

// At the end of CAP LS: false (and back to the form) when the server
// cannot do what the user chose.
function accountPossible() {
  if (S.capDone) return true;
  if (S.mode === 'signin') {
    const mechs = S.capValues.get('sasl');
    if (!S.offered.has('sasl')) {
      authFailed('This server does not offer signing in (it has no SASL). Come in as a guest instead.');
      return false;
    }
    if (mechs && !mechs.split(',').includes('PLAIN')) {
      authFailed(`This server does not take passwords over SASL (it offers ${mechs}).`);
      return false;
    }
  } else if (S.mode === 'register' && !S.offered.has('draft/account-registration')) {
    authFailed('This server does not let the page create accounts. Come in as a guest instead.');
    return false;
  }
  return true;
}

// The capabilities are settled: sign in or register, then CAP END.
function afterCaps() {
  if (S.capDone || S.auth) return;
  if (S.mode === 'signin') {
    if (!S.caps.has('sasl')) { authFailed('The server would not let this page sign in (it refused SASL).'); return; }
    S.auth = 'sasl';
    send('AUTHENTICATE PLAIN');
    return;
  }
  if (S.mode === 'register') {
    const keys = (S.capValues.get('draft/account-registration') || '').split(',').map((k) => k.split('=')[0]);
    if (keys.includes('email-required')) {
      authFailed('This server wants an e-mail address to create an account, which this page does not ask for.');
      return;
    }
    if (keys.includes('before-connect')) { S.auth = 'register'; sendRegister(); return; }
    S.registerLater = true;
  }
  capEnd();
}

function sendRegister() { send(`REGISTER ${S.accountName} * :${S.accountPassword}`); }

function saslPlain() {
  const name = S.accountName;
  const payload = b64utf8(`${name}\0${name}\0${S.accountPassword}`);
  for (let i = 0; i < payload.length; i += 400) send(`AUTHENTICATE ${payload.slice(i, i + 400)}`);
  if (payload.length % 400 === 0) send('AUTHENTICATE +');
}

function saslDone() {
  if (S.auth !== 'sasl') return;
  S.auth = '';
  signedIn();
  capEnd();
}

function saslFailed(text, code) {
  if (S.auth !== 'sasl') { if (S.registered && text) error(text, S.active); return; }
  S.auth = '';
  if (/too many|throttl|try again later/i.test(text)) {
    authFailed('Too many failed sign-ins for this account or from this address: wait a few minutes, then try again.');
  } else if (code === '904') {
    authFailed(`Wrong account name or password for “${S.accountName}”. Please try again.`, true);
  } else {
    authFailed(`The server stopped the sign-in${text ? `: ${text}` : '.'}`);
  }
}

// REGISTER SUCCESS: the account is made and we are logged in to it; from
// now on (reconnects) it is signed in to.
function registered(account) {
  if (account) S.account = account;
  S.auth = '';
  S.registerLater = false;
  signedIn();
  if (!S.registered) capEnd();
  else info(`Your account ${S.account} is made and you are signed in to it.`, S.active);
}

function signedIn() {
  S.mode = 'signin';
  setMode('signin');
  showAccount();
  rememberAccount();
}

const REGISTER_ERRORS = {
  ACCOUNT_EXISTS: (n) => `“${n}” is already registered, or someone is using that nickname now. Pick another name, or sign in if the account is yours.`,
  BAD_ACCOUNT_NAME: (n, t) => `“${n}” cannot be an account's name: ${t}`,
  ACCOUNT_NAME_MUST_BE_NICK: (n, t) => `“${n}” cannot be the account's name: ${t}`,
  WEAK_PASSWORD: (n, t) => `That password is too weak: ${t}`,
  UNACCEPTABLE_PASSWORD: (n, t) => `That password cannot be used: ${t}`,
  ALREADY_AUTHENTICATED: () => 'You are signed in already.',
  TEMPORARILY_UNAVAILABLE: (n, t) => `Accounts cannot be created now: ${t}`,
  NEED_NICK: () => 'Please type a nickname: it becomes the account\'s name.',
};

function registerFailed(code, text) {
  if (code === 'COMPLETE_CONNECTION_REQUIRED' && !S.registered && S.auth === 'register') {
    S.auth = '';
    S.registerLater = true;
    capEnd();
    return;
  }
  const say = REGISTER_ERRORS[code];
  const why = say ? say(S.accountName || S.me, text) : `The account was not made: ${text}`;
  if (S.auth === 'register' || S.registerLater) {
    S.auth = '';
    S.registerLater = false;
    authFailed(why);
  } else {
    error(why, S.active);
  }
}

// The user's choice cannot be done: back to the form, saying why.
// forget: the remembered password is wrong, so it goes.
function authFailed(text, forget = false) {
  S.auth = '';
  S.accountPassword = '';
  if (forget) forgetAccount();
  signOut(false);
  showLoginError(text);
  ui.accountPassInput.value = '';
  (formMode() === 'guest' ? ui.nickInput : ui.accountPassInput).focus();
}

function showAccount() {
  ui.myAccount.hidden = !S.account;
  ui.myAccount.textContent = S.account ? `Signed in as ${S.account}` : '';
}

// "Remember me": only when ticked, in this browser's localStorage; signing
// out removes it.
function rememberAccount() {
  ui.accountPassInput.value = '';
  if (!S.remember) return;
  const saved = { account: S.account || S.accountName, password: S.accountPassword };
  if (S.password) saved.server = S.password;
  try { localStorage.setItem(STORE_ACCOUNT, JSON.stringify(saved)); } catch { /* private mode */ }
}
function forgetAccount() {
  try { localStorage.removeItem(STORE_ACCOUNT); } catch { /* private mode */ }
}

const formMode = () => ui.modeChoice.querySelector('input:checked')?.value || 'guest';
function setMode(mode) {
  for (const r of ui.modeChoice.querySelectorAll('input')) r.checked = r.value === mode;
  renderMode();
}
// The form follows the choice: guest, sign in, create an account.
function renderMode() {
  const mode = formMode();
  const account = mode !== 'guest';
  ui.accountFields.hidden = !account;
  ui.nickLabel.textContent = account ? 'Account name' : 'Nickname';
  ui.nickInput.autocomplete = account ? 'username' : 'nickname';
  ui.accountPassInput.autocomplete = mode === 'register' ? 'new-password' : 'current-password';
  ui.accountPassLabel.textContent = mode === 'register' ? 'Choose a password' : 'Password';
  ui.accountPassHint.hidden = mode !== 'register';
  ui.accountPassHint.textContent = 'The account\'s name is your nickname: nobody else can take it while it is yours.';
  ui.connectBtn.textContent = mode === 'signin' ? 'Sign in' : mode === 'register' ? 'Create account' : 'Connect';
}
ui.modeChoice.addEventListener('change', () => { showLoginError(''); renderMode(); });

// --------------------------------------------------------- read markers
//
// draft/read-marker: the server keeps, for the account, up to when each
// room and conversation was read, and tells every connection of the
// account when that moves (MARKREAD). The page says MARKREAD when the
// newest lines of a tab are in front of the user (the tab open, the page
// visible), and counts as unread only what is newer than the marker: so
// reading on one device clears the badge on another.

const canMark = () => S.caps.has('draft/read-marker') && !!S.account && S.registered;

function markSoon(b) {
  if (!b || b.type === 'server' || b.markTimer || !canMark() || b !== S.active || document.hidden) return;
  b.markTimer = setTimeout(() => { b.markTimer = 0; markRead(b); }, MARK_DELAY);
}

// The newest line from the server (with its time) shown in b is read.
function markRead(b) {
  if (b !== S.active || document.hidden || !canMark() || !S.buffers.has(b.key)) return;
  if (b.type === 'server' || (b.type === 'channel' && !b.joined)) return;
  const rows = b.log.querySelectorAll(':scope > .message.said[data-msgid]');
  const last = rows[rows.length - 1];
  if (!last) return;
  const ts = +last.dataset.ts;
  if (b.readKnown && ts <= b.readAt) return;
  b.readAt = ts;
  b.readKnown = true;
  send(`MARKREAD ${b.name} timestamp=${new Date(ts).toISOString()}`);
}

// The server's MARKREAD: ours confirmed, another device's, or the
// marker of a room just joined or a conversation asked about.
function markArrived(target, value) {
  const b = findBuffer(target);
  if (!b || b.type === 'server') return;
  const t = value.startsWith('timestamp=') ? Date.parse(value.slice(10)) : NaN;
  if (isNaN(t)) {
    // Nothing read yet: a conversation's every line is new; a room's
    // earlier lines are not counted (only what comes from now on).
    if (!b.readKnown && b.type === 'query') { b.readKnown = true; b.readAt = 0; recount(b); }
  } else if (!b.readKnown || t > b.readAt) {
    b.readAt = t;
    b.readKnown = true;
    recount(b);
  }
  markSoon(b);
}

// The unread count of b from its marker: the lines of others after it.
function recount(b) {
  if (!b.readKnown) return;
  let n = 0;
  let mention = false;
  for (const row of b.log.querySelectorAll(':scope > .message.said:not(.self)')) {
    if (+row.dataset.ts <= b.readAt) continue;
    n++;
    mention = mention || row.classList.contains('mention');
  }
  const shown = b === S.active && !document.hidden;
  b.unread = shown ? 0 : n;
  b.mention = !shown && n > 0 && (mention || b.type === 'query');
  labelTab(b);
  updateTitle();
}

// A private conversation opened (or found): its marker and its history.
function queryOpened(b) {
  if (!S.registered) return;
  if (canMark()) send(`MARKREAD ${b.name}`);
  askHistory(b, 'latest');
}

// The conversations had lately, also on other devices (CHATHISTORY
// TARGETS): each gets a tab, filled from its history. The later timestamp
// first: the answer counts from it, so the limit keeps the latest.
function askTargets() {
  if (!canHistory() || !S.account || !S.registered) return;
  const now = Date.now();
  const day = 86400000;
  send(`CHATHISTORY TARGETS timestamp=${new Date(now + day).toISOString()} ` +
    `timestamp=${new Date(now - 365 * day).toISOString()} ${Math.min(TARGETS_MAX, historyLimit())}`);
}

function targetsArrived(lines) {
  for (const m of lines) {
    if (m.command !== 'CHATHISTORY' || (m.params[0] || '').toUpperCase() !== 'TARGETS') continue;
    const name = m.params[1] || '';
    if (!NICK_RE.test(name) || isChannel(name) || isMe(name) || lower(name) === lower(S.account)) continue;
    if (!findBuffer(name)) getBuffer(name, 'query');
  }
}

// ------------------------------------------------------- incoming handlers

function receive(line) {
  const m = parse(line);
  const batch = m.tags.batch && S.batches.get(m.tags.batch);
  if (batch) {
    if (batch.lines.length < BATCH_MAX) batch.lines.push(m);
    return;
  }
  const h = HANDLERS[m.command];
  try {
    if (h) h(m);
    else if (/^[0-9]{3}$/.test(m.command)) numeric(m);
  } catch (e) {
    console.error('while handling', line, e);
  }
}

function capList(m) { return (m.params[m.params.length - 1] || '').split(' ').filter(Boolean); }
function capEnd() { if (!S.capDone) { S.capDone = true; send('CAP END'); } }
function offer(c) {
  const eq = c.indexOf('=');
  const name = eq < 0 ? c : c.slice(0, eq);
  S.offered.add(name);
  S.capValues.set(name, eq < 0 ? '' : c.slice(eq + 1));
  return name;
}

const HANDLERS = {
  PING(m) { send(`PONG :${m.params[0] || ''}`); },
  ERROR(m) {
    const text = `Disconnected by the server: ${m.params[0] || 'closing link'}`;
    error(text, serverBuffer());
    if (S.active && S.active.type !== 'server') error(text, S.active);
  },
  CAP(m) {
    const sub = (m.params[1] || '').toUpperCase();
    const caps = capList(m);
    if (sub === 'LS') {
      for (const c of caps) offer(c);
      if (m.params[2] === '*') return; // more LS lines follow
      const want = WANT_CAPS.filter((c) => S.offered.has(c) && (S.offered.has('batch') || !NEED_BATCH.includes(c)));
      if (!S.capDone && S.mode === 'signin' && S.offered.has('sasl')) want.push('sasl');
      if (!accountPossible()) return;
      if (want.length) send(`CAP REQ :${want.join(' ')}`); else afterCaps();
    } else if (sub === 'ACK') {
      for (const c of caps) { if (c[0] === '-') S.caps.delete(c.slice(1)); else S.caps.add(c); }
      afterCaps();
      historyCapsChanged();
    } else if (sub === 'NAK') {
      afterCaps();
    } else if (sub === 'NEW') {
      const names = caps.map(offer);
      const want = names.filter((c) => WANT_CAPS.includes(c) && !S.caps.has(c) &&
        (S.offered.has('batch') || !NEED_BATCH.includes(c)));
      if (want.length) send(`CAP REQ :${want.join(' ')}`);
    } else if (sub === 'DEL') {
      for (const c of caps) { S.caps.delete(c); S.offered.delete(c); }
      historyCapsChanged();
    }
  },
  // SASL: the server asks for the next piece (PLAIN's payload).
  AUTHENTICATE(m) {
    if (S.auth === 'sasl' && m.params[0] === '+') saslPlain();
  },
  ACCOUNT(m) {
    if (isMe(m.nick)) { S.account = m.params[0] === '*' ? '' : m.params[0] || ''; showAccount(); }
  },
  REGISTER(m) {
    const [what = '', account = ''] = m.params;
    if (what === 'SUCCESS') registered(account);
    else if (what === 'VERIFICATION_REQUIRED') authFailed(`The server wants the account verified: ${m.params[2] || ''}`);
  },
  MARKREAD(m) { markArrived(m.params[0] || '', m.params[1] || '*'); },
  JOIN(m) {
    const b = getBuffer(m.params[0], 'channel');
    if (isMe(m.nick)) {
      if (b.name !== m.params[0]) renameBuffer(b, m.params[0]);
      b.joined = b.rejoin = true;
      b.members.clear();
      // The room as it is now: its topic, if it has one, comes next (332).
      b.topic = '';
      labelTab(b);
      b.anchor = addLine(b, 'status', { text: `You joined ${b.name}`, time: msgTime(m) });
      // This join's history: the newest page, then earlier on demand (what
      // is older than the oldest message shown does not change).
      Object.assign(b.hist, { asked: '', started: false, failed: '', gap: null });
      askHistory(b, 'latest');
      if (S.nickNote) { error(S.nickNote, b); S.nickNote = ''; }
      if (S.switchTo.delete(b.key) || S.active?.type === 'server') activate(b);
      else if (b === S.active) renderHeader();
    } else {
      b.members.set(lower(m.nick), { nick: m.nick, prefix: '', away: false });
      membersChanged(b);
      addLine(b, 'status', { text: `${m.nick} joined`, time: msgTime(m) });
    }
  },
  PART(m) {
    const b = findBuffer(m.params[0]);
    if (!b) return;
    const why = m.params[1] ? `: ${m.params[1]}` : '';
    if (isMe(m.nick)) { removeBuffer(b); return; }
    b.members.delete(lower(m.nick));
    membersChanged(b);
    addLine(b, 'status', { text: `${m.nick} left${why}`, time: msgTime(m) });
  },
  QUIT(m) {
    const key = lower(m.nick);
    const text = `${m.nick} quit${m.params[0] ? `: ${m.params[0]}` : ''}`;
    for (const b of S.buffers.values()) {
      if (b.type === 'channel' && b.members.delete(key)) {
        addLine(b, 'status', { text, time: msgTime(m) });
        membersChanged(b);
      } else if (b.type === 'query' && b.key === key) {
        addLine(b, 'status', { text, time: msgTime(m) });
      }
    }
  },
  NICK(m) {
    const to = m.params[0];
    const old = lower(m.nick);
    const text = isMe(m.nick) ? `You are now known as ${to}` : `${m.nick} is now known as ${to}`;
    if (isMe(m.nick)) {
      S.me = S.nick = to;
      ui.myNick.textContent = to;
      try { localStorage.setItem(STORE_NICK, to); } catch { /* private mode */ }
    }
    for (const b of [...S.buffers.values()]) {
      if (b.type === 'channel' && b.members.has(old)) {
        const mem = b.members.get(old);
        b.members.delete(old);
        b.members.set(lower(to), { ...mem, nick: to });
        addLine(b, 'status', { text, time: msgTime(m) });
        membersChanged(b);
      } else if (b.type === 'query' && b.key === old) {
        if (findBuffer(to) && findBuffer(to) !== b) removeBuffer(findBuffer(to));
        renameBuffer(b, to);
        addLine(b, 'status', { text, time: msgTime(m) });
      }
    }
    if (isMe(to) && S.active?.type !== 'channel') info(text, S.active);
  },
  KICK(m) {
    const [chan, who, why] = m.params;
    const b = findBuffer(chan);
    if (!b) return;
    const reason = why && why !== who ? ` (${why})` : '';
    if (isMe(who)) {
      b.joined = b.rejoin = false;
      b.members.clear();
      labelTab(b);
      addLine(b, 'error', { text: `You were kicked from ${b.name} by ${m.nick}${reason}`, time: msgTime(m) });
      if (b === S.active) { renderHeader(); renderMembers(); }
      return;
    }
    b.members.delete(lower(who));
    membersChanged(b);
    addLine(b, 'status', { text: `${who} was kicked by ${m.nick}${reason}`, time: msgTime(m) });
  },
  TOPIC(m) {
    const b = findBuffer(m.params[0]);
    if (!b) return;
    b.topic = m.params[1] || '';
    addLine(b, 'status', {
      text: b.topic ? `${m.nick} set the topic: ${b.topic}` : `${m.nick} cleared the topic`, time: msgTime(m),
    });
    if (b === S.active) renderHeader();
  },
  MODE(m) {
    const [target, modes = '', ...args] = m.params;
    const text = `${m.nick} set mode ${m.params.slice(1).join(' ')}`;
    if (!isChannel(target)) { info(isMe(m.nick) ? `Your modes: ${m.params.slice(1).join(' ')}` : text, serverBuffer()); return; }
    const b = findBuffer(target);
    if (!b) return;
    const [A = '', B = '', C = ''] = S.isupport.chanmodes;
    let sign = '+';
    let ai = 0;
    for (const c of modes) {
      if (c === '+' || c === '-') { sign = c; continue; }
      const pi = S.isupport.modes.indexOf(c);
      const takes = pi >= 0 || A.includes(c) || B.includes(c) || (C.includes(c) && sign === '+');
      const arg = takes ? args[ai++] : undefined;
      const mem = pi >= 0 && arg ? b.members.get(lower(arg)) : null;
      if (mem) {
        const sym = S.isupport.syms[pi];
        mem.prefix = sign === '+' ? sortPrefix(mem.prefix + sym) : mem.prefix.replace(sym, '');
      }
    }
    membersChanged(b);
    addLine(b, 'status', { text, time: msgTime(m) });
  },
  BATCH(m) {
    const ref = m.params[0] || '';
    if (ref[0] === '+' && ['chathistory', 'soju.im/search', 'search', 'draft/chathistory-targets'].includes(m.params[1])) {
      S.batches.set(ref.slice(1), { type: m.params[1], params: m.params.slice(2), lines: [] });
    } else if (ref[0] === '-') {
      const batch = S.batches.get(ref.slice(1));
      S.batches.delete(ref.slice(1));
      if (batch) batchEnded(batch);
    }
  },
  // Standard replies: FAIL COMMAND CODE [CONTEXT...] :DESCRIPTION.
  FAIL(m) {
    const [cmd = '', code = '', ...rest] = m.params;
    const text = rest.pop() || code;
    if (cmd === 'REGISTER') { registerFailed(code, text); return; }
    if (cmd === 'MARKREAD') return; // best effort: the badges are counted here meanwhile
    if (code === 'ACCOUNT_REQUIRED' && !S.registered) {
      setMode('signin');
      authFailed('This server lets in only people with an account: sign in, or create an account.');
      return;
    }
    if (!refused(cmd, text, rest[1])) error(`${cmd}: ${text}`, S.registered ? S.active : serverBuffer());
  },
  WARN(m) { info(`${m.params[0]}: ${m.params[m.params.length - 1]}`, S.registered ? S.active : serverBuffer()); },
  PRIVMSG(m) { message(m, false); },
  NOTICE(m) { message(m, true); },
  AWAY(m) {
    for (const b of S.buffers.values()) {
      const mem = b.type === 'channel' && b.members.get(lower(m.nick));
      if (mem) { mem.away = !!m.params[0]; membersChanged(b); }
    }
  },
  INVITE(m) {
    const [who, chan] = m.params;
    if (isMe(who)) error(`${m.nick} invites you to ${chan}. Type /join ${chan} to accept.`, S.active);
    else addLine(findBuffer(chan) || S.active, 'status', { text: `${m.nick} invited ${who} to ${chan}` });
  },
  '001'(m) { welcomed(m); info(m.params[1] || 'Welcome', serverBuffer()); },
  '005'(m) {
    for (const tok of m.params.slice(1, -1)) {
      const eq = tok.indexOf('=');
      const k = eq < 0 ? tok : tok.slice(0, eq);
      const v = eq < 0 ? '' : tok.slice(eq + 1);
      if (k === 'CHANTYPES') S.isupport.chantypes = v;
      else if (k === 'PREFIX') {
        const p = /^\(([^)]*)\)(.*)$/.exec(v);
        if (p && p[1].length === p[2].length) { S.isupport.modes = p[1]; S.isupport.syms = p[2]; }
      } else if (k === 'CHANMODES') S.isupport.chanmodes = v.split(',');
      else if (k === 'NICKLEN') S.isupport.nicklen = +v || 30;
      else if (k === 'CHATHISTORY') S.isupport.chathistory = Math.max(0, parseInt(v, 10) || 0);
      else if (k === 'MSGREFTYPES') S.isupport.msgreftypes = v.split(',');
      else if (k === 'NETWORK') {
        S.isupport.network = v;
        ui.networkName.textContent = v;
        const sb = S.buffers.get(SERVER_KEY);
        if (sb) labelTab(sb);
        renderHeader();
      }
    }
  },
  '331'(m) { const b = findBuffer(m.params[1]); if (b) { b.topic = ''; if (b === S.active) renderHeader(); } },
  '332'(m) {
    const b = findBuffer(m.params[1]);
    if (!b) { info(`Topic of ${m.params[1]}: ${m.params[2]}`); return; }
    b.topic = m.params[2] || '';
    addLine(b, 'status', { text: `Topic: ${b.topic}` });
    if (b === S.active) renderHeader();
  },
  '333'() {}, '329'() {}, '315'() {}, '318'() {}, '369'() {},
  '353'(m) {
    const [, , chan, list = ''] = m.params;
    const key = lower(chan);
    if (!S.names.has(key)) S.names.set(key, new Map());
    const names = S.names.get(key);
    for (const item of list.split(' ')) {
      if (!item) continue;
      let i = 0;
      while (i < item.length && S.isupport.syms.includes(item[i])) i++;
      const nick = item.slice(i).split('!')[0];
      names.set(lower(nick), { nick, prefix: sortPrefix(item.slice(0, i)), away: false });
    }
  },
  '366'(m) {
    const key = lower(m.params[1] || '');
    const names = S.names.get(key) || new Map();
    S.names.delete(key);
    const b = findBuffer(m.params[1]);
    if (b?.type === 'channel' && b.joined) {
      for (const [k, v] of names) v.away = b.members.get(k)?.away || false;
      b.members = names;
      membersChanged(b);
    } else {
      info(`In ${m.params[1]}: ${[...names.values()].map((n) => n.prefix.slice(0, 1) + n.nick).join(' ') || 'nobody'}`);
    }
  },
  '301'(m) { addLine(findBuffer(m.params[1]) || S.active, 'info', { text: `${m.params[1]} is away: ${m.params[2] || ''}` }); },
  '305'(m) { info(m.params[1]); }, '306'(m) { info(m.params[1]); },
  '341'(m) { info(`Invited ${m.params[1]} to ${m.params[2]}`); },
  '375'(m) { info(m.params[1], serverBuffer()); },
  '372'(m) { info(m.params[1], serverBuffer()); },
  '376'(m) { S.burstDone = true; info(m.params[1], serverBuffer()); },
  '422'(m) { S.burstDone = true; info(m.params[1], serverBuffer()); },
  '432'(m) { nickRejected(m, 'is not a valid nickname'); },
  // The server wants a password (or another one): ask for it on the form.
  '464'() {
    const had = S.password;
    S.password = '';
    signOut(false);
    askPassword(had ? 'That password is wrong. Please try again.' : 'This server needs a password.');
  },
  '433'(m) { nickRejected(m, 'is already in use'); },
  // SASL (IRCv3 sasl-3.1/3.2) and accounts.
  '900'(m) { S.account = m.params[2] || ''; showAccount(); },
  '901'() { S.account = ''; showAccount(); },
  '902'(m) { saslFailed(m.params[1] || 'that account cannot be used now', '902'); },
  '903'() { saslDone(); },
  '904'(m) { saslFailed(m.params[1] || '', '904'); },
  '905'(m) { saslFailed(m.params[1] || '', '905'); },
  '906'(m) { saslFailed(m.params[1] || '', '906'); },
  '907'() { saslDone(); },
  '908'() {}, // the mechanisms: a 904 follows
};

function nickRejected(m, what) {
  const bad = m.params[1] || '';
  if (S.registered) { error(`Cannot change nickname: ${bad} ${what}.`, S.active); return; }
  // An account is made for the nickname asked for, not another.
  if (S.mode === 'register') {
    authFailed(what.includes('valid') ? `${bad || S.nick} cannot be an account's name: it ${what}.`
      : REGISTER_ERRORS.ACCOUNT_EXISTS(S.accountName));
    return;
  }
  if (what.includes('valid') || ++S.nickTries > 4) {
    // A nickname the server will never take: back to the form.
    signOut(false);
    showLoginError(`${bad || S.nick} ${what}. Please pick another nickname.`);
    return;
  }
  const base = S.nick.slice(0, Math.max(1, S.isupport.nicklen - 4));
  const alt = S.nickTries === 1 ? `${base}_` : `${base}${Math.floor(100 + Math.random() * 900)}`;
  info(`${bad} ${what}; trying ${alt}.`, serverBuffer());
  send(`NICK ${alt}`);
}

// Every other numeric: the welcome burst goes to the server tab; afterwards
// replies and errors answer what the user just did, so they show where they are.
function numeric(m) {
  const code = +m.command;
  const rest = m.params.slice(1);
  const text = rest.length > 1 ? `${rest.slice(0, -1).join(' ')}: ${rest[rest.length - 1]}` : rest.join(' ');
  if (code >= 400 && code < 600) {
    if (!S.registered && code === 451) return;
    if (refused(rest[0], rest[rest.length - 1])) return;
    const b = findBuffer(rest[0]) || (S.registered ? S.active : serverBuffer());
    error(text, b);
    return;
  }
  if (code < 100 || (code >= 250 && code < 270) || !S.burstDone) {
    if (code !== 4 && code !== 5) info(rest.length > 1 && code < 10 ? rest[rest.length - 1] : text, serverBuffer());
    return;
  }
  info(text, S.active);
}

// What a PRIVMSG or NOTICE says: { kind, text }, or { ctcp: VERB } for a
// CTCP request or reply other than an action.
function spoken(m, notice) {
  const text = m.params[1] || '';
  if (text[0] !== '\x01') return { kind: notice ? 'notice' : 'msg', text };
  const inner = text.replace(/^\x01|\x01$/g, '');
  const sp = inner.indexOf(' ');
  const verb = (sp < 0 ? inner : inner.slice(0, sp)).toUpperCase();
  if (verb !== 'ACTION' || notice) return { ctcp: verb };
  return { kind: 'action', text: sp < 0 ? '' : inner.slice(sp + 1) };
}

function message(m, notice) {
  const target = m.params[0] || '';
  const time = msgTime(m);
  const self = isMe(m.nick);
  const said = spoken(m, notice);
  if (said.ctcp) {
    if (!self) info(`${m.nick} sent a CTCP ${said.ctcp}${notice ? ' reply' : ''}`, serverBuffer());
    return;
  }
  const { kind, text } = said;
  // A server's notice, or anything before we are registered.
  if (!m.prefix.includes('!') && !isChannel(target) && (!S.registered || m.nick.includes('.') || !m.nick)) {
    info(text, S.registered && S.burstDone ? S.active : serverBuffer());
    return;
  }
  const bare = target.replace(new RegExp(`^[${escapeRe(S.isupport.syms)}]+`), '');
  let b;
  if (isChannel(bare)) b = getBuffer(bare, 'channel');
  else if (self) b = getBuffer(target, 'query');
  else if (notice) b = findBuffer(m.nick) || S.active || serverBuffer();
  else b = getBuffer(m.nick, 'query');
  addLine(b, kind, { nick: m.nick, text, time, self, msgid: m.tags.msgid });
}

// --------------------------------------------------------------- history
//
// With draft/chathistory (IRCv3) a room fills from the server's history
// when we join it (and so after a reload or a reconnect): CHATHISTORY
// LATEST, the answer a "chathistory" batch. Scrolling to the top asks for
// the page before the oldest message shown (BEFORE) until none are left.
// A line marks where the live messages begin; a message already shown
// (the live stream and the history overlap) is shown once, by msgid.

const canHistory = () => S.caps.has('draft/chathistory') && S.caps.has('batch');
const canSearch = () => S.caps.has('soju.im/search') && S.caps.has('batch');
// A room's history while we are in it; a private conversation's when we
// are signed in (the server keeps those between accounts only).
const hasHistory = (b) => (b.type === 'channel' ? b.joined : b.type === 'query' && !!S.account);

// A page within the server's CHATHISTORY=N (0: no maximum).
function historyLimit() {
  const max = S.isupport.chathistory;
  return max > 0 ? Math.min(HISTORY_PAGE, max) : HISTORY_PAGE;
}

// How to name a line to the server: by msgid when it takes those and the
// line has one, else by its time.
function msgRef(row) {
  const types = S.isupport.msgreftypes;
  const byId = row.dataset.msgid && types.includes('msgid');
  if (byId || !types.includes('timestamp')) return row.dataset.msgid ? `msgid=${row.dataset.msgid}` : '';
  return `timestamp=${new Date(+row.dataset.ts).toISOString()}`;
}

// how: 'latest' (the newest page) or 'before' (the page before the oldest
// message shown). One request per room at a time.
function askHistory(b, how) {
  if (!canHistory() || !hasHistory(b) || b.hist.asked || !S.registered) return;
  let ref = '*';
  if (how === 'before') {
    const oldest = b.log.querySelector(`:scope > .message.said`);
    ref = oldest ? msgRef(oldest) : '';
    if (!ref) { b.hist.done = true; renderTop(b); return; }
  }
  b.hist.asked = how;
  b.hist.failed = '';
  send(`CHATHISTORY ${how.toUpperCase()} ${b.name} ${ref} ${historyLimit()}`);
  renderTop(b);
}

function loadEarlier(b) {
  if (b.hist.started && !b.hist.done && !b.hist.failed) askHistory(b, 'before');
}

// While the room's lines do not fill its view there is no scrolling to
// the top: ask for the page before until they do, or none are left.
function fillView(b) {
  if (b !== S.active || b.log.hidden || !b.hist.started || b.hist.done) return;
  if (b.log.scrollHeight <= b.log.clientHeight + TOP_SLACK) loadEarlier(b);
}

function renderTop(b) {
  const top = b.top;
  top.hidden = !(canHistory() && hasHistory(b));
  const state = b.hist.asked ? 'loading' : b.hist.failed ? 'failed' : b.hist.done ? 'done' : 'more';
  if (top.dataset.state === state && state !== 'failed') return;
  top.dataset.state = state;
  top.textContent = '';
  b.log.setAttribute('aria-busy', String(state === 'loading'));
  if (state === 'loading') {
    top.append(el('span', 'history-note', 'Loading earlier messages…'));
  } else if (state === 'done') {
    top.append(el('span', 'history-note', `This is the beginning of ${b.name}: there are no earlier messages.`));
  } else {
    if (state === 'failed') top.append(el('span', 'history-note', `Earlier messages could not be loaded: ${b.hist.failed}`), ' ');
    const more = el('button', 'link-btn history-more', state === 'failed' ? 'Try again' : 'Load earlier messages');
    more.type = 'button';
    more.addEventListener('click', () => { b.hist.failed = ''; b.hist.started ? askHistory(b, 'before') : askHistory(b, 'latest'); });
    top.append(more);
  }
}

// Where the live messages begin: just above our JOIN, when history is
// above it.
function placeDivider(b) {
  if (!b.anchor?.isConnected || !b.log.querySelector(':scope > .message.earlier')) return;
  if (!b.divider) {
    b.divider = el('div', 'divider');
    b.divider.setAttribute('role', 'separator');
    b.divider.append(el('span', 'divider-text', 'New messages'));
  }
  if (b.divider.nextElementSibling !== b.anchor) b.anchor.before(b.divider);
}

// Puts a line among the others by its time (after those of the same time).
function placeByTime(b, row) {
  const ts = +row.dataset.ts;
  let at = b.log.lastElementChild;
  while (at && at !== b.top && !(at.classList.contains('message') && +at.dataset.ts <= ts)) at = at.previousElementSibling;
  (at || b.top).after(row);
}

// The newest message with a msgid above our JOIN: after a reconnect, the
// last one the page saw before the connection was lost.
function lastBeforeJoin(b) {
  for (let r = b.anchor?.previousElementSibling; r && r !== b.top; r = r.previousElementSibling) {
    if (r.classList.contains('said') && r.dataset.msgid) return r.dataset.msgid;
  }
  return '';
}

// After a reconnect LATEST brings the newest page; when none of it was
// shown already, more may have been missed between the last message seen
// and that page: BETWEEN them, page by page, until a page overlaps or is
// empty.
function askGap(b) {
  b.hist.asked = 'gap';
  send(`CHATHISTORY BETWEEN ${b.name} msgid=${b.hist.gap.from} msgid=${b.hist.gap.to} ${historyLimit()}`);
  renderTop(b);
}

// A "chathistory" batch ended: its messages go into the room, each once.
function historyArrived(target, lines) {
  let b = findBuffer(target);
  // A conversation's batch may name it otherwise (the account, not the nick).
  if (!b || (b.type === 'query' && !b.hist.asked)) b = [...S.buffers.values()].find((x) => x.type === 'query' && x.hist.asked) || b;
  if (!b || b.type === 'server') return;
  const how = b.hist.asked || 'latest';
  b.hist.asked = '';
  const seenBefore = how === 'latest' && S.isupport.msgreftypes.includes('msgid') ? lastBeforeJoin(b) : '';
  const rows = [];
  let said = 0;
  for (const m of lines) {
    if (m.command !== 'PRIVMSG' && m.command !== 'NOTICE') continue;
    const what = spoken(m, m.command === 'NOTICE');
    if (what.ctcp) continue;
    said++;
    const msgid = m.tags.msgid || '';
    if (msgid && b.msgids.has(msgid)) continue;
    if (msgid) b.msgids.add(msgid);
    rows.push(makeRow(what.kind, { nick: m.nick, text: what.text, time: msgTime(m), self: isSelf(m), msgid, earlier: true }));
  }
  const log = b.log;
  const fromBottom = log.scrollHeight - log.scrollTop;
  if (how === 'before') {
    // All older than what the room shows: at the top, in order.
    b.top.after(...rows);
    if (!said || !rows.length) b.hist.done = true;
  } else {
    // What fills a gap goes just above the page after it (times can be
    // equal to the millisecond); the rest by time.
    const next = how === 'gap' && b.log.querySelector(`:scope > .message[data-msgid="${CSS.escape(b.hist.gap.to)}"]`);
    if (next) next.before(...rows);
    else for (const row of rows) placeByTime(b, row);
    if (how === 'latest') {
      b.hist.started = true;
      if (!said) b.hist.done = true;
    }
    // A gap: nothing here was shown already, and something older was.
    const gap = seenBefore && said && rows.length === said && rows[0].dataset.msgid;
    if (gap) b.hist.gap = { from: seenBefore, to: rows[0].dataset.msgid };
    else if (how === 'gap' && said && rows.length === said) b.hist.gap.from = rows[rows.length - 1].dataset.msgid;
    else b.hist.gap = null;
  }
  if (b.hist.gap && b.hist.gap.from && b.hist.gap.to && b.hist.gap.from !== b.hist.gap.to) askGap(b);
  placeDivider(b);
  redoDays(b);
  renderTop(b);
  if (!log.hidden) {
    if (how === 'before' || !b.stick) log.scrollTop = log.scrollHeight - fromBottom;
    else log.scrollTop = log.scrollHeight;
  }
  if (rows.length) {
    ui.historyStatus.textContent = `${rows.length} earlier message${rows.length === 1 ? '' : 's'} loaded in ${b.name}.`;
  }
  recount(b);
  markSoon(b);
  fillView(b);
}

// ---------------------------------------------------------------- search
//
// soju.im/search: SEARCH in=ROOM;text=WORDS;limit=N; the messages found
// come back in a batch and are shown in a view of their own, over the room.

const escapeTagValue = (v) => v.replace(/[\\; \r\n]/g, (c) => ({ '\\': '\\\\', ';': '\\:', ' ': '\\s', '\r': '\\r', '\n': '\\n' })[c]);

function renderSearchToggle() {
  const b = S.active;
  const can = canSearch() && b?.type === 'channel';
  ui.searchToggle.hidden = !can;
  if (!can) closeSearch();
}

function openSearchForm() {
  const b = S.active;
  if (!canSearch() || b?.type !== 'channel') return;
  ui.searchLabel.textContent = `Search ${b.name}`;
  ui.searchInput.placeholder = `Search ${b.name}`;
  ui.searchForm.hidden = false;
  ui.searchToggle.setAttribute('aria-expanded', 'true');
  ui.searchInput.focus();
}

function closeSearch() {
  const wasOpen = !ui.searchForm.hidden || !ui.searchView.hidden;
  ui.searchForm.hidden = true;
  ui.searchView.hidden = true;
  ui.searchToggle.setAttribute('aria-expanded', 'false');
  ui.messages.hidden = false;
  S.search = null;
  if (wasOpen && S.active && finePointer()) ui.messageInput.focus();
}

function runSearch(text) {
  const b = S.active;
  text = text.trim();
  if (!text || !canSearch() || b?.type !== 'channel') return;
  if (!S.registered) { error('Not connected: cannot search now.'); return; }
  S.search = { room: b.name, text };
  send(`SEARCH in=${escapeTagValue(b.name)};text=${escapeTagValue(text)};limit=${SEARCH_LIMIT}`);
  ui.searchView.hidden = false;
  ui.messages.hidden = true;
  ui.searchView.dataset.state = 'loading';
  ui.searchTitle.textContent = `Searching ${b.name} for “${text}”…`;
  ui.searchResults.textContent = '';
}

function searchArrived(lines) {
  const q = S.search;
  if (!q) return;
  const found = [];
  for (const m of lines) {
    if (m.command !== 'PRIVMSG' && m.command !== 'NOTICE') continue;
    const what = spoken(m, m.command === 'NOTICE');
    if (!what.ctcp) found.push({ m, what });
  }
  ui.searchView.dataset.state = 'done';
  ui.searchTitle.textContent = found.length
    ? `${found.length}${found.length >= SEARCH_LIMIT ? '+' : ''} message${found.length === 1 ? '' : 's'} in ${q.room} matching “${q.text}”`
    : `Nothing in ${q.room} matches “${q.text}”.`;
  ui.searchResults.textContent = '';
  for (const { m, what } of found) {
    const d = msgTime(m);
    const li = el('li', 'result');
    const row = makeRow(what.kind, { nick: m.nick, text: what.text, time: d, self: isMe(m.nick), msgid: m.tags.msgid });
    const when = row.querySelector('.time');
    when.textContent = `${d.toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: 'numeric' })} ${hhmm(d)}`;
    li.append(row);
    ui.searchResults.append(li);
  }
}

function searchFailed(text) {
  if (!S.search) return false;
  ui.searchView.dataset.state = 'failed';
  ui.searchTitle.textContent = `The search did not work: ${text}`;
  return true;
}

ui.searchToggle.addEventListener('click', () => {
  if (ui.searchForm.hidden) openSearchForm(); else closeSearch();
});
ui.searchForm.addEventListener('submit', (e) => {
  e.preventDefault();
  runSearch(ui.searchInput.value);
});
ui.searchClose.addEventListener('click', closeSearch);
ui.searchBack.addEventListener('click', closeSearch);
ui.searchForm.addEventListener('keydown', (e) => { if (e.key === 'Escape') closeSearch(); });
ui.searchView.addEventListener('keydown', (e) => { if (e.key === 'Escape') closeSearch(); });

// After the capabilities changed (CAP ACK, DEL): rooms joined before
// history was there ask for it now; what the page offers follows.
function historyCapsChanged() {
  for (const b of S.buffers.values()) {
    if (b.type === 'server') continue;
    if (hasHistory(b) && !b.hist.started) askHistory(b, 'latest');
    renderTop(b);
  }
  renderSearchToggle();
}

// The server refused a CHATHISTORY (FAIL, or an error numeric such as 421
// or 461: those name no room) or a SEARCH: what waits for it says why.
function refused(cmd, text, target) {
  if (cmd === 'CHATHISTORY') {
    const named = target && findBuffer(target);
    const waiting = [...S.buffers.values()].filter((b) => b.type !== 'server' && b.hist.asked && (!named || b === named));
    for (const b of waiting) {
      Object.assign(b.hist, { asked: '', failed: text || 'the server refused', gap: null });
      renderTop(b);
    }
    return waiting.length > 0;
  }
  return cmd === 'SEARCH' && searchFailed(text);
}

// --------------------------------------------------------------- batches

// The batches we read whole; the lines of any other are handled as they come.
function batchEnded(batch) {
  if (batch.type === 'chathistory') historyArrived(batch.params[0] || '', batch.lines);
  else if (batch.type === 'draft/chathistory-targets') targetsArrived(batch.lines);
  else if (batch.type === 'soju.im/search' || batch.type === 'search') searchArrived(batch.lines);
}

// ----------------------------------------------------------------- input

// Cuts text into pieces of at most max bytes of UTF-8, between characters,
// at a space when there is one near the end.
function split(text, max) {
  const out = [];
  while (utf8len(text) > max) {
    let bytes = 0;
    let cut = 0;
    for (const ch of text) {
      const n = utf8len(ch);
      if (bytes + n > max) break;
      bytes += n;
      cut += ch.length;
    }
    const sp = text.lastIndexOf(' ', cut);
    if (sp > cut * 0.7) cut = sp;
    out.push(text.slice(0, cut));
    text = text.slice(cut).replace(/^ /, '');
  }
  if (text) out.push(text);
  return out;
}

function say(target, text, action = false) {
  if (!S.registered) { error('Not connected: your message was not sent.'); return; }
  for (const piece of split(text, Math.max(64, 400 - utf8len(target) - utf8len(S.me)))) {
    send(`PRIVMSG ${target} :${action ? `\x01ACTION ${piece}\x01` : piece}`);
    if (!S.caps.has('echo-message')) {
      const b = isChannel(target) ? getBuffer(target, 'channel') : getBuffer(target, 'query');
      addLine(b, action ? 'action' : 'msg', { nick: S.me, text: piece, self: true });
    }
  }
}

// Empties a tab; its history can be loaded again from the top.
function clearTab(b) {
  for (const c of [...b.log.children]) if (c !== b.top) c.remove();
  b.msgids.clear();
  b.lastDay = '';
  Object.assign(b.hist, { started: false, done: false, failed: '' });
  renderTop(b);
}

function sayHere(text, action) {
  const b = S.active;
  if (!b || b.type === 'server') { error('This tab is not a conversation. Join a room with /join #room, or /msg NICK TEXT.'); return; }
  if (b.type === 'channel' && !b.joined) { error(`You are not in ${b.name}. Type /join ${b.name} to go back in.`); return; }
  say(b.name, text, action);
}

function joinRoom(name, key) {
  name = name.trim();
  if (!name) return;
  if (!isChannel(name)) name = '#' + name;
  const b = findBuffer(name);
  if (b?.joined) { activate(b); return; }
  if (!S.registered) { error('Not connected yet: try again in a moment.'); return; }
  S.switchTo.add(lower(name));
  send(`JOIN ${name}${key ? ` ${key}` : ''}`);
}

function leave(b, reason) {
  if (!b || b.type === 'server') return;
  if (b.type === 'channel' && b.joined && S.registered) {
    b.rejoin = false;
    send(`PART ${b.name}${reason ? ` :${reason}` : ''}`);
  } else {
    removeBuffer(b);
  }
}

function openQuery(nick) {
  if (isMe(nick)) return;
  activate(getBuffer(nick, 'query'));
}

const HELP = [
  '/join #room — join a room (or switch to it)', '/part [#room] [reason] — leave a room',
  '/msg NICK text — private message', '/query NICK — open a private conversation', '/me text — action',
  '/nick NAME — change nickname', '/topic [text] — show or set the room topic', '/notice TARGET text',
  '/whois NICK', '/away [message] — mark yourself away (no message: back)', '/invite NICK [#room]',
  '/kick NICK [reason]', '/mode [args]', '/clear — clear this tab', '/quit [reason] — sign out',
  'Any other /COMMAND is sent to the server as it is (e.g. /list, /names, /motd).',
  'Tab completes nicknames; ↑/↓ recall what you sent.',
];

function command(line) {
  const sp = line.indexOf(' ');
  const cmd = (sp < 0 ? line.slice(1) : line.slice(1, sp)).toLowerCase();
  const rest = sp < 0 ? '' : line.slice(sp + 1).trim();
  const args = rest.split(/\s+/).filter(Boolean);
  const after = (n) => rest.split(/\s+/).slice(n).join(' ');
  const here = S.active;
  const chanHere = here?.type === 'channel' ? here.name : '';
  switch (cmd) {
    case 'join': case 'j': joinRoom(args[0] || '', args[1]); break;
    case 'part': case 'leave': {
      if (!(args[0] && isChannel(args[0]))) { leave(here, rest); break; }
      const b = findBuffer(args[0]);
      if (b) leave(b, after(1)); else send(`PART ${args[0]}${args[1] ? ` :${after(1)}` : ''}`);
      break;
    }
    case 'close': leave(here); break;
    case 'msg': case 'query': case 'q':
      if (!args[0]) { error(`Usage: /${cmd} NICK${cmd === 'msg' ? ' TEXT' : ''}`); break; }
      if (!isChannel(args[0])) openQuery(args[0]);
      if (args.length > 1) say(args[0], after(1));
      break;
    case 'me': if (rest) sayHere(rest, true); break;
    case 'nick': if (args[0]) send(`NICK ${args[0]}`); else error('Usage: /nick NAME'); break;
    case 'topic': {
      const explicit = args[0] && isChannel(args[0]);
      const chan = explicit ? args[0] : chanHere;
      if (!chan) { error('Usage: /topic [#room] [text]'); break; }
      const text = explicit ? after(1) : rest;
      send(text ? `TOPIC ${chan} :${text}` : `TOPIC ${chan}`);
      break;
    }
    case 'notice':
      if (args.length < 2) { error('Usage: /notice TARGET TEXT'); break; }
      send(`NOTICE ${args[0]} :${after(1)}`);
      if (!S.caps.has('echo-message')) addLine(findBuffer(args[0]) || here, 'notice', { nick: S.me, text: after(1), self: true });
      break;
    case 'whois': if (args[0]) send(`WHOIS ${args[0]}`); break;
    case 'away': send(rest ? `AWAY :${rest}` : 'AWAY'); break;
    case 'back': send('AWAY'); break;
    case 'invite': if (args[0]) send(`INVITE ${args[0]} ${args[1] || chanHere}`); break;
    case 'kick': if (args[0] && chanHere) send(`KICK ${chanHere} ${args[0]}${args[1] ? ` :${after(1)}` : ''}`); break;
    case 'mode':
      if (!args[0] || /^[+-]/.test(args[0])) send(`MODE ${chanHere || S.me}${rest ? ` ${rest}` : ''}`);
      else send(`MODE ${rest}`);
      break;
    case 'clear': if (here) clearTab(here); break;
    case 'quit': case 'exit': leaveForGood(rest); break;
    case 'raw': case 'quote': if (rest) send(rest); break;
    case 'help': for (const h of HELP) info(h); break;
    default:
      if (!S.registered) { error('Not connected.'); break; }
      send(`${cmd.toUpperCase()}${rest ? ` ${rest}` : ''}`);
  }
}

function submit(text) {
  for (let line of text.split(/\r?\n/)) {
    if (!line.trim()) continue;
    if (line[0] === '/' && line[1] !== '/') { command(line); continue; }
    if (line.startsWith('//')) line = line.slice(1);
    sayHere(line);
  }
}

ui.composer.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = ui.messageInput.value;
  if (!text.trim()) return;
  S.history.push(text);
  if (S.history.length > 100) S.history.shift();
  S.histPos = S.history.length;
  ui.messageInput.value = '';
  submit(text);
});

ui.messageInput.addEventListener('keydown', (e) => {
  const input = ui.messageInput;
  if (e.key === 'Tab' && !e.shiftKey && input.value && S.active?.type === 'channel') {
    e.preventDefault();
    const pos = input.selectionStart;
    if (!S.complete || S.complete.pos !== pos || S.complete.value !== input.value) {
      const start = input.value.slice(0, pos).search(/\S*$/);
      const stem = lower(input.value.slice(start, pos));
      const nicks = [...S.active.members.values()].map((x) => x.nick)
        .filter((n) => lower(n).startsWith(stem) && !isMe(n)).sort();
      if (!nicks.length) return;
      S.complete = { start, end: pos, nicks, i: -1, tail: input.value.slice(pos) };
    }
    const c = S.complete;
    c.i = (c.i + 1) % c.nicks.length;
    const word = c.nicks[c.i] + (c.start === 0 ? ': ' : ' ');
    input.value = input.value.slice(0, c.start) + word + c.tail;
    c.pos = c.start + word.length;
    c.value = input.value;
    input.setSelectionRange(c.pos, c.pos);
  } else if ((e.key === 'ArrowUp' || e.key === 'ArrowDown') && S.history.length) {
    if (e.key === 'ArrowUp' && S.histPos > 0) S.histPos--;
    else if (e.key === 'ArrowDown' && S.histPos < S.history.length) S.histPos++;
    else return;
    e.preventDefault();
    input.value = S.history[S.histPos] ?? '';
  }
});

// ------------------------------------------------------------ page wiring

function askPassword(why) {
  ui.passLabel.hidden = false;
  ui.passInput.hidden = false;
  ui.passInput.value = '';
  showLoginError(why);
  ui.passInput.focus();
}

function showLoginError(text) {
  ui.loginError.textContent = text;
  ui.loginError.hidden = !text;
}

function signOut(sendQuit, reason) {
  S.quitting = true;
  clearTimeout(S.retryTimer);
  clearInterval(S.countdown);
  if (S.ws) {
    if (sendQuit) send(`QUIT :${reason || 'Signed out'}`);
    const ws = S.ws;
    S.ws = null;
    setTimeout(() => ws.close(), sendQuit ? 300 : 0);
  }
  for (const b of [...S.buffers.values()]) { b.log.remove(); b.tab.remove(); }
  S.buffers.clear();
  S.batches.clear();
  closeSearch();
  S.active = null;
  S.registered = false;
  S.everWelcomed = false;
  S.attempt = 0;
  S.account = '';
  S.auth = '';
  showAccount();
  setStatus('idle', 'Not connected');
  ui.app.hidden = true;
  ui.login.hidden = false;
  ui.nickInput.value = S.nick;
  ui.nickInput.focus();
}

ui.loginForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const mode = formMode();
  const nick = ui.nickInput.value.trim();
  if (!nick) { showLoginError(mode === 'guest' ? 'Please type a nickname.' : 'Please type the account\'s name.'); ui.nickInput.focus(); return; }
  if (nick.length > 30 || !NICK_RE.test(nick)) {
    showLoginError('That nickname is not allowed: use letters, digits and _-[]{}\\|^` (no spaces), not starting with a digit or -, at most 30 characters.');
    ui.nickInput.focus();
    return;
  }
  if (mode !== 'guest' && !ui.accountPassInput.value) {
    showLoginError(mode === 'register' ? 'Please choose a password.' : 'Please type your password.');
    ui.accountPassInput.focus();
    return;
  }
  if (!ui.passInput.hidden) {
    if (!ui.passInput.value) { showLoginError('Please type the server\'s password.'); ui.passInput.focus(); return; }
    S.password = ui.passInput.value;
  }
  showLoginError('');
  S.mode = mode;
  S.accountName = mode === 'guest' ? '' : nick;
  S.accountPassword = mode === 'guest' ? '' : ui.accountPassInput.value;
  S.remember = mode !== 'guest' && ui.rememberInput.checked;
  // Not ticked (or a guest now): nothing of an account stays in the browser.
  if (!S.remember) forgetAccount();
  S.nick = nick;
  try { localStorage.setItem(STORE_NICK, nick); } catch { /* private mode */ }
  ui.login.hidden = true;
  ui.app.hidden = false;
  ui.myNick.textContent = nick;
  serverBuffer();
  connect();
});

ui.joinForm.addEventListener('submit', (e) => {
  e.preventDefault();
  joinRoom(ui.joinInput.value);
  ui.joinInput.value = '';
});

function tabsClick(e) {
  const tab = e.target.closest('.tab');
  const b = tab && S.buffers.get(tab.dataset.key);
  if (!b) return;
  if (e.target.closest('.tab-close')) leave(b); else activate(b);
}
ui.rooms.addEventListener('click', tabsClick);
ui.queries.addEventListener('click', tabsClick);

ui.members.addEventListener('click', (e) => {
  const li = e.target.closest('.member');
  if (li && !isMe(li.dataset.nick)) openQuery(li.dataset.nick);
});

ui.leaveBtn.addEventListener('click', () => leave(S.active));
// Signing out forgets a remembered account (and its password).
function leaveForGood(reason) {
  forgetAccount();
  S.accountPassword = '';
  ui.accountPassInput.value = '';
  ui.rememberInput.checked = false;
  signOut(true, reason);
}
ui.logoutBtn.addEventListener('click', () => leaveForGood());
ui.reconnectBtn.addEventListener('click', () => { S.attempt = 0; connect(); });

function closeDrawers() {
  ui.app.classList.remove('rooms-open', 'members-open');
  ui.scrim.hidden = true;
}
ui.roomsToggle.addEventListener('click', () => {
  const open = !ui.app.classList.contains('rooms-open');
  closeDrawers();
  ui.app.classList.toggle('rooms-open', open);
  ui.scrim.hidden = !open;
});
ui.membersToggle.addEventListener('click', () => {
  if (!narrow()) { ui.app.classList.toggle('members-hidden'); return; }
  const open = !ui.app.classList.contains('members-open');
  closeDrawers();
  ui.app.classList.toggle('members-open', open);
  ui.scrim.hidden = !open;
});
ui.scrim.addEventListener('click', closeDrawers);
document.addEventListener('keydown', (e) => { if (e.key === 'Escape') closeDrawers(); });

try { S.nick = localStorage.getItem(STORE_NICK) || ''; } catch { /* private mode */ }
ui.nickInput.value = S.nick;
renderMode();
// A remembered account signs in at once.
let saved = null;
try { saved = JSON.parse(localStorage.getItem(STORE_ACCOUNT) || 'null'); } catch { /* private mode, or not JSON */ }
if (saved && typeof saved.account === 'string' && typeof saved.password === 'string' && saved.account && saved.password) {
  ui.nickInput.value = saved.account;
  ui.accountPassInput.value = saved.password;
  ui.rememberInput.checked = true;
  if (typeof saved.server === 'string') S.password = saved.server;
  setMode('signin');
  ui.loginForm.requestSubmit();
} else if (S.nick) {
  ui.connectBtn.focus();
} else {
  ui.nickInput.focus();
}

})();
