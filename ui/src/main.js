// The page: wires the wallet, the reads, the forms and the transaction runner together.
// Reads every few seconds and after every transaction; nothing here needs the keeper running.
import { JsonRpcProvider, Network } from "ethers";
import { loadConfig } from "./config.js";
import { explain, makeDecoder } from "./errors.js";
import { fmtUnits, parseAmount } from "./format.js";
import { Reader } from "./reads.js";
import { TxRunner } from "./tx.js";
import * as view from "./views.js";
import { Wallet } from "./wallet.js";

const REFRESH_MS = 4000;
const DEADLINE_SECONDS = 600;
const $ = (id) => document.getElementById(id);

class App {
  async start() {
    this.config = await loadConfig();
    this.units = { usd: this.config.usd_decimals };
    this.decode = makeDecoder(this.config.abis);
    this.wallet = new Wallet(window.ethereum, this.config.chain_id);
    this.tx = new TxRunner({
      wallet: this.wallet, decode: this.decode, units: this.units, list: $("tx-log"),
      notice: (text, kind, revert) => this.notice(text, kind, revert), onSettled: () => this.refresh(),
    });
    this.state = { vs: null, us: null, positions: null, rebalances: null, st: null };
    this.refreshes = 0;
    this.bind();
    this.wallet.addEventListener("change", () => { this.state.us = null; this.state.positions = null; this.refresh(); });
    try {
      await this.wallet.restore();
    } catch { /* a wallet that refuses eth_accounts: the user presses Connect */ }
    await this.refresh();
    setInterval(() => this.refresh(), REFRESH_MS);
  }

  // ---------------------------------------------------------------- reading

  reader() {
    if (this.config.read_rpc) {
      if (!this.rpcReader) {
        const url = new URL(this.config.read_rpc, window.location.href).href;
        const network = Network.from(this.config.chain_id);
        this.rpcReader = new Reader(this.config, new JsonRpcProvider(url, network, { staticNetwork: network }));
      }
      return this.rpcReader;
    }
    if (!this.wallet.ready) return null;
    const provider = this.wallet.provider();
    if (this.walletReader?.provider !== provider) this.walletReader = new Reader(this.config, provider);
    return this.walletReader;
  }

  /** Re-read everything. Calls during a read coalesce into one more read after it; the promise
   *  resolves once a read that started after the call has been rendered. */
  refresh() {
    if (!this.queued) {
      const previous = this.running ?? Promise.resolve();
      this.queued = previous.then(() => {
        this.queued = null;
        this.running = this.readAll();
        return this.running;
      });
    }
    return this.queued;
  }

  async readAll() {
    const banners = [];
    try {
      const reader = this.reader();
      banners.push(...view.walletBanners(this.wallet, this.config, reader !== null));
      if (reader) {
        const st = await reader.statics();
        const vs = await reader.vaultState();
        const account = this.wallet.ready || (this.wallet.connected && this.config.read_rpc) ? this.wallet.account : null;
        const [us, positions, rebalances] = await Promise.all([
          account ? reader.user(account) : null,
          account ? this.readPositions(reader, account, vs) : null,
          reader.rebalances().catch(() => null),
        ]);
        Object.assign(this.state, { st, vs, us, positions, rebalances });
        banners.push(...view.vaultBanners(vs));
      } else {
        Object.assign(this.state, { vs: null, us: null, positions: null, rebalances: null });
      }
    } catch (err) {
      banners.push({ key: "read-error", error: true, text: `Cannot read the chain: ${err?.shortMessage || err?.message || err}` });
    } finally {
      this.render(banners);
      document.body.dataset.refreshes = String(++this.refreshes);
    }
  }

  async readPositions(reader, account, vs) {
    const positions = await reader.positions(account, vs.series);
    for (const p of positions) {
      if (!p.settled && vs.now >= p.expiry) p.settleRound = await reader.settlementRound(p.expiry);
    }
    return positions;
  }

  render(banners) {
    const { vs, us, st, positions, rebalances } = this.state;
    const usd = this.units.usd;
    view.renderWallet(this.wallet, this.config);
    view.renderBanners(banners);
    view.renderVault(vs, st, usd);
    view.renderUser(this.wallet.connected ? us : null, st, usd);
    view.renderSeries(vs, usd);
    view.renderPositions(positions, vs, usd, this.wallet.connected);
    view.renderRisk(vs, rebalances);
    view.renderFooter(this.config, vs);
    this.updateForms();
  }

