#!/usr/bin/env node
// End-to-end test of Parley's web client: two Chromium pages (separate
// contexts) and one `nc` on the plain door talk in #lobby and see each other;
// the pages exchange a private message; screenshots go to the artifacts dir.
//
//   node e2e.mjs --url http://127.0.0.1:PORT/ --plain-port N --artifacts DIR [--password PW]
//   node e2e.mjs --url ... --plain-port N --scenario rejoin
//   node e2e.mjs --url ... --plain-port N --irc-port M --scenario history
//   node e2e.mjs --url ... --plain-port N --scenario accounts|markers
//   node e2e.mjs --url ... --plain-port N --scenario site --title T --description D
//
// With --password the server wants one: each page must ask for it when the
// server says so (464), and nc gives it with /pass. With --history on the
// server keeps history and the page offers it (the top of the room, the
// search button); with --history off it offers neither.
//
// The rejoin scenario is one page through a server restart: it sets a
// topic, prints "e2e: restart the server" and waits for a line on stdin
// (the server is back, without the topic); the page must reconnect,
// rejoin, and show the room as it is now; with history (the same data
// dir), what was said before the restart is shown once, not again.
//
// The history scenario (the server offers draft/chathistory and
// soju.im/search): a raw IRC client says more than three pages of lines
// in #lobby before the page opens; the page shows the newest with their
// original times, a divider above the live ones, loads the rest by
// scrolling up until none are left, shows each line once after a reload,
// and finds one line by searching.
//
// The accounts scenario (the server offers sasl and
// draft/account-registration): a page creates an account (a name taken
// and a short password are refused, saying so); a fresh page signs in (a
// wrong password refused, saying so) with Remember me: the account is
// shown, a reload signs in again by itself, signing out forgets it; wrong
// passwords again and again are throttled, saying so. axe-core finds
// nothing on the landing page or in the chat.
//
// The markers scenario (draft/read-marker and private history too): two
// accounts talk privately; a second page of one of them finds the
// conversation with its earlier messages; with an `nc` in #lobby, both
// pages of that account look at another tab while nc talks, both show the
// unread count; reading in one page clears the badge in the other.
//
// The site scenario (parleyd started with --web-title T --web-description
// D): the landing page shows them as text, and the tab's title is T; a
// page whose context granted notifications, its tab hidden, is notified of
// a mention and of a private message from nc, not of other lines, and its
// title counts the unread; a page without the permission offers "Notify
// me", asks on that click, and makes no notification.
// Exit 0 when every check passed; 1 with a line saying which one failed.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { chromium } from 'playwright-core';

const HARD_TIMEOUT_MS = 150_000;
const STEP_MS = 10_000;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

function usage(msg) {
  console.error(`e2e: ${msg}\nusage: node e2e.mjs --url http://127.0.0.1:PORT/ --plain-port N --artifacts DIR`);
  process.exit(2);
}
const opts = {};
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i];
  const v = process.argv[i + 1];
  if (!['--url', '--plain-port', '--irc-port', '--artifacts', '--password', '--scenario', '--history',
    '--title', '--description'].includes(k) || v === undefined) usage(`bad argument ${k}`);
  opts[k.slice(2)] = v;
}
if (!opts.url || !opts['plain-port']) usage('--url and --plain-port are required');
const artifacts = path.resolve(opts.artifacts || 'artifacts');
mkdirSync(artifacts, { recursive: true });
const plainPort = Number(opts['plain-port']);
const token = Date.now().toString(36);

let browser = null;
let nc = null;
let irc = null;
const pages = {};
let step = 'starting';
let passed = 0;
const problems = []; // console errors, page errors, CSP violations
// While the rejoin scenario's server is down for its restart, the page's
// attempts to reconnect are refused, and Chromium logs each one as a
// console error: those (and only those) are expected then. How many come
// depends on how long the new server takes to listen (longer under the
// sanitizers or on a busy machine), not on the page.
let restarting = false;
const REFUSED = /^WebSocket connection to '\S+' failed: .*ERR_CONNECTION_REFUSED/;

function ok(what) { passed++; console.log(`ok ${passed} - ${what}`); }

async function cleanup() {
  if (irc) irc.destroy();
  if (nc && nc.exitCode === null) {
    try { nc.stdin.write('/quit\n'); } catch { /* gone */ }
    nc.kill();
  }
  if (browser) await browser.close().catch(() => {});
}

async function fail(err) {
  const msg = err instanceof Error ? err.message.split('\n').slice(0, 6).join('\n') : String(err);
  console.error(`e2e: FAILED at step "${step}": ${msg}`);
  if (problems.length) console.error(`e2e: browser problems:\n  ${problems.join('\n  ')}`);
  if (nc) console.error(`e2e: nc saw:\n  ${ncLines.slice(-30).join('\n  ')}`);
  for (const [name, page] of Object.entries(pages)) {
    const file = path.join(artifacts, `web-fail-${name}.png`);
    await page.screenshot({ path: file, timeout: 3000 }).then(() => console.error(`e2e: screenshot ${file}`), () => {});
    const log = await page.evaluate(() => [...document.querySelectorAll('.log:not([hidden]) .message')]
      .slice(-15).map((m) => m.textContent).join('\n    ')).catch(() => '');
    if (log) console.error(`e2e: ${name}'s open tab ends with:\n    ${log}`);
  }
  console.error(`e2e: ${passed} passed, 1 failed`);
  await Promise.race([cleanup(), new Promise((r) => setTimeout(r, 3000))]);
  process.exit(1);
}

const hard = setTimeout(() => fail(new Error(`hard timeout: not done after ${HARD_TIMEOUT_MS / 1000} s`)), HARD_TIMEOUT_MS);

// ------------------------------------------------------------ nc helpers

