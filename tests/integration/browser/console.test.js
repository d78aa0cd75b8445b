// The web console in a real browser (Debian's chromium through playwright-core), at a
// phone's width: open the page, send "Hi Chika", tap the PANDAWA button, see the province
// question, save a screenshot; the user id survives a reload (localStorage + hello) and
// Reset gives a new one; every note and label is the flow's (its "console" section), in
// Indonesian for chika and in English for a flow written in English; a long list has a
// button for its next page. Exit status 0 when everything held.
"use strict";
const fs = require("fs");
const { chromium } = require("playwright-core");

const base = process.env.BASE_URL;
const shot = process.env.SCREENSHOT;
const texts = JSON.parse(fs.readFileSync(process.env.FLOW, "utf8")).console;
const otherTexts = JSON.parse(fs.readFileSync(process.env.OTHER_FLOW, "utf8")).console;

// The page speaks the flow's language: its lang, labels and notes are the flow's texts,
// and none of the other flow's texts shows anywhere.
async function speaks(page, t, other, what) {
  check(await page.evaluate(() => document.documentElement.lang) === t.lang, what + ": lang");
  check(await page.getAttribute("#text", "placeholder") === t.placeholder, what + ": placeholder");
  check(await page.getAttribute("#send", "aria-label") === t.send, what + ": send label");
  check((await page.textContent("#reset")) === t.reset, what + ": reset label");
  check(await page.getAttribute("#reset", "title") === t.reset_hint, what + ": reset hint");
  await page.waitForFunction((c) => document.getElementById("status").textContent === c, t.connected);
  check(await page.locator(".note", { hasText: t.start }).count() === 1, what + ": the start note");
  const shown = await page.evaluate(() => document.body.innerText + " " +
    [...document.querySelectorAll("[title],[placeholder],[aria-label]")]
      .map((e) => [e.title, e.placeholder, e.getAttribute("aria-label")].join(" ")).join(" "));
  for (const [k, v] of Object.entries(other))
    if (k !== "lang" && k !== "reset" && v.length > 4)
      check(!shown.includes(v.replace("{bot} ", "")), what + ": shows the other flow's " + k + ": " + v);
}

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