  notice(text, kind = "ok", revert = null) {
    const box = $("notice");
    box.className = kind === "error" ? "error" : "";
    box.dataset.kind = kind;
    const words = document.createElement("span");
    words.textContent = text;
    const parts = [words];
    if (revert) {
      const code = document.createElement("code");
      code.textContent = `reverted: ${revert}`;
      parts.push(code);
    }
    box.replaceChildren(...parts);
  }

  // ---------------------------------------------------------------- forms

  bind() {
    $("connect").addEventListener("click", () => this.connect());
    $("switch-network").addEventListener("click", () => this.switchNetwork());
    for (const id of ["deposit-amount", "withdraw-amount", "buy-amount", "buy-slippage", "buy-series"]) {
      $(id).addEventListener("input", () => {
        if (id === "withdraw-amount") this.withdrawAll = false;
        this.updateForms();
      });
    }
    $("deposit-approve").addEventListener("click", () => this.approve("deposit", this.config.contracts.vault, this.depositAmount()));
    $("deposit-form").addEventListener("submit", (e) => { e.preventDefault(); this.deposit(); });
    $("withdraw-max").addEventListener("click", () => this.fillMaxWithdraw());
    $("withdraw-form").addEventListener("submit", (e) => { e.preventDefault(); this.withdraw(); });
    $("buy-approve").addEventListener("click", () => this.approveBuy());
    $("buy-form").addEventListener("submit", (e) => { e.preventDefault(); this.buy(); });
    $("series-table").addEventListener("click", (e) => {
      const id = e.target?.dataset?.pick;
      if (id) { $("buy-series").value = id; this.updateForms(); $("buy-amount").focus(); }
    });
    $("positions").addEventListener("click", (e) => {
      const d = e.target?.dataset ?? {};
      if (d.settle) this.settle(BigInt(d.settle), BigInt(d.round));
      if (d.redeem) this.redeemOption(BigInt(d.redeem));
    });
  }

  async connect() {
    try {
      await this.wallet.connect();
      this.notice("Wallet connected.", "ok");
    } catch (err) {
      const why = explain(err, this.decode, this.units);
      this.notice(why.kind === "rejected" ? "You declined the connection request in your wallet." : `Could not connect: ${why.words}`, "error");
    }
  }

  async switchNetwork() {
    try {
      await this.wallet.switchChain();
    } catch (err) {
      const unknown = err?.code === 4902;
      this.notice(unknown
        ? `Your wallet does not know chain ${this.config.chain_id}: add it in your wallet (its RPC URL is the node this vault is deployed on), then switch.`
        : err?.code === 4001 ? "You declined the network switch in your wallet." : `Could not switch network: ${err?.message || err}`, "error");
    }
  }

  depositAmount() { return parseAmount($("deposit-amount").value, this.units.usd); }
  withdrawAmount() { return parseAmount($("withdraw-amount").value, this.units.usd); }
  buyAmount() { return parseAmount($("buy-amount").value, 18); }
  slippageBps() {
    const v = Number(String($("buy-slippage").value).trim());
    return Number.isFinite(v) && v >= 0 && v <= 50 ? BigInt(Math.round(v * 100)) : null;
  }