const ncLines = [];
const ncWaiters = [];
function startNc() {
  nc = spawn('nc', ['127.0.0.1', String(plainPort)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let buf = '';
  nc.stdout.setEncoding('utf8');
  nc.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      ncLines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
    for (const w of [...ncWaiters]) w();
  });
  nc.stderr.on('data', (d) => problems.push(`nc: ${d}`.trim()));
  nc.on('error', (e) => problems.push(`nc: ${e.message}`));
}
function ncExpect(rx, what, timeout = STEP_MS) {
  return new Promise((resolve, reject) => {
    const check = () => {
      const line = ncLines.find((l) => rx.test(l));
      if (line === undefined) return false;
      ncWaiters.splice(ncWaiters.indexOf(check), 1);
      clearTimeout(t);
      resolve(line);
      return true;
    };
    const t = setTimeout(() => {
      ncWaiters.splice(ncWaiters.indexOf(check), 1);
      reject(new Error(`nc did not see ${what} (${rx}) within ${timeout / 1000} s`));
    }, timeout);
    ncWaiters.push(check);
    check();
  });
}
const ncSend = (line) => nc.stdin.write(line + '\n');

// ---------------------------------------------------------- page helpers

async function openPage(name, viewport, contextOptions = {}) {
  // ignoreHTTPSErrors: a tls --web-listen in tests has a self-signed certificate.
  const context = await browser.newContext({ viewport, ignoreHTTPSErrors: true, ...contextOptions });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_MS);
  page.on('pageerror', (e) => problems.push(`${name}: page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    if (restarting && REFUSED.test(m.text())) return;
    problems.push(`${name}: console error: ${m.text()}`);
  });
  pages[name] = page;
  return page;
}

async function login(page, nick) {
  await page.goto(opts.url, { waitUntil: 'load' });
  await page.fill('#nick-input', nick);
  await page.click('#connect-btn');
  if (opts.password) {
    // The server says 464; the form comes back asking for the password.
    await page.locator('#pass-input').waitFor({ state: 'visible' });
    await page.locator('#login-error').filter({ hasText: 'needs a password' }).waitFor();
    await page.fill('#pass-input', 'wrong' + opts.password);
    await page.click('#connect-btn');
    await page.locator('#login-error').filter({ hasText: 'password is wrong' }).waitFor();
    await page.fill('#pass-input', opts.password);
    await page.click('#connect-btn');
  }
  await page.locator('#status[data-state="connected"]').waitFor();
  await page.locator('#rooms .tab.active[data-target="#lobby"]').waitFor();
  await page.locator(`#members .member[data-nick="${nick}"]`).waitFor();
  await page.locator('#my-nick').filter({ hasText: nick }).waitFor();
}

// Waits for a .message from `nick` containing `text` in the tab of `buffer`.
function messageIn(page, buffer, nick, text) {
  return page.locator(`.log[data-buffer="${buffer}"] .message[data-nick="${nick}"]`).filter({ hasText: text });
}
async function expectMessage(page, buffer, nick, text) {
  await messageIn(page, buffer, nick, text).first().waitFor();
}
async function send(page, text) {
  await page.fill('#message-input', text);
  await page.press('#message-input', 'Enter');
}

// ------------------------------------------------------------ the test

async function launch() {
  step = 'launch Chromium';
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  ok(`Chromium ${browser.version()} started`);
}

async function done() {
  step = 'no browser errors';
  if (problems.length) throw new Error(`the pages reported:\n  ${problems.join('\n  ')}`);
  ok('no console errors, page errors or CSP violations');

  clearTimeout(hard);
  await cleanup();
  console.log(`e2e: ${passed} passed, 0 failed`);
  process.exit(0);
}

// The next line on stdin.
function stdinLine() {
  return new Promise((resolve) => {
    let buf = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (d) => {
      buf += d;
      if (buf.includes('\n')) { process.stdin.pause(); resolve(buf.split('\n')[0]); }
    });
  });
}

async function rejoin() {
  await launch();
  const ann = await openPage('webann', { width: 1280, height: 800 });
  step = 'webann logs in';
  await login(ann, 'webann');
  step = 'webann sets a topic';
  const topic = `the old topic ${token}`;
  await send(ann, `/topic ${topic}`);
  await ann.locator('#topic').filter({ hasText: topic }).waitFor();
  ok('the header shows the topic');

  const before = `said before the restart ${token}`;
  await send(ann, before);
  await expectMessage(ann, '#lobby', 'webann', before);

  step = 'the server restarts';
  restarting = true;
  console.log('e2e: restart the server');
  await ann.locator('#status[data-state="offline"]').waitFor({ timeout: 20_000 });
  await stdinLine();
  await ann.locator('#status[data-state="connected"]').waitFor({ timeout: 20_000 });
  restarting = false;
  await ann.locator('#rooms .tab.active[data-target="#lobby"]').waitFor();
  await ann.locator('#members .member[data-nick="webann"]').waitFor();
  const shown = await ann.locator('#topic').textContent();
  if (shown.includes(topic)) throw new Error(`the header still shows the old topic: "${shown}"`);
  if (shown !== 'No topic') throw new Error(`the header shows "${shown}", not "No topic"`);
  ok('back in #lobby after the restart, the header says the room has no topic');
  // With history the room is filled again after the reconnect: what the
  // page shows already must not come twice.
  await historySettled(ann);
  const times = await messageIn(ann, '#lobby', 'webann', before).count();
  if (times !== 1) throw new Error(`"${before}" is shown ${times} times after the reconnect`);
  ok('what was said before the restart is shown once');
  await done();
}

// ------------------------------------------------------ a raw IRC client

