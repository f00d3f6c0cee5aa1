#!/usr/bin/env node
// End-to-end test of Parley's web client: two Chromium pages (separate
// contexts) and one `nc` on the plain door talk in #lobby and see each other;
// the pages exchange a private message; screenshots go to the artifacts dir.
//
//   node e2e.mjs --url http://127.0.0.1:PORT/ --plain-port N --artifacts DIR [--password PW]
//   node e2e.mjs --url ... --plain-port N --scenario rejoin
//
// With --password the server wants one: each page must ask for it when the
// server says so (464), and nc gives it with /pass.
//
// The rejoin scenario is one page through a server restart: it sets a
// topic, prints "e2e: restart the server" and waits for a line on stdin
// (the server is back, without the topic); the page must reconnect,
// rejoin, and show the room as it is now.
// Exit 0 when every check passed; 1 with a line saying which one failed.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const HARD_TIMEOUT_MS = 60_000;
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
  if (!['--url', '--plain-port', '--artifacts', '--password', '--scenario'].includes(k) || v === undefined) usage(`bad argument ${k}`);
  opts[k.slice(2)] = v;
}
if (!opts.url || !opts['plain-port']) usage('--url and --plain-port are required');
const artifacts = path.resolve(opts.artifacts || 'artifacts');
mkdirSync(artifacts, { recursive: true });
const plainPort = Number(opts['plain-port']);
const token = Date.now().toString(36);

let browser = null;
let nc = null;
const pages = {};
let step = 'starting';
let passed = 0;
const problems = []; // console errors, page errors, CSP violations

function ok(what) { passed++; console.log(`ok ${passed} - ${what}`); }

async function cleanup() {
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

async function openPage(name, viewport) {
  // ignoreHTTPSErrors: a tls --web-listen in tests has a self-signed certificate.
  const context = await browser.newContext({ viewport, ignoreHTTPSErrors: true });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_MS);
  page.on('pageerror', (e) => problems.push(`${name}: page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`${name}: console error: ${m.text()}`);
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

  step = 'the server restarts';
  console.log('e2e: restart the server');
  await ann.locator('#status[data-state="offline"]').waitFor({ timeout: 20_000 });
  await stdinLine();
  await ann.locator('#status[data-state="connected"]').waitFor({ timeout: 20_000 });
  await ann.locator('#rooms .tab.active[data-target="#lobby"]').waitFor();
  await ann.locator('#members .member[data-nick="webann"]').waitFor();
  const shown = await ann.locator('#topic').textContent();
  if (shown.includes(topic)) throw new Error(`the header still shows the old topic: "${shown}"`);
  if (shown !== 'No topic') throw new Error(`the header shows "${shown}", not "No topic"`);
  ok('back in #lobby after the restart, the header says the room has no topic');
  await done();
}

async function main() {
  if (opts.scenario === 'rejoin') return rejoin();
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
