// The web console in a real browser (Debian's chromium through playwright-core), at a
// phone's width: open the page, send "Hi Chika", tap the PANDAWA button, see the province
// question, save a screenshot; the user id survives a reload (localStorage + hello) and
// Reset gives a new one. Exit status 0 when everything held.
"use strict";
const { chromium } = require("playwright-core");

const base = process.env.BASE_URL;
const shot = process.env.SCREENSHOT;

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
    await pandawa.click();
    await page.locator(".bubble.bot", { hasText: "provinsi" }).waitFor();
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
    const bar = await page.locator("#conn").boundingBox();
    check(bar && bar.width <= 375 && bar.height > 10 && bar.y < 120,
          "the connection state is not visible at 375px: " + JSON.stringify(bar));
    await page.screenshot({ path: shot.replace(/\.png$/, "-offline.png") });
    await page.evaluate(() => { window.__block = false; });
    await page.waitForFunction(() => document.getElementById("conn").hidden);
    await page.waitForSelector(".bubble.me.queued", { state: "detached" });
    await page.locator(".bubble.bot", { hasText: /formulir|link|http/i }).last().waitFor();

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