// Lines from a server as they come: expect() takes the first not yet
// taken that matches, and those before it.
class Irc {
  constructor(port) {
    this.lines = [];
    this.waiters = [];
    this.sock = net.connect(port, '127.0.0.1');
    this.sock.setEncoding('utf8');
    let buf = '';
    this.sock.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).replace(/\r$/, '');
        buf = buf.slice(i + 1);
        if (/^PING /.test(line)) this.send(`PONG ${line.slice(5)}`);
        this.lines.push(line);
      }
      for (const w of [...this.waiters]) w();
    });
    this.sock.on('error', (e) => problems.push(`irc: ${e.message}`));
  }
  send(line) { this.sock.write(`${line}\r\n`); }
  destroy() { this.sock.destroy(); }
  expect(rx, what, timeout = STEP_MS) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const i = this.lines.findIndex((l) => rx.test(l));
        if (i < 0) return;
        const line = this.lines[i];
        this.lines.splice(0, i + 1);
        this.waiters.splice(this.waiters.indexOf(check), 1);
        clearTimeout(t);
        resolve(ircParse(line));
      };
      const t = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(check), 1);
        reject(new Error(`the IRC client did not see ${what} (${rx}) within ${timeout / 1000} s; last lines:\n  ${this.lines.slice(-5).join('\n  ')}`));
      }, timeout);
      this.waiters.push(check);
      check();
    });
  }
  // Registers as nick with those of caps the server offers; returns what
  // it offered and its ISUPPORT tokens.
  async register(nick, caps) {
    const offered = new Set();
    this.send('CAP LS 302');
    for (;;) {
      const m = await this.expect(/^(@\S+ )?:\S+ CAP \S+ LS /, 'CAP LS');
      for (const c of m.params[m.params.length - 1].split(' ')) if (c) offered.add(c.split('=')[0]);
      if (m.params[2] !== '*') break;
    }
    const want = caps.filter((c) => offered.has(c));
    if (want.length) {
      this.send(`CAP REQ :${want.join(' ')}`);
      await this.expect(/^(@\S+ )?:\S+ CAP \S+ ACK /, 'CAP ACK');
    }
    this.send('CAP END');
    this.send(`NICK ${nick}`);
    this.send(`USER ${nick} 0 * :e2e`);
    const isupport = {};
    for (;;) {
      const m = await this.expect(/^(@\S+ )?:\S+ (005|376|422) /, 'ISUPPORT and the MOTD');
      if (m.command !== '005') break;
      for (const tok of m.params.slice(1, -1)) {
        const eq = tok.indexOf('=');
        isupport[eq < 0 ? tok : tok.slice(0, eq)] = eq < 0 ? '' : tok.slice(eq + 1);
      }
    }
    return { offered, isupport };
  }
}

function ircParse(line) {
  const m = { line, tags: {}, command: '', params: [] };
  let rest = line;
  if (rest[0] === '@') {
    const sp = rest.indexOf(' ');
    for (const t of rest.slice(1, sp).split(';')) {
      const eq = t.indexOf('=');
      m.tags[eq < 0 ? t : t.slice(0, eq)] = eq < 0 ? '' : t.slice(eq + 1);
    }
    rest = rest.slice(sp + 1);
  }
  if (rest[0] === ':') rest = rest.slice(rest.indexOf(' ') + 1);
  const colon = rest.indexOf(' :');
  const words = (colon < 0 ? rest : rest.slice(0, colon)).split(' ').filter(Boolean);
  m.command = words.shift() || '';
  m.params = colon < 0 ? words : [...words, rest.slice(colon + 2)];
  return m;
}

// ------------------------------------------------------------ history

const LOBBY = '.log[data-buffer="#lobby"]';

// #lobby's log as the page shows it, top to bottom.
function lobbyRows(page) {
  return page.evaluate((sel) => [...document.querySelector(sel).children].map((e) => {
    if (e.classList.contains('divider')) return { divider: true };
    if (!e.classList.contains('message')) return { other: e.className };
    const t = e.querySelector('time');
    const d = new Date(t.dateTime);
    const hhmm = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
    return { nick: e.dataset.nick || '', text: e.querySelector('.text').textContent, time: t.dateTime,
      timeShown: t.textContent, hhmm, earlier: e.classList.contains('earlier'), status: e.dataset.kind === 'status' };
  }), LOBBY);
}

// The raw client's lines the page shows: each once, in the order said, the
// newest of them shown, each with the time the server gave it then; all of
// them when all is set. Returns them.
function checkLines(rows, said, all) {
  const mine = rows.filter((r) => r.nick === 'histsrc' && r.text.includes(token));
  const texts = mine.map((r) => r.text);
  const twice = texts.find((t, i) => texts.indexOf(t) !== i);
  if (twice) throw new Error(`"${twice}" is shown twice`);
  const first = said.findIndex((x) => x.text === texts[0]);
  const want = said.slice(Math.max(first, 0));
  if (all && first !== 0) throw new Error(`the page shows ${texts.length} of the ${said.length} lines, from "${texts[0]}"`);
  const differ = want.findIndex((x, i) => texts[i] !== x.text);
  if (differ >= 0 || texts.length !== want.length) {
    const at = differ >= 0 ? differ : Math.min(texts.length, want.length);
    throw new Error(`the lines shown are not those said, in order (${texts.length} shown, ${want.length} said); from the ${at + 1}th:\n  shown: ${texts.slice(at, at + 3).join(' | ')}\n  said: ${want.slice(at, at + 3).map((x) => x.text).join(' | ')}`);
  }
  for (let i = 0; i < mine.length; i++) {
    if (mine[i].time !== want[i].time) throw new Error(`"${mine[i].text}" shows time ${mine[i].time}, it was said at ${want[i].time}`);
    if (mine[i].timeShown !== mine[i].hhmm) throw new Error(`"${mine[i].text}" shows ${mine[i].timeShown}, not ${mine[i].hhmm}`);
  }
  return mine;
}

// Earlier lines above the divider, live ones below it. After a reconnect
// the divider is above the new JOIN: the live lines of the connection
// before are above it too (unless onlyEarlier).
function checkDivider(rows, onlyEarlier = true) {
  const at = rows.findIndex((r) => r.divider);
  if (at < 0) throw new Error('no divider between the earlier and the live messages');
  if (rows.filter((r) => r.divider).length !== 1) throw new Error('more than one divider');
  const late = rows.slice(0, at).find((r) => r.nick && !r.earlier);
  if (late && onlyEarlier) throw new Error(`a live message is above the divider: "${late.text}"`);
  const early = rows.slice(at).find((r) => r.earlier);
  if (early) throw new Error(`an earlier message is below the divider: "${early.text}"`);
  if (!rows[at + 1]?.text?.startsWith('You joined')) throw new Error('the divider is not just above "You joined"');
}

