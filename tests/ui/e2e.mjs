// End-to-end: the page served by `hv ui`, in headless Debian Chromium driven by playwright-core,
// with an injected wallet backed by an Anvil account. Each step drives the page like a person,
// then checks the chain itself (ethers over the node's JSON-RPC) and what the page shows.
//
//   node tests/ui/e2e.mjs SETTINGS.json
//
// SETTINGS: { scenario: "flow" | "errors", page_url, rpc_url, account, keeper, guardian, out_dir }.
// Prints one JSON line per step ({"step", "ok", ...}); exits non-zero at the first failed step,
// after saving a screenshot of the page as it was (out_dir/failed-<scenario>.png).
import { chromium } from "playwright-core";
import { Contract, JsonRpcProvider, parseUnits } from "ethers";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { injectWallet } from "./wallet.mjs";

const CHROMIUM = "/usr/bin/chromium";
// Without these, Chromium in a closed network hangs trying to reach Google's services.
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];
// How long any one step may take: a condition awaited, a click, a navigation. Generous because
// Chromium, the page and Anvil share a busy machine with the rest of the suite; a failing step
// still fails, only later.
const WAIT_MS = 60_000;
const USD = (n) => parseUnits(String(n), 6);

const settings = JSON.parse(readFileSync(process.argv[2], "utf8"));
mkdirSync(settings.out_dir, { recursive: true });

const node = new JsonRpcProvider(settings.rpc_url, undefined, { staticNetwork: true, batchMaxCount: 1 });
const config = await (await fetch(new URL("config.json", settings.page_url))).json();
const abis = await (await fetch(new URL("abi.json", settings.page_url))).json();
const chain = {
  vault: new Contract(config.contracts.vault, abis.HedgeVault, node),
  market: new Contract(config.contracts.option_market, abis.OptionMarket, node),
  lens: new Contract(config.contracts.vault_lens, abis.VaultLens, node),
  usd: new Contract(config.contracts.usd, abis.ERC20, node),
};
const me = settings.account;
// The local deployment's feeds are Chainlink's MockV3Aggregator: anyone may post a round.
const MOCK_FEED = ["function updateAnswer(int256 answer)"];
const feeds = {
  price: new Contract(config.contracts.price_feed, MOCK_FEED, node),
  vol: new Contract(config.contracts.vol_feed, MOCK_FEED, node),
};

function log(obj) {
  process.stdout.write(JSON.stringify(obj, (_, v) => (typeof v === "bigint" ? v.toString() : v)) + "\n");
}

// ------------------------------------------------------------------ browser and page