  /** Every preview and every button's state, from the last reads and the inputs. */
  async updateForms() {
    const seq = (this.formSeq = (this.formSeq ?? 0) + 1);
    const reader = this.reader();
    const { us, st } = this.state;
    const vs = reader ? this.state.vs : null; // no reader (wallet gone to another chain): nothing to preview
    const ready = this.wallet.ready && us !== null && vs !== null;
    const usd = (v) => `${fmtUnits(v, this.units.usd, 2)} USDC`;
    const previews = {};

    // Deposit: balance, allowance, paused, oracle; then previewDeposit.
    const dep = this.depositAmount();
    let depOk = false;
    let depApprove = false;
    if (!this.wallet.connected) previews.deposit = ["Connect a wallet to deposit.", false];
    else if (!this.wallet.onRightChain) previews.deposit = ["Switch your wallet to the vault's network first.", true];
    else if (!ready) previews.deposit = ["Reading…", false];
    else if (dep === null) previews.deposit = [$("deposit-amount").value ? "Enter a positive amount with at most 6 decimals." : "Enter an amount.", !!$("deposit-amount").value];
    else if (vs.paused) previews.deposit = ["The vault is paused: deposits are stopped for now.", true];
    else if (dep > us.usdc) previews.deposit = [`Not enough USDC: you have ${usd(us.usdc)}, this needs ${usd(dep)}.`, true];
    else if (!vs.oracleOk) previews.deposit = ["The oracle is failing its checks: deposits wait until it updates.", true];
    else {
      depApprove = us.allowanceVault < dep;
      depOk = !depApprove;
      const shares = await reader.vault.previewDeposit(dep).catch(() => null);
      const allowance = depApprove
        ? `Step 1: approve ${usd(dep)} for the vault (approved now: ${usd(us.allowanceVault)}).`
        : "USDC approved.";
      previews.deposit = [shares === null ? `Preview unavailable. ${allowance}` : `You receive ${fmtUnits(shares, st.shareDecimals, 4)} ${st.shareSymbol} shares for ${usd(dep)}. ${allowance}`, false, shares];
    }

    // Withdraw: max withdraw (margin), then previewWithdraw.
    const wd = this.withdrawAmount();
    let wdOk = false;
    if (!this.wallet.connected) previews.withdraw = ["Connect a wallet to withdraw.", false];
    else if (!this.wallet.onRightChain) previews.withdraw = ["Switch your wallet to the vault's network first.", true];
    else if (!ready) previews.withdraw = ["Reading…", false];
    else if (wd === null) previews.withdraw = [$("withdraw-amount").value ? "Enter a positive amount with at most 6 decimals." : `Enter an amount (up to ${usd(us.maxWithdraw)} now).`, !!$("withdraw-amount").value];
    else if (wd > us.maxWithdraw) {
      const why = us.sharesValue !== null && wd > us.sharesValue ? `your shares are worth ${usd(us.sharesValue)}` : "the rest backs written options (margin) or owed payoffs";
      previews.withdraw = [`You can withdraw at most ${usd(us.maxWithdraw)} now: ${why}.`, true];
    } else {
      wdOk = true;
      const all = this.redeemsAll(us);
      const shares = all ? us.shares : await reader.vault.previewWithdraw(wd).catch(() => null);
      previews.withdraw = [shares === null ? "Preview unavailable." : `Burns ${fmtUnits(shares, st.shareDecimals, 4)} of your ${fmtUnits(us.shares, st.shareDecimals, 4)} ${st.shareSymbol}.`, false, shares];
    }

    // Buy: series, amount, guard; quote now, max premium, allowance for the market.
    const sid = $("buy-series").value;
    const series = vs?.series.find((s) => String(s.id) === sid) ?? null;
    const amt = this.buyAmount();
    const slip = this.slippageBps();
    let buyOk = false;
    let buyApprove = false;
    this.buyQuote = null;
    if (!vs || !vs.series.length) previews.buy = ["No series on sale.", false];
    else if (!series) previews.buy = ["Pick a series.", false];
    else if (amt === null) previews.buy = ["Enter an amount of options (WETH units).", true];
    else if (amt < vs.minBuyWad) previews.buy = [`The minimum is ${fmtUnits(vs.minBuyWad, 18, 4)}.`, true];
    else if (slip === null) previews.buy = ["Enter the most you accept above the quote, in % (0 to 50).", true];
    else if (vs.now + vs.minTimeToBuySeconds > series.expiry) previews.buy = ["This series expires too soon to buy.", true];
    else if (vs.paused) previews.buy = ["The vault is paused: no new options for now.", true];
    else if (!vs.oracleOk) previews.buy = ["The oracle is failing its checks: no quotes until it updates.", true];
    else {
      const premium = await reader.market.quote(series.id, amt).catch(() => null);
      if (premium === null) previews.buy = ["Quote unavailable.", true];
      else {
        const maxPremium = (premium * (10_000n + slip) + 9_999n) / 10_000n;
        this.buyQuote = { id: series.id, amount: amt, premium, maxPremium };
        let text = `Premium now ${usd(premium)}; you pay at most ${usd(maxPremium)} (your guard).`;
        let bad = false;
        if (!this.wallet.connected) text += " Connect a wallet to buy.";
        else if (!ready) text += this.wallet.onRightChain ? "" : " Switch your wallet to the vault's network first.";
        else if (maxPremium > us.usdc) { text = `Not enough USDC: the premium may reach ${usd(maxPremium)} and you have ${usd(us.usdc)}.`; bad = true; }
        else {
          buyApprove = us.allowanceMarket < maxPremium;
          buyOk = !buyApprove;
          text += buyApprove ? ` Step 1: approve ${usd(maxPremium)} for the option market.` : " USDC approved.";
        }
        previews.buy = [text, bad, premium];
      }
    }
    if (seq !== this.formSeq) return; // a newer update started while this one awaited
    for (const [key, [text, bad, raw]] of Object.entries(previews)) {
      const p = $(`${key}-preview`);
      p.textContent = text;
      p.className = bad ? "preview bad" : "preview";
      if (raw !== undefined && raw !== null) p.dataset.raw = String(raw); else delete p.dataset.raw;
    }
    const busy = this.tx.busy;
    $("deposit-approve").disabled = busy || !depApprove;
    $("deposit-submit").disabled = busy || !depOk;
    $("withdraw-submit").disabled = busy || !wdOk;
    $("buy-approve").disabled = busy || !buyApprove;
    $("buy-submit").disabled = busy || !buyOk;
    $("withdraw-max").disabled = !ready;
    document.body.dataset.forms = String(seq);
  }