// The room's history asked for is here (nothing is loading).
async function historySettled(page) {
  await page.locator(`${LOBBY} > .history-top:not([data-state="loading"])`).waitFor({ state: 'attached' });
}

// Scrolls #lobby up with the mouse wheel until the page says there is
// nothing earlier; each turn must bring more lines or the beginning.
async function scrollToBeginning(page) {
  const log = page.locator(LOBBY);
  const state = () => log.locator('> .history-top').getAttribute('data-state');
  for (let turn = 0; turn < 40; turn++) {
    await historySettled(page);
    if (await state() === 'done') return turn;
    const n = await log.locator('> .message.earlier').count();
    await log.hover();
    await page.mouse.wheel(0, -100_000);
    // (Not waitForFunction: the page's CSP forbids the eval it needs.)
    const more = log.locator('> .message.earlier').nth(n);
    await more.or(log.locator('> .history-top[data-state="done"]')).first().waitFor({ state: 'attached' });
  }
  throw new Error('scrolling up never reached the beginning of the history');
}

async function history() {
  const ircPort = Number(opts['irc-port']);
  if (!ircPort) usage('--irc-port is required for the history scenario');
  await launch();

  step = 'a raw IRC client says lines in #lobby before the page opens';
  irc = new Irc(ircPort);
  const { offered, isupport } = await irc.register('histsrc', ['server-time', 'echo-message', 'message-tags']);
  for (const cap of ['draft/chathistory', 'soju.im/search', 'batch']) {
    if (!offered.has(cap)) throw new Error(`the server does not offer ${cap}`);
  }
  const max = Number(isupport.CHATHISTORY || 0);
  const count = 4 * Math.min(50, max || 50) + 7; // more than four of the page's pages
  irc.send('JOIN #lobby');
  await irc.expect(/ 366 histsrc #lobby /, 'the JOIN');
  const said = [];
  const needle = `needle${token}`;
  const say = async (text) => {
    irc.send(`PRIVMSG #lobby :${text}`);
    const m = await irc.expect(new RegExp(` PRIVMSG #lobby :${text}$`), `the echo of "${text}"`);
    if (!m.tags.time || !m.tags.msgid) throw new Error(`the echo has no time or msgid: ${m.line}`);
    said.push({ text, time: m.tags.time, msgid: m.tags.msgid });
  };
  for (let i = 1; i <= count; i++) await say(`history line ${String(i).padStart(3, '0')} ${token}${i === 7 ? ` ${needle}` : ''}`);
  ok(`histsrc said ${count} lines in #lobby (CHATHISTORY=${isupport.CHATHISTORY})`);

  const page = await openPage('webhist', { width: 1100, height: 700 });
  // The page's WebSocket goes through a route the test can cut, and keep
  // cut (the page's reconnects refused) while it says what the page misses.
  let conn = null;
  let cut = false;
  await page.routeWebSocket(/\/ws$/, (ws) => {
    if (cut) { ws.close(); return; }
    conn = { page: ws, server: ws.connectToServer() };
  });
  step = 'the page opens and shows the newest lines';
  await login(page, 'webhist');
  await expectMessage(page, '#lobby', 'histsrc', said[said.length - 1].text);
  await historySettled(page);
  let rows = await lobbyRows(page);
  let shown = checkLines(rows, said, false);
  if (shown.length >= said.length) throw new Error(`all ${said.length} lines shown at once: no page to scroll for`);
  if (shown.some((r) => !r.earlier)) throw new Error('a line said before the page opened is not marked earlier');
  ok(`the page shows the newest ${shown.length} lines, once each, in order, with their original times`);

  step = 'a live message comes below the divider';
  await say(`live after the join ${token}`);
  await expectMessage(page, '#lobby', 'histsrc', said[said.length - 1].text);
  rows = await lobbyRows(page);
  checkLines(rows, said, false);
  checkDivider(rows);
  ok('the divider is between the earlier lines and the live one');

  step = 'scrolling up loads the earlier lines';
  let turns = await scrollToBeginning(page);
  if (turns < 2) throw new Error(`the beginning came after ${turns} scrolls: expected at least 2 pages`);
  await page.locator(`${LOBBY} > .history-top`).filter({ hasText: 'beginning' }).waitFor();
  rows = await lobbyRows(page);
  checkLines(rows, said, true);
  checkDivider(rows);
  ok(`after ${turns} scrolls up the page shows all ${said.length} lines once each and says it is the beginning`);

  // Cut the page's connection, say `missed` lines meanwhile, let it back.
  const reconnectMissing = async (missed, what) => {
    step = `after a reconnect the room fills in what the page missed (${what})`;
    cut = true;
    conn.server.close();
    conn.page.close();
    await page.locator('#status[data-state="offline"]').waitFor();
    for (let i = 1; i <= missed; i++) await say(`missed line ${String(i).padStart(3, '0')} of ${missed} ${token}`);
    cut = false;
    await page.locator('#status[data-state="connected"]').waitFor({ timeout: 40_000 });
    await expectMessage(page, '#lobby', 'histsrc', said[said.length - 1].text);
    await historySettled(page);
    rows = await lobbyRows(page);
    checkLines(rows, said, true);
    checkDivider(rows, false);
    ok(`reconnected: the ${missed} lines said meanwhile (${what}) are there, nothing missing, nothing twice`);
  };
  const pageSize = Math.min(50, max || 50);
  await reconnectMissing(3, 'the newest page overlaps what the page shows');
  await reconnectMissing(pageSize + 5, 'more than a page');

  step = 'after a reload the lines are there, once';
  await page.reload({ waitUntil: 'load' });
  await page.click('#connect-btn'); // the form remembers the nickname
  await page.locator('#status[data-state="connected"]').waitFor();
  await page.locator('#rooms .tab.active[data-target="#lobby"]').waitFor();
  await expectMessage(page, '#lobby', 'histsrc', said[said.length - 1].text);
  await historySettled(page);
  rows = await lobbyRows(page);
  shown = checkLines(rows, said, false);
  if (shown.some((r) => !r.earlier)) throw new Error('after the reload a line is not marked earlier');
  checkDivider(rows);
  await say(`live after the reload ${token}`);
  await expectMessage(page, '#lobby', 'histsrc', said[said.length - 1].text);
  turns = await scrollToBeginning(page);
  rows = await lobbyRows(page);
  checkLines(rows, said, true);
  checkDivider(rows);
  ok(`reloaded: the newest lines at once, all ${said.length} after ${turns} scrolls, none twice, the new live line below the divider`);

  step = 'a search finds the line';
  await page.click('#search-toggle');
  await page.fill('#search-input', needle);
  await page.press('#search-input', 'Enter');
  await page.locator('#search-view[data-state="done"]').waitFor();
  if (await page.locator('#messages').isVisible()) throw new Error('the room is still shown beside the search results');
  const found = page.locator('#search-results .message');
  const n = await found.count();
  if (n !== 1) throw new Error(`the search found ${n} messages, not 1`);
  const hit = said.find((x) => x.text.includes(needle));
  if ((await found.locator('.text').textContent()) !== hit.text || (await found.getAttribute('data-nick')) !== 'histsrc') {
    throw new Error(`the search found "${await found.textContent()}"`);
  }
  await page.screenshot({ path: path.join(artifacts, 'web-search.png') });
  await page.fill('#search-input', `nosuchword${token}`);
  await page.press('#search-input', 'Enter');
  await page.locator('#search-title').filter({ hasText: 'Nothing in #lobby matches' }).waitFor();
  await page.click('#search-back');
  await page.locator(LOBBY).waitFor({ state: 'visible' });
  if (await page.locator('#search-view').isVisible()) throw new Error('the search view stays after "Back to the room"');
  ok('a search shows the one matching line in a view of its own, says when nothing matches, and goes back to the room');

  await done();
}

// ------------------------------------------------------------ accounts

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

// axe-core's rules (WCAG 2.x A and AA, and its best practices) on the page
// as it is now: any violation fails, named with the elements it is about.
async function accessible(page, what) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(`${AXE}\n;0`);
  const found = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] })
    .then((r) => r.violations.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).slice(0, 4).join(', ')}`)));
  if (found.length) throw new Error(`axe-core finds on ${what}:\n  ${found.join('\n  ')}`);
}

// Fills the landing page for mode (guest, signin, register) and submits.
async function enter(page, mode, name, password, remember = false) {
  await page.check(`#mode-choice input[value="${mode}"]`);
  await page.fill('#nick-input', name);
  if (mode !== 'guest') {
    await page.fill('#account-pass-input', password);
    await page.setChecked('#remember-input', remember);
  }
  // The last answer goes, so that the next one is this attempt's.
  await page.evaluate(() => { document.querySelector('#login-error').textContent = ''; });
  await page.click('#connect-btn');
}

