// Drives the playground page in Debian's Chromium with playwright-core (no
// browser download): runs both flows and every failure choice with the
// keyboard and the mouse, refuses any request to an origin that is not
// Sigil's, saves screenshots at two screen sizes, and prints one JSON line
// per run for test/e2e/playground_test.go to judge.
//
// usage: node playground.mjs PAGE_URL RESOURCE_ORIGIN SCREENSHOT_DIR
import { chromium } from "playwright-core";

const [pageURL, resourceOrigin, shots] = process.argv.slice(2);
const allowed = new Set([new URL(pageURL).origin, resourceOrigin]);
const foreign = [];
const problems = [];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--host-resolver-rules=MAP localhost 127.0.0.1"],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.route("**/*", (route) => {
    const u = new URL(route.request().url());
    if (!allowed.has(u.origin)) {
      foreign.push(u.href);
      return route.abort();
    }
    return route.continue();
  });
  const page = await context.newPage();
  // A 4xx answer is what a failure choice is for; anything else the
  // console complains of (a CSP violation, an exception) is a problem.
  page.on("console", (m) => {
    if (m.type() === "error" && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) {
      problems.push("console: " + m.text());
    }
  });
  page.on("pageerror", (e) => problems.push("page error: " + e.message));
  await page.goto(pageURL);
  await page.waitForSelector("body[data-stream=ready]", { timeout: 10000 });

  let runs = 0;
  const collect = (name) => page.evaluate((name) => {
    const arrows = {};
    for (const g of document.querySelectorAll("[data-arrow]")) {
      arrows[g.dataset.arrow] = { state: g.dataset.state, text: g.querySelector(".state").textContent };
    }
    const u = document.querySelector("[data-upstream]");
    return {
      name,
      arrows,
      upstream: u ? Number(u.dataset.upstream) : -1,
      jwks: u ? u.dataset.jwks || "" : "",
      introspection: u ? u.dataset.introspection || "" : "",
      jwt: document.querySelector("[data-jwt]") ? document.querySelector("[data-jwt]").textContent : "",
      steps: Object.fromEntries([...document.querySelectorAll("li[data-step]")].map((li) => [li.dataset.step, li.querySelector(".badge").textContent])),
      curls: [...document.querySelectorAll("details.curl pre")].map((p) => p.textContent),
    };
  }, name);
  const done = () => page.waitForFunction((n) => Number(document.body.dataset.done || 0) >= n, ++runs, { timeout: 15000 });
  const print = async (name) => console.log(JSON.stringify(await collect(name)));

  // The keyboard alone: Tab to Run, Enter starts it; then Space again.
  let tabs = 0;
  while (await page.evaluate(() => document.activeElement && document.activeElement.id) !== "run") {
    await page.keyboard.press("Tab");
    if (++tabs > 40) throw new Error("Tab never reached the Run button");
  }
  await page.keyboard.press("Enter");
  await done();
  await print("jwt");
  await page.screenshot({ path: `${shots}/playground-1280x800.png`, fullPage: true });
  await page.keyboard.press("Space"); // focus stays on Run
  await done();
  await print("jwt-again");

  const runWith = async (name, flow, failure, auth) => {
    await page.check(`input[name=flow][value=${flow}]`);
    await page.check(`input[name=auth][value=${auth || "post"}]`);
    await page.selectOption("#failure", failure);
    await page.click("#run");
    await done();
    await print(name);
  };
  for (const f of ["scope", "tampered", "noscope", "revoked", "expired"]) await runWith(`jwt-${f}`, "jwt", f);
  await runWith("jwt-basic", "jwt", "none", "basic");
  await runWith("opaque", "opaque", "none");
  await runWith("opaque-basic", "opaque", "none", "basic");
  for (const f of ["scope", "tampered", "revoked"]) await runWith(`opaque-${f}`, "opaque", f);

  // The resource server fetches the JWKS for an unknown kid at most once
  // per jwks-min-refresh-interval (the test sets 1s): let it pass since
  // the first fetch, then rotate.
  await page.waitForTimeout(1100);
  await runWith("jwt-rotation", "jwt", "rotation");
  await runWith("jwt-after-rotation", "jwt", "none");

  // Step by step, one request per press of Step.
  await page.check("input[name=flow][value=jwt]");
  await page.selectOption("#failure", "none");
  await page.focus("#step");
  for (let i = 0; i < 3; i++) {
    await page.keyboard.press("Enter");
    await page.waitForFunction((i) => document.querySelectorAll("li[data-step] .timing").length > i, i, { timeout: 10000 });
  }
  await done();
  await print("jwt-stepped");

  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: `${shots}/playground-390x844.png`, fullPage: true });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 0) problems.push(`the page is ${overflow}px wider than a 390px screen`);
} finally {
  await browser.close();
}
console.log(JSON.stringify({ name: "summary", foreign, problems }));