const profile = mkdtempSync(join(tmpdir(), "hv-ui-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 1100 },
});
context.setDefaultTimeout(WAIT_MS);
const page = context.pages()[0] ?? await context.newPage();
const origin = new URL(settings.page_url).origin;
const foreign = [];
const pageErrors = [];
page.on("request", (req) => { if (new URL(req.url()).origin !== origin) foreign.push(req.url()); });
page.on("pageerror", (err) => pageErrors.push(err.message));
await page.exposeFunction("__hvRpc", async (payload) => {
  const { method, params } = JSON.parse(payload);
  const resp = await fetch(settings.rpc_url, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  return resp.text();
});
const startChain = settings.scenario === "errors" ? "0x1" : "0x" + config.chain_id.toString(16);
await page.addInitScript(injectWallet, { account: me, chainId: startChain });

async function step(name, fn) {
  const t0 = Date.now();
  try {
    const detail = (await fn()) ?? {};
    log({ step: name, ok: true, ms: Date.now() - t0, ...detail });
  } catch (err) {
    const shot = join(settings.out_dir, `failed-${settings.scenario}.png`);
    await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
    log({ step: name, ok: false, ms: Date.now() - t0, error: String(err?.stack || err), screenshot: shot });
    await context.close();
    rmSync(profile, { recursive: true, force: true });
    process.exit(1);
  }
}

const text = (sel) => page.locator(sel).innerText();
const raw = async (sel) => page.locator(sel).getAttribute("data-raw");

async function waitRaw(sel, expected) {
  await page.waitForFunction(([s, v]) => document.querySelector(s)?.dataset.raw === v, [sel, String(expected)], { timeout: WAIT_MS });
}

async function waitEnabled(sel) {
  await page.waitForFunction((s) => document.querySelector(s) && !document.querySelector(s).disabled, sel, { timeout: WAIT_MS });
}

/** Click, then wait for the activity entry it starts (`key`) to end: confirmed, failed or rejected. */
async function transact(sel, key) {
  const before = await page.locator(`#tx-log li[data-tx="${key}"]`).count();
  await page.click(sel);
  await page.waitForFunction(([k, n]) => {
    const items = document.querySelectorAll(`#tx-log li[data-tx="${k}"]`);
    return items.length > n && ["confirmed", "failed", "rejected"].includes(items[0].dataset.status);
  }, [key, before], { timeout: WAIT_MS });
  const entry = page.locator(`#tx-log li[data-tx="${key}"]`).first();
  await page.waitForFunction(([k]) => document.querySelector(`#tx-log li[data-tx="${k}"]`).dataset.read === "1", [key], { timeout: WAIT_MS });
  const result = {
    status: await entry.getAttribute("data-status"),
    revert: await entry.getAttribute("data-revert"),
    detail: await entry.locator(".tx-detail").innerText(),
    code: await entry.locator(".tx-revert").innerText(),
  };
  return result;
}

async function banner(key) {
  const loc = page.locator(`#banners [data-banner="${key}"]`);
  return (await loc.count()) ? loc.innerText() : null;
}

async function sendAs(from, contract, method, args) {
  const signer = await node.getSigner(from);
  const tx = await contract.connect(signer).getFunction(method).send(...args);
  const receipt = await tx.wait();
  assert.equal(receipt.status, 1, `${method} from ${from} failed`);
}

// ------------------------------------------------------------------ scenarios

async function flow() {
  const [callSeries] = (await chain.market.liveSeries()).filter((s) => s.isCall);
  const id = callSeries.id;
  let depositShares = 0n;

  await step("open the page: no read-only RPC, so it asks for the wallet", async () => {
    await page.goto(settings.page_url);
    await page.waitForFunction(() => Number(document.body.dataset.refreshes || 0) >= 1, null, { timeout: WAIT_MS });
    const words = await banner("connect-to-read");
    assert.ok(words?.includes("Connect your wallet to read the vault"), words);
    assert.ok(await page.isVisible("#connect"));
    return { banner: words };
  });

  await step("connect the wallet", async () => {
    await page.click("#connect");
    await page.waitForFunction((a) => document.querySelector("#account").dataset.address === a, me, { timeout: WAIT_MS });
    await waitRaw("#my-usdc", await chain.usd.balanceOf(me));
    assert.equal(await page.getAttribute("#network-status", "data-state"), "ok");
    assert.equal(await banner("connect-to-read"), null);
    await waitRaw("#tvl", await chain.vault.totalAssets());
    return { account: me, tvl: await raw("#tvl"), navPerShare: await text("#nav-per-share") };
  });

  await step("deposit 1,000 USDC: approve, then deposit; shares on chain match the preview and the page", async () => {
    const amount = USD(1000);
    await page.fill("#deposit-amount", "1000");
    const expected = await chain.vault.previewDeposit(amount);
    await waitRaw("#deposit-preview", expected);
    const approve = await transact("#deposit-approve", "deposit-approve");
    assert.equal(approve.status, "confirmed", approve.detail);
    assert.equal(await chain.usd.allowance(me, config.contracts.vault), amount);
    await waitEnabled("#deposit-submit");
    const usdBefore = await chain.usd.balanceOf(me);
    const dep = await transact("#deposit-submit", "deposit");
    assert.equal(dep.status, "confirmed", dep.detail);
    depositShares = await chain.vault.balanceOf(me);
    assert.equal(depositShares, expected, "shares minted differ from the preview shown before signing");
    assert.equal(await chain.usd.balanceOf(me), usdBefore - amount);
    await waitRaw("#my-shares", depositShares);
    await waitRaw("#my-value", await chain.vault.convertToAssets(depositShares));
    await page.waitForFunction(() => document.querySelector("#deposit-preview").textContent === "Enter an amount.", null, { timeout: WAIT_MS });
    const shot = join(settings.out_dir, "after-deposit.png");
    await page.screenshot({ path: shot, fullPage: true });
    return { shares: depositShares, shown: await text("#my-shares"), screenshot: shot };
  });

  let premiumPaid = 0n;
  await step(`buy 4 of call series #${id} with a max-premium guard; the position is on chain and on the page`, async () => {
    await page.selectOption("#buy-series", String(id));
    await page.fill("#buy-amount", "4");
    await page.fill("#buy-slippage", "1");
    const quoted = await chain.market.quote(id, parseUnits("4", 18));
    await page.waitForFunction(() => document.querySelector("#buy-preview").dataset.raw, null, { timeout: WAIT_MS });
    const shownPremium = BigInt(await raw("#buy-preview"));
    assert.ok(shownPremium >= quoted - quoted / 1000n && shownPremium <= quoted + quoted / 1000n, `${shownPremium} vs ${quoted}`);
    const approve = await transact("#buy-approve", "buy-approve");
    assert.equal(approve.status, "confirmed", approve.detail);
    const allowance = await chain.usd.allowance(me, config.contracts.option_market);
    assert.ok(allowance >= shownPremium && allowance <= shownPremium * 10_100n / 10_000n + 1n, `allowance ${allowance}`);
    await waitEnabled("#buy-submit");
    const usdBefore = await chain.usd.balanceOf(me);
    const buy = await transact("#buy-submit", "buy");
    assert.equal(buy.status, "confirmed", buy.detail);
    assert.equal(await chain.market.balanceOf(me, id), parseUnits("4", 18));
    premiumPaid = usdBefore - (await chain.usd.balanceOf(me));
    assert.ok(premiumPaid > 0n && premiumPaid <= allowance, `premium ${premiumPaid}, guard ${allowance}`);
    await page.waitForSelector(`#positions tr[data-position="${id}"][data-amount="${parseUnits("4", 18)}"]`, { timeout: WAIT_MS });
    return { series: id, premium: premiumPaid, position: await text(`#positions tr[data-position="${id}"]`) };
  });

  await step("no keeper yet: the page says so; a keeper's rebalance then shows in the history and the chart", async () => {
    const note = await text("#keeper-note");
    assert.ok(note.includes("No rebalances yet (the keeper is not running or has not needed to trade)"), note);
    assert.equal(await page.locator("#delta-chart svg").count(), 0);
    const check = (await chain.lens.riskSnapshot(config.contracts.vault)).check;
    assert.ok(check.needed, "four written calls should put the vault's net delta outside its dust tolerance");
    const limits = await text("#hedge-limits");
    const budget = await text("#budget");
    const hedgeNow = await text("#hedge-check");
    const nonce = (await chain.vault.hedgeState()).nonce;
    const block = await node.getBlock("latest");
    await sendAs(settings.keeper, chain.vault, "rebalance", [check.targetBaseWad, 0n, BigInt(block.timestamp + 600), nonce]);
    await page.waitForSelector("#rebalances tbody tr", { timeout: WAIT_MS });
    await page.waitForSelector("#delta-chart svg path.delta-line", { state: "attached", timeout: WAIT_MS });
    return {
      note, limits, budget, hedgeNow, rebalances: await page.locator("#rebalances tbody tr").count(),
      netDelta: await text("#net-delta"), by: await page.locator("#rebalances tbody tr td").nth(1).innerText(),
    };
  });

  await step("withdraw everything (max): shares burn on chain, USDC comes back, the page shows 0 shares", async () => {
    await page.click("#withdraw-max");
    await waitEnabled("#withdraw-submit");
    const maxWithdraw = await chain.vault.maxWithdraw(me);
    const usdBefore = await chain.usd.balanceOf(me);
    const wd = await transact("#withdraw-submit", "withdraw");
    assert.equal(wd.status, "confirmed", wd.detail);
    assert.equal(await chain.vault.balanceOf(me), 0n);
    const received = (await chain.usd.balanceOf(me)) - usdBefore;
    assert.ok(received > 0n && received >= maxWithdraw - USD(0.01) && received <= maxWithdraw + USD(0.01), `received ${received}, max ${maxWithdraw}`);
    await waitRaw("#my-shares", 0n);
    assert.equal(await chain.market.balanceOf(me, id), parseUnits("4", 18), "the option position stays");
    return { received, shown: await text("#my-shares") };
  });

  const shortCall = [...(await chain.market.liveSeries())].filter((s) => s.isCall).sort((a, b) => Number(a.expiry - b.expiry))[0];
  await step(`after expiry: buy 2 of call series #${shortCall.id}, expire it in the money, settle and redeem from the page`, async () => {
    const sid = shortCall.id;
    await page.selectOption("#buy-series", String(sid));
    await page.fill("#buy-amount", "2");
    await waitEnabled("#buy-approve");
    assert.equal((await transact("#buy-approve", "buy-approve")).status, "confirmed");
    await waitEnabled("#buy-submit");
    assert.equal((await transact("#buy-submit", "buy")).status, "confirmed");
    assert.equal(await chain.market.balanceOf(me, sid), parseUnits("2", 18));
    // Time passes the expiry; the oracle's next rounds (the mocks' updateAnswer) come just after it.
    const now = (await node.getBlock("latest")).timestamp;
    await node.send("evm_increaseTime", [Number(shortCall.expiry) - now + 60]);
    await node.send("evm_mine", []);
    await sendAs(settings.keeper, feeds.price, "updateAnswer", [3500n * 10n ** 8n]);
    await sendAs(settings.keeper, feeds.vol, "updateAnswer", [8n * 10n ** 7n]);
    const row = `#positions tr[data-position="${sid}"]`;
    await page.waitForSelector(`${row} button[data-settle="${sid}"]`, { timeout: WAIT_MS });
    const settle = await transact(`${row} button[data-settle="${sid}"]`, "settle");
    assert.equal(settle.status, "confirmed", settle.detail);
    const [, payoffPerUnit, settled] = await chain.market.settledSeries(sid);
    assert.ok(settled);
    const perUnit = 3500n * 10n ** 18n - shortCall.strikeWad;
    const payout = perUnit * 2n / 10n ** 12n; // 2 options, WAD -> 6-decimal USDC
    assert.equal(payoffPerUnit, perUnit, "a call settled at 3,500 pays 3,500 - strike per unit");
    await page.waitForSelector(`${row} button[data-redeem="${sid}"]`, { timeout: WAIT_MS });
    const status = await page.locator(`${row} td`).nth(5).innerText();
    assert.equal(status, `settled: pays ${(Number(payout) / 1e6).toLocaleString("en-US", { minimumFractionDigits: 2 })} USDC`);
    const usdBefore = await chain.usd.balanceOf(me);
    const redeem = await transact(`${row} button[data-redeem="${sid}"]`, "redeem");
    assert.equal(redeem.status, "confirmed", redeem.detail);
    assert.equal(await chain.market.balanceOf(me, sid), 0n);
    assert.equal((await chain.usd.balanceOf(me)) - usdBefore, payout);
    await page.waitForFunction((r) => !document.querySelector(r), row, { timeout: WAIT_MS });
    return { series: sid, shown: status, paid: payout };
  });

  await step("everything the page loaded came from its own server; no script errors", async () => {
    assert.deepEqual(foreign, [], `requests to other origins: ${foreign.join(", ")}`);
    assert.deepEqual(pageErrors, []);
    return {};
  });
}

async function errors() {
  const [callSeries] = (await chain.market.liveSeries()).filter((s) => s.isCall);
  const id = callSeries.id;

  await step("read-only before connecting: NAV and TVL come through the server's RPC", async () => {
    await page.goto(settings.page_url);
    await waitRaw("#tvl", await chain.vault.totalAssets());
    assert.equal(await banner("connect-to-read"), null);
    return { tvl: await text("#tvl") };
  });

  await step("wrong network: a wallet on chain 1 is told so in plain words, and nothing can be sent", async () => {
    await page.click("#connect");
    await page.waitForSelector('#banners [data-banner="wrong-network"]', { timeout: WAIT_MS });
    const words = await banner("wrong-network");
    assert.ok(words.includes("Wrong network") && words.includes("Ethereum mainnet (chain 1)") && words.includes("chain 31337"), words);
    await page.fill("#deposit-amount", "10");
    await page.waitForFunction(() => document.querySelector("#deposit-preview").textContent.includes("Switch your wallet"), null, { timeout: WAIT_MS });
    assert.ok(await page.isDisabled("#deposit-approve"));
    assert.ok(await page.isDisabled("#deposit-submit"));
    assert.equal(await page.getAttribute("#network-status", "data-state"), "wrong");
    return { banner: words };
  });

  await step("switch network from the page: the wallet emits chainChanged and the warning goes", async () => {
    await page.click("#switch-network");
    await page.waitForFunction(() => !document.querySelector('#banners [data-banner="wrong-network"]'), null, { timeout: WAIT_MS });
    await waitRaw("#my-usdc", await chain.usd.balanceOf(me));
    assert.equal(await page.getAttribute("#network-status", "data-state"), "ok");
    return {};
  });

  await step("rejected signature: the user rejects in the wallet (4001); plain words, nothing on chain", async () => {
    await page.fill("#deposit-amount", "500");
    await waitEnabled("#deposit-approve");
    await page.evaluate(() => { window.__hvWallet.rejectNext = true; });
    const r = await transact("#deposit-approve", "deposit-approve");
    assert.equal(r.status, "rejected");
    assert.ok(r.detail.includes("You rejected the request in your wallet: nothing was sent."), r.detail);
    assert.equal(await chain.usd.allowance(me, config.contracts.vault), 0n);
    return { shown: r.detail };
  });

  await step("insufficient balance: a deposit above the wallet's USDC is refused before signing, in plain words", async () => {
    await page.fill("#deposit-amount", "100000000");
    await page.waitForFunction(() => document.querySelector("#deposit-preview").textContent.startsWith("Not enough USDC"), null, { timeout: WAIT_MS });
    assert.ok(await page.isDisabled("#deposit-submit"));
    assert.ok(await page.isDisabled("#deposit-approve"));
    return { shown: await text("#deposit-preview") };
  });

  await step("margin full: a huge buy reverts in the vault's margin check; the custom error is shown by name", async () => {
    await page.selectOption("#buy-series", String(id));
    await page.fill("#buy-amount", "2000");
    await page.fill("#buy-slippage", "1");
    await waitEnabled("#buy-approve");
    const approve = await transact("#buy-approve", "buy-approve");
    assert.equal(approve.status, "confirmed", approve.detail);
    await waitEnabled("#buy-submit");
    const r = await transact("#buy-submit", "buy");
    assert.equal(r.status, "failed");
    assert.equal(r.revert, "MarginInsufficient");
    assert.ok(r.code.startsWith("reverted: MarginInsufficient(worstEquityWad="), r.code);
    assert.ok(r.detail.includes("The vault's margin is full"), r.detail);
    assert.equal(await chain.market.balanceOf(me, id), 0n);
    const notice = await text("#notice");
    assert.ok(notice.includes("MarginInsufficient"), notice);
    return { shown: r.detail, decoded: r.code };
  });

  await step("vault paused by the guardian: a banner in plain words, deposits and buys are stopped", async () => {
    await sendAs(settings.guardian, chain.vault, "pause", []);
    await page.waitForSelector('#banners [data-banner="paused"]', { timeout: WAIT_MS });
    await page.fill("#deposit-amount", "10");
    await page.waitForFunction(() => document.querySelector("#deposit-preview").textContent.includes("paused"), null, { timeout: WAIT_MS });
    assert.ok(await page.isDisabled("#deposit-submit"));
    assert.ok(await page.isDisabled("#buy-submit"));
    return { banner: await banner("paused") };
  });

  await step("stale oracle: two hours with no price update; the page says the oracle is stale and why figures are missing", async () => {
    await node.send("evm_increaseTime", [7200]);
    await node.send("evm_mine", []);
    await page.waitForSelector('#banners [data-banner="oracle"]', { timeout: WAIT_MS });
    const words = await banner("oracle");
    assert.ok(words.startsWith("The price oracle is stale: its last update is 2.0 h old and the vault accepts at most 60 min."), words);
    assert.ok((await text("#nav-per-share")).startsWith("unavailable"));
    return { banner: words };
  });

  await step("no script errors, nothing from other origins", async () => {
    assert.deepEqual(foreign, []);
    assert.deepEqual(pageErrors, []);
    return {};
  });
}

const scenarios = { flow, errors };
if (!scenarios[settings.scenario]) throw new Error(`unknown scenario ${settings.scenario}`);
await scenarios[settings.scenario]();
await context.close();
rmSync(profile, { recursive: true, force: true });
log({ done: settings.scenario });