// The page is in #lobby, signed in to account.
async function signedIn(page, account) {
  await page.locator('#status[data-state="connected"]').waitFor();
  await page.locator('#rooms .tab.active[data-target="#lobby"]').waitFor();
  await page.locator('#my-account').filter({ hasText: `Signed in as ${account}` }).waitFor();
  const nick = await page.locator('#my-nick').textContent();
  await page.locator(`#members .member[data-nick="${nick}"]`).waitFor();
  return nick;
}

// The landing page is back, saying what matches rx.
async function refusedWith(page, rx) {
  await page.locator('#login-error').filter({ hasText: rx }).waitFor();
  if (!(await page.locator('#login').isVisible())) throw new Error('the landing page is not shown');
  return page.locator('#login-error').textContent();
}

const stored = (page) => page.evaluate(() => localStorage.getItem('parley.account'));

async function accounts() {
  await launch();
  const pw = `secret ${token}`;

  const ann = await openPage('ann', { width: 1100, height: 750 });
  step = 'the landing page offers signing in and creating an account';
  await ann.goto(opts.url, { waitUntil: 'load' });
  await accessible(ann, 'the landing page (guest)');
  await ann.check('#mode-choice input[value="register"]');
  await ann.locator('#account-pass-input').waitFor();
  await ann.locator('#connect-btn').filter({ hasText: 'Create account' }).waitFor();
  await accessible(ann, 'the landing page (create an account)');
  ok('the landing page offers Guest, Sign in and Create account (axe-core finds nothing)');

  step = 'ann creates an account';
  await enter(ann, 'register', 'ann', pw);
  await signedIn(ann, 'ann');
  if (await stored(ann) !== null) throw new Error('the browser keeps the account though Remember me was not ticked');
  ok('ann created an account from the landing page and is signed in to it; nothing kept in the browser');

  const bob = await openPage('bob', { width: 1100, height: 750 });
  step = 'a name taken and a short password are refused';
  await bob.goto(opts.url, { waitUntil: 'load' });
  await enter(bob, 'register', 'ann', pw);
  const taken = await refusedWith(bob, /already registered/);
  await enter(bob, 'register', 'bob', 'abc');
  const short = await refusedWith(bob, /password cannot be used/);
  ok(`creating "ann" again is refused ("${taken}"), and so is a short password ("${short}")`);

  step = 'bob creates an account';
  await enter(bob, 'register', 'bob', pw);
  await signedIn(bob, 'bob');
  ok('bob created an account');

  const again = await openPage('ann-again', { width: 1100, height: 750 });
  step = 'a fresh page: a wrong password is refused';
  await again.goto(opts.url, { waitUntil: 'load' });
  await enter(again, 'signin', 'ann', `wrong ${pw}`);
  const wrong = await refusedWith(again, /Wrong account name or password/);
  ok(`a wrong password is refused: "${wrong}"`);

  step = 'a fresh page signs in, remembered';
  await enter(again, 'signin', 'ann', pw, true);
  const nick = await signedIn(again, 'ann');
  const kept = JSON.parse(await stored(again) || 'null');
  if (kept?.account !== 'ann' || kept?.password !== pw) throw new Error(`Remember me kept ${JSON.stringify(kept)}`);
  ok(`signed in to ann in a fresh page (as ${nick}: the first page has the nickname); the account is shown and remembered`);
  await accessible(again, 'the chat, signed in');

  step = 'a reload signs in again by itself';
  await again.reload({ waitUntil: 'load' });
  await signedIn(again, 'ann');
  ok('after a reload the remembered account signs in without a word typed');

  step = 'signing out forgets';
  await again.click('#logout-btn');
  await again.locator('#login').waitFor();
  if (await stored(again) !== null) throw new Error('the account is still in the browser after signing out');
  await again.reload({ waitUntil: 'load' });
  await again.locator('#login').waitFor();
  if (await again.locator('#status').getAttribute('data-state') !== 'idle') throw new Error('the page connects after signing out');
  if (await again.inputValue('#account-pass-input') !== '') throw new Error('the password is still filled in after signing out');
  ok('signing out forgets the account: a reload shows the landing page, nothing filled in');

  step = 'wrong passwords again and again are throttled';
  let refusals = 0;
  for (;;) {
    await enter(again, 'signin', 'bob', `not ${pw}`);
    const said = await refusedWith(again, /Wrong account name or password|Too many/);
    if (said.includes('Too many')) break;
    if (++refusals > 10) throw new Error(`still "${said}" after ${refusals} wrong passwords`);
  }
  if (!refusals) throw new Error('throttled before any wrong password');
  ok(`after ${refusals} wrong passwords the page says there were too many`);

  await done();
}