  /** "max" when every share is withdrawable: redeem the shares themselves, so no dust is left
   *  behind (the vault's maxRedeem rounds twice and can report a few units less than the balance). */
  redeemsAll(us) {
    return this.withdrawAll && us.shares > 0n && us.sharesValue !== null && us.maxWithdraw >= us.sharesValue;
  }

  fillMaxWithdraw() {
    const us = this.state.us;
    if (!us) return;
    $("withdraw-amount").value = fmtUnits(us.maxWithdraw, this.units.usd, this.units.usd).replace(/,/g, "");
    this.withdrawAll = true;
    this.updateForms();
  }

  // ---------------------------------------------------------------- actions

  async deadline() {
    const block = await this.wallet.provider().getBlock("latest");
    return BigInt(block.timestamp + DEADLINE_SECONDS);
  }

  approve(key, spender, amount) {
    const who = spender === this.config.contracts.vault ? "the vault" : "the option market";
    return this.tx.run(`${key}-approve`, `Approve ${fmtUnits(amount, this.units.usd, 2)} USDC for ${who}`, async (signer) => ({
      contract: this.reader().usd.connect(signer), method: "approve", args: [spender, amount],
    }));
  }

  approveBuy() {
    if (this.buyQuote) this.approve("buy", this.config.contracts.option_market, this.buyQuote.maxPremium);
  }

  deposit() {
    const amount = this.depositAmount();
    if (amount === null) return;
    return this.tx.run("deposit", `Deposit ${fmtUnits(amount, this.units.usd, 2)} USDC`, async (signer) => ({
      contract: this.reader().vault.connect(signer), method: "deposit", args: [amount, this.wallet.account],
    })).then((r) => { if (r) { $("deposit-amount").value = ""; this.updateForms(); } });
  }

  withdraw() {
    const amount = this.withdrawAmount();
    const us = this.state.us;
    if (amount === null || !us) return;
    const account = this.wallet.account;
    const all = this.redeemsAll(us);
    const label = all ? `Withdraw everything (${fmtUnits(amount, this.units.usd, 2)} USDC)` : `Withdraw ${fmtUnits(amount, this.units.usd, 2)} USDC`;
    return this.tx.run("withdraw", label, async (signer) => ({
      contract: this.reader().vault.connect(signer),
      method: all ? "redeem" : "withdraw",
      args: all ? [us.shares, account, account] : [amount, account, account],
    })).then((r) => { if (r) { $("withdraw-amount").value = ""; this.withdrawAll = false; this.updateForms(); } });
  }

  async buy() {
    const q = this.buyQuote;
    if (!q) return;
    return this.tx.run("buy", `Buy ${fmtUnits(q.amount, 18, 4)} of series #${q.id}`, async (signer) => {
      // Quote again right before signing: the guard is the user's percentage over the price now.
      const premium = await this.reader().market.quote(q.id, q.amount);
      const slip = this.slippageBps() ?? 0n;
      const maxPremium = (premium * (10_000n + slip) + 9_999n) / 10_000n;
      return { contract: this.reader().market.connect(signer), method: "buy", args: [q.id, q.amount, maxPremium, await this.deadline()] };
    });
  }

  settle(id, round) {
    return this.tx.run("settle", `Settle series #${id}`, async (signer) => ({
      contract: this.reader().market.connect(signer), method: "settle", args: [id, round],
    }));
  }

  redeemOption(id) {
    const p = this.state.positions?.find((x) => x.id === id);
    if (!p) return;
    return this.tx.run("redeem", `Redeem series #${id}`, async (signer) => ({
      contract: this.reader().market.connect(signer), method: "redeem", args: [id, p.amountWad],
    }));
  }
}

const app = new App();
window.hvApp = app;
app.start().catch((err) => {
  view.renderBanners([{ key: "start-error", error: true, text: `The page could not start: ${err?.message || err}` }]);
});