(async () => {
  const context = await chromium.launchPersistentContext(process.env.USER_DATA_DIR, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 375, height: 740 },
    deviceScaleFactor: 2,
  });
  let failed = false;
  try {
    const page = context.pages()[0] || (await context.newPage());
    page.setDefaultTimeout(15000);
    const errors = [];
    // Every websocket the page opens is kept, so the test can drop it; while __block is
    // set, new ones go to a closed port (the page keeps retrying).
    await page.addInitScript(() => {
      const Real = window.WebSocket;
      window.__sockets = [];
      window.WebSocket = function (url, proto) {
        const w = new Real(window.__block ? "ws://127.0.0.1:1/chat" : url, proto);
        window.__sockets.push(w);
        return w;
      };
      window.WebSocket.prototype = Real.prototype;
    });
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(base);
    await page.waitForFunction(() => /^web-/.test(document.getElementById("user").textContent));
    const user = await page.textContent("#user");

    await page.fill("#text", "Hi Chika");
    await page.press("#text", "Enter");
    const pandawa = page.locator(".choices button", { hasText: "PANDAWA" }).last();
    await pandawa.waitFor();
    check(await page.locator(".bubble.bot", { hasText: "Chika" }).count() > 0, "no greeting from Chika");
    // the header names the bot after the flow the server runs
    check((await page.textContent("#bot")) === "Chika", "the header does not name the flow's bot");
    await speaks(page, texts, otherTexts, "chika");
    await pandawa.click();
    await page.locator(".bubble.bot", { hasText: "provinsi" }).waitFor();
    // the province list is long: its page has a button for the next one, in the flow's words
    const more = page.locator(".choices button.more").last();
    await more.waitFor();
    check((await more.textContent()) === texts.more, "the next-page button says " + (await more.textContent()));
    check(await page.locator(".choices").last().locator("button:not(.more)").count() === 10,
          "the first page does not show 10 provinces");
    await more.click();
    await page.locator(".bubble.bot", { hasText: /(^|\n)11\. / }).waitFor();
    check(await page.locator(".bubble.me", { hasText: texts.more }).count() === 1,
          "the next-page tap is not shown as the user's bubble");
    check(await page.locator(".choices").last().locator("button:not(.more)").first().textContent() !==
          await page.locator(".choices").first().locator("button").first().textContent(),
          "the next page shows the same provinces");
    check(await page.locator(".bubble.me", { hasText: "PANDAWA" }).count() === 1,
          "the tapped choice is not shown as the user's bubble");
    await page.waitForSelector(".typing", { state: "detached" });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
    check(overflow <= 375, "the page is wider than 375px: " + overflow);
    await page.screenshot({ path: shot });
    console.log("screenshot: " + shot);

    // Resume: a reload says hello with the stored id and carries on from the province.
    check(await page.evaluate(() => localStorage.getItem("loket.user")) === user,
          "the user id is not in localStorage");
    await page.reload();
    await page.waitForFunction((u) => document.getElementById("user").textContent === u, user);
    await page.fill("#text", "Jawa Barat");
    await page.press("#text", "Enter");
    await page.locator(".bubble.bot", { hasText: /kabupaten|kota/i }).first().waitFor();

    // Disconnected: the state shows at 375 px, and a message typed meanwhile is marked as
    // not sent until the connection is back, then it leaves and is answered.
    await page.evaluate(() => { window.__block = true; window.__sockets.forEach((w) => w.close()); });
    await page.waitForFunction(() => !document.getElementById("conn").hidden &&
                                      document.getElementById("conn").className === "down");
    await page.fill("#text", "Kota Bandung");
    await page.press("#text", "Enter");
    const queued = page.locator(".bubble.me.queued", { hasText: "Kota Bandung" });
    check(await queued.count() === 1, "a message typed while disconnected looks sent");
    check(await queued.getAttribute("data-wait") === texts.not_sent, "the not-sent mark is not the flow's");
    check((await page.textContent("#conn")).startsWith(texts.reconnecting),
          "the connection bar says " + (await page.textContent("#conn")));
    const bar = await page.locator("#conn").boundingBox();
    check(bar && bar.width <= 375 && bar.height > 10 && bar.y < 120,
          "the connection state is not visible at 375px: " + JSON.stringify(bar));
    await page.screenshot({ path: shot.replace(/\.png$/, "-offline.png") });
    await page.evaluate(() => { window.__block = false; });
    await page.waitForFunction(() => document.getElementById("conn").hidden);
    await page.waitForSelector(".bubble.me.queued", { state: "detached" });
    await page.locator(".bubble.bot", { hasText: /formulir|link|http/i }).last().waitFor();

    // An error from the server is noted in the flow's words (the server's own in the tooltip).
    await page.evaluate(() => window.__sockets[window.__sockets.length - 1].send("{not json"));
    const err = page.locator(".note.err").last();
    await err.waitFor();
    check((await err.textContent()) === texts.error, "the error note says " + (await err.textContent()));
    check(((await err.getAttribute("title")) || "").length > 0, "the server's error is not kept");

    // A plain new WebSocket(url), no subprotocol: the browser gets the chat protocol.
    const plain = await page.evaluate((url) => new Promise((resolve) => {
      const w = new WebSocket(url), got = [];
      w.onopen = () => w.send(JSON.stringify({ type: "message", text: "Hi Chika" }));
      w.onmessage = (ev) => {
        const m = JSON.parse(ev.data);
        got.push(m);
        if (m.type === "done") { w.close(); resolve({ protocol: w.protocol, got }); }
      };
      w.onclose = () => resolve({ closed: true, got });
    }), base.replace(/^http/, "ws") + "chat");
    check(!plain.closed && plain.protocol === "" &&
          plain.got.some((m) => m.type === "reply" && /Chika/.test(m.text)),
          "a plain WebSocket without subprotocol got no reply: " + JSON.stringify(plain).slice(0, 300));

    // Reset: a new user id.
    await page.click("#reset");
    await page.waitForFunction((u) => /^web-/.test(document.getElementById("user").textContent) &&
                                      document.getElementById("user").textContent !== u, user);
    check(await page.locator(".note", { hasText: texts.restarted }).count() === 1,
          "no restarted note after Reset");

    // The same page with a flow written in English speaks English, with no change in C.
    const en = await context.newPage();
    en.setDefaultTimeout(15000);
    en.on("pageerror", (e) => errors.push(String(e)));
    await en.goto(process.env.OTHER_URL);
    await en.waitForFunction(() => /^web-/.test(document.getElementById("user").textContent));
    await speaks(en, otherTexts, texts, "english");
    await en.fill("#text", "Hello");
    await en.press("#text", "Enter");
    await en.locator(".choices button", { hasText: "Opening hours" }).waitFor();
    check((await en.textContent("#bot")) === "Clinic", "the English flow's bot is not named");
    await en.screenshot({ path: shot.replace(/\.png$/, "-english.png") });
    check(errors.length === 0, "errors in the page: " + errors.join("; "));
    console.log("ok");
  } catch (e) {
    failed = true;
    console.error("FAIL: " + (e && e.stack ? e.stack : e));
  } finally {
    await context.close();
  }
  process.exit(failed ? 1 : 0);
})();