async function markers() {
  await launch();
  const pw = `secret ${token}`;
  const one = await openPage('one', { width: 1100, height: 750 });
  const erin = await openPage('erin', { width: 1100, height: 750 });
  step = 'dana and erin create accounts and talk privately';
  await one.goto(opts.url, { waitUntil: 'load' });
  await enter(one, 'register', 'dana', pw);
  await signedIn(one, 'dana');
  await erin.goto(opts.url, { waitUntil: 'load' });
  await enter(erin, 'register', 'erin', pw);
  await signedIn(erin, 'erin');
  const first = `just between us ${token}`;
  const second = `yes, only us ${token}`;
  await send(erin, `/msg dana ${first}`);
  await one.locator('#queries .tab[data-target="erin"]').waitFor();
  await one.click('#queries .tab[data-target="erin"] .tab-open');
  await expectMessage(one, 'erin', 'erin', first);
  await send(one, second);
  await expectMessage(erin, 'dana', 'dana', second);
  ok('dana and erin created accounts and exchanged private messages');

  const two = await openPage('two', { width: 1100, height: 750 });
  step = 'a second page of dana finds the conversation, with its earlier messages';
  await two.goto(opts.url, { waitUntil: 'load' });
  await enter(two, 'signin', 'dana', pw);
  const nick = await signedIn(two, 'dana');
  // Found by CHATHISTORY TARGETS, filled by CHATHISTORY LATEST erin.
  await two.locator('#queries .tab[data-target="erin"]').waitFor();
  await two.click('#queries .tab[data-target="erin"] .tab-open');
  await expectMessage(two, 'erin', 'erin', first);
  await two.locator('.log[data-buffer="erin"] .message.self.earlier[data-nick="dana"]').filter({ hasText: second }).waitFor();
  ok(`a second page signed in to dana (as ${nick}) shows the conversation with erin, dana's line as her own`);

  startNc();
  await ncExpect(/^-- you are (\S+);/, 'the welcome');
  ncSend('/nick nceve');
  await ncExpect(/^-- \S+ is now known as nceve$/, 'the nick change');
  for (const page of [one, two]) {
    await page.locator(`${LOBBY} .message.status`).filter({ hasText: 'is now known as nceve' }).waitFor({ state: 'attached' });
  }
  ok('nc is in #lobby with both pages of dana');

  step = 'both pages look elsewhere while nc talks';
  for (const page of [one, two]) {
    await page.click('#rooms .tab[data-target="server"] .tab-open');
    await page.locator('#rooms .tab.active[data-target="server"]').waitFor();
  }
  const lines = [1, 2, 3].map((i) => `unread ${i} ${token}`);
  for (const line of lines) ncSend(line);
  // (In a tab not shown: attached, not visible.)
  for (const page of [one, two]) {
    await messageIn(page, '#lobby', 'nceve', lines[2]).waitFor({ state: 'attached' });
    await page.locator('#rooms .tab[data-target="#lobby"] .badge').filter({ hasText: /^3$/ }).waitFor();
  }
  ok('both pages show 3 unread in #lobby');

  step = 'reading in one page clears the badge in the other';
  await one.click('#rooms .tab[data-target="#lobby"] .tab-open');
  await one.locator('#rooms .tab[data-target="#lobby"] .badge').waitFor({ state: 'hidden' });
  await two.locator('#rooms .tab[data-target="#lobby"] .badge').waitFor({ state: 'hidden' });
  if (!(await two.locator('#rooms .tab.active[data-target="server"]').count())) throw new Error('the other page left its tab');
  ok('page one read #lobby; page two, still on another tab, shows no unread there');

  step = 'a line after that counts again';
  await one.click('#rooms .tab[data-target="server"] .tab-open');
  const more = `one more ${token}`;
  ncSend(more);
  for (const page of [one, two]) {
    await messageIn(page, '#lobby', 'nceve', more).waitFor({ state: 'attached' });
    await page.locator('#rooms .tab[data-target="#lobby"] .badge').filter({ hasText: /^1$/ }).waitFor();
  }
  ok('a line said after the reading counts as 1 unread in both pages');

  await done();
}

// Records what the page asks of the Notification API (window.__notes: each
// notification made; window.__asked: permission requests), and still does it.
function spyOnNotifications(page) {
  return page.addInitScript(() => {
    window.__notes = [];
    window.__asked = 0;
    const Real = window.Notification;
    class Spy extends Real {
      constructor(title, o = {}) { super(title, o); window.__notes.push({ title, body: o.body }); }
    }
    Object.defineProperty(Spy, 'permission', { get: () => Real.permission });
    Spy.requestPermission = (...a) => { window.__asked++; return Real.requestPermission(...a); };
    window.Notification = Spy;
  });
}

