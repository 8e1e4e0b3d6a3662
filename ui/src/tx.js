// One transaction from click to receipt: simulate (so a revert is explained before anything is
// signed), ask the wallet, wait, and show each state in the activity list: checking, signing,
// pending, confirmed, or failed / rejected with the reason in plain words and the decoded error.
import { explain } from "./errors.js";
import { shortAddress } from "./format.js";

const STATUS_TEXT = {
  checking: "checking…",
  signing: "confirm in your wallet…",
  pending: "pending",
  confirmed: "confirmed",
  failed: "failed",
  rejected: "rejected",
};

class Entry {
  constructor(list, key, label) {
    this.li = document.createElement("li");
    this.li.dataset.tx = key;
    this.title = document.createElement("b");
    this.title.textContent = label;
    this.state = document.createElement("span");
    this.state.className = "tx-state";
    this.detail = document.createElement("span");
    this.detail.className = "tx-detail";
    this.revert = document.createElement("code");
    this.revert.className = "tx-revert";
    this.li.append(this.title, this.state, this.detail, this.revert);
    list.prepend(this.li);
    while (list.children.length > 30) list.lastElementChild.remove();
  }

  set(status, detail = "", revert = null) {
    this.li.dataset.status = status;
    this.state.textContent = STATUS_TEXT[status] ?? status;
    this.detail.textContent = detail;
    this.revert.textContent = revert ? `reverted: ${revert}` : "";
    if (revert) this.li.dataset.revert = revert.split("(")[0];
  }
}

export class TxRunner {
  /** `notice(text, kind)` shows the latest outcome at the top of the page. */
  constructor({ wallet, decode, units, list, notice, onSettled }) {
    Object.assign(this, { wallet, decode, units, list, notice, onSettled });
    this.busy = false;
  }

  /**
   * Run one transaction. `prepare(signer)` returns { contract, method, args }. Resolves to the
   * receipt, or null when it did not happen (the reason is on the page).
   */
  async run(key, label, prepare) {
    const entry = new Entry(this.list, key, label);
    if (!this.wallet.ready) {
      const words = this.wallet.connected ? "Your wallet is on the wrong network: switch it first." : "Connect a wallet first.";
      entry.set("failed", words);
      this.notice(words, "error");
      return null;
    }
    this.busy = true;
    let sent = null;
    let call = null;
    try {
      entry.set("checking", "simulating the transaction");
      const signer = await this.wallet.signer();
      call = await prepare(signer);
      const fn = call.contract.getFunction(call.method);
      await fn.staticCall(...call.args);
      entry.set("signing");
      sent = await fn.send(...call.args);
      entry.set("pending", `transaction ${shortAddress(sent.hash)}`);
      const receipt = await sent.wait();
      entry.set("confirmed", `in block ${receipt.blockNumber}`);
      this.notice(`${label}: confirmed in block ${receipt.blockNumber}.`, "ok");
      return receipt;
    } catch (err) {
      let why = explain(err, this.decode, this.units);
      if (sent && why.kind === "reverted" && !why.revert) why = await this._replay(call, err, why);
      const status = why.kind === "rejected" ? "rejected" : "failed";
      const words = sent && why.kind === "reverted" ? `Failed on chain. ${why.words}` : why.words;
      entry.set(status, words, why.revert);
      this.notice(`${label}: ${words}`, "error", why.revert);
      return null;
    } finally {
      this.busy = false;
      // The figures after the transaction: the entry says when the page has re-read them.
      await this.onSettled?.();
      entry.li.dataset.read = "1";
    }
  }

  /** A mined transaction that reverted carries no reason: replay it just before its block. */
  async _replay(call, err, why) {
    const block = err?.receipt?.blockNumber;
    if (!call || !block) return why;
    try {
      await call.contract.getFunction(call.method).staticCall(...call.args, { blockTag: block - 1 });
      return why;
    } catch (replayErr) {
      const again = explain(replayErr, this.decode, this.units);
      return again.revert ? again : why;
    }
  }
}