// Polls fn in the page until it is true (not waitForFunction: the page's
// CSP forbids the eval it needs).
async function until(page, fn, what) {
  for (const end = Date.now() + STEP_MS; Date.now() < end; await page.waitForTimeout(100)) {
    if (await page.evaluate(fn)) return;
  }
  throw new Error(`${what}: not within ${STEP_MS / 1000} s`);
}

// A headless tab is never hidden: the page is told it is (or is not).
function setHidden(page, hidden) {
  return page.evaluate((h) => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => h });
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (h ? 'hidden' : 'visible') });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
}

async function site() {
  if (!opts.title || opts.description === undefined) usage('the site scenario needs --title and --description');
  await launch();
  const eve = await openPage('webeve', { width: 1280, height: 800 }, { permissions: ['notifications'] });
  await spyOnNotifications(eve);
  step = 'the landing page shows the title and description';
  await eve.goto(opts.url, { waitUntil: 'load' });
  const shown = await eve.evaluate(() => ({
    title: document.title, h1: document.querySelector('#site-title').textContent,
    description: document.querySelector('#site-description').textContent,
    markup: document.querySelectorAll('#site-title *, #site-description *').length,
    button: !document.querySelector('#notify-btn').hidden,
  }));
  if (shown.title !== opts.title || shown.h1 !== opts.title || shown.description !== opts.description || shown.markup) {
    throw new Error(`the landing page shows ${JSON.stringify(shown)}`);
  }
  ok('the landing page shows the server\'s title and description as text, and the tab is named by it');
  if (shown.button) throw new Error('"Notify me" is offered though notifications are granted');

  step = 'webeve logs in';
  await login(eve, 'webeve');
  const title = await eve.title();
  if (title !== `#lobby · ${opts.title}`) throw new Error(`the tab's title is ${JSON.stringify(title)}`);
  ok(`in #lobby the tab's title is "${title}"`);

  step = 'nc talks while the tab is hidden';
  startNc();
  ncSend('/nick ncnora');
  await ncExpect(/is now known as ncnora/, 'the nick change');
  await setHidden(eve, true);
  ncSend(`just chatting ${token}`);
  ncSend(`webeve: look here ${token}`);
  ncSend(`/msg webeve psst ${token}`);
  await messageIn(eve, 'ncnora', 'ncnora', `psst ${token}`).first().waitFor({ state: 'attached' });
  await until(eve, () => window.__notes.length >= 2, 'two notifications');
  await eve.waitForTimeout(300); // nothing more comes
  const notes = await eve.evaluate(() => window.__notes);
  const want = [{ title: 'ncnora in #lobby', body: `webeve: look here ${token}` },
    { title: 'ncnora (private)', body: `psst ${token}` }];
  if (JSON.stringify(notes) !== JSON.stringify(want)) throw new Error(`notifications: ${JSON.stringify(notes)}`);
  ok('hidden, the page notified of the mention and the private message, not of the other line');
  const hiddenTitle = await eve.title();
  if (!hiddenTitle.startsWith('(3) ') || !hiddenTitle.endsWith(opts.title)) {
    throw new Error(`hidden, the tab's title is ${JSON.stringify(hiddenTitle)}`);
  }
  ok(`hidden, the tab's title counts the unread: "${hiddenTitle}"`);
  await setHidden(eve, false);
  ncSend(`webeve: back again ${token}`);
  await expectMessage(eve, '#lobby', 'ncnora', `back again ${token}`);
  await eve.waitForTimeout(300);
  if ((await eve.evaluate(() => window.__notes.length)) !== 2) throw new Error('notified while the tab was shown');
  if ((await eve.title()).startsWith('(')) throw new Error(`shown again, the title is ${await eve.title()}`);
  ok('shown again: no notification, and no count in the title');

  step = 'a page without the permission';
  const fay = await openPage('webfay', { width: 1280, height: 800 });
  await spyOnNotifications(fay);
  await login(fay, 'webfay');
  await fay.locator('#notify-btn').waitFor({ state: 'visible' });
  await fay.click('#notify-btn');
  await until(fay, () => window.__asked === 1, 'the permission asked for');
  ok('without the permission the page offers "Notify me", and asks on that click');
  await setHidden(fay, true);
  ncSend(`webfay: are you there ${token}`);
  await expectMessage(fay, '#lobby', 'ncnora', `are you there ${token}`);
  await fay.waitForTimeout(300);
  if ((await fay.evaluate(() => window.__notes.length)) !== 0) throw new Error('notified without the permission');
  ok('without the permission, no notification');

  await done();
}

async function main() {
  if (opts.scenario === 'site') return site();
  if (opts.scenario === 'accounts') return accounts();
  if (opts.scenario === 'markers') return markers();
  if (opts.scenario === 'rejoin') return rejoin();
  if (opts.scenario === 'history') return history();
  if (opts.scenario) usage(`unknown scenario ${opts.scenario}`);
  await launch();

  const ann = await openPage('webann', { width: 1280, height: 800 });
  const bob = await openPage('webbob', { width: 1280, height: 800 });

  step = 'webann logs in';
  await login(ann, 'webann');
  ok('webann logged in and is in #lobby');
  step = 'webbob logs in';
  await login(bob, 'webbob');
  ok('webbob logged in and is in #lobby');

  if (opts.history) {
    step = `history ${opts.history}`;
    const on = opts.history === 'on';
    await historySettled(ann);
    const top = ann.locator(`${LOBBY} > .history-top`);
    if (await top.isHidden() === on) throw new Error(`the top of the room ${on ? 'is hidden' : 'is shown'}`);
    if (await ann.locator('#search-toggle').isVisible() !== on) throw new Error(`the search button ${on ? 'is hidden' : 'is shown'}`);
    ok(on ? 'the server keeps history: the page offers earlier messages and search'
      : 'the server keeps no history: the page offers neither earlier messages nor search');
  }

  step = 'nc connects and takes a nick';
  startNc();
  if (opts.password) {
    await ncExpect(/^-- this server needs a password: \/pass PASSWORD$/, 'the password prompt');
    ncSend(`/pass ${opts.password}`);
  }
  const you = await ncExpect(/^-- you are (\S+);/, 'the welcome');
  await ncExpect(new RegExp(`^#lobby -- ${you.match(/you are (\S+);/)[1]} joined$`), 'its join');
  ncSend('/nick nccarl');
  await ncExpect(/^-- \S+ is now known as nccarl$/, 'the nick change');
  ok('nc is in #lobby as nccarl');

  step = 'member lists show all three';
  for (const page of [ann, bob]) {
    for (const nick of ['webann', 'webbob', 'nccarl']) {
      await page.locator(`#members .member[data-nick="${nick}"]`).waitFor();
    }
    const count = await page.locator('#members .member').count();
    if (count !== 3) throw new Error(`expected 3 members, the list has ${count}`);
  }
  ncSend('/who');
  await ncExpect(/^-- #lobby users: .*/, '/who');
  const who = ncLines.filter((l) => l.startsWith('-- #lobby users:')).join(' ');
  for (const nick of ['webann', 'webbob', 'nccarl']) {
    if (!who.includes(nick)) throw new Error(`nc's /who lacks ${nick}: ${who}`);
  }
  ok('both pages list webann, webbob and nccarl; so does nc\'s /who');

  step = 'messages in #lobby';
  const fromAnn = `hello from ann ${token}`;
  const fromBob = `hi from bob ${token}`;
  const fromNc = `nc says hey ${token}`;
  await send(ann, fromAnn);
  await send(bob, fromBob);
  ncSend(fromNc);
  await expectMessage(bob, '#lobby', 'webann', fromAnn);
  await expectMessage(ann, '#lobby', 'webbob', fromBob);
  await expectMessage(ann, '#lobby', 'nccarl', fromNc);
  await expectMessage(bob, '#lobby', 'nccarl', fromNc);
  await ncExpect(new RegExp(`^#lobby <webann> ${fromAnn}$`), "webann's message");
  await ncExpect(new RegExp(`^#lobby <webbob> ${fromBob}$`), "webbob's message");
  ok('each of the three sees the other two\'s messages');
  // Own messages show once (echo-message), with an HH:MM time.
  for (const [page, nick, text] of [[ann, 'webann', fromAnn], [bob, 'webbob', fromBob]]) {
    await expectMessage(page, '#lobby', nick, text);
    const n = await messageIn(page, '#lobby', nick, text).count();
    if (n !== 1) throw new Error(`${nick} sees its own message ${n} times`);
    const time = await messageIn(page, '#lobby', nick, text).locator('.time').textContent();
    if (!/^\d\d:\d\d$/.test(time)) throw new Error(`timestamp ${JSON.stringify(time)} is not HH:MM`);
  }
  ok('own messages appear exactly once, with HH:MM timestamps');

  step = '/me action';
  await send(bob, `/me waves ${token}`);
  await ann.locator('.log[data-buffer="#lobby"] .message.action[data-nick="webbob"]').filter({ hasText: `waves ${token}` }).waitFor();
  await ncExpect(new RegExp(`^#lobby \\* webbob waves ${token}$`), 'the action');
  ok('/me reaches the other page and nc');

  step = 'private message between the pages';
  await ann.click('#members .member[data-nick="webbob"]');
  await ann.locator('#queries .tab.active[data-target="webbob"]').waitFor();
  const pm = `psst bob ${token}`;
  await send(ann, pm);
  await expectMessage(ann, 'webbob', 'webann', pm);
  await bob.locator('#queries .tab[data-target="webann"]').waitFor();
  await bob.click('#queries .tab[data-target="webann"] .tab-open');
  await expectMessage(bob, 'webann', 'webann', pm);
  const reply = `got it ann ${token}`;
  await send(bob, reply);
  await expectMessage(ann, 'webbob', 'webbob', reply);
  if (ncLines.some((l) => l.includes(pm) || l.includes(reply))) throw new Error('nc saw the private message');
  ok('a private message opens a tab on the other page, and the reply comes back');

  step = 'error numerics are shown';
  await send(ann, '/msg nosuchnick hello?');
  await ann.locator('.log:not([hidden]) .message.error').filter({ hasText: 'nosuchnick' }).waitFor();
  ok('messaging an unknown nick shows the server\'s error');

  step = 'screenshots';
  await ann.click('#rooms .tab[data-target="#lobby"] .tab-open');
  await ann.locator('#rooms .tab.active[data-target="#lobby"]').waitFor();
  await ann.screenshot({ path: path.join(artifacts, 'web-chat.png') });
  await bob.setViewportSize({ width: 390, height: 844 });
  await bob.waitForTimeout(400); // the side panels slide out of view
  // On a phone the rooms are in a drawer behind the menu button.
  await bob.click('#rooms-toggle');
  await bob.waitForTimeout(300);
  await bob.click('#rooms .tab[data-target="#lobby"] .tab-open');
  await bob.locator('#rooms .tab.active[data-target="#lobby"]').waitFor({ state: 'attached' });
  await bob.waitForTimeout(300); // the drawer slides away
  const overflow = await bob.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 0) throw new Error(`the phone layout scrolls sideways by ${overflow}px`);
  const input = await bob.locator('#message-input').boundingBox();
  if (!input || input.y + input.height > 844 || input.y < 844 - 120) {
    throw new Error(`the message input is not at the bottom of the phone screen: ${JSON.stringify(input)}`);
  }
  await bob.screenshot({ path: path.join(artifacts, 'web-chat-phone.png') });
  await bob.click('#members-toggle');
  await bob.locator('#members .member[data-nick="nccarl"]').waitFor({ state: 'visible' });
  await bob.waitForTimeout(300); // the drawer slides in
  await bob.screenshot({ path: path.join(artifacts, 'web-chat-phone-members.png') });
  ok(`screenshots in ${artifacts}: web-chat.png, web-chat-phone.png, web-chat-phone-members.png`);

  await done();
}

main().catch(fail);
